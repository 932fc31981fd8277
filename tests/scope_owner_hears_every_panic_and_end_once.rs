//! A scope hears of its jobs' panics and ends through their type-erased owner
//! (`job.rs`, `Owner`): after a handle outlived the latch's count, through
//! `mem::forget`, spawned jobs, cancellation and the last `Pool` on a worker.
//! Small enough for Miri (`cargo +nightly miri test --test <this file>`).
use corepool::{Pinning, Pool, is_cancelled};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::time::Duration;

/// How long any wait here may take before the test calls it a deadlock.
const WATCHDOG: Duration = Duration::from_secs(60);

fn pool(n: usize) -> Pool {
    Pool::builder()
        .workers(n)
        .pinning(Pinning::None)
        .build()
        .unwrap()
}

struct Boom(&'static str);
impl Drop for Boom {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("{}", self.0);
        }
    }
}

fn msg(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<String>()
        .cloned()
        .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// The latch has counted the task done; the handle is dropped afterwards,
/// inside the closure, and its result's destructor panics: record_panic
/// through the Owner after `done`.
#[test]
fn handle_dropped_after_done_records_panic() {
    let pool = pool(2);
    let borrowed = String::from("x");
    let r = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            let t = s.submit(|| {
                let _ = borrowed.len();
                Boom("result dtor")
            });
            while !t.is_finished() {
                std::thread::yield_now();
            }
            // Let the runner finish `scope_done` as well.
            for _ in 0..50 {
                std::thread::yield_now();
            }
            drop(t);
        })
    }));
    assert_eq!(msg(r.unwrap_err()), "result dtor");
}

/// A scoped handle moved into a spawned job (HeapJob path: spawned from a
/// worker) and dropped there after its task is done.
#[test]
fn handle_dropped_in_a_spawned_heap_job() {
    let pool = pool(2);
    let hits = AtomicUsize::new(0);
    let r = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            let hits = &hits;
            s.spawn(move |s| {
                // On a worker now: this spawn is a HeapJob with an Owner.
                let t = s.submit(|| Boom("moved handle"));
                s.spawn(move |_| {
                    while !t.is_finished() {
                        std::thread::yield_now();
                    }
                    hits.fetch_add(1, Ordering::Relaxed);
                    drop(t);
                });
            });
        })
    }));
    assert_eq!(hits.load(Ordering::Relaxed), 1);
    assert_eq!(msg(r.unwrap_err()), "moved handle");
}

/// mem::forget of a scoped handle whose result would panic when dropped:
/// nothing is recorded, the scope returns, and the leaked cell never
/// touches the (freed) latch afterwards.
#[test]
fn forgotten_handle_never_touches_the_latch() {
    let pool = pool(2);
    for _ in 0..3 {
        let v = pool.scope(|s| {
            let t = s.submit(|| Boom("leaked"));
            std::mem::forget(t);
            // A foreign-path task too (submitted from a non-worker thread
            // into a scope owned by this non-worker: plain injector path).
            std::thread::scope(|ts| {
                ts.spawn(|| std::mem::forget(s.submit(|| Boom("leaked2"))));
            });
            7
        });
        assert_eq!(v, 7);
    }
    // Let any queued second reference run after the latch is gone.
    pool.install(|| ());
    pool.shutdown();
}

/// A spawned HeapJob that panics (spawned from a worker) and one whose
/// closure's destructor panics when the job is cancelled by shutdown_now.
#[test]
fn heap_job_panics_reach_the_scope() {
    let pool = pool(1);
    let r = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            s.spawn(|s| {
                s.spawn(|_| panic!("heap job"));
            });
        })
    }));
    assert_eq!(msg(r.unwrap_err()), "heap job");

    // shutdown_now cancels a queued HeapJob of a worker-owned scope; its
    // closure's destructor panics: the payload goes to the owner.
    let pool = pool_for_cancel();
    let p = pool.clone();
    let outer = pool.submit(move || {
        catch_unwind(AssertUnwindSafe(|| {
            p.scope(|s| {
                let boom = Boom("cancelled closure dtor");
                let p2 = p.clone();
                s.spawn(move |_| {
                    let _keep = boom;
                    unreachable!("cancelled before it runs");
                });
                // Still on the worker, with the job queued in our deque:
                // shutdown_now cancels it.
                p2.shutdown_now();
            })
        }))
        .map_err(msg)
    });
    let got = outer.join();
    // Either the job was cancelled (payload from its destructor) or the
    // scope ran it itself; both must be well-defined.
    eprintln!("shutdown_now scope outcome: {got:?}");
}

fn pool_for_cancel() -> Pool {
    pool(1)
}

/// The wrap in submit.rs: a spawned job run by a worker inside a cancelled
/// task's scope wait sees `is_cancelled() == false`, and the task keeps its
/// own context after the job ran.
#[test]
fn spawned_job_has_no_cancellation_context() {
    let pool = pool(1);
    let (go_tx, go_rx) = channel::<()>();
    let (res_tx, res_rx) = channel();
    let p = pool.clone();
    let outer = pool.submit(move || {
        go_rx.recv_timeout(WATCHDOG).expect("deadlock");
        assert!(is_cancelled());
        let seen = AtomicUsize::new(0);
        p.scope(|s| {
            s.spawn(|_| {
                if is_cancelled() {
                    seen.fetch_add(1, Ordering::Relaxed);
                }
            });
        });
        // Plain Pool::spawn (no owner) drained by a nested scope wait.
        let (tx, rx) = channel();
        p.spawn(move || tx.send(is_cancelled()).unwrap());
        let inner = p.submit_blocking(move || rx.recv_timeout(WATCHDOG).expect("deadlock"));
        let inner_seen = inner.join().unwrap();
        res_tx
            .send((seen.load(Ordering::Relaxed), inner_seen, is_cancelled()))
            .unwrap();
    });
    while !outer.is_running() {
        std::thread::yield_now();
    }
    assert!(!outer.cancel());
    go_tx.send(()).unwrap();
    let e = outer.join().unwrap_err();
    assert!(e.is_stopped(), "{e}");
    assert_eq!(
        res_rx.recv_timeout(WATCHDOG).expect("deadlock"),
        (0, false, true)
    );
}

/// The last Pool clone dropped on a worker, and Pool::current during
/// shutdown (after the upgrade through the type-erased Weak fails).
#[test]
fn last_clone_on_a_worker_and_current_during_shutdown() {
    let pool = pool(2);
    let (tx, rx) = channel::<()>();
    let (done_tx, done_rx) = channel();
    let p = pool.clone();
    pool.spawn(move || {
        let mine = p;
        rx.recv_timeout(WATCHDOG).expect("deadlock");
        // The main thread dropped its clone: this is the last one.
        let cur = Pool::current().expect("current while ours is alive");
        assert!(!cur.is_shutdown());
        drop(cur);
        drop(mine); // last clone, on a worker: must not wait for itself
        let cur = Pool::current().expect("current after the last clone");
        assert!(cur.is_shutdown());
        assert!(cur.submit(|| 1).join().unwrap_err().is_shutdown());
        drop(cur);
        done_tx.send(()).unwrap();
    });
    drop(pool);
    tx.send(()).unwrap();
    done_rx.recv_timeout(WATCHDOG).expect("deadlock");
}

/// Unwinding out of a scope's closure while tasks are pending, with one of
/// them panicking too: the closure's panic wins, the task's is dropped.
#[test]
fn unwinding_through_the_scope_wait() {
    let pool = pool(2);
    let r = catch_unwind(AssertUnwindSafe(|| {
        pool.scope(|s| {
            s.spawn(|s| s.spawn(|_| panic!("task")));
            let _t = s.submit(|| Boom("detached on unwind"));
            panic!("closure");
        })
    }));
    assert_eq!(msg(r.unwrap_err()), "closure");
}

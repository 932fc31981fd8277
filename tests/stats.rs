//! `Pool::stats`: per-worker counters and CPUs.
mod common;

use common::{Gate, OpenOnDrop, eventually, unpinned_pool, watchdog};
use corepool::{Pinning, Pool};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

#[test]
fn tasks_run_add_up_and_idle_workers_park() {
    watchdog(60, || {
        let pool = Pool::builder()
            .workers(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let tasks: Vec<_> = (0..300).map(|i| pool.submit(move || i)).collect();
        for task in tasks {
            task.join().unwrap();
        }
        let stats = pool.stats();
        assert_eq!(stats.workers.len(), 2);
        assert_eq!(stats.tasks_run(), 300);
        assert_eq!(
            stats.workers.iter().map(|w| w.index).collect::<Vec<_>>(),
            [0, 1]
        );
        assert!(stats.workers.iter().all(|w| w.cpu.is_none()));
        // With nothing to do, every worker parks (instead of spinning).
        eventually(|| pool.stats().workers.iter().all(|w| w.times_parked > 0));
    });
}

#[test]
fn work_submitted_on_a_worker_is_stolen_by_an_idle_one() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let p = pool.clone();
        // The outer task pushes a subtask into its own worker's deque and then
        // blocks without helping (a plain channel receive), so only the other
        // worker can run the subtask: by stealing it.
        let outer = pool.submit(move || {
            let (tx, rx) = std::sync::mpsc::channel();
            let me = std::thread::current().id();
            let sub = p.submit(move || tx.send(std::thread::current().id()).unwrap());
            let ran_on = rx.recv().unwrap();
            sub.join().unwrap();
            ran_on != me
        });
        assert!(outer.join().unwrap(), "the subtask ran on the other worker");
        let stats = pool.stats();
        assert_eq!(stats.tasks_stolen(), 1, "{stats:?}");
        assert_eq!(stats.tasks_run(), 2);
    });
}

/// Tasks cancelled while queued never ran, so they are not counted, though
/// their queue entries still reach the worker after the cancel.
#[test]
fn cancelled_tasks_are_not_counted_as_run() {
    watchdog(60, || {
        let pool = unpinned_pool(1);
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let blocker = {
            let gate = gate.clone();
            pool.submit(move || {
                started_tx.send(()).unwrap();
                gate.wait();
            })
        };
        started_rx.recv().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let queued: Vec<_> = (0..100)
            .map(|_| {
                let ran = Arc::clone(&ran);
                pool.submit(move || ran.fetch_add(1, Ordering::SeqCst))
            })
            .collect();
        for task in &queued {
            assert!(
                task.cancel(),
                "a queued task behind the blocker is cancelled"
            );
        }
        gate.open();
        blocker.join().unwrap();
        pool.shutdown();
        assert_eq!(ran.load(Ordering::SeqCst), 0);
        assert_eq!(pool.stats().tasks_run(), 1, "only the blocker ran");
    });
}

/// Tasks submitted to a worker's scope from a thread outside the pool are
/// reachable from two places (the injector and the scope's list, which the
/// owner's wait runs from): each is counted once.
#[test]
fn a_scoped_task_reached_twice_is_counted_once() {
    watchdog(60, || {
        let pool = unpinned_pool(1);
        let ran = AtomicUsize::new(0);
        pool.install(|| {
            pool.scope(|s| {
                std::thread::scope(|t| {
                    t.spawn(|| {
                        for _ in 0..100 {
                            let _ = s.submit(|| ran.fetch_add(1, Ordering::SeqCst));
                        }
                    });
                });
            })
        });
        pool.shutdown();
        assert_eq!(ran.load(Ordering::SeqCst), 100);
        // The hundred tasks and the `install` closure.
        assert_eq!(pool.stats().tasks_run(), 101);
    });
}

/// A task that a wait on a worker runs before it started (a `join` from a
/// task, or from `install`, a `wait`) counts once, as one a worker takes
/// from a queue does: its queue entry, popped later, finds it ended.
#[test]
fn tasks_run_inline_by_a_wait_are_counted_once() {
    watchdog(60, || {
        let pool = unpinned_pool(1);
        let p = pool.clone();
        assert_eq!(
            pool.install(move || p.submit(|| 41).join().unwrap() + 1),
            42
        );
        let p = pool.clone();
        let inner = pool.submit(move || p.submit(|| 1).join().unwrap());
        assert_eq!(inner.join().unwrap(), 1);
        let p = pool.clone();
        let waited = pool.submit(move || {
            let (a, b) = (p.submit(|| 1), p.submit(|| 2));
            let waited = corepool::wait(&[&a, &b], corepool::WaitFor::AllCompleted, None);
            a.join().unwrap() + b.join().unwrap() + waited.done.len() as u32
        });
        assert_eq!(waited.join().unwrap(), 5);
        pool.shutdown();
        // install + its task, a task + its task, a task + its two.
        assert_eq!(pool.stats().tasks_run(), 7);
    });
}

/// `tasks_run` never goes down: tasks cancelled while queued are never
/// counted, not counted and taken back (a reader polling the counter saw
/// it drop about 20,000 times over 400,000 such tasks).
#[test]
fn tasks_run_never_goes_down() {
    watchdog(60, || {
        let pool = unpinned_pool(1);
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let poller = {
            let (pool, stop) = (pool.clone(), Arc::clone(&stop));
            std::thread::spawn(move || {
                let mut last = 0;
                let mut drops = 0u64;
                while !stop.load(Ordering::SeqCst) {
                    let now = pool.stats().tasks_run();
                    if now < last {
                        drops += 1;
                    }
                    last = now;
                }
                drops
            })
        };
        for _ in 0..5 {
            for _ in 0..20_000 {
                // Cancelled at once, mostly before the worker reaches it.
                let _ = pool.submit(|| ()).cancel();
            }
            pool.submit(|| ()).join().unwrap();
        }
        stop.store(true, Ordering::SeqCst);
        assert_eq!(poller.join().unwrap(), 0, "tasks_run went down");
    });
}

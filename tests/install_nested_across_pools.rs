//! `install` across pools: nested installs back into the caller's pool (a
//! one-worker pool whose only worker waits in another pool's install), a
//! panicking payload coming back to the caller, and `is_cancelled` inside an
//! install answering for the calling task.
mod common;
use common::{DropCounter, watchdog};
use corepool::Pool;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::time::Duration;

#[test]
fn install_racing_shutdown_runs_f_exactly_once() {
    watchdog(60, || {
        for i in 0..400 {
            let pool = Pool::builder().workers(2).build().unwrap();
            let runs = Arc::new(AtomicUsize::new(0));
            let mut callers = Vec::new();
            for _ in 0..3 {
                let p = pool.clone();
                let r = runs.clone();
                callers.push(std::thread::spawn(move || {
                    p.install(|| {
                        r.fetch_add(1, SeqCst);
                        p.join(|| 1, || 2)
                    })
                }));
            }
            if i % 3 == 0 {
                std::thread::yield_now();
            }
            if i % 2 == 0 {
                pool.shutdown_now();
            } else {
                pool.shutdown();
            }
            for c in callers {
                assert_eq!(c.join().unwrap(), (1, 2));
            }
            assert_eq!(runs.load(SeqCst), 3, "iteration {i}");
        }
    });
}

#[test]
fn install_from_worker_of_another_pool_and_back() {
    watchdog(30, || {
        let a = Pool::builder().workers(1).build().unwrap();
        let b = Pool::builder().workers(1).build().unwrap();
        let (a2, b2) = (a.clone(), b.clone());
        let t = a.submit(move || {
            b2.install(|| {
                let x = a2.install(Pool::current_worker_index);
                (x, b2.join(|| 1, || 2))
            })
        });
        assert_eq!(t.join().unwrap(), (Some(0), (1, 2)));
        let cancelled_ctx = a.submit({
            let b = b.clone();
            move || b.install(corepool::is_cancelled)
        });
        assert!(!cancelled_ctx.join().unwrap());
    });
}

struct PanicOnDrop;
impl Drop for PanicOnDrop {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            panic!("payload drop panics");
        }
    }
}

#[test]
fn install_panicking_payload_comes_back_to_the_caller() {
    watchdog(30, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for _ in 0..20 {
            let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                pool.install(|| -> u32 { std::panic::panic_any(PanicOnDrop) })
            }))
            .unwrap_err();
            assert!(err.is::<PanicOnDrop>());
            std::mem::forget(err);
        }
        // join from outside, both halves panic with a panicking payload
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.join(
                || std::panic::panic_any(PanicOnDrop),
                || std::panic::panic_any(PanicOnDrop),
            )
        }))
        .unwrap_err();
        std::mem::forget(err);
        assert_eq!(pool.install(|| 5), 5);
    });
}

#[test]
fn par_panic_with_hungry_worker_drops_once() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for k in [0usize, 1, 7, 100, 999, 5000, 9999] {
            let dc = DropCounter::new();
            let dc2 = dc.clone();
            let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let v: Vec<common::Token> = pool
                    .par(0..10_000usize)
                    .map(|x| {
                        if x == k {
                            panic!("boom {x}")
                        }
                        if x % 1000 == 0 {
                            std::thread::sleep(Duration::from_millis(1));
                        }
                        dc2.token()
                    })
                    .collect();
                v
            }));
            assert!(r.is_err());
            dc.assert_all_dropped_once();
        }
        let s: usize = pool.par(0..100_000usize).map(|x| x).sum();
        assert_eq!(s, 99_999 * 100_000 / 2);
    });
}

#[test]
fn map_within_dropped_midway() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for _ in 0..20 {
            let data: Vec<u64> = (0..200).collect();
            let got: usize = pool.scope(|s| {
                let mut it = s
                    .map(&data, |x| {
                        std::thread::sleep(Duration::from_micros(200));
                        *x * 2
                    })
                    .within(Duration::from_millis(2));
                let first = it.next();
                assert!(first.is_some());
                drop(it);
                1
            });
            assert_eq!(got, 1);
            let mut it = pool
                .map(0..1000u64, |x| {
                    std::thread::sleep(Duration::from_micros(50));
                    x
                })
                .within(Duration::from_millis(1));
            let _ = it.next();
            let _ = it.next();
            drop(it);
        }
    });
}

#[test]
fn several_waiters_and_on_done() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for _ in 0..200 {
            let gate = common::Gate::new();
            let _open = common::OpenOnDrop(gate.clone());
            let g = gate.clone();
            let t = Arc::new(pool.submit(move || {
                g.wait();
                3
            }));
            let fired = Arc::new(AtomicUsize::new(0));
            for _ in 0..3 {
                let f = fired.clone();
                t.on_done(move || {
                    f.fetch_add(1, SeqCst);
                });
            }
            let waiters: Vec<_> = (0..3)
                .map(|_| {
                    let t = t.clone();
                    std::thread::spawn(move || t.wait_timeout(Duration::from_secs(20)))
                })
                .collect();
            let short = t.wait_timeout(Duration::from_millis(1));
            assert!(!short);
            gate.open();
            for w in waiters {
                assert!(w.join().unwrap());
            }
            let t = Arc::try_unwrap(t).ok().unwrap();
            assert_eq!(t.join().unwrap(), 3);
            common::eventually(|| fired.load(SeqCst) == 3);
        }
    });
}

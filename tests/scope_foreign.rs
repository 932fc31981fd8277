//! A scope waiting on a worker finds its tasks wherever they were queued: a
//! scoped task submitted from a thread outside the pool goes to the injector,
//! and a one-worker pool whose only worker waits in the scope must still run
//! it (before the fix it parked forever, every time).
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::watchdog;
use corepool::Pool;

#[test]
fn a_scope_on_the_only_worker_runs_a_task_submitted_from_a_plain_thread() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        for _ in 0..50 {
            let hits = AtomicUsize::new(0);
            pool.install(|| {
                pool.scope(|s| {
                    std::thread::scope(|ts| {
                        ts.spawn(|| {
                            let _ = s.submit(|| hits.fetch_add(1, Ordering::SeqCst));
                            s.spawn(|_| {
                                hits.fetch_add(1, Ordering::SeqCst);
                            });
                        });
                    });
                });
            });
            assert_eq!(hits.into_inner(), 2);
        }
    });
}

#[test]
fn a_joined_scoped_task_from_a_plain_thread_completes_on_one_worker() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let v = pool.install(|| {
            pool.scope(|s| {
                let task =
                    std::thread::scope(|ts| ts.spawn(|| s.submit(|| 41 + 1)).join().unwrap());
                task.join().unwrap()
            })
        });
        assert_eq!(v, 42);
    });
}

/// rayon's `nested_scopes`: scopes nested over ten one-worker pools.
#[test]
fn nested_scopes_over_ten_one_worker_pools() {
    fn nest(pools: &[Pool], counter: &AtomicUsize) {
        match pools.split_first() {
            None => {
                counter.fetch_add(1, Ordering::SeqCst);
            }
            Some((pool, rest)) => pool.scope(|s| {
                s.spawn(|_| nest(rest, counter));
            }),
        }
    }
    watchdog(120, || {
        for _ in 0..20 {
            let pools: Vec<Pool> = (0..10)
                .map(|_| Pool::builder().workers(1).build().unwrap())
                .collect();
            let counter = AtomicUsize::new(0);
            nest(&pools, &counter);
            assert_eq!(counter.into_inner(), 1);
        }
    });
}

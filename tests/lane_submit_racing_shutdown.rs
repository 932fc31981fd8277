//! Regression (second-reader review): `submit_blocking` racing with `shutdown` on a pool
//! whose blocking lane does not exist yet. The submitter passes the shutdown
//! check, `shutdown` finds no lane (`blocking.get()` is None) and returns,
//! then the submitter creates a fresh lane and the task runs after
//! `shutdown` has returned, on a lane thread nobody joins.
mod common;
use common::watchdog;
use corepool::{Pinning, Pool};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Barrier};

#[test]
fn no_blocking_task_runs_after_shutdown_returned() {
    watchdog(120, || {
        let late = Arc::new(AtomicUsize::new(0));
        for _ in 0..300 {
            let pool = Pool::builder()
                .workers(1)
                .pinning(Pinning::None)
                .build()
                .unwrap();
            let returned = Arc::new(AtomicBool::new(false));
            let barrier = Arc::new(Barrier::new(2));
            let submitter = {
                let (pool, returned, late, barrier) = (
                    pool.clone(),
                    returned.clone(),
                    late.clone(),
                    barrier.clone(),
                );
                std::thread::spawn(move || {
                    barrier.wait();
                    pool.submit_blocking(move || {
                        if returned.load(Ordering::SeqCst) {
                            late.fetch_add(1, Ordering::SeqCst);
                        }
                    })
                })
            };
            barrier.wait();
            pool.shutdown();
            returned.store(true, Ordering::SeqCst);
            let task = submitter.join().unwrap();
            let _ = task.join();
        }
        assert_eq!(
            late.load(Ordering::SeqCst),
            0,
            "tasks that ran after shutdown returned"
        );
    });
}

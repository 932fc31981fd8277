//! Regression (second-reader review): `shutdown` called from a pool task (or the last
//! `Pool` dropped there, or in an `on_done` callback run by a worker) joins
//! the blocking lane's threads on the worker itself. A blocking task that
//! waits for pool work then waits for the very worker that is joining it.
mod common;
use common::watchdog;
use corepool::{Pinning, Pool};

fn pool1() -> Pool {
    Pool::builder()
        .workers(1)
        .pinning(Pinning::None)
        .build()
        .unwrap()
}

#[test]
fn shutdown_inside_a_task_with_a_blocking_task_waiting_on_pool_work() {
    watchdog(20, || {
        let pool = pool1();
        let p = pool.clone();
        let outer = pool.submit(move || {
            // Queued on this worker's deque; only this worker can run it.
            let y = p.submit(|| 7);
            // A lane thread waits for `y`.
            let b = p.submit_blocking(move || y.join().unwrap());
            // Joins the lane thread -> waits for `b` -> waits for `y` -> needs
            // this worker, which is stuck here.
            p.shutdown();
            b.join().unwrap()
        });
        assert_eq!(outer.join().unwrap(), 7);
    });
}

#[test]
fn last_pool_dropped_inside_a_task_with_a_blocking_task_waiting_on_pool_work() {
    watchdog(20, || {
        let pool = pool1();
        let (tx, rx) = std::sync::mpsc::channel();
        let p = pool.clone();
        pool.spawn(move || {
            let y = p.submit(|| 7);
            let b = p.submit_blocking(move || y.join().unwrap());
            tx.send(b).unwrap();
            drop(p); // the last clone: main dropped its own below
        });
        drop(pool);
        let b = rx.recv().unwrap();
        assert_eq!(b.join().unwrap(), 7);
    });
}

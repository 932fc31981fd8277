//! Regression (second-reader review of the lingering change): a `par` call
//! made by a task on a blocking lane thread (no pool's worker) runs from
//! outside the pool. Every path such a call takes must answer
//! `corepool::is_cancelled()` for the calling task in each item: the walk on
//! the caller's thread, the hop (`install` copies the caller's context), and
//! fork-join halves on the pool's workers (copied at the fork). An outside
//! share, since removed (`par/drive.rs`, step 9), ran its part as a scoped
//! task, which answered for itself: items of that half saw `false` in a
//! task that had been cancelled.
mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;

use common::{item_work as work, watchdog};
use corepool::{Pool, is_cancelled};

const ITEMS: usize = common::PAR_ITEMS;
const CALLS: usize = common::PAR_CALLS;

#[test]
fn every_item_of_a_cancelled_callers_par_call_sees_the_cancellation() {
    watchdog(120, || {
        let callers = Pool::builder().workers(1).build().unwrap();
        let pool = Pool::builder().workers(2).build().unwrap();
        let (started_tx, started) = channel::<()>();
        let (go_tx, go) = channel::<()>();
        let missed = Arc::new(AtomicUsize::new(0));
        let task = {
            let (pool, missed) = (pool.clone(), missed.clone());
            callers.submit_blocking(move || {
                started_tx.send(()).unwrap();
                go.recv().unwrap();
                for _ in 0..CALLS {
                    pool.par(0..ITEMS).for_each(|i| {
                        black_box(work(i));
                        if !is_cancelled() {
                            missed.fetch_add(1, Ordering::Relaxed);
                        }
                    });
                }
            })
        };
        started.recv().unwrap();
        // Running: `cancel` only asks it to stop, and every `is_cancelled`
        // in it, or in work done on its behalf, says so from now on.
        assert!(!task.cancel());
        go_tx.send(()).unwrap();
        let err = task.join().unwrap_err();
        assert!(err.is_stopped(), "{err}");
        assert_eq!(
            missed.load(Ordering::Relaxed),
            0,
            "items of a cancelled task's par calls that saw is_cancelled() == false"
        );
    });
}

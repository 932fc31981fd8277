//! Regression (second-reader review of the lingering change): a task on a
//! one-worker pool `a` calls `par` on pool `b`, and an item of that call
//! installs back into `a`. Such a call walks on `a`'s worker (where
//! `a.install` runs inline) or hops into `b` with `install`, whose wait on a
//! worker of another pool runs that pool's queued work (`install.rs`): `a`'s
//! only worker runs the nested install itself. An outside share, since
//! removed (`par/drive.rs`, step 9), waited for its part in `Pool::scope`,
//! which on `a`'s worker runs only the awaited task: with `b`'s worker
//! blocked in `a.install` and `a`'s only worker blocked on that part,
//! neither moved.
mod common;

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;

use common::{item_work as work, watchdog};
use corepool::Pool;

const ITEMS: usize = common::PAR_ITEMS;
const CALLS: usize = common::PAR_CALLS;

#[test]
fn an_item_installing_back_into_the_callers_one_worker_pool_does_not_hang() {
    watchdog(120, || {
        let a = Pool::builder().workers(1).build().unwrap();
        let b = Pool::builder().workers(2).build().unwrap();
        let (done_tx, done) = channel();
        {
            let (a2, b) = (a.clone(), b.clone());
            a.spawn(move || {
                let installs = AtomicUsize::new(0);
                for _ in 0..CALLS {
                    b.par(0..ITEMS).for_each(|i| {
                        black_box(work(i));
                        // The last item: in the part a share hands to `b`.
                        if i == ITEMS - 1 {
                            a2.install(|| installs.fetch_add(1, Ordering::Relaxed));
                        }
                    });
                }
                done_tx.send(installs.into_inner()).unwrap();
            });
        }
        assert_eq!(done.recv().unwrap(), CALLS);
    });
}

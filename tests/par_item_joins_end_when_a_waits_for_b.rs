//! A `join` made inside an item of a `par` call, whose `a` waits for its
//! own `b`, ends once the other worker is free: the supported pattern of
//! `join_offers_b_to_a_worker_that_goes_idle_later`, inside a call over
//! items that each outlast a wake-up. Such a call keeps its rest forked
//! (src/par/drive.rs, step 11); a second reader found that the first
//! version, which left that fork in the worker's exposure slot, kept the
//! item's join from ever being offered (every call hung for items 20–150
//! of 200). The forks are now published at once, leaving the slot to the
//! item's join.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{RecvTimeoutError, channel};
use std::time::Duration;

use common::{busy_for, watchdog};
use corepool::Pool;

const ITEMS: usize = 200;

/// One call in which item `k` joins an `a` that waits for `b`; returns how
/// many such joins gave up (an `a` waits at most 10 s, far longer than any
/// item of this test needs, so that a failure is reported, not hung).
fn call_with_a_waiting_join(pool: &Pool, k: usize) -> usize {
    let gave_up = AtomicUsize::new(0);
    pool.par(0..ITEMS).for_each(|i| {
        busy_for(Duration::from_micros(100));
        if i == k {
            let (tx, rx) = channel::<()>();
            let (got, ()) = pool.join(
                move || match rx.recv_timeout(Duration::from_secs(10)) {
                    Ok(()) => true,
                    Err(RecvTimeoutError::Timeout) => false,
                    Err(RecvTimeoutError::Disconnected) => {
                        unreachable!("b sends before it drops tx")
                    }
                },
                // After a timed-out `a` nobody listens: the assertion
                // below reports it.
                move || {
                    let _ = tx.send(());
                },
            );
            if !got {
                gave_up.fetch_add(1, Ordering::Relaxed);
            }
        }
    });
    gave_up.into_inner()
}

#[test]
fn an_items_join_whose_a_waits_for_b_ends_from_outside_and_inside() {
    watchdog(300, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for k in [0, 1, 20, 50, 100, 150, ITEMS - 2, ITEMS - 1] {
            for round in 0..3 {
                assert_eq!(
                    call_with_a_waiting_join(&pool, k),
                    0,
                    "outside, item {k}, round {round}"
                );
                let inside = pool.install(|| call_with_a_waiting_join(&pool, k));
                assert_eq!(inside, 0, "inside install, item {k}, round {round}");
            }
        }
    });
}

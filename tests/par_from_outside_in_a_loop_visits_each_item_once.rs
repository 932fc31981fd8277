//! `par` called in a loop from a thread outside the pool, on inputs around
//! the size where a call hops into the pool (`src/par/drive.rs`, steps 0, 1
//! and 9) and where the pool's workers linger between calls
//! (`src/sleep.rs`, step 6): whichever path each call takes (walked alone,
//! hopped in, split there, the caller waiting for the hop yielding its CPU
//! or parked: `src/install.rs`, step 5), every item is visited exactly once, a panic
//! comes out of the call with every item dropped once, and a
//! `shutdown_now` racing with the calls loses nothing. (Written for the
//! outside share of an earlier step 9, since removed; kept as a guard of
//! the paths above.)
mod common;

use std::hint::black_box;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Barrier};

use common::{DropCounter, item_work as work, quiet_panics_containing, watchdog};
use corepool::Pool;

const ITEMS: usize = common::PAR_ITEMS;
const CALLS: u32 = common::PAR_CALLS as u32;

#[test]
fn every_item_is_visited_once_per_call() {
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let counts: Vec<AtomicU32> = (0..ITEMS).map(|_| AtomicU32::new(0)).collect();
        for call in 0..CALLS {
            pool.par(&counts[..]).for_each(|c| {
                black_box(work(c as *const _ as usize));
                c.fetch_add(1, Ordering::Relaxed);
            });
            let sum: u64 = pool.par(0..ITEMS).map(work).sum();
            assert_eq!(sum, (0..ITEMS).map(work).sum::<u64>(), "call {call}");
        }
        for (i, c) in counts.iter().enumerate() {
            assert_eq!(c.load(Ordering::Relaxed), CALLS, "item {i}");
        }
    });
}

#[test]
fn a_panic_comes_out_and_every_item_is_dropped_once() {
    quiet_panics_containing("planned panic at item");
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for call in 0..60usize {
            let counter = DropCounter::new();
            let tokens: Vec<_> = (0..ITEMS).map(|_| counter.token()).collect();
            // Spread the panics over the input: early (the caller's own
            // walk), middle and late (the part a worker may have taken).
            let at = (call * 997) % ITEMS;
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                pool.par(tokens)
                    .enumerate()
                    .map(|(i, token)| {
                        black_box(work(i));
                        if i == at {
                            panic!("planned panic at item {i}");
                        }
                        token
                    })
                    .collect::<Vec<_>>()
            }));
            let Err(payload) = outcome else {
                panic!("call {call}: the planned panic did not come out of the call");
            };
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .unwrap_or_default();
            assert_eq!(message, format!("planned panic at item {at}"));
            counter.assert_all_dropped_once();
            // The pool is still whole.
            assert_eq!(
                pool.par(0..ITEMS).map(work).sum::<u64>(),
                (0..ITEMS).map(work).sum::<u64>()
            );
        }
    });
}

#[test]
fn a_shutdown_now_racing_with_the_calls_loses_no_item() {
    watchdog(120, || {
        for round in 0..8 {
            let pool = Pool::builder().workers(2).build().unwrap();
            let counts: Arc<Vec<AtomicU32>> =
                Arc::new((0..ITEMS).map(|_| AtomicU32::new(0)).collect());
            let start = Arc::new(Barrier::new(2));
            let caller = {
                let (pool, counts, start) = (pool.clone(), counts.clone(), start.clone());
                std::thread::spawn(move || {
                    let mut calls = 0u32;
                    for call in 0..CALLS {
                        if call == 10 + round * 5 {
                            start.wait();
                        }
                        pool.par(&counts[..]).for_each(|c| {
                            black_box(work(c as *const _ as usize));
                            c.fetch_add(1, Ordering::Relaxed);
                        });
                        calls += 1;
                    }
                    calls
                })
            };
            start.wait();
            pool.shutdown_now();
            let calls = caller.join().unwrap();
            assert_eq!(calls, CALLS);
            for (i, c) in counts.iter().enumerate() {
                assert_eq!(c.load(Ordering::Relaxed), CALLS, "round {round}, item {i}");
            }
        }
    });
}

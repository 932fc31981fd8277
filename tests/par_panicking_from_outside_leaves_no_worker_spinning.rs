//! A `par` call from outside the pool that hops in keeps every idle worker
//! lingering (searching, not parked) until its end. When such a call
//! panicked, the window stayed open to the call's *estimated* end: with a
//! slow first item (300 µs) and a million items, about 300 s of both
//! workers spinning after the call was over. The window now closes when
//! the call ends, by returning or by unwinding: the idle workers park.
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{busy_for, eventually, watchdog};
use corepool::Pool;

#[test]
fn idle_workers_park_after_a_panicking_call_from_outside() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            pool.par(0..1_000_000u64).for_each(|i| {
                if i == 0 {
                    busy_for(Duration::from_micros(300));
                }
                if i == 600_000 {
                    panic!("item {i}");
                }
            })
        }));
        assert!(outcome.is_err(), "the call re-raises its item's panic");

        // Both workers run a task at once (each holds `arrive` until the
        // other and this thread come), so each is awake, not parked, when
        // the counts are read; `leave` lets them go.
        let arrive = Arc::new(Barrier::new(3));
        let leave = Arc::new(Barrier::new(3));
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let (arrive, leave) = (arrive.clone(), leave.clone());
                pool.submit(move || {
                    arrive.wait();
                    leave.wait();
                })
            })
            .collect();
        arrive.wait();
        let before: Vec<u64> = pool
            .stats()
            .workers
            .iter()
            .map(|w| w.times_parked)
            .collect();
        leave.wait();
        for task in tasks {
            task.join().unwrap();
        }
        // With nothing left to do, each parks again: before the fix they
        // lingered for minutes and the watchdog failed the test.
        eventually(|| {
            pool.stats()
                .workers
                .iter()
                .zip(&before)
                .all(|(w, &b)| w.times_parked > b)
        });
    });
}

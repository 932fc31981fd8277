//! A `par` call from outside the pool that hops in keeps every idle worker
//! lingering (searching, not parked) until its end. When such a call
//! panicked, the window stayed open to the call's *estimated* end: with a
//! slow first item (300 µs) and a million items, about 300 s of both
//! workers spinning after the call was over. The window now closes when
//! the call ends, by returning or by unwinding: the idle workers park.
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::Duration;

use common::{busy_for, every_worker_parks_after, parks_while_all_are_awake, watchdog};
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

        // Both workers hold a task at once, so each is awake, not parked,
        // when the counts are read.
        let before = parks_while_all_are_awake(&pool, 2);
        // With nothing left to do, each parks again: before the fix they
        // lingered for minutes and the watchdog failed the test.
        every_worker_parks_after(&pool, &before);
    });
}

//! A long `par` call from outside hops into the pool even when no second
//! timed step would come before its rest is taken. From outside, a hop
//! needs two estimates to agree (`hop_rest` in src/par/drive.rs), so that
//! one slow step cannot buy one; the second is the timed step before the
//! latest. With `with_min_len(m)` and `3m` to `4m` items, the walk takes
//! `m` items, looks once, takes `m` more and then the rest whole: there is
//! no second timed look. A rule with no fallback never hopped there, and
//! 250 items of 5 µs ran on the caller. The walk's whole pace is now the
//! second estimate at the first timed look.
mod common;

use std::time::Duration;

use common::{busy_for, watchdog};
use corepool::Pool;

#[test]
fn a_long_call_with_min_len_steps_hops_into_the_pool() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        // 350 items of at least 5 µs with pieces of 100: after the first
        // 100 (500 µs or more) the rest is estimated at 1.25 ms or more by
        // either pace, well past a hop's worth (`WORTH_A_HOP`, 35 µs), however slow this
        // machine runs.
        let on_worker: Vec<bool> = pool
            .par(0..350u32)
            .with_min_len(100)
            .map(|_| {
                busy_for(Duration::from_micros(5));
                Pool::current_worker_index().is_some()
            })
            .collect();
        assert_eq!(on_worker.len(), 350);
        assert!(
            on_worker.iter().any(|&w| w),
            "no item ran on a worker: the call never hopped into the pool"
        );
        // The first piece always runs on the caller, before the first look.
        assert!(!on_worker[0], "the walk starts on the calling thread");
    });
}

//! `blocking_keep_alive(Duration::MAX)` ("keep lane threads forever"): the
//! lane thread computed its idle deadline as `now + keep_alive`, which
//! overflowed and panicked as soon as the thread went idle. The thread died
//! still counted as idle and alive, so the next `submit_blocking` was handed
//! to nobody (its `join` hung) and `shutdown` waited forever for the dead
//! thread.
mod common;

use std::time::Duration;

use common::watchdog;
use corepool::Pool;

#[test]
fn lane_tasks_after_an_idle_spell_still_run_and_shutdown_returns() {
    watchdog(60, || {
        let pool = Pool::builder()
            .workers(1)
            .blocking_keep_alive(Duration::MAX)
            .build()
            .unwrap();
        for i in 0..5u32 {
            // Each task finds the lane thread idle (the previous one ended).
            assert_eq!(pool.submit_blocking(move || i * 2).join().unwrap(), i * 2);
        }
        pool.shutdown();
    });
}

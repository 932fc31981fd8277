//! A worker blocked in a join's wait for its stolen half (sleep.rs, step 8)
//! while the thief of that half runs a loop of tiny joins stays blocked.
//! Two defects made it busy instead:
//! - When every fork-join exposure woke a blocked helper, each tiny join's
//!   exposure (taken back within nanoseconds) woke it to nothing: it
//!   searched, listed itself again and was woken again, a whole CPU busy
//!   (297.8 ms of CPU in 300 ms) and the loop at half its speed.
//! - When every job it ran was followed by a 20 µs search, the search
//!   claimed one exposed tiny half after another (thousands in a run, each
//!   a few nanoseconds of work): 2-177 ms of CPU in 300 ms, over half the
//!   run in 1 of 40 runs. A job shorter than 1 µs is now followed by a block
//!   (worker.rs, `HELP_TINY_JOB`): 2-10 ms in 60 release runs.
//!
//! Release builds only: in a debug build a tiny half takes longer than
//! `HELP_TINY_JOB` to run, so the waiting worker goes on claiming them
//! (3-76 ms in 30 runs), as it does with halves worth stealing.
//!
//! Load from outside the test mostly lowers the figure measured here (it
//! takes CPU from the helper); a tiny half preempted while it runs reads as
//! longer than 1 µs and costs one more 20 µs search, far inside the bound.
mod common;
#[path = "common/cpu.rs"]
mod cpu;

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{unpinned_pool, watchdog};
use cpu::{process_cpu, thread_cpu};

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "in a debug build a tiny half runs longer than HELP_TINY_JOB, so the waiting \
              worker goes on claiming them, as it does halves worth stealing; CI runs this \
              test in release"
)]
fn the_worker_waiting_for_its_stolen_half_uses_little_cpu() {
    watchdog(60, || {
        let pool = unpinned_pool(2);
        const RUN: Duration = Duration::from_millis(300);
        let (all_cpu, thief_cpu, wall) = pool.install(|| {
            let b_started = AtomicBool::new(false);
            let cpu_before = process_cpu();
            let start = Instant::now();
            let (_, thief_cpu) = pool.join(
                // `a` ends once `b` runs on the other worker: this worker
                // then waits for `b`, blocked.
                || {
                    while !b_started.load(Ordering::SeqCst) {
                        std::hint::spin_loop();
                    }
                },
                || {
                    b_started.store(true, Ordering::SeqCst);
                    let cpu_before = thread_cpu();
                    let start = Instant::now();
                    while start.elapsed() < RUN {
                        let (x, y) =
                            pool.join(|| std::hint::black_box(1u64), || std::hint::black_box(2u64));
                        std::hint::black_box(x + y);
                    }
                    thread_cpu() - cpu_before
                },
            );
            (process_cpu() - cpu_before, thief_cpu, start.elapsed())
        });
        let others = all_cpu.saturating_sub(thief_cpu);
        assert!(
            others < wall / 4,
            "every thread but the one running the joins used {others:?} of CPU in {wall:?}"
        );
    });
}

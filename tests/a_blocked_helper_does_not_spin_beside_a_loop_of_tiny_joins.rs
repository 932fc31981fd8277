//! A worker blocked in a join's wait for its stolen half (sleep.rs, step 8)
//! while the thief of that half runs a loop of tiny joins stays blocked,
//! and an idle worker beside such a loop stays mostly idle.
//!
//! Two defects made the waiting worker busy:
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
//! An idle worker searched on after each half it claimed, and claimed the
//! next: 195-244 ms of CPU in 300 ms. After a half shorter than 1 µs it now
//! rests, blocked, for 50 µs (worker.rs, `IDLE_REST`): 44-67 ms in 25 runs.
//!
//! Release builds only: in a debug build a tiny half takes longer than
//! `HELP_TINY_JOB` to run, so the other worker goes on claiming them
//! (3-76 ms in 30 runs for the waiting one), as it does with halves worth
//! stealing.
//!
//! Load from outside the test mostly lowers the figures measured here (it
//! takes CPU from the other worker); a tiny half preempted while it runs
//! reads as longer than 1 µs and costs one more search, far inside the
//! bounds.
mod common;

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{unpinned_pool, watchdog};

/// User plus system CPU of the whole process.
fn process_cpu() -> Duration {
    // SAFETY: `rusage` is plain data, for which all zeroes is a valid value;
    // `getrusage` writes one into the pointer it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is to a live, writable `rusage`.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
    let time = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// CPU of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: `timespec` is plain data, for which all zeroes is valid.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is to a live, writable `timespec`.
    assert_eq!(
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) },
        0
    );
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Only one measurement at a time: each reads the whole process's CPU.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

const RUN: Duration = Duration::from_millis(300);

/// Runs a loop of joins of two empty halves for [`RUN`] on a worker of a
/// 2-worker pool, the other worker waiting in a join for the loop (with
/// `waiting`) or idle; returns the CPU every thread but the loop's used, and
/// the wall time.
fn cpu_beside_a_loop_of_tiny_joins(waiting: bool) -> (Duration, Duration) {
    let _one = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    watchdog(60, move || {
        let pool = unpinned_pool(2);
        let the_loop = || {
            let cpu_before = thread_cpu();
            let start = Instant::now();
            while start.elapsed() < RUN {
                let (x, y) =
                    pool.join(|| std::hint::black_box(1u64), || std::hint::black_box(2u64));
                std::hint::black_box(x + y);
            }
            thread_cpu() - cpu_before
        };
        let (all_cpu, loop_cpu, wall) = pool.install(|| {
            let b_started = AtomicBool::new(false);
            let cpu_before = process_cpu();
            let start = Instant::now();
            let loop_cpu = if waiting {
                pool.join(
                    // `a` ends once `b` runs on the other worker: this
                    // worker then waits for `b`, blocked.
                    || {
                        while !b_started.load(Ordering::SeqCst) {
                            std::hint::spin_loop();
                        }
                    },
                    || {
                        b_started.store(true, Ordering::SeqCst);
                        the_loop()
                    },
                )
                .1
            } else {
                the_loop()
            };
            (process_cpu() - cpu_before, loop_cpu, start.elapsed())
        });
        // Every worker has exited before the other test measures.
        pool.shutdown();
        (all_cpu.saturating_sub(loop_cpu), wall)
    })
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "in a debug build a tiny half runs longer than HELP_TINY_JOB, so the waiting \
              worker goes on claiming them, as it does halves worth stealing; CI runs this \
              test in release"
)]
fn the_worker_waiting_for_its_stolen_half_uses_little_cpu() {
    let (others, wall) = cpu_beside_a_loop_of_tiny_joins(true);
    assert!(
        others < wall / 4,
        "every thread but the one running the joins used {others:?} of CPU in {wall:?}"
    );
}

#[test]
#[cfg_attr(
    debug_assertions,
    ignore = "in a debug build a tiny half runs longer than HELP_TINY_JOB, so the idle \
              worker goes on claiming them, as it does halves worth stealing; CI runs this \
              test in release"
)]
fn an_idle_worker_rests_beside_a_loop_of_tiny_joins() {
    let (others, wall) = cpu_beside_a_loop_of_tiny_joins(false);
    assert!(
        others < wall / 2,
        "every thread but the one running the joins used {others:?} of CPU in {wall:?}"
    );
}

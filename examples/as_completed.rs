//! Fibonacci numbers of different sizes, printed in the order they finish
//! (`corepool::as_completed`), with a deadline (`.within`): what has not
//! finished in time is cancelled if it has not started and told to stop if
//! it has.
//!
//! Mirrors "Example 7: Using as_completed()" of the `ProcessPoolExecutor`
//! tutorial (`for future in as_completed(futures)` over Fibonacci tasks). The
//! Fibonacci numbers are computed by naive recursion on purpose, so their cost
//! grows by a factor of 1.6 per step of n.
//!
//! usage: `cargo run --release --example as_completed -- [N...] [--deadline SECS]`

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::{Args, grouped, secs};
use corepool::as_completed;

const USAGE: &str =
    "as_completed [N...] [--deadline SECS]   (fib(N) for each N, default 40 30 44 35 20 with 2 s)";

/// fib(n) by naive recursion; `None` if `stop` was raised meanwhile. Only
/// calls with n > 20 look at the flag, so it costs nothing measurable.
fn fib(n: u32, stop: &AtomicBool) -> Option<u64> {
    if n < 2 {
        return Some(u64::from(n));
    }
    if n > 20 && stop.load(Ordering::Relaxed) {
        return None;
    }
    Some(fib(n - 1, stop)? + fib(n - 2, stop)?)
}

fn main() {
    let mut args = Args::parse(USAGE);
    let deadline: f64 = args.option("--deadline", 2.0);
    args.check(
        deadline.is_finite() && (0.0..=1e6).contains(&deadline),
        "--deadline must be a number of seconds",
    );
    let ns: Vec<u32> = args.rest_or("N", vec![40, 30, 44, 35, 20]);
    args.check(
        ns.iter().all(|&n| n <= 93),
        "N must be at most 93 (fib(93) is the largest u64)",
    );
    args.finish();

    let pool = common::pool();
    common::banner(&pool);
    let stop = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let tasks: Vec<_> = ns
        .iter()
        .map(|&n| {
            let stop = stop.clone();
            pool.submit(move || fib(n, &stop))
        })
        .collect();

    println!("submitted fib({ns:?}), deadline {deadline} s; in completion order:");
    let mut within = as_completed(tasks).within(Duration::from_secs_f64(deadline));
    for item in within.by_ref() {
        match item {
            Ok((i, Ok(Some(value)))) => println!(
                "  fib({}) = {} after {}",
                ns[i],
                grouped(value),
                secs(start.elapsed())
            ),
            Ok((i, Ok(None))) => println!("  fib({}) was stopped", ns[i]),
            Ok((i, Err(err))) => println!("  fib({}) failed: {err}", ns[i]),
            Err(timeout) => println!("deadline passed: {timeout}"),
        }
    }

    // Past the deadline: cancel what has not started, stop what is running.
    let pending = within.into_pending();
    stop.store(true, Ordering::Relaxed);
    for (i, task) in pending {
        if task.cancel() {
            println!("  fib({}) cancelled before it started", ns[i]);
        } else {
            match task.join() {
                Ok(Some(value)) => println!(
                    "  fib({}) = {} just after the deadline",
                    ns[i],
                    grouped(value)
                ),
                Ok(None) => println!("  fib({}) stopped while running", ns[i]),
                Err(err) => println!("  fib({}) failed: {err}", ns[i]),
            }
        }
    }
    println!(
        "done in {} on {} workers",
        secs(start.elapsed()),
        pool.workers()
    );
}

//! Submits 1,000,000 tiny tasks from outside the pool and joins them all,
//! in bounded batches, beside rayon's `spawn` plus a counting latch on the
//! same worker count: the per-task cost of the futures-style path, and the
//! memory it needs (peak RSS from /proc/self/status).
//!
//! Usage: `cargo run --release --example submit_million -- [TASKS] [BATCH]`

#[path = "../../examples/common/mod.rs"]
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

/// Peak resident memory of this process in KiB, where /proc says it.
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn main() {
    let mut args = common::Args::parse("submit_million [TASKS] [BATCH]");
    let tasks: usize = args.next_or("TASKS", 1_000_000);
    let batch: usize = args.next_or("BATCH", 100_000);
    args.check(tasks > 0 && batch > 0, "TASKS and BATCH must be positive");
    args.finish();

    let pool = common::pool();
    common::banner(&pool);

    let start = Instant::now();
    let mut sum = 0u64;
    let mut left = tasks;
    while left > 0 {
        let n = left.min(batch);
        let handles: Vec<_> = (0..n as u64).map(|i| pool.submit(move || i & 1)).collect();
        sum += handles.into_iter().map(|t| t.join().unwrap()).sum::<u64>();
        left -= n;
    }
    let corepool_time = start.elapsed();
    assert_eq!(
        sum as usize,
        tasks / batch * (batch / 2) + (tasks % batch) / 2
    );
    let rss = peak_rss_kib();

    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(pool.workers())
        .build()
        .unwrap();
    let start = Instant::now();
    let mut left = tasks;
    while left > 0 {
        let n = left.min(batch);
        let latch = Arc::new((Mutex::new(0usize), Condvar::new()));
        let done = Arc::new(AtomicUsize::new(0));
        for i in 0..n {
            let (latch, done) = (latch.clone(), done.clone());
            rayon.spawn(move || {
                std::hint::black_box(i & 1);
                if done.fetch_add(1, Ordering::AcqRel) + 1 == n {
                    *latch.0.lock().unwrap() = n;
                    latch.1.notify_all();
                }
            });
        }
        let mut finished = latch.0.lock().unwrap();
        while *finished < n {
            finished = latch.1.wait(finished).unwrap();
        }
        left -= n;
    }
    let rayon_time = start.elapsed();

    let per = |d: std::time::Duration| d.as_nanos() as f64 / tasks as f64;
    println!(
        "{} tiny tasks submitted from outside and joined, in batches of {}",
        common::grouped(tasks as u64),
        common::grouped(batch as u64)
    );
    println!(
        "corepool submit + join: {:>7.0} ns/task  ({})",
        per(corepool_time),
        common::secs(corepool_time)
    );
    println!(
        "rayon spawn + latch:    {:>7.0} ns/task  ({})",
        per(rayon_time),
        common::secs(rayon_time)
    );
    if let Some(kib) = rss {
        println!(
            "peak RSS after the corepool run: {} KiB",
            common::grouped(kib)
        );
    }
}

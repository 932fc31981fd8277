//! Tasks that crash on some inputs, on the process pool: every other task
//! still finishes, and each crash is reported with its signal.
//!
//! The task parses a record and, for "bad" records, calls into code that
//! crashes: a C function handed a null pointer (`strlen(NULL)`, SIGSEGV) or
//! `abort()` (SIGABRT). On a thread pool either would end the program; here
//! only the worker process running the task dies, the pool starts another,
//! and the summary lists what happened to each input.
//!
//! `--measure` then times, on one worker: a tiny task's round trip (submit
//! and join), how long after a crash the next task's result is back (the
//! worker's replacement included), and how late a hung task's timeout ends
//! it.
//!
//! usage: `cargo run --release --features process --example process_crash -- [TASKS] [--every N] [--measure]`

#[path = "common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use common::{Args, secs, timed};
use corepool::process::{self, ProcessPool};

const USAGE: &str = "process_crash [TASKS] [--every N] [--measure]   (TASKS tasks, default 200; every Nth crashes, default 10; --measure: then time round trips, crash recovery and timeouts)";

/// A C function given a null pointer: the crash a buggy library causes.
fn c_library_crash() -> usize {
    // SAFETY: none, on purpose: this is the crash the example shows.
    // `strlen` reads address 0, which is never mapped, and the process gets
    // SIGSEGV; only this worker process dies.
    unsafe { libc::strlen(std::hint::black_box(std::ptr::null())) }
}

/// The task: the sum of the digits of `n`, except that inputs in the crash
/// set take the process down, alternately with SIGSEGV and abort().
fn digit_sum((n, every): (u64, u64)) -> u64 {
    if n % every == every - 1 {
        if (n / every) % 2 == 0 {
            return c_library_crash() as u64;
        }
        std::process::abort();
    }
    let mut sum = 0;
    let mut m = n;
    while m > 0 {
        sum += m % 10;
        m /= 10;
    }
    sum
}

fn noop(x: u64) -> u64 {
    x
}

fn crash(_: u64) -> u64 {
    std::process::abort()
}

fn hang(_: u64) -> u64 {
    loop {
        std::thread::park();
    }
}

/// The median and the largest of `samples`, for printing.
fn median_max(mut samples: Vec<Duration>) -> (Duration, Duration) {
    samples.sort_unstable();
    (samples[samples.len() / 2], samples[samples.len() - 1])
}

fn us(d: Duration) -> String {
    format!("{:.1} µs", d.as_secs_f64() * 1e6)
}

/// Round trip, crash replacement and timeout lateness, on one worker.
fn measure() {
    let pool = match ProcessPool::builder().workers(1).build() {
        Ok(pool) => pool,
        Err(err) => {
            eprintln!("error: cannot start the process pool: {err}");
            std::process::exit(1);
        }
    };
    let round = |x| {
        let start = Instant::now();
        let _ = pool.submit(noop, x).join();
        start.elapsed()
    };
    for x in 0..1000 {
        round(x);
    }
    let trips: Vec<Duration> = (0..20_000).map(round).collect();
    let (median, max) = median_max(trips);
    println!(
        "round trip of a tiny task (submit + join), 20,000 runs: median {}, max {}",
        us(median),
        us(max)
    );

    let replaced: Vec<Duration> = (0..50)
        .map(|_| {
            let _ = pool.submit(crash, 0).join();
            round(1)
        })
        .collect();
    let (median, max) = median_max(replaced);
    println!(
        "after a crash, the next task's result back in (worker replaced), 50 crashes: median {}, max {}",
        us(median),
        us(max)
    );

    let timeout = Duration::from_millis(20);
    let late: Vec<Duration> = (0..20)
        .map(|_| {
            let task = pool.submit_timeout(hang, 0, timeout);
            // The timeout counts from the moment the task is sent.
            while !task.is_running() {
                std::thread::yield_now();
            }
            let start = Instant::now();
            let _ = task.join();
            start.elapsed().saturating_sub(timeout)
        })
        .collect();
    let (median, max) = median_max(late);
    println!(
        "a hung task's error back after its 20 ms timeout, 20 runs: median {} late, max {} late",
        us(median),
        us(max)
    );
}

fn main() {
    process::init();
    let mut args = Args::parse(USAGE);
    let then_measure = args.flag("--measure");
    let every: u64 = args.option("--every", 10);
    let tasks: u64 = args.next_or("TASKS", 200);
    args.check(every >= 1, "--every must be at least 1");
    args.finish();

    let pool = match ProcessPool::new() {
        Ok(pool) => pool,
        Err(err) => {
            eprintln!("error: cannot start the process pool: {err}");
            std::process::exit(1);
        }
    };
    println!("pool: {} worker processes", pool.workers());
    let (results, took) = timed(|| {
        pool.map(digit_sum, (0..tasks).map(|n| (n, every)))
            .collect::<Vec<_>>()
    });

    let mut finished = 0u64;
    let mut checksum = 0u64;
    let mut crashes: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    for (n, result) in (0..tasks).zip(results) {
        match result {
            Ok(sum) => {
                finished += 1;
                checksum += sum;
            }
            Err(err) => {
                let why = match err.signal() {
                    Some(libc::SIGSEGV) => "SIGSEGV".to_owned(),
                    Some(libc::SIGABRT) => "SIGABRT".to_owned(),
                    _ => err.kind().to_string(),
                };
                crashes.entry(why).or_default().push(n);
            }
        }
    }
    let crashed: usize = crashes.values().map(Vec::len).sum();
    println!(
        "{tasks} tasks: {finished} finished, {crashed} crashed, in {}",
        secs(took)
    );
    for (why, inputs) in &crashes {
        let shown: Vec<String> = inputs.iter().take(8).map(u64::to_string).collect();
        let more = if inputs.len() > 8 { ", ..." } else { "" };
        println!(
            "  {why}: {} tasks (inputs {}{more})",
            inputs.len(),
            shown.join(", ")
        );
    }
    println!("digit sum of the finished tasks: {checksum}");
    let expected_crashes = tasks / every;
    if crashed as u64 != expected_crashes || finished + crashed as u64 != tasks {
        eprintln!("error: expected {expected_crashes} crashes and every other task finished");
        std::process::exit(1);
    }
    drop(pool);
    if then_measure {
        measure();
    }
}

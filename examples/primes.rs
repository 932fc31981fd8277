//! Counts (and optionally lists) the primes in a range by trial division,
//! over blocks of numbers with `Pool::map`, and compares the time with the
//! same blocks on one thread.
//!
//! Mirrors "Example 4: CPU-Intensive Task" of the `ProcessPoolExecutor`
//! tutorial (`executor.map(is_prime, numbers)`) and its exercise "find prime
//! numbers in a range". Each item of the map is a block of numbers; `map`
//! hands the results back in input order, so `--list` prints them sorted.
//!
//! usage: `cargo run --release --example primes -- [LIMIT] [--from START] [--block B] [--list]`

#[path = "common/mod.rs"]
mod common;

use common::{Args, grouped, primes_in, secs, speedup, timed};

const USAGE: &str = "primes [LIMIT] [--from START] [--block B] [--list]   (primes in START..LIMIT, default 0..10000000)";

fn main() {
    let mut args = Args::parse(USAGE);
    let list = args.flag("--list");
    let from: u64 = args.option("--from", 0);
    let block: u64 = args.option("--block", 10_000);
    let limit: u64 = args.next_or("LIMIT", 10_000_000);
    args.check(block > 0, "--block must be at least 1");
    args.check(from <= limit, "START must not exceed LIMIT");
    args.check(limit <= 1 << 62, "LIMIT is too large");
    args.finish();

    let pool = common::pool();
    common::banner(&pool);
    let blocks = move || {
        (from..limit)
            .step_by(block as usize)
            .map(move |lo| (lo, (lo + block).min(limit)))
    };

    let (found, t_pool) = timed(|| pool.map(blocks(), primes_in).collect::<Vec<_>>());
    let (alone, t_one) = timed(|| blocks().map(primes_in).collect::<Vec<_>>());
    if found != alone {
        eprintln!("error: the pool and the single thread disagree");
        std::process::exit(1);
    }

    let count: usize = found.iter().map(Vec::len).sum();
    if list {
        for p in found.iter().flatten() {
            println!("{p}");
        }
    }
    println!(
        "{} primes in {}..{}",
        grouped(count as u64),
        grouped(from),
        grouped(limit)
    );
    println!("{} workers: {}", pool.workers(), secs(t_pool));
    println!(
        "1 thread:  {}  (speed-up {})",
        secs(t_one),
        speedup(t_one, t_pool)
    );
}

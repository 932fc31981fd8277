//! Counts (and optionally lists) the primes in a range by trial division,
//! over blocks of numbers on the process pool (`ProcessPool::map`), and
//! compares the time with the same blocks on one thread: the `primes`
//! example, with worker processes instead of threads.
//!
//! Mirrors `executor.map(is_prime, numbers)` with a `ProcessPoolExecutor`.
//! Each item is a block `(lo, hi)`; the worker sends back the primes in it.
//!
//! usage: `cargo run --release --features process --example process_primes -- [LIMIT] [--from START] [--block B] [--list]`

#[path = "common/mod.rs"]
mod common;

use common::{Args, grouped, primes_in, secs, speedup, timed};
use corepool::process::{self, ProcessPool};

const USAGE: &str = "process_primes [LIMIT] [--from START] [--block B] [--list]   (primes in START..LIMIT, default 0..10000000)";

fn main() {
    process::init();
    let mut args = Args::parse(USAGE);
    let list = args.flag("--list");
    let from: u64 = args.option("--from", 0);
    let block: u64 = args.option("--block", 100_000);
    let limit: u64 = args.next_or("LIMIT", 10_000_000);
    args.check(block > 0, "--block must be at least 1");
    args.check(from <= limit, "START must not exceed LIMIT");
    args.check(limit <= 1 << 62, "LIMIT is too large");
    args.finish();

    let pool = match ProcessPool::new() {
        Ok(pool) => pool,
        Err(err) => {
            eprintln!("error: cannot start the process pool: {err}");
            std::process::exit(1);
        }
    };
    match pool.cpus().iter().copied().collect::<Option<Vec<usize>>>() {
        Some(cpus) => println!(
            "pool: {} worker processes, pinned to CPUs {cpus:?}",
            pool.workers()
        ),
        None => println!("pool: {} worker processes, not pinned", pool.workers()),
    }
    let blocks = move || {
        (from..limit)
            .step_by(block as usize)
            .map(move |lo| (lo, (lo + block).min(limit)))
    };

    let (found, t_pool) = timed(|| pool.map(primes_in, blocks()).collect::<Result<Vec<_>, _>>());
    let found = match found {
        Ok(found) => found,
        Err(err) => {
            eprintln!("error: {err}");
            std::process::exit(1);
        }
    };
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

//! Maps a trivial function over many tiny items on the process pool
//! (`ProcessPool::map`), the job where per-round-trip costs dominate: the
//! counterpart of Python's `multiprocessing.Pool(2).map(noop, range(N))`.
//! Prints one line per round, `map N items on W workers: T ms`, and the
//! median; `bench/python/process_map_vs_pool.py` runs it beside Python.
//!
//! usage: `cargo run --release --features process --example process_map_tiny -- [N] [--workers W] [--rounds R] [--chunk C]`

#[path = "common/mod.rs"]
mod common;

use common::{Args, grouped};
use corepool::process::{self, ProcessPool};

const USAGE: &str = "process_map_tiny [N] [--workers W] [--rounds R] [--chunk C]   (N tiny items, default 100000; 2 workers; 5 rounds; C = 0: adaptive batches)";

fn tiny(x: u64) -> u64 {
    x ^ 1
}

fn main() {
    process::init();
    let mut args = Args::parse(USAGE);
    let workers: usize = args.option("--workers", 2);
    let rounds: usize = args.option("--rounds", 5);
    let chunk: usize = args.option("--chunk", 0);
    let n: u64 = args.next_or("N", 100_000);
    args.check(workers > 0, "--workers must be at least 1");
    args.check(rounds > 0, "--rounds must be at least 1");
    args.finish();

    let pool = match ProcessPool::builder().workers(workers).build() {
        Ok(pool) => pool,
        Err(err) => {
            eprintln!("error: cannot start the process pool: {err}");
            std::process::exit(1);
        }
    };
    // Warm up: every worker has started and served a call.
    let warm: Vec<u64> = pool.map(tiny, 0..100).map(Result::unwrap).collect();
    assert_eq!(warm.len(), 100);
    let mut times = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = std::time::Instant::now();
        let out: Result<Vec<u64>, _> = pool.map(tiny, 0..n).chunk_size(chunk).collect();
        let t = start.elapsed();
        let out = match out {
            Ok(out) => out,
            Err(err) => {
                eprintln!("error: {err}");
                std::process::exit(1);
            }
        };
        if out.len() as u64 != n || out.iter().enumerate().any(|(i, &y)| y != tiny(i as u64)) {
            eprintln!("error: wrong results");
            std::process::exit(1);
        }
        println!(
            "map {} items on {workers} workers: {:.2} ms",
            grouped(n),
            t.as_secs_f64() * 1e3
        );
        times.push(t);
    }
    times.sort_unstable();
    println!(
        "median of {rounds}: {:.2} ms",
        times[rounds / 2].as_secs_f64() * 1e3
    );
}

//! The sum of squares and the sum of cubes of `0..N`, over chunks, with one
//! `Pool::submit` per chunk and per sum; checked against the closed forms.
//!
//! Mirrors "Example 5: Processing Large Datasets" of the
//! `ProcessPoolExecutor` tutorial (sum of squares of chunks of a list) and
//! its first exercise (sum of cubes instead).
//!
//! usage: `cargo run --release --example squares -- [N] [CHUNKS]`

#[path = "common/mod.rs"]
mod common;

use common::{Args, grouped, secs, timed};
use corepool::Task;

const USAGE: &str = "squares [N] [CHUNKS]   (sums over 0..N, default 200000000 in 64 chunks)";

fn sum_of_powers(lo: u64, hi: u64, power: u32) -> u128 {
    (lo..hi).map(|x| u128::from(x).pow(power)).sum()
}

fn main() {
    let mut args = Args::parse(USAGE);
    let n: u64 = args.next_or("N", 200_000_000);
    let chunks: u64 = args.next_or("CHUNKS", 64);
    args.check(chunks >= 1, "CHUNKS must be at least 1");
    args.check(
        n <= 1 << 30,
        "N must be at most 2^30 (so the cube sum fits in u128)",
    );
    args.finish();

    let pool = common::pool();
    common::banner(&pool);
    let ((squares, cubes), took) = timed(|| {
        let bounds: Vec<(u64, u64)> = (0..chunks)
            .map(|i| (n * i / chunks, n * (i + 1) / chunks))
            .collect();
        let submit_all = |power: u32| -> Vec<Task<u128>> {
            bounds
                .iter()
                .map(|&(lo, hi)| pool.submit(move || sum_of_powers(lo, hi, power)))
                .collect()
        };
        // Both sums are queued before either is collected.
        let square_tasks = submit_all(2);
        let cube_tasks = submit_all(3);
        let total = |tasks: Vec<Task<u128>>| -> u128 {
            tasks
                .into_iter()
                .map(|t| t.join().expect("a chunk failed"))
                .sum()
        };
        (total(square_tasks), total(cube_tasks))
    });

    let m = u128::from(n);
    let expected_squares = if n == 0 {
        0
    } else {
        (m - 1) * m * (2 * m - 1) / 6
    };
    let expected_cubes = (m * m.saturating_sub(1) / 2).pow(2);
    println!("over 0..{} in {chunks} chunks:", grouped(n));
    println!("sum of squares: {}", grouped(squares));
    println!("sum of cubes:   {}", grouped(cubes));
    let ok = squares == expected_squares && cubes == expected_cubes;
    println!(
        "closed forms (n-1)n(2n-1)/6 and ((n-1)n/2)^2 agree: {}",
        if ok { "yes" } else { "NO" }
    );
    println!(
        "{} tasks on {} workers: {}",
        2 * chunks,
        pool.workers(),
        secs(took)
    );
    if !ok {
        std::process::exit(1);
    }
}

//! A long `Pool::map` behind an `indicatif` progress bar: corepool's `map`
//! iterator is an `ExactSizeIterator`, so `.progress()` knows the length and
//! the bar moves as results arrive, in order, on the calling thread.
//!
//! The job: the longest Collatz chain starting below N (Project Euler 14),
//! one start per map item; adaptive chunking groups the cheap items. It
//! mirrors the tutorials' `pool.map` over a large input, with the feedback a
//! long run needs (the bar is hidden when stderr is not a terminal).
//!
//! usage: `cargo run --release --example progress -- [N]`

#[path = "../../examples/common/mod.rs"]
mod common;

use common::{Args, grouped, secs, timed};
use indicatif::{ProgressBar, ProgressIterator, ProgressStyle};

const USAGE: &str = "progress [N]   (longest Collatz chain below N, default 5000000)";

/// How many terms the Collatz sequence from `start` has, down to 1.
fn chain_len(start: u64) -> u32 {
    let (mut n, mut terms) = (start, 1);
    while n != 1 {
        n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
        terms += 1;
    }
    terms
}

fn main() {
    let mut args = Args::parse(USAGE);
    let n: u64 = args.next_or("N", 5_000_000);
    args.check(
        (2..=1_000_000_000).contains(&n),
        "N must be in 2..=1000000000",
    );
    args.finish();

    let pool = common::pool();
    common::banner(&pool);
    let bar = ProgressBar::new(n - 1).with_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} chains, {per_sec}, eta {eta}")
            .expect("a valid template"),
    );
    let ((terms, start), took) = timed(|| {
        pool.map(1..n, |s| (chain_len(s), s))
            .progress_with(bar)
            // The first of the longest wins: max_by_key keeps the last, so
            // compare with the start reversed.
            .max_by_key(|&(terms, s)| (terms, std::cmp::Reverse(s)))
            .expect("at least one start")
    });
    println!(
        "the longest Collatz chain starting below {} starts at {} and has {terms} terms",
        grouped(n),
        grouped(start)
    );
    println!(
        "{} chains on {} workers in {}",
        grouped(n - 1),
        pool.workers(),
        secs(took)
    );
}

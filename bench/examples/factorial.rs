//! n! for a large n as a product tree whose leaves are submitted to the pool,
//! timed beside the same tree on one thread.
//!
//! Mirrors the `ProcessPoolExecutor` factorial of the "Parallel Computing in
//! Python" chapter (`executor.submit(factorial, 1000000)`), but splits the
//! work: `1..=n` is cut into one range per leaf, each leaf is a task, and the
//! partial products are multiplied pairwise, each pair as a task, one level
//! of the tree at a time. Big integers are `malachite-nz` naturals (FFT
//! multiplication and sub-quadratic decimal conversion).
//!
//! usage: `cargo run --release --example factorial -- [N] [--leaves L]`

#[path = "../../examples/common/mod.rs"]
mod common;

use common::{Args, grouped, secs, speedup, timed};
use corepool::{Pool, Task};
use malachite_nz::natural::Natural;

const USAGE: &str = "factorial [N] [--leaves L]   (N! for N >= 0, default 1000000)";

/// The product of `lo..hi` as a balanced tree of multiplications, on the
/// calling thread. Small ranges are multiplied in machine words first.
fn product(lo: u64, hi: u64) -> Natural {
    if hi - lo <= 64 {
        let mut acc = Natural::from(1u32);
        let mut word = 1u64;
        for k in lo..hi {
            match word.checked_mul(k) {
                Some(w) => word = w,
                None => {
                    acc *= Natural::from(word);
                    word = k;
                }
            }
        }
        return acc * Natural::from(word);
    }
    let mid = lo + (hi - lo) / 2;
    product(lo, mid) * product(mid, hi)
}

/// `n!` on the pool: one task per leaf range, then one task per pair of
/// partial products, level by level, until one is left. The calling thread
/// joins each level before it submits the next, so no task ever waits for
/// another (see the note in `main` on why that matters).
fn parallel_factorial(pool: &Pool, n: u64, leaves: u64) -> Natural {
    let leaf_tasks: Vec<Task<Natural>> = (0..leaves)
        .map(|i| {
            let (lo, hi) = (1 + n * i / leaves, 1 + n * (i + 1) / leaves);
            pool.submit(move || product(lo, hi))
        })
        .collect();
    let mut level = join_all(leaf_tasks);
    while level.len() > 1 {
        let mut pairs = Vec::with_capacity(level.len().div_ceil(2));
        let mut values = level.into_iter();
        while let Some(a) = values.next() {
            pairs.push(match values.next() {
                Some(b) => pool.submit(move || a * b),
                None => pool.submit(move || a),
            });
        }
        level = join_all(pairs);
    }
    level.pop().unwrap_or_else(|| Natural::from(1u32))
}

/// Every task's value, or a one-line error and exit code 1.
fn join_all(tasks: Vec<Task<Natural>>) -> Vec<Natural> {
    tasks
        .into_iter()
        .map(|task| {
            task.join().unwrap_or_else(|err| {
                eprintln!("error: the product tree failed: {err}");
                std::process::exit(1);
            })
        })
        .collect()
}

fn main() {
    let mut args = Args::parse(USAGE);
    let leaves_arg: u64 = args.option("--leaves", 0);
    let n: u64 = args.next_or("N", 1_000_000);
    args.finish();

    let pool = common::pool();
    common::banner(&pool);
    // Eight leaves per worker keeps every worker busy while the big
    // multiplications near the root run.
    let leaves = if leaves_arg == 0 {
        8 * pool.workers() as u64
    } else {
        leaves_arg
    };
    let leaves = leaves.clamp(1, n.max(1));
    // Why not submit the whole tree at once, each pair task joining its two
    // inputs? A worker that joins runs other queued tasks while it waits, and
    // it may pick up the parent of the very task it is suspended in: the
    // parent then waits for a task that cannot resume. corepool 0.1 hangs on
    // that pattern; joining level by level on this thread avoids it.

    let (parallel, t_par) = timed(|| parallel_factorial(&pool, n, leaves));
    let (sequential, t_seq) = timed(|| product(1, n + 1));
    if parallel != sequential {
        eprintln!("error: the pool's product differs from the sequential one");
        std::process::exit(1);
    }
    let (decimal, t_dec) = timed(|| parallel.to_string());
    let significant = decimal.trim_end_matches('0');
    let zeros = decimal.len() - significant.len();
    let head = &decimal[..decimal.len().min(20)];
    let tail = &significant[significant.len().saturating_sub(20)..];

    println!("{n}! has {} digits", grouped(decimal.len() as u64));
    println!("first digits: {head}...");
    println!(
        "last digits:  ...{tail} followed by {} zeros",
        grouped(zeros as u64)
    );
    println!(
        "product tree, {leaves} leaves on {} workers: {}",
        pool.workers(),
        secs(t_par)
    );
    println!(
        "same tree on one thread:          {}  (speed-up {})",
        secs(t_seq),
        speedup(t_seq, t_par)
    );
    println!("decimal conversion:               {}", secs(t_dec));
    println!("results match the sequential product");
}

//! What a short `par` call costs over the plain loop, where no other worker
//! can help: the walk's own overhead (its steps and clock reads).
//!
//! Two measurements, each interleaved in one run:
//!
//! 1. **Alone**: a one-worker pool, inside `install`, adds a slice of `f32`
//!    into another with `par_iter_mut().zip(..).for_each(..)` — the `rmatsum`
//!    of rayon's matmul demo — in blocks of calls, alternating with blocks
//!    of the same loop written sequentially. Reported: the median over 60
//!    block pairs of (`par` block ÷ loop block), so the VM's slow and fast
//!    spells cancel, and the median time of one `par` call.
//! 2. **Nested**: on two workers, each half of a `join` runs a loop of such
//!    calls on its own data (both workers busy: the matmul demo's shape),
//!    for corepool, for rayon, and for the plain loop inside corepool's
//!    `join`. Reported: time per call (both halves' calls counted), and
//!    corepool's steals per call (`PoolStats`).
//!
//! ```sh
//! cargo run --release -p corepool-bench --example par_overhead             # 1 Ki, 4 Ki, 16 Ki, 64 Ki
//! cargo run --release -p corepool-bench --example par_overhead -- 4096     # one size
//! ```

use std::hint::black_box;
use std::time::Instant;

use corepool::{Pool, PoolStats};

/// Elements added per block of calls in the alone measurement.
const ALONE_WORK: usize = 2_000_000;
/// Block pairs in the alone measurement.
const ALONE_PAIRS: usize = 60;
/// Elements added per nested round (both halves together).
const NESTED_WORK: usize = 100_000_000;
/// Nested rounds.
const NESTED_ROUNDS: usize = 3;

fn par_add(dst: &mut [f32], src: &[f32]) {
    use corepool::prelude::*;
    dst.par_iter_mut()
        .zip(src.par_iter())
        .for_each(|(d, s)| *d += *s);
}

fn rayon_add(dst: &mut [f32], src: &[f32]) {
    use rayon::prelude::*;
    dst.par_iter_mut()
        .zip(src.par_iter())
        .for_each(|(d, s)| *d += *s);
}

fn loop_add(dst: &mut [f32], src: &[f32]) {
    dst.iter_mut().zip(src).for_each(|(d, s)| *d += *s);
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

/// Measurement 1: `(median par ÷ loop, median ns per par call)`.
fn alone(pool: &Pool, n: usize) -> (f64, f64) {
    let src = vec![1.0_f32; n];
    let mut dst = vec![0.0_f32; n];
    let calls = (ALONE_WORK / n).max(1);
    let mut ratios = Vec::with_capacity(ALONE_PAIRS);
    let mut per_call = Vec::with_capacity(ALONE_PAIRS);
    pool.install(|| {
        for _ in 0..ALONE_PAIRS {
            let start = Instant::now();
            for _ in 0..calls {
                par_add(black_box(&mut dst), &src);
            }
            let par = start.elapsed().as_secs_f64();
            let start = Instant::now();
            for _ in 0..calls {
                loop_add(black_box(&mut dst), &src);
            }
            let plain = start.elapsed().as_secs_f64();
            ratios.push(par / plain);
            per_call.push(par * 1e9 / calls as f64);
        }
    });
    (median(ratios), median(per_call))
}

fn steals(stats: &PoolStats) -> u64 {
    stats.workers.iter().map(|w| w.tasks_stolen).sum()
}

/// `calls` calls of `add` on `dst`, one after another.
fn calls_of(calls: usize, add: fn(&mut [f32], &[f32]), dst: &mut [f32], src: &[f32]) {
    for _ in 0..calls {
        add(black_box(&mut *dst), src);
    }
}

/// Measurement 2, one round: ns per call for corepool, rayon, the loop,
/// and corepool's steals per call.
fn nested(pool: &Pool, rayon: &rayon::ThreadPool, n: usize) -> [f64; 4] {
    let src = vec![1.0_f32; n];
    let (mut a, mut b) = (vec![0.0_f32; n], vec![0.0_f32; n]);
    let half = (NESTED_WORK / n / 2).max(1);
    let calls = (2 * half) as f64;
    // Each half of a join makes `half` calls of `add` on its own vector.
    let mut on_corepool = |add| {
        let start = Instant::now();
        pool.install(|| {
            corepool::join(
                || calls_of(half, add, &mut a, &src),
                || calls_of(half, add, &mut b, &src),
            )
        });
        start.elapsed().as_secs_f64() * 1e9 / calls
    };
    let before = steals(&pool.stats());
    let core = on_corepool(par_add);
    let stolen = (steals(&pool.stats()) - before) as f64 / calls;
    let plain = on_corepool(loop_add);
    let start = Instant::now();
    rayon.install(|| {
        rayon::join(
            || calls_of(half, rayon_add, &mut a, &src),
            || calls_of(half, rayon_add, &mut b, &src),
        )
    });
    let ray = start.elapsed().as_secs_f64() * 1e9 / calls;
    [core, ray, plain, stolen]
}

fn main() {
    let sizes: Vec<usize> = match std::env::args().nth(1) {
        Some(arg) => vec![arg.parse().expect("a size in elements")],
        None => vec![1 << 10, 1 << 12, 1 << 14, 1 << 16],
    };
    let one = Pool::builder()
        .workers(1)
        .build()
        .expect("a one-worker pool");
    let two = Pool::builder()
        .workers(2)
        .build()
        .expect("a two-worker pool");
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("a rayon pool");
    println!("alone: one worker, {ALONE_PAIRS} interleaved block pairs, medians");
    println!("| f32 elements | par ÷ loop | par ns a call |");
    println!("|---:|---:|---:|");
    for &n in &sizes {
        let (ratio, ns) = alone(&one, n);
        println!("| {n} | {ratio:.2}× | {ns:.0} |");
    }
    println!();
    println!("nested: a loop of calls in each half of a join, 2 workers, ns a call");
    println!(
        "| f32 elements | round | corepool | rayon | loop | corepool ÷ rayon | corepool steals a call |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|");
    for &n in &sizes {
        for round in 1..=NESTED_ROUNDS {
            let [core, ray, plain, stolen] = nested(&two, &rayon, n);
            println!(
                "| {n} | {round} | {core:.0} | {ray:.0} | {plain:.0} | {:.2}× | {stolen:.2} |",
                core / ray
            );
        }
    }
}

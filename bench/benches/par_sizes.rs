//! Per-call time of `par` by input size, beside rayon and the plain loop, in
//! one run: the measure that shows what a short call costs (hops, splits,
//! wake-ups) and what a long one gains.
//!
//! A plain harness, not criterion: a 1 Ki call takes about a microsecond and
//! criterion's per-sample bookkeeping would distort it. Each cell runs calls
//! back to back for about `--cell-ms` milliseconds (200 by default) after a
//! warm-up, several rounds interleaved across contenders, and reports the
//! median per-call time of the rounds.
//!
//! ```sh
//! cargo bench -p corepool-bench --bench par_sizes                 # the sweep, a markdown table
//! cargo bench -p corepool-bench --bench par_sizes -- --quick      # fewer sizes, short cells
//! cargo bench -p corepool-bench --bench par_sizes -- --sizes 100000,1000000   # some sizes only
//! ```
//!
//! Rows: operation (`for_each` adding one in place, `map(..).collect()` into
//! a `Vec<u64>`, `sum`) × size (1 Ki … 10 Mi `u64`) × where the call comes
//! from (a thread outside the pool; inside `install`). Columns: sequential,
//! rayon, corepool, and corepool ÷ rayon. 2 workers for both pools.

use std::hint::black_box;
use std::time::{Duration, Instant};

use corepool::Pool;
use rayon::prelude::{
    IntoParallelRefIterator as _, IntoParallelRefMutIterator as _, ParallelIterator as _,
};

const WORKERS: usize = 2;
const ROUNDS: usize = 5;

#[derive(Clone, Copy, PartialEq)]
enum Op {
    ForEach,
    MapCollect,
    Sum,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::ForEach => "for_each +1",
            Op::MapCollect => "map.collect",
            Op::Sum => "sum",
        }
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Who {
    Sequential,
    Rayon,
    Corepool,
}

/// One call of `op` by `who`, from outside (`inside == false`) or inside
/// the pool's `install`.
fn call(
    op: Op,
    who: Who,
    inside: bool,
    pools: &(Pool, rayon::ThreadPool),
    v: &mut Vec<u64>,
) -> u64 {
    let (pool, rayon_pool) = pools;
    match (who, op) {
        (Who::Sequential, Op::ForEach) => {
            v.iter_mut().for_each(|x| *x += 1);
            v[0]
        }
        (Who::Sequential, Op::MapCollect) => {
            let out: Vec<u64> = v.iter().map(|x| x * 3 + 1).collect();
            out[out.len() - 1]
        }
        (Who::Sequential, Op::Sum) => v.iter().sum(),
        (Who::Rayon, op) => {
            let work = |v: &mut Vec<u64>| match op {
                Op::ForEach => {
                    v.par_iter_mut().for_each(|x| *x += 1);
                    v[0]
                }
                Op::MapCollect => {
                    let out: Vec<u64> = v.par_iter().map(|x| x * 3 + 1).collect();
                    out[out.len() - 1]
                }
                Op::Sum => v.par_iter().sum(),
            };
            // From outside, every call hops in (rayon's way from a foreign
            // thread); inside, the caller already runs on a worker.
            rayon_pool.install(|| work(v))
        }
        (Who::Corepool, op) => {
            let work = |v: &mut Vec<u64>| match op {
                Op::ForEach => {
                    pool.par(&mut *v).for_each(|x| *x += 1);
                    v[0]
                }
                Op::MapCollect => {
                    let out: Vec<u64> = pool.par(&*v).map(|x| x * 3 + 1).collect();
                    out[out.len() - 1]
                }
                Op::Sum => pool.par(&*v).sum(),
            };
            if inside {
                pool.install(|| work(v))
            } else {
                work(v)
            }
        }
    }
}

/// Median per-call time over `ROUNDS` rounds of about `cell` each.
fn measure(
    op: Op,
    who: Who,
    inside: bool,
    pools: &(Pool, rayon::ThreadPool),
    v: &mut Vec<u64>,
    cell: Duration,
) -> Vec<f64> {
    let mut rounds = Vec::with_capacity(ROUNDS);
    // Calibrate: how many calls fill a cell.
    let start = Instant::now();
    let mut calls = 0u64;
    while start.elapsed() < cell / 4 {
        black_box(call(op, who, inside, pools, v));
        calls += 1;
    }
    let per_cell = (calls * 4).max(1);
    for _ in 0..ROUNDS {
        let start = Instant::now();
        for _ in 0..per_cell {
            black_box(call(op, who, inside, pools, v));
        }
        rounds.push(start.elapsed().as_secs_f64() / per_cell as f64);
    }
    rounds
}

/// Inside: the whole measurement runs on a worker (one `install` around the
/// loop), so each call is what a task inside the pool pays.
fn measure_where(
    op: Op,
    who: Who,
    inside: bool,
    pools: &(Pool, rayon::ThreadPool),
    v: &mut Vec<u64>,
    cell: Duration,
) -> f64 {
    let mut rounds = match (who, inside) {
        (Who::Rayon, true) => {
            let rayon_pool = &pools.1;
            rayon_pool.install(|| {
                let mut rounds = Vec::new();
                let start = Instant::now();
                let mut calls = 0u64;
                let run = |v: &mut Vec<u64>| match op {
                    Op::ForEach => {
                        v.par_iter_mut().for_each(|x| *x += 1);
                        v[0]
                    }
                    Op::MapCollect => {
                        let out: Vec<u64> = v.par_iter().map(|x| x * 3 + 1).collect();
                        out[out.len() - 1]
                    }
                    Op::Sum => v.par_iter().sum(),
                };
                while start.elapsed() < cell / 4 {
                    black_box(run(v));
                    calls += 1;
                }
                let per_cell = (calls * 4).max(1);
                for _ in 0..ROUNDS {
                    let start = Instant::now();
                    for _ in 0..per_cell {
                        black_box(run(v));
                    }
                    rounds.push(start.elapsed().as_secs_f64() / per_cell as f64);
                }
                rounds
            })
        }
        (Who::Corepool, true) => pools
            .0
            .install(|| measure(op, Who::Corepool, false, pools, v, cell)),
        _ => measure(op, who, inside, pools, v, cell),
    };
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

fn micros(secs: f64) -> String {
    let us = secs * 1e6;
    if us < 10.0 {
        format!("{us:.2}")
    } else if us < 1000.0 {
        format!("{us:.1}")
    } else {
        format!("{us:.0}")
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let quick = args.iter().any(|a| a == "--quick" || a == "--test");
    let cell_ms: u64 = args
        .iter()
        .position(|a| a == "--cell-ms")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.parse().expect("--cell-ms takes milliseconds"))
        .unwrap_or(if quick { 20 } else { 200 });
    let cell = Duration::from_millis(cell_ms);
    let chosen: Option<Vec<usize>> = args
        .iter()
        .position(|a| a == "--sizes")
        .and_then(|i| args.get(i + 1))
        .map(|s| {
            s.split(',')
                .map(|n| {
                    n.parse()
                        .expect("--sizes takes element counts, comma-separated")
                })
                .collect()
        });
    let sizes: &[usize] = match &chosen {
        Some(sizes) => sizes,
        None if quick => &[1 << 10, 1 << 14],
        None => &[1 << 10, 10_000, 100_000, 1_000_000, 10_000_000],
    };
    let pools = (
        Pool::builder().workers(WORKERS).build().expect("corepool"),
        rayon::ThreadPoolBuilder::new()
            .num_threads(WORKERS)
            .build()
            .expect("rayon"),
    );

    // Every contender computes the same answer on the same input.
    for &n in sizes {
        for op in [Op::ForEach, Op::MapCollect, Op::Sum] {
            let mut answers = Vec::new();
            for who in [Who::Sequential, Who::Rayon, Who::Corepool] {
                let mut v: Vec<u64> = (0..n as u64).collect();
                answers.push(call(op, who, false, &pools, &mut v));
            }
            assert!(
                answers.windows(2).all(|w| w[0] == w[1]),
                "{} at {n}: {answers:?}",
                op.name()
            );
        }
    }

    println!(
        "| op | elements | from | sequential µs | rayon µs | corepool µs | corepool ÷ rayon |"
    );
    println!("|---|---:|---|---:|---:|---:|---:|");
    for op in [Op::ForEach, Op::MapCollect, Op::Sum] {
        for &n in sizes {
            for inside in [false, true] {
                let mut v: Vec<u64> = (0..n as u64).collect();
                let seq = measure_where(op, Who::Sequential, false, &pools, &mut v, cell);
                let ray = measure_where(op, Who::Rayon, inside, &pools, &mut v, cell);
                let core = measure_where(op, Who::Corepool, inside, &pools, &mut v, cell);
                println!(
                    "| {} | {} | {} | {} | {} | {} | {:.2}× |",
                    op.name(),
                    n,
                    if inside { "inside" } else { "outside" },
                    micros(seq),
                    micros(ray),
                    micros(core),
                    core / ray
                );
            }
        }
    }
}

//! Per-call time of `par` by input size, beside rayon and the plain loop, in
//! one run: the measure that shows what a short call costs (hops, splits,
//! wake-ups) and what a long one gains.
//!
//! A plain harness, not criterion: a 1 Ki call takes about a microsecond and
//! criterion's per-sample bookkeeping would distort it. Each cell runs calls
//! back to back in blocks of about `--cell-ms` milliseconds (200 by
//! default) after a warm-up: six rounds, each a block of the loop, then
//! of rayon and of corepool, those two swapping places every round (so
//! each runs second in three); it reports each contender's median
//! per-call time over the rounds. (Until 2026-12-04 each contender ran its
//! blocks in a row, so a drift of this VM's speed between contenders went
//! into the ratio; then for a few runs five rounds, so corepool ran second
//! in three and rayon in two.)
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
/// Rounds per cell: even, so that rayon and corepool each run second in
/// half of them.
const ROUNDS: usize = 6;
const _: () = assert!(ROUNDS % 2 == 0, "the median below takes two middle rounds");

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

/// One call of `op` on rayon's pool, from whatever thread runs it.
fn rayon_work(op: Op, v: &mut Vec<u64>) -> u64 {
    match op {
        Op::ForEach => {
            v.par_iter_mut().for_each(|x| *x += 1);
            v[0]
        }
        Op::MapCollect => {
            let out: Vec<u64> = v.par_iter().map(|x| x * 3 + 1).collect();
            out[out.len() - 1]
        }
        Op::Sum => v.par_iter().sum(),
    }
}

/// One call of `op` on corepool's `pool`, from whatever thread runs it.
fn corepool_work(pool: &Pool, op: Op, v: &mut Vec<u64>) -> u64 {
    match op {
        Op::ForEach => {
            pool.par(&mut *v).for_each(|x| *x += 1);
            v[0]
        }
        Op::MapCollect => {
            let out: Vec<u64> = pool.par(&*v).map(|x| x * 3 + 1).collect();
            out[out.len() - 1]
        }
        Op::Sum => pool.par(&*v).sum(),
    }
}

/// One call of `op` by `who` from a thread outside both pools.
fn call(op: Op, who: Who, pools: &(Pool, rayon::ThreadPool), v: &mut Vec<u64>) -> u64 {
    match who {
        Who::Sequential => match op {
            Op::ForEach => {
                v.iter_mut().for_each(|x| *x += 1);
                v[0]
            }
            Op::MapCollect => {
                let out: Vec<u64> = v.iter().map(|x| x * 3 + 1).collect();
                out[out.len() - 1]
            }
            Op::Sum => v.iter().sum(),
        },
        // From outside, every call hops in (rayon's way from a foreign
        // thread).
        Who::Rayon => pools.1.install(|| rayon_work(op, v)),
        Who::Corepool => corepool_work(&pools.0, op, v),
    }
}

/// `calls` calls of `run` back to back; the time of one.
#[inline(always)]
fn time_calls(calls: u64, v: &mut Vec<u64>, mut run: impl FnMut(&mut Vec<u64>) -> u64) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        black_box(run(v));
    }
    start.elapsed().as_secs_f64() / calls as f64
}

/// One block of `calls` calls of `op` by `who`; the time of one call.
/// Inside: the whole block runs in one `install` of `who`'s pool, so each
/// call is what a task inside the pool pays.
fn block(
    op: Op,
    who: Who,
    inside: bool,
    pools: &(Pool, rayon::ThreadPool),
    v: &mut Vec<u64>,
    calls: u64,
) -> f64 {
    match (who, inside) {
        (Who::Rayon, true) => pools
            .1
            .install(|| time_calls(calls, v, |v| rayon_work(op, v))),
        (Who::Corepool, true) => pools
            .0
            .install(|| time_calls(calls, v, |v| corepool_work(&pools.0, op, v))),
        _ => time_calls(calls, v, |v| call(op, who, pools, v)),
    }
}

/// How many calls make a block of about `cell`: blocks of 1, 2, 4, …
/// calls until one lasts a quarter of `cell` (a warm-up as well), then as
/// many calls as that block's pace fits in `cell`.
fn calls_per_cell(
    op: Op,
    who: Who,
    inside: bool,
    pools: &(Pool, rayon::ThreadPool),
    v: &mut Vec<u64>,
    cell: Duration,
) -> u64 {
    let mut calls = 1u64;
    loop {
        let per_call = block(op, who, inside, pools, v, calls);
        if per_call * calls as f64 >= cell.as_secs_f64() / 4.0 {
            return ((cell.as_secs_f64() / per_call) as u64).max(1);
        }
        calls *= 2;
    }
}

/// The median per-call time of each contender over `ROUNDS` rounds, one
/// block of about `cell` each per round, the contenders interleaved:
/// the loop first, then rayon and corepool, which swap places every round
/// so that neither always starts while the other's idle workers still
/// spin (a slow drift of the machine's speed also lands on both).
fn measure_cell(
    op: Op,
    inside: bool,
    pools: &(Pool, rayon::ThreadPool),
    v: &mut Vec<u64>,
    cell: Duration,
) -> [f64; 3] {
    let who = [Who::Sequential, Who::Rayon, Who::Corepool];
    // The loop always runs from outside.
    let inside_of = |i: usize| inside && who[i] != Who::Sequential;
    let calls = [0, 1, 2].map(|i| calls_per_cell(op, who[i], inside_of(i), pools, v, cell));
    let mut rounds: [Vec<f64>; 3] = Default::default();
    for round in 0..ROUNDS {
        let order = if round % 2 == 0 { [0, 1, 2] } else { [0, 2, 1] };
        for i in order {
            rounds[i].push(block(op, who[i], inside_of(i), pools, v, calls[i]));
        }
    }
    rounds.map(|mut r| {
        r.sort_by(f64::total_cmp);
        // The median of an even count: the mean of the two middle rounds.
        (r[r.len() / 2 - 1] + r[r.len() / 2]) / 2.0
    })
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
                answers.push(call(op, who, &pools, &mut v));
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
                let [seq, ray, core] = measure_cell(op, inside, &pools, &mut v, cell);
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

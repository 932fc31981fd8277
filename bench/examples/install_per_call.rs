//! A loop of `pool.install(|| pool.par(..).for_each(..))` calls from a
//! thread outside the pool, one `install` per call, as rayon code ported
//! line by line does (`pool.install(|| v.par_iter_mut().for_each(..))`),
//! beside the same `par` call made from outside without `install`, rayon's
//! `install` + `par_iter_mut`, an empty `install` of each pool and a `join`
//! of two constants from outside each pool; 2
//! workers each, in one run. Per-call times in µs; for corepool's loop of
//! installs, also how often a worker parked and how many jobs were stolen
//! per call (`Pool::stats`).
//!
//! ```sh
//! cargo run --release -p corepool-bench --example install_per_call                 # 1 Mi, 1000 calls
//! cargo run --release -p corepool-bench --example install_per_call -- 100000 5000  # elements, calls
//! ```

use corepool::Pool;
use rayon::prelude::*;
use std::time::Instant;

const WORKERS: usize = 2;
const ROUNDS: usize = 4;

/// Per-call time of `calls` runs of `call`, µs.
fn per_call(calls: usize, mut call: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..calls {
        call();
    }
    start.elapsed().as_secs_f64() * 1e6 / calls as f64
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .map_or(1_000_000, |a| a.parse().expect("elements: a whole number"));
    let calls: usize = args
        .next()
        .map_or(1_000, |a| a.parse().expect("calls: a whole number"));
    let pool = Pool::builder()
        .workers(WORKERS)
        .build()
        .expect("corepool pool");
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .expect("rayon pool");
    let mut v = vec![1u64; n];
    let counts = |p: &Pool| {
        let stats = p.stats();
        (
            stats.workers.iter().map(|w| w.times_parked).sum::<u64>(),
            stats.workers.iter().map(|w| w.tasks_stolen).sum::<u64>(),
        )
    };
    println!("{n} elements, {calls} calls a cell, {WORKERS} workers, µs a call");
    println!(
        "| round | corepool install + par | parks a call | steals a call | corepool par from outside \
         | rayon install + par_iter_mut | empty install, corepool | empty install, rayon \
         | join of two constants from outside, corepool | the same, rayon |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for round in 0..ROUNDS {
        let before = counts(&pool);
        let installs = per_call(calls, || {
            pool.install(|| pool.par(&mut v[..]).for_each(|x| *x += 1))
        });
        let after = counts(&pool);
        let outside = per_call(calls, || pool.par(&mut v[..]).for_each(|x| *x += 1));
        let ray = per_call(calls, || {
            rayon.install(|| v.par_iter_mut().for_each(|x| *x += 1))
        });
        let empty = per_call(calls, || pool.install(|| ()));
        let ray_empty = per_call(calls, || rayon.install(|| ()));
        let join = per_call(calls, || {
            std::hint::black_box(pool.join(|| 1, || 2));
        });
        let ray_join = per_call(calls, || {
            std::hint::black_box(rayon.join(|| 1, || 2));
        });
        println!(
            "| {round} | {installs:.1} | {:.2} | {:.2} | {outside:.1} | {ray:.1} | {empty:.1} | {ray_empty:.1} | {join:.1} | {ray_join:.1} |",
            (after.0 - before.0) as f64 / calls as f64,
            (after.1 - before.1) as f64 / calls as f64,
        );
    }
    std::hint::black_box(&v);
}

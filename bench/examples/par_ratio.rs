//! Same-run, interleaved comparison of corepool's `par` vocabulary with
//! rayon's: each round runs corepool then rayon (then the reverse order the
//! next round) on the same input, 2 workers each, and the table gives the
//! median time of each and their ratio. Short, for noisy machines: ratios
//! within one run are what count.
//!
//! ```sh
//! cargo run --release -p corepool-bench --example par_ratio            # every workload, 7 rounds
//! cargo run --release -p corepool-bench --example par_ratio -- 11 sort # 11 rounds, names containing "sort"
//! cargo run --release -p corepool-bench --example par_ratio -- 15 primes # few heavy items of unequal cost
//! ```

use std::collections::HashMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use corepool::prelude::ParallelSliceMut as CoreSort;
use rayon::prelude::*;
use rayon::slice::ParallelSliceMut as RaySort;

#[path = "../benches/workloads/mod.rs"]
#[allow(dead_code)]
mod workloads;
use workloads::{primes_chunks, primes_in_chunk};

const WORKERS: usize = 2;
const VOCAB_LEN: usize = 10_000_000;
const STRINGS_LEN: usize = 1_000_000;
const MAP_LEN: usize = 1_000_000;

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

fn random_u64s(n: usize) -> Vec<u64> {
    let mut state = 7;
    (0..n).map(|_| splitmix64(&mut state)).collect()
}

/// Times `run` on a fresh `setup()` each time (setup untimed).
fn time<I, O>(setup: &impl Fn() -> I, run: &impl Fn(&mut I) -> O) -> Duration {
    let mut input = setup();
    let start = Instant::now();
    let out = run(&mut input);
    let elapsed = start.elapsed();
    drop(black_box(out));
    drop(input);
    elapsed
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn compare<I, O1, O2>(
    name: &str,
    rounds: usize,
    setup: impl Fn() -> I,
    core: impl Fn(&mut I) -> O1,
    ray: impl Fn(&mut I) -> O2,
) {
    // One untimed warm-up each.
    time(&setup, &core);
    time(&setup, &ray);
    let (mut c, mut r) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        if round % 2 == 0 {
            c.push(time(&setup, &core));
            r.push(time(&setup, &ray));
        } else {
            r.push(time(&setup, &ray));
            c.push(time(&setup, &core));
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (cm, rm) = (median(&mut c), median(&mut r));
    println!(
        "| {name:<24} | {:>9.2} | {:>9.2} | {:>5.2}x | {:>5.2}x |",
        ms(cm),
        ms(rm),
        ms(cm) / ms(rm),
        ms(c[0]) / ms(r[0]),
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: usize = args
        .next()
        .map_or(7, |a| a.parse().expect("rounds: a number"));
    let filter = args.next().unwrap_or_default();
    let want = |name: &str| name.contains(filter.as_str());

    let core = corepool::Pool::builder()
        .workers(WORKERS)
        .build()
        .expect("corepool");
    let ray = rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .expect("rayon");
    let u64s = random_u64s(VOCAB_LEN);
    let strings: Vec<String> = random_u64s(STRINGS_LEN)
        .into_iter()
        .map(|x| format!("{x:x}"))
        .collect();
    let pairs = random_u64s(MAP_LEN);
    let key = |x: &u64| x >> 8;

    println!("{rounds} rounds, {WORKERS} workers, median ms");
    println!("| workload                 |  corepool |     rayon | median ratio | best ratio |");
    println!("|--------------------------|-----------|-----------|--------------|------------|");
    if want("sort_u64_unstable") {
        compare(
            "sort_u64_unstable",
            rounds,
            || u64s.clone(),
            |v| core.install(|| CoreSort::par_sort_unstable(&mut v[..])),
            |v| ray.install(|| RaySort::par_sort_unstable(&mut v[..])),
        );
    }
    if want("sort_u64_stable") {
        compare(
            "sort_u64_stable",
            rounds,
            || u64s.clone(),
            |v| core.install(|| CoreSort::par_sort(&mut v[..])),
            |v| ray.install(|| RaySort::par_sort(&mut v[..])),
        );
    }
    if want("sort_u64_by_key") {
        compare(
            "sort_u64_by_key",
            rounds,
            || u64s.clone(),
            |v| core.install(|| CoreSort::par_sort_by_key(&mut v[..], key)),
            |v| ray.install(|| RaySort::par_sort_by_key(&mut v[..], key)),
        );
    }
    if want("sort_strings_unstable") {
        compare(
            "sort_strings_unstable",
            rounds,
            || strings.clone(),
            |v| core.install(|| CoreSort::par_sort_unstable(&mut v[..])),
            |v| ray.install(|| RaySort::par_sort_unstable(&mut v[..])),
        );
    }
    if want("sort_strings_stable") {
        compare(
            "sort_strings_stable",
            rounds,
            || strings.clone(),
            |v| core.install(|| CoreSort::par_sort(&mut v[..])),
            |v| ray.install(|| RaySort::par_sort(&mut v[..])),
        );
    }
    let keep = |x: &&u64| **x % 3 == 0;
    if want("filter_collect") {
        compare(
            "filter_collect",
            rounds,
            || (),
            |()| core.par(&u64s).filter(keep).copied().collect::<Vec<u64>>(),
            |()| ray.install(|| u64s.par_iter().filter(keep).copied().collect::<Vec<u64>>()),
        );
    }
    let target = (VOCAB_LEN as u64) * 3 / 4;
    let ordered: Vec<u64> = (0..VOCAB_LEN as u64).collect();
    if want("find_first") {
        let hit = |x: &&u64| **x >= target;
        compare(
            "find_first",
            rounds,
            || (),
            |()| core.par(&ordered).find_first(hit).copied(),
            |()| ray.install(|| ordered.par_iter().find_first(hit).copied()),
        );
    }
    let pair = |x: &u64| (*x, x >> 3);
    if want("collect_hashmap") {
        compare(
            "collect_hashmap",
            rounds,
            || (),
            |()| core.par(&pairs).map(pair).collect::<HashMap<u64, u64>>(),
            |()| ray.install(|| pairs.par_iter().map(pair).collect::<HashMap<u64, u64>>()),
        );
    }
    // Few heavy items of unequal cost: the primes below 2,000,000 counted
    // in 200 chunks (0.1-1.2 ms each, the later ones dearer), so the half
    // that finishes first must be fed from the other (sleep.rs, step 8).
    let chunks = primes_chunks();
    let primes_on_core = || core.par(0..chunks).map(primes_in_chunk).sum::<usize>();
    for (name, inside) in [
        ("primes_chunks_outside", false),
        ("primes_chunks_inside", true),
    ] {
        if want(name) {
            compare(
                name,
                rounds,
                || (),
                |()| {
                    if inside {
                        core.install(primes_on_core)
                    } else {
                        primes_on_core()
                    }
                },
                |()| {
                    ray.install(|| {
                        (0..chunks)
                            .into_par_iter()
                            .map(primes_in_chunk)
                            .sum::<usize>()
                    })
                },
            );
        }
    }
}

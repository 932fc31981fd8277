//! The streaming `Pool::map` over an iterator, interleaved with rayon and the
//! plain loop in one process, 2 workers each: 10,000,000 cheap items (~0.3 ns)
//! collected into a `Vec` (the consumer's share), 10,000,000 moderate items
//! (~3.6 ns) summed (the workers' share, and their buffers), and 200 chunks
//! of prime counting summed (the consumer's waits). Prints each contender's
//! median time, its speed-up over the loop, the process's minor page faults
//! per call, the calling thread's voluntary context switches (its waits) per
//! call, and how often corepool's workers parked per call.
//!
//! ```sh
//! cargo run --release -p corepool-bench --example map_stream            # 9 rounds
//! cargo run --release -p corepool-bench --example map_stream -- 15 prime # 15 rounds, primes only
//! perf record target/release/examples/map_stream 9 cheap corepool      # one contender alone, to profile
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use rayon::prelude::*;

#[path = "../benches/workloads/mod.rs"]
mod workloads;
use workloads::{cheap, primes_chunks, primes_in_chunk};

const CHEAP_ITEMS: usize = 10_000_000;

/// A closure of ~3.6 ns: a short dependent chain.
fn moderate(x: usize) -> u64 {
    let mut h = x as u64;
    for _ in 0..6 {
        h = h
            .wrapping_mul(0x5851_F42D_4C95_7F2D)
            .wrapping_add(0x1405_7B7E_F767_814F);
        h ^= h >> 29;
    }
    h
}

/// (minor faults of the process, voluntary switches of this thread).
fn counters() -> (i64, i64) {
    // SAFETY: getrusage writes a plain struct we own; both calls are
    // given a valid pointer to zeroed memory.
    unsafe {
        let mut process: libc::rusage = std::mem::zeroed();
        let mut thread: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut process);
        libc::getrusage(libc::RUSAGE_THREAD, &mut thread);
        (process.ru_minflt, thread.ru_nvcsw)
    }
}

struct Row {
    name: &'static str,
    times: Vec<Duration>,
    faults: i64,
    waits: i64,
    parks: u64,
}

fn run_one<O>(row: &mut Row, f: &impl Fn() -> O) {
    let (f0, w0) = counters();
    let start = Instant::now();
    let out = f();
    let elapsed = start.elapsed();
    let (f1, w1) = counters();
    drop(black_box(out));
    row.times.push(elapsed);
    row.faults += f1 - f0;
    row.waits += w1 - w0;
}

fn median(v: &[Duration]) -> Duration {
    let mut v = v.to_vec();
    v.sort();
    (v[(v.len() - 1) / 2] + v[v.len() / 2]) / 2
}

fn report(title: &str, rounds: usize, rows: &[Row]) {
    let loop_time = median(&rows[0].times);
    println!("\n{title} ({rounds} rounds: median times, mean counts)");
    println!(
        "| contender | ms | speed-up over the loop | faults/call | caller waits/call | corepool parks/call |"
    );
    println!("|---|---:|---:|---:|---:|---:|");
    for (i, row) in rows.iter().enumerate() {
        let t = median(&row.times);
        // Only corepool's row has parks (counted over each whole round).
        let parks = if i == 1 {
            format!("{:.1}", row.parks as f64 / rounds as f64)
        } else {
            "–".to_string()
        };
        println!(
            "| {} | {:.2} | {:.2} | {} | {:.1} | {parks} |",
            row.name,
            t.as_secs_f64() * 1e3,
            loop_time.as_secs_f64() / t.as_secs_f64(),
            row.faults / rounds as i64,
            row.waits as f64 / rounds as f64,
        );
    }
}

fn compare<O: PartialEq + std::fmt::Debug>(
    pool: &corepool::Pool,
    title: &str,
    rounds: usize,
    contenders: [(&'static str, &dyn Fn() -> O); 3],
) {
    let only = std::env::args().nth(3);
    if let Some(only) = only {
        for (name, f) in contenders
            .iter()
            .filter(|(name, _)| name.contains(only.as_str()))
        {
            let start = Instant::now();
            for _ in 0..rounds {
                drop(black_box(f()));
            }
            println!(
                "{title}: {name} alone, {:?} a call",
                start.elapsed() / rounds as u32
            );
        }
        return;
    }
    let expected = contenders[0].1();
    for (name, f) in &contenders[1..] {
        assert_eq!(f(), expected, "{title}: {name} differs");
    }
    let mut rows: Vec<Row> = contenders
        .iter()
        .map(|(name, _)| Row {
            name,
            times: Vec::new(),
            faults: 0,
            waits: 0,
            parks: 0,
        })
        .collect();
    for round in 0..rounds {
        // The loop first, then the pools in alternating order. corepool's
        // workers park while its own call runs and after it returns (they
        // linger first), so its parks are counted over the whole round.
        let parked = pool.stats().times_parked();
        run_one(&mut rows[0], &contenders[0].1);
        let order = if round % 2 == 0 { [1, 2] } else { [2, 1] };
        for i in order {
            run_one(&mut rows[i], &contenders[i].1);
        }
        rows[1].parks += pool.stats().times_parked() - parked;
    }
    report(title, rounds, &rows);
}

fn main() {
    const USAGE: &str =
        "usage: map_stream [ROUNDS (at least 1)] [cheap|moderate|primes] [loop|corepool|rayon]";
    let mut args = std::env::args().skip(1);
    let rounds: usize = match args.next().map(|s| s.parse::<usize>()) {
        None => 9,
        Some(Ok(rounds)) if rounds > 0 => rounds,
        Some(_) => {
            eprintln!("{USAGE}");
            std::process::exit(2);
        }
    };
    let filter = args.next().unwrap_or_default();
    if !["cheap", "moderate", "primes"]
        .iter()
        .any(|name| name.contains(filter.as_str()))
    {
        eprintln!("{USAGE}");
        std::process::exit(2);
    }
    let pool = corepool::Pool::builder()
        .workers(2)
        .build()
        .expect("corepool");
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("rayon");
    if "cheap".contains(filter.as_str()) {
        compare(
            &pool,
            "cheap map of 10,000,000 items into a Vec",
            rounds,
            [
                ("loop", &|| {
                    (0..CHEAP_ITEMS).map(cheap).collect::<Vec<u64>>()
                }),
                ("corepool map", &|| {
                    pool.map(0..CHEAP_ITEMS, cheap).collect::<Vec<u64>>()
                }),
                ("rayon par_iter", &|| {
                    rayon.install(|| (0..CHEAP_ITEMS).into_par_iter().map(cheap).collect())
                }),
            ],
        );
    }
    if "moderate".contains(filter.as_str()) {
        compare(
            &pool,
            "moderate map (~3.6 ns an item) of 10,000,000 items, summed",
            rounds,
            [
                ("loop", &|| {
                    (0..CHEAP_ITEMS).map(moderate).fold(0u64, u64::wrapping_add)
                }),
                ("corepool map", &|| {
                    pool.map(0..CHEAP_ITEMS, moderate)
                        .fold(0u64, u64::wrapping_add)
                }),
                ("rayon par_iter", &|| {
                    rayon.install(|| {
                        (0..CHEAP_ITEMS)
                            .into_par_iter()
                            .map(moderate)
                            .reduce(|| 0, u64::wrapping_add)
                    })
                }),
            ],
        );
    }
    if "primes".contains(filter.as_str()) {
        let chunks = primes_chunks();
        compare(
            &pool,
            "primes below 2,000,000 in 200 chunks, summed",
            rounds,
            [
                ("loop", &|| (0..chunks).map(primes_in_chunk).sum::<usize>()),
                ("corepool map", &|| {
                    pool.map(0..chunks, primes_in_chunk).sum::<usize>()
                }),
                ("rayon par_iter", &|| {
                    rayon.install(|| {
                        (0..chunks)
                            .into_par_iter()
                            .map(primes_in_chunk)
                            .sum::<usize>()
                    })
                }),
            ],
        );
    }
}

//! A loop of joins beside a worker that waits in a join for its stolen half
//! (`WorkerThread::help_until`, `HELP_TINY_JOB` in src/worker.rs), corepool
//! beside rayon, 2 workers each, in one run.
//!
//! A loop of joins of two halves of `x` µs of spinning each runs on one
//! worker; the other is either *waiting*: it runs `join(a, b)` whose `a`
//! spins until `b`, the loop, has started on the first worker, and then
//! waits for `b`; or *idle*. Each row gives the loop's time, the share of
//! its second halves that the other worker ran, and the CPU the process used
//! beside the loop's own thread (the other worker's, mostly). With halves
//! worth stealing, the other worker should take nearly every one; with
//! halves of a few nanoseconds (`x` = 0), stealing them gains nothing and
//! a waiting worker should stay blocked.
//!
//! A second table: a join whose `a` waits for its `b`, forked beside the
//! waiting worker, the only one that can run `b`: how long `b` waits to
//! start. A worker waiting in a join is not woken by a fork; it sees the
//! frame at its next poll, or at once while it is searching.
//!
//! ```sh
//! cargo run --release -p corepool-bench --example waiting_worker        # 5 rounds
//! cargo run --release -p corepool-bench --example waiting_worker -- 9   # 9 rounds
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

#[path = "../../tests/common/cpu.rs"]
mod cpu;
use cpu::{process_cpu, thread_cpu};

const WORKERS: usize = 2;
/// Half lengths, µs; 0 is a half that only reads its argument.
const HALVES_US: [f64; 5] = [0.0, 0.5, 2.0, 5.0, 15.0];
/// Each row's loop spins about this long in all (both halves of every join).
const SERIAL: Duration = Duration::from_millis(40);
/// Joins in the row of empty halves.
const EMPTY_JOINS: u64 = 2_000_000;

/// Spins for `us` µs; 0 returns at once.
fn spin(us: f64) {
    if us == 0.0 {
        std::hint::black_box(us);
        return;
    }
    let length = Duration::from_nanos((us * 1000.0) as u64);
    let start = Instant::now();
    while start.elapsed() < length {
        std::hint::spin_loop();
    }
}

/// A pool's `join`, type-erased so that one `measure` serves both pools.
type JoinFn<'a> = dyn Fn(&mut (dyn FnMut() + Send), &mut (dyn FnMut() + Send)) + Sync + 'a;

/// One row's figures.
#[derive(Clone, Copy)]
struct Row {
    /// The loop's wall time.
    loop_time: Duration,
    /// Share of second halves run on another thread than the loop's.
    elsewhere: f64,
    /// CPU of every thread but the loop's, over the whole `join(a, b)`.
    beside: Duration,
}

/// Loops `n` joins of two `us`-µs halves with `join` (corepool's or
/// rayon's, on a worker of a 2-worker pool). With `waiting`, the loop is the
/// `b` of a `join(a, b)` whose `a` waits for `b` to start, so the other
/// worker waits in a join; without, the other worker is idle.
fn measure(join: &JoinFn, us: f64, n: u64, waiting: bool) -> Row {
    let b_started = AtomicBool::new(false);
    let elsewhere = AtomicU64::new(0);
    let mut loop_time = Duration::ZERO;
    let mut loop_cpu = Duration::ZERO;
    let cpu_before = process_cpu();
    let mut the_loop = || {
        b_started.store(true, Ordering::SeqCst);
        let me: ThreadId = std::thread::current().id();
        let cpu = thread_cpu();
        let start = Instant::now();
        for _ in 0..n {
            join(&mut || spin(us), &mut || {
                if std::thread::current().id() != me {
                    elsewhere.fetch_add(1, Ordering::Relaxed);
                }
                spin(us);
            });
        }
        loop_time = start.elapsed();
        loop_cpu = thread_cpu() - cpu;
    };
    if waiting {
        join(
            &mut || {
                while !b_started.load(Ordering::SeqCst) {
                    std::hint::spin_loop();
                }
            },
            &mut the_loop,
        );
    } else {
        the_loop();
    }
    Row {
        loop_time,
        elsewhere: elsewhere.load(Ordering::Relaxed) as f64 / n as f64,
        beside: (process_cpu() - cpu_before).saturating_sub(loop_cpu),
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map(|arg| arg.parse().expect("rounds: a whole number"))
        .unwrap_or(5);
    let core = corepool::Pool::builder()
        .workers(WORKERS)
        .build()
        .expect("corepool pool");
    let ray = rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .expect("rayon pool");
    let core_join = |a: &mut (dyn FnMut() + Send), b: &mut (dyn FnMut() + Send)| {
        core.join(a, b);
    };
    let ray_join = |a: &mut (dyn FnMut() + Send), b: &mut (dyn FnMut() + Send)| {
        rayon::join(a, b);
    };
    println!(
        "a loop of joins of two halves beside a worker waiting in a join, or idle; \
         {WORKERS} workers, {rounds} rounds, medians"
    );
    println!(
        "| halves µs | joins | other worker | corepool ms | halves it ran | CPU beside ms \
         | rayon ms | halves it ran | CPU beside ms |"
    );
    println!("|---:|---:|---|---:|---:|---:|---:|---:|---:|");
    for us in HALVES_US {
        let n = if us == 0.0 {
            EMPTY_JOINS
        } else {
            (SERIAL.as_secs_f64() * 1e6 / (2.0 * us)) as u64
        };
        for waiting in [true, false] {
            let mut rows: [Vec<Row>; 2] = [Vec::new(), Vec::new()];
            for round in 0..rounds {
                // Alternate which pool goes first.
                for which in [round % 2, 1 - round % 2] {
                    let row = if which == 0 {
                        core.install(|| measure(&core_join, us, n, waiting))
                    } else {
                        ray.install(|| measure(&ray_join, us, n, waiting))
                    };
                    rows[which].push(row);
                }
            }
            let cells = |rows: &[Row]| {
                format!(
                    "{:.2} | {:.0}% | {:.2}",
                    median(
                        rows.iter()
                            .map(|r| r.loop_time.as_secs_f64() * 1e3)
                            .collect()
                    ),
                    100.0 * median(rows.iter().map(|r| r.elsewhere).collect()),
                    median(rows.iter().map(|r| r.beside.as_secs_f64() * 1e3).collect()),
                )
            };
            let other = if waiting { "waiting" } else { "idle" };
            println!(
                "| {us} | {n} | {other} | {} | {} |",
                cells(&rows[0]),
                cells(&rows[1])
            );
        }
    }
    println!();
    println!(
        "a join whose `a` waits for its `b`, forked by the loop's worker beside a worker \
         waiting in a join, after a stretch without joins (300 µs, or 100–1,000 µs drawn \
         evenly) or right after tiny joins: how long until `b` starts (µs; {LATENCY_CALLS} calls each)"
    );
    println!("| before the join | corepool p50 | p90 | max | rayon p50 | p90 | max |");
    println!("|---|---:|---:|---:|---:|---:|---:|");
    for before in [
        Before::Spin,
        Before::RandomSpin,
        Before::TinyJoins(1),
        Before::TinyJoins(20),
    ] {
        let core_lat = core.install(|| b_start_latency(&core_join, before));
        let ray_lat = ray.install(|| b_start_latency(&ray_join, before));
        let before = match before {
            Before::Spin => "300 µs without joins".to_string(),
            Before::RandomSpin => "100–1,000 µs without joins (uniform)".to_string(),
            Before::TinyJoins(n) => format!("{n} joins of empty halves"),
        };
        println!("| {before} | {core_lat} | {ray_lat} |");
    }
}

/// Calls in each row of the latency table.
const LATENCY_CALLS: usize = 1_000;

/// What `b` does before its fork in [`b_start_latency`].
#[derive(Clone, Copy)]
enum Before {
    /// Spins 300 µs. A worker waiting in a join polls at lengths that grow
    /// from its first block, so a fixed gap lands at one point of its
    /// cycle every time: this row reads the phase as much as the poll.
    Spin,
    /// Spins a length drawn evenly from 100–1,000 µs (a fixed-seed
    /// generator, so both pools get the same lengths): every phase.
    RandomSpin,
    /// Runs this many joins of empty halves.
    TinyJoins(usize),
}

/// On a worker: `LATENCY_CALLS` times, a `join(a, b)` whose `a` waits for
/// `b` to start; `b` (on the other worker) does what `before` says, then a
/// `join(a2, b2)` whose
/// `a2` spins until `b2` starts, which only the first worker, waiting for
/// `b`, can run. Returns p50, p90 and max of the time from that fork to
/// `b2`'s start, as table cells.
fn b_start_latency(join: &JoinFn, before: Before) -> String {
    let mut micros = Vec::with_capacity(LATENCY_CALLS);
    let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
    for _ in 0..LATENCY_CALLS {
        // xorshift64: the same lengths for both pools.
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let random_us = 100.0 + (seed % 900) as f64;
        let b_started = AtomicBool::new(false);
        let mut latency = Duration::ZERO;
        join(
            &mut || {
                while !b_started.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                }
            },
            &mut || {
                b_started.store(true, Ordering::Release);
                match before {
                    Before::Spin => spin(300.0),
                    Before::RandomSpin => spin(random_us),
                    Before::TinyJoins(n) => {
                        for _ in 0..n {
                            join(&mut || spin(0.0), &mut || spin(0.0));
                        }
                    }
                }
                let b2_started = AtomicBool::new(false);
                let forked = Instant::now();
                let mut started_at = forked;
                join(
                    &mut || {
                        while !b2_started.load(Ordering::Acquire) {
                            std::hint::spin_loop();
                        }
                    },
                    &mut || {
                        started_at = Instant::now();
                        b2_started.store(true, Ordering::Release);
                    },
                );
                latency = started_at - forked;
            },
        );
        micros.push(latency.as_secs_f64() * 1e6);
    }
    micros.sort_by(f64::total_cmp);
    format!(
        "{:.0} | {:.0} | {:.0}",
        micros[micros.len() / 2],
        micros[micros.len() * 9 / 10],
        micros[micros.len() - 1]
    )
}

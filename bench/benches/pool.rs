//! Criterion benchmarks: corepool against rayon, threadpool, a
//! `std::thread::scope` static split and the sequential loop, in the same run
//! and on the same inputs.
//!
//! ```sh
//! cargo bench -p corepool-bench --bench pool                 # every group (a few minutes)
//! cargo bench -p corepool-bench --bench pool -- fork_join    # one group
//! cargo bench -p corepool-bench --bench pool -- --test       # smoke run: each benchmark once
//! python3 bench/benches/summarize.py             # the markdown table of medians
//! ```
//!
//! Every pool is built once per group, outside the timed closures, with the
//! same worker count: corepool's default (one pinned worker per physical core,
//! or `COREPOOL_WORKERS`), and rayon and threadpool with as many threads.
//!
//! | group            | one iteration                                             | throughput unit |
//! |------------------|-----------------------------------------------------------|-----------------|
//! | `submit_outside` | 200,000 tiny tasks submitted from the bench thread, then waited for | task |
//! | `spawn_inside`   | the same tasks spawned in a scope running on a worker     | task            |
//! | `fork_join`      | fib(30) with a join at every level (1,346,268 joins)      | join            |
//! | `map_cheap`      | ordered map of 10,000,000 cheap items into a `Vec`        | item            |
//! | `map_heavy`      | ordered map of 200,000 items of ~2 µs into a `Vec`        | item            |
//! | `unbalanced`     | 10,000 tasks: 99 % ~5 µs, 1 % ~2 ms, fixed seed; corepool joins each, or `wait`s for all then joins (`corepool_wait_all`) | task |
//! | `primes`         | count primes below 2,000,000 by trial division, 200 chunks; `corepool_unordered` with `map_unordered` | chunk |
//!
//! The spin work behind "~2 µs" is a fixed number of iterations of a
//! dependent multiply-xorshift chain, so every run and every commit does the
//! same work; the first line this bench prints says what one iteration costs
//! on the machine at hand. Setup facts (worker count, task counts) are also
//! written to `corepool-meta.json` in criterion's output folder, where
//! `benches/summarize.py` reads them.

use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;
#[path = "workloads/unbalanced.rs"]
mod unbalanced;
#[path = "workloads/mod.rs"]
mod workloads;

use common::LATCH;
use corepool::{Pool, WaitFor, wait};
use criterion::measurement::WallTime;
use criterion::{
    BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use rayon::prelude::*;
use unbalanced::{LONG_ITERS, SHORT_ITERS, UNBALANCED_TASKS, spin, unbalanced_tasks};
use workloads::{PRIMES_LIMIT, cheap, primes_chunks, primes_in_chunk};

/// Tasks per iteration in `submit_outside` and `spawn_inside`.
const TINY_TASKS: usize = 200_000;
/// `fib(FIB_N)` in `fork_join`.
const FIB_N: u64 = 30;
/// Items in `map_cheap`.
const CHEAP_ITEMS: usize = 10_000_000;
/// Items in `map_heavy`.
const HEAVY_ITEMS: usize = 200_000;
/// Spin iterations per `map_heavy` item: about 2 µs (~2.1 ns per iteration on
/// the 2-core development VM).
const HEAVY_ITERS: u32 = 1_000;
/// Chunks per worker for the hand-written threadpool ordered map.
const THREADPOOL_CHUNKS_PER_WORKER: usize = 8;

// ---------------------------------------------------------------------------
// Work
// ---------------------------------------------------------------------------

/// A tiny task's body: nothing the optimiser can remove.
#[inline]
fn tiny(i: usize) {
    black_box(i);
}

/// The heavy map's function: about 2 µs.
fn heavy(x: usize) -> u64 {
    spin(HEAVY_ITERS, x as u64)
}

fn fib_sequential(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    fib_sequential(n - 1) + fib_sequential(n - 2)
}

fn fib_corepool(pool: &Pool, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = pool.join(|| fib_corepool(pool, n - 1), || fib_corepool(pool, n - 2));
    a + b
}

fn fib_rayon(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = rayon::join(|| fib_rayon(n - 1), || fib_rayon(n - 2));
    a + b
}

/// How many joins `fib(n)` makes with a join at every level `n >= 2`.
fn fib_joins(n: u64) -> u64 {
    let (mut joins_prev, mut joins) = (0u64, 0u64); // joins(0), joins(1)
    for _ in 2..=n {
        (joins_prev, joins) = (joins, 1 + joins + joins_prev);
    }
    joins // fib(30): 1,346,268 = F(31) - 1
}

// ---------------------------------------------------------------------------
// Pools and helpers
// ---------------------------------------------------------------------------

/// The pools a group compares, all with the same number of workers.
struct Pools {
    corepool: Pool,
    rayon: rayon::ThreadPool,
    threadpool: threadpool::ThreadPool,
    workers: usize,
}

impl Pools {
    fn new() -> Pools {
        let corepool = Pool::new().expect("build corepool");
        let workers = corepool.workers();
        let rayon = rayon::ThreadPoolBuilder::new()
            .num_threads(workers)
            .build()
            .expect("build rayon pool");
        let threadpool = threadpool::ThreadPool::new(workers);
        Pools {
            corepool,
            rayon,
            threadpool,
            workers,
        }
    }
}

/// Sample settings shared by every group: 10 samples of equal iteration
/// counts (flat sampling: long iterations are not repeated 55 times as the
/// linear mode would).
fn configure(group: &mut BenchmarkGroup<'_, WallTime>, measurement: Duration) {
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(measurement);
}

/// Ordered map on a threadpool as its users write it: contiguous chunks, each
/// sent back with its index over a channel, then concatenated in order.
fn threadpool_map(
    pool: &threadpool::ThreadPool,
    workers: usize,
    n: usize,
    f: fn(usize) -> u64,
) -> Vec<u64> {
    let chunks = (workers * THREADPOOL_CHUNKS_PER_WORKER).min(n.max(1));
    let per = n.div_ceil(chunks);
    let (tx, rx) = mpsc::channel::<(usize, Vec<u64>)>();
    let mut sent = 0;
    for c in 0..chunks {
        let (lo, hi) = (c * per, ((c + 1) * per).min(n));
        if lo >= hi {
            break;
        }
        let tx = tx.clone();
        pool.execute(move || {
            let part: Vec<u64> = (lo..hi).map(f).collect();
            tx.send((c, part)).expect("receiver alive");
        });
        sent += 1;
    }
    let mut parts: Vec<Option<Vec<u64>>> = vec![None; sent];
    for (c, part) in rx.iter().take(sent) {
        parts[c] = Some(part);
    }
    let mut out = Vec::with_capacity(n);
    for part in parts {
        out.extend(part.expect("every chunk arrives"));
    }
    out
}

/// Ordered map as a static split over `std::thread::scope`: one thread per
/// worker, each writing its contiguous slice of the output.
fn scoped_map(workers: usize, n: usize, f: fn(usize) -> u64) -> Vec<u64> {
    let mut out = vec![0u64; n];
    let per = n.div_ceil(workers).max(1);
    std::thread::scope(|s| {
        for (c, slice) in out.chunks_mut(per).enumerate() {
            s.spawn(move || {
                let base = c * per;
                for (j, slot) in slice.iter_mut().enumerate() {
                    *slot = f(base + j);
                }
            });
        }
    });
    out
}

/// Runs `body(i)` for `i in 0..n` split into `workers` contiguous ranges on
/// scoped threads.
fn scoped_static_split(workers: usize, n: usize, body: impl Fn(usize) + Sync) {
    let per = n.div_ceil(workers).max(1);
    let body = &body;
    std::thread::scope(|s| {
        for w in 0..workers {
            let (lo, hi) = (w * per, ((w + 1) * per).min(n));
            s.spawn(move || (lo..hi).for_each(body));
        }
    });
}

/// Where criterion writes its reports, found the way criterion finds it.
fn criterion_home() -> std::path::PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    // The workspace's target folder: this package sits one level below it.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").into());
    std::path::PathBuf::from(target).join("criterion")
}

// ---------------------------------------------------------------------------
// Groups
// ---------------------------------------------------------------------------

/// Not a benchmark: prints the setup and records it for `summarize.py`.
fn record_setup(_c: &mut Criterion) {
    let pool = Pool::new().expect("build corepool");
    let workers = pool.workers();
    let iters = 5_000_000;
    let best = (0..3)
        .map(|_| {
            let start = Instant::now();
            black_box(spin(black_box(iters), 1));
            start.elapsed()
        })
        .min()
        .unwrap_or_default();
    let ns_per_iter = best.as_nanos() as f64 / f64::from(iters);
    eprintln!(
        "corepool bench: {workers} workers (pinning {:?}); one spin iteration {ns_per_iter:.2} ns: \
         heavy item ~{:.1} µs, unbalanced short ~{:.1} µs, long ~{:.2} ms",
        pool.pinning(),
        ns_per_iter * f64::from(HEAVY_ITERS) / 1e3,
        ns_per_iter * f64::from(SHORT_ITERS) / 1e3,
        ns_per_iter * f64::from(LONG_ITERS) / 1e6,
    );
    let meta = format!(
        "{{\n  \"workers\": {workers},\n  \"pinning\": \"{:?}\",\n  \"spin_ns_per_iter\": {ns_per_iter:.3},\n  \
         \"tiny_tasks\": {TINY_TASKS},\n  \"fib_n\": {FIB_N},\n  \"fib_joins\": {},\n  \
         \"cheap_items\": {CHEAP_ITEMS},\n  \"heavy_items\": {HEAVY_ITEMS},\n  \
         \"unbalanced_tasks\": {UNBALANCED_TASKS},\n  \"primes_limit\": {PRIMES_LIMIT},\n  \
         \"primes_chunks\": {}\n}}\n",
        pool.pinning(),
        fib_joins(FIB_N),
        primes_chunks(),
    );
    let home = criterion_home();
    let written = std::fs::create_dir_all(&home)
        .and_then(|()| std::fs::write(home.join("corepool-meta.json"), meta));
    if let Err(err) = written {
        eprintln!("corepool bench: cannot write {}: {err}", home.display());
    }
}

/// 200,000 tiny tasks submitted from the bench thread, then waited for all.
fn submit_outside(c: &mut Criterion) {
    let pools = Pools::new();
    let workers = pools.workers;
    let mut group = c.benchmark_group("submit_outside");
    configure(&mut group, Duration::from_secs(3));
    group.throughput(Throughput::Elements(TINY_TASKS as u64));

    group.bench_function("corepool", |b| {
        b.iter(|| {
            let tasks: Vec<_> = (0..TINY_TASKS)
                .map(|i| pools.corepool.submit(move || tiny(i)))
                .collect();
            for task in tasks {
                task.join().expect("tiny task");
            }
        })
    });
    group.bench_function("rayon", |b| {
        b.iter(|| {
            LATCH.reset(TINY_TASKS);
            for i in 0..TINY_TASKS {
                pools.rayon.spawn(move || {
                    tiny(i);
                    LATCH.count_down();
                });
            }
            LATCH.wait();
        })
    });
    group.bench_function("threadpool", |b| {
        b.iter(|| {
            LATCH.reset(TINY_TASKS);
            for i in 0..TINY_TASKS {
                pools.threadpool.execute(move || {
                    tiny(i);
                    LATCH.count_down();
                });
            }
            LATCH.wait();
        })
    });
    group.bench_function("std_scope", |b| {
        b.iter(|| scoped_static_split(workers, TINY_TASKS, tiny))
    });
    group.bench_function("sequential", |b| b.iter(|| (0..TINY_TASKS).for_each(tiny)));
    group.finish();
}

/// The same tiny tasks spawned from a scope that runs on a worker.
fn spawn_inside(c: &mut Criterion) {
    let pools = Pools::new();
    let mut group = c.benchmark_group("spawn_inside");
    configure(&mut group, Duration::from_secs(3));
    group.throughput(Throughput::Elements(TINY_TASKS as u64));

    // `Pool::scope` runs its closure on the calling thread, so the scope is
    // opened on a worker with `install`, as rayon's `scope` does; `spawn`
    // is the handle-less way, as rayon's.
    group.bench_function("corepool", |b| {
        b.iter(|| {
            pools.corepool.install(|| {
                pools.corepool.scope(|s| {
                    for i in 0..TINY_TASKS {
                        s.spawn(move |_| tiny(i));
                    }
                })
            })
        })
    });
    // With a handle per task (`submit`), dropped at once.
    group.bench_function("corepool_submit", |b| {
        b.iter(|| {
            pools.corepool.install(|| {
                pools.corepool.scope(|s| {
                    for i in 0..TINY_TASKS {
                        let _ = s.submit(move || tiny(i));
                    }
                })
            })
        })
    });
    // What a user writes without `install`: the scope on the bench thread,
    // every task through the shared queue.
    group.bench_function("corepool_scope_on_caller", |b| {
        b.iter(|| {
            pools.corepool.scope(|s| {
                for i in 0..TINY_TASKS {
                    s.spawn(move |_| tiny(i));
                }
            })
        })
    });
    group.bench_function("rayon", |b| {
        b.iter(|| {
            pools.rayon.scope(|s| {
                for i in 0..TINY_TASKS {
                    s.spawn(move |_| tiny(i));
                }
            })
        })
    });
    group.finish();
}

/// fib(30) with a join at every level.
fn fork_join(c: &mut Criterion) {
    let pools = Pools::new();
    let n = FIB_N;
    let expected = fib_sequential(n);
    let on_corepool = || {
        pools
            .corepool
            .install(|| fib_corepool(&pools.corepool, black_box(n)))
    };
    let on_rayon = || pools.rayon.install(|| fib_rayon(black_box(n)));
    assert_eq!(on_corepool(), expected, "corepool fib");
    assert_eq!(on_rayon(), expected, "rayon fib");

    let mut group = c.benchmark_group("fork_join");
    configure(&mut group, Duration::from_secs(3));
    group.throughput(Throughput::Elements(fib_joins(n)));
    group.bench_function("corepool", |b| b.iter(on_corepool));
    group.bench_function("rayon", |b| b.iter(on_rayon));
    group.bench_function("sequential", |b| b.iter(|| fib_sequential(black_box(n))));
    group.finish();
}

/// Ordered map over `n` items with `f`, collected into a `Vec`, by every
/// contender; `name` is the group. Checks every result once before timing.
fn ordered_map(
    c: &mut Criterion,
    name: &str,
    n: usize,
    f: fn(usize) -> u64,
    measurement: Duration,
) {
    let pools = Pools::new();
    let workers = pools.workers;
    let on_corepool = || pools.corepool.map(0..n, f).collect::<Vec<u64>>();
    let on_rayon = || {
        pools
            .rayon
            .install(|| (0..n).into_par_iter().map(f).collect::<Vec<u64>>())
    };
    let on_threadpool = || threadpool_map(&pools.threadpool, workers, n, f);
    let on_scope = || scoped_map(workers, n, f);
    let sequential = || (0..n).map(f).collect::<Vec<u64>>();

    let expected = sequential();
    assert!(on_corepool() == expected, "{name}: corepool result differs");
    assert!(on_rayon() == expected, "{name}: rayon result differs");
    assert!(
        on_threadpool() == expected,
        "{name}: threadpool result differs"
    );
    assert!(on_scope() == expected, "{name}: std scope result differs");
    drop(expected);

    let mut group = c.benchmark_group(name);
    configure(&mut group, measurement);
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("corepool", |b| b.iter(on_corepool));
    group.bench_function("rayon", |b| b.iter(on_rayon));
    group.bench_function("threadpool", |b| b.iter(on_threadpool));
    group.bench_function("std_scope", |b| b.iter(on_scope));
    group.bench_function("sequential", |b| b.iter(sequential));
    group.finish();
}

/// 10,000,000 cheap items.
fn map_cheap(c: &mut Criterion) {
    ordered_map(c, "map_cheap", CHEAP_ITEMS, cheap, Duration::from_secs(3));
}

/// 200,000 items of about 2 µs.
fn map_heavy(c: &mut Criterion) {
    ordered_map(c, "map_heavy", HEAVY_ITEMS, heavy, Duration::from_secs(5));
}

/// 10,000 tasks, 1 % of them 400 times longer, each submitted on its own.
fn unbalanced(c: &mut Criterion) {
    let pools = Pools::new();
    let workers = pools.workers;
    let tasks = unbalanced_tasks();
    let tasks = &tasks[..];
    let mut group = c.benchmark_group("unbalanced");
    configure(&mut group, Duration::from_secs(4));
    group.throughput(Throughput::Elements(tasks.len() as u64));

    // Submits every task, waits for all first if `wait_first` (what rayon's
    // side does with its latch; joining each may block and be woken on its
    // own), then joins each.
    let on_corepool = |wait_first: bool| {
        let handles: Vec<_> = tasks
            .iter()
            .enumerate()
            .map(|(i, &iters)| pools.corepool.submit(move || spin(iters, i as u64)))
            .collect();
        if wait_first {
            let waited = wait(&handles, WaitFor::AllCompleted, None);
            assert!(waited.pending.is_empty(), "unbalanced: wait returned early");
        }
        for handle in handles {
            black_box(handle.join().expect("unbalanced task"));
        }
    };
    group.bench_function("corepool", |b| b.iter(|| on_corepool(false)));
    group.bench_function("corepool_wait_all", |b| b.iter(|| on_corepool(true)));
    group.bench_function("rayon", |b| {
        b.iter(|| {
            LATCH.reset(tasks.len());
            for (i, &iters) in tasks.iter().enumerate() {
                pools.rayon.spawn(move || {
                    black_box(spin(iters, i as u64));
                    LATCH.count_down();
                });
            }
            LATCH.wait();
        })
    });
    group.bench_function("threadpool", |b| {
        b.iter(|| {
            LATCH.reset(tasks.len());
            for (i, &iters) in tasks.iter().enumerate() {
                pools.threadpool.execute(move || {
                    black_box(spin(iters, i as u64));
                    LATCH.count_down();
                });
            }
            LATCH.wait();
        })
    });
    let run = |i: usize| {
        black_box(spin(tasks[i], i as u64));
    };
    group.bench_function("std_scope", |b| {
        b.iter(|| scoped_static_split(workers, tasks.len(), run))
    });
    group.bench_function("sequential", |b| b.iter(|| (0..tasks.len()).for_each(run)));
    group.finish();
}

/// Count the primes below 2,000,000 by trial division, in 200 chunks.
fn primes(c: &mut Criterion) {
    let pools = Pools::new();
    let workers = pools.workers;
    let chunks = primes_chunks();
    let on_corepool = || {
        pools
            .corepool
            .map(0..chunks, primes_in_chunk)
            .sum::<usize>()
    };
    let on_rayon = || {
        pools.rayon.install(|| {
            (0..chunks)
                .into_par_iter()
                .map(primes_in_chunk)
                .sum::<usize>()
        })
    };
    let on_threadpool = || {
        let (tx, rx) = mpsc::channel();
        for c in 0..chunks {
            let tx = tx.clone();
            pools.threadpool.execute(move || {
                tx.send(primes_in_chunk(c)).expect("receiver alive");
            });
        }
        rx.iter().take(chunks).sum::<usize>()
    };
    let on_scope = || {
        let total = AtomicUsize::new(0);
        scoped_static_split(workers, chunks, |c| {
            total.fetch_add(primes_in_chunk(c), Ordering::Relaxed);
        });
        total.into_inner()
    };
    // The same with `par`, the fast path for data with a length: items of
    // 0.1-1.2 ms, so its walk keeps the rest forked (par/drive.rs, step 11).
    let on_corepool_par = || {
        pools
            .corepool
            .par(0..chunks)
            .map(primes_in_chunk)
            .sum::<usize>()
    };
    // In completion order, as `Pool.imap_unordered`.
    let on_corepool_unordered = || {
        pools
            .corepool
            .map_unordered(0..chunks, primes_in_chunk)
            .sum::<usize>()
    };
    let sequential = || (0..chunks).map(primes_in_chunk).sum::<usize>();

    let expected = sequential();
    assert_eq!(on_corepool(), expected, "primes: corepool");
    assert_eq!(on_corepool_par(), expected, "primes: corepool par");
    assert_eq!(
        on_corepool_unordered(),
        expected,
        "primes: corepool unordered"
    );
    assert_eq!(on_rayon(), expected, "primes: rayon");
    assert_eq!(on_threadpool(), expected, "primes: threadpool");
    assert_eq!(on_scope(), expected, "primes: std scope");

    let mut group = c.benchmark_group("primes");
    configure(&mut group, Duration::from_secs(4));
    group.throughput(Throughput::Elements(chunks as u64));
    group.bench_function("corepool", |b| b.iter(on_corepool));
    group.bench_function("corepool_par", |b| b.iter(on_corepool_par));
    group.bench_function("corepool_unordered", |b| b.iter(on_corepool_unordered));
    group.bench_function("rayon", |b| b.iter(on_rayon));
    group.bench_function("threadpool", |b| b.iter(on_threadpool));
    group.bench_function("std_scope", |b| b.iter(on_scope));
    group.bench_function("sequential", |b| b.iter(sequential));
    group.finish();
}

criterion_group!(
    benches,
    record_setup,
    submit_outside,
    spawn_inside,
    fork_join,
    map_cheap,
    map_heavy,
    unbalanced,
    primes
);
criterion_main!(benches);

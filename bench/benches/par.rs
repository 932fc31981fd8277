//! Criterion benchmarks of `Pool::par` (data parallelism over indexed input)
//! beside rayon's parallel iterators and the sequential loop, on the same
//! inputs, 2 workers for both pools.
//!
//! ```sh
//! cargo bench --bench par                  # every group
//! cargo bench --bench par -- par_life      # one group
//! cargo bench --bench par -- --test        # smoke run: each benchmark once
//! ```
//!
//! | group             | one iteration                                                    |
//! |-------------------|------------------------------------------------------------------|
//! | `par_map_cheap`   | map `0..10,000,000usize` with a cheap function into a `Vec<u64>` (as `pool`'s `map_cheap`); `sequential_thp` is the loop into a buffer with corepool's huge-page advice |
//! | `par_add_one`     | 5,000 calls from outside the pool, each adding one to 100,000 numbers in chunks of 4,096 (corepool `par_chunks_mut`, rayon `par_chunks_mut`, the README's `scope` idiom) |
//! | `par_dot`         | sum of the products of two 4,000,000-item `f64` slices (zip)     |
//! | `par_life`        | one step of Conway's life on a 1024 × 1024 torus, each cell mapped into the next board |
//! | `par_quicksort`   | quicksort of 2,000,000 random `u64` forking on `join` (corepool `Pool::join`, `rayon::join`) |
//! | `par_matmul`      | 384 × 384 `f64` matrix product, one block of 16 rows per item, k-blocked |
//! | `par_filter_collect` | keep the multiples of 3 of a 10,000,000-item `u64` slice, collected into a `Vec` |
//! | `par_sort_u64`    | sort 10,000,000 random `u64`: unstable, stable, by key (corepool `par_sort*`, rayon `par_sort*`, std) |
//! | `par_sort_strings` | sort 1,000,000 random short `String`s, unstable and stable |
//! | `par_find_first`  | the first item over a threshold among 10,000,000 `u64`, the match at 3/4 of the input |
//! | `par_collect_hashmap` | collect 1,000,000 `(u64, u64)` pairs into a `HashMap` |
//!
//! Every group checks each contender's result against the sequential
//! version once before timing. Calls into both pools come from the bench
//! thread, outside the pools: corepool hops in inside `par`, rayon inside
//! `ThreadPool::install`, once per call each.

use std::hint::black_box;
use std::time::Duration;

use corepool::Pool;
use criterion::measurement::WallTime;
use criterion::{
    BatchSize, BenchmarkGroup, Criterion, SamplingMode, Throughput, criterion_group, criterion_main,
};
use rayon::prelude::*;

const WORKERS: usize = 2;
const CHEAP_ITEMS: usize = 10_000_000;
const ADD_ONE_LEN: usize = 100_000;
const ADD_ONE_CHUNK: usize = 4096;
const ADD_ONE_CALLS: usize = 5_000;
const DOT_LEN: usize = 4_000_000;
const LIFE_SIDE: usize = 1024;
const SORT_LEN: usize = 2_000_000;
/// Below this many items a quicksort part is sorted sequentially.
const SORT_CUTOFF: usize = 4096;
const MAT_N: usize = 384;
const MAT_ROWS_PER_BLOCK: usize = 16;
const MAT_K_BLOCK: usize = 64;

struct Pools {
    corepool: Pool,
    rayon: rayon::ThreadPool,
}

impl Pools {
    fn new() -> Pools {
        Pools {
            corepool: Pool::builder()
                .workers(WORKERS)
                .build()
                .expect("build corepool"),
            rayon: rayon::ThreadPoolBuilder::new()
                .num_threads(WORKERS)
                .build()
                .expect("build rayon pool"),
        }
    }
}

fn configure(group: &mut BenchmarkGroup<'_, WallTime>, measurement: Duration) {
    group
        .sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(measurement);
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

// ------------------------------------------------------------ cheap map --

/// The same function as `benches/pool.rs`'s `map_cheap`. The input is a
/// `usize` range because rayon indexes only ranges up to 32 bits and `usize`
/// (a `u64` range takes its slower unindexed path).
#[inline]
fn cheap(x: usize) -> u64 {
    (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7
}

fn par_map_cheap(c: &mut Criterion) {
    let pools = Pools::new();
    let n = CHEAP_ITEMS;
    let on_corepool = || pools.corepool.par(0..n).map(cheap).collect::<Vec<u64>>();
    let on_rayon = || {
        pools
            .rayon
            .install(|| (0..n).into_par_iter().map(cheap).collect::<Vec<u64>>())
    };
    let sequential = || (0..n).map(cheap).collect::<Vec<u64>>();
    // The loop into a buffer given the same huge-page advice that
    // corepool's `collect` gives its output (`src/util.rs`): how much of
    // the difference is the kernel's page size rather than the scheduling.
    let sequential_thp = || {
        let mut out: Vec<u64> = Vec::with_capacity(n);
        let huge = 2 << 20;
        let first = (out.as_ptr() as usize).next_multiple_of(huge);
        let end = (out.as_ptr() as usize + n * 8) & !(huge - 1);
        #[cfg(target_os = "linux")]
        if end > first {
            // SAFETY: the range lies inside `out`'s fresh allocation, which
            // nothing else uses; the advice changes no contents.
            unsafe { libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE) };
        }
        out.extend((0..n).map(cheap));
        out
    };

    let expected = sequential();
    assert!(
        sequential_thp() == expected,
        "par_map_cheap: sequential_thp differs"
    );
    assert!(on_corepool() == expected, "par_map_cheap: corepool differs");
    assert!(on_rayon() == expected, "par_map_cheap: rayon differs");
    drop(expected);

    let mut group = c.benchmark_group("par_map_cheap");
    configure(&mut group, Duration::from_secs(3));
    group.throughput(Throughput::Elements(n as u64));
    group.bench_function("corepool", |b| b.iter(on_corepool));
    group.bench_function("rayon", |b| b.iter(on_rayon));
    group.bench_function("sequential", |b| b.iter(sequential));
    group.bench_function("sequential_thp", |b| b.iter(sequential_thp));
    group.finish();
}

// ------------------------------------------------- add one, many calls --

fn add_one(chunk: &mut [u64]) {
    for x in chunk {
        *x += 1;
    }
}

fn par_add_one(c: &mut Criterion) {
    let pools = Pools::new();
    let calls = |data: &mut Vec<u64>, one_call: &dyn Fn(&mut [u64])| {
        for _ in 0..ADD_ONE_CALLS {
            one_call(black_box(data.as_mut_slice()));
        }
    };
    let on_corepool = |data: &mut [u64]| {
        pools
            .corepool
            .par_chunks_mut(data, ADD_ONE_CHUNK)
            .for_each(add_one)
    };
    let on_rayon = |data: &mut [u64]| {
        pools
            .rayon
            .install(|| data.par_chunks_mut(ADD_ONE_CHUNK).for_each(add_one))
    };
    // The README's idiom: one scoped task per chunk.
    let on_scope = |data: &mut [u64]| {
        pools.corepool.scope(|s| {
            for chunk in data.chunks_mut(ADD_ONE_CHUNK) {
                let _ = s.submit(move || add_one(chunk));
            }
        })
    };
    let sequential = |data: &mut [u64]| data.chunks_mut(ADD_ONE_CHUNK).for_each(add_one);

    let start: Vec<u64> = (0..ADD_ONE_LEN as u64).collect();
    let expected: Vec<u64> = start.iter().map(|x| x + ADD_ONE_CALLS as u64).collect();
    for (name, one_call) in [
        ("corepool", &on_corepool as &dyn Fn(&mut [u64])),
        ("rayon", &on_rayon),
        ("scope", &on_scope),
        ("sequential", &sequential),
    ] {
        let mut data = start.clone();
        calls(&mut data, one_call);
        assert!(data == expected, "par_add_one: {name} differs");
    }

    let mut group = c.benchmark_group("par_add_one");
    configure(&mut group, Duration::from_secs(5));
    group.throughput(Throughput::Elements(ADD_ONE_CALLS as u64));
    let mut data = start.clone();
    group.bench_function("corepool", |b| b.iter(|| calls(&mut data, &on_corepool)));
    group.bench_function("rayon", |b| b.iter(|| calls(&mut data, &on_rayon)));
    group.bench_function("scope", |b| b.iter(|| calls(&mut data, &on_scope)));
    group.bench_function("sequential", |b| b.iter(|| calls(&mut data, &sequential)));
    group.finish();
}

// ------------------------------------------------------------------ dot --

fn par_dot(c: &mut Criterion) {
    let pools = Pools::new();
    // Small integers: every partial sum is exact in f64, so all contenders
    // agree bit for bit whatever the order of additions.
    let a: Vec<f64> = (0..DOT_LEN).map(|i| (i % 1000) as f64).collect();
    let b: Vec<f64> = (0..DOT_LEN).map(|i| (i % 7) as f64).collect();
    let on_corepool = || {
        pools
            .corepool
            .par(&a)
            .zip(&b)
            .map(|(x, y)| x * y)
            .sum::<f64>()
    };
    let on_rayon = || {
        pools
            .rayon
            .install(|| a.par_iter().zip(&b).map(|(x, y)| x * y).sum::<f64>())
    };
    let sequential = || a.iter().zip(&b).map(|(x, y)| x * y).sum::<f64>();

    let expected = sequential();
    assert!(on_corepool() == expected, "par_dot: corepool differs");
    assert!(on_rayon() == expected, "par_dot: rayon differs");

    let mut group = c.benchmark_group("par_dot");
    configure(&mut group, Duration::from_secs(3));
    group.throughput(Throughput::Elements(DOT_LEN as u64));
    group.bench_function("corepool", |bench| bench.iter(on_corepool));
    group.bench_function("rayon", |bench| bench.iter(on_rayon));
    group.bench_function("sequential", |bench| bench.iter(sequential));
    group.finish();
}

// ----------------------------------------------------------------- life --

/// The next state of cell `i` of a `LIFE_SIDE`² torus.
#[inline]
fn life_cell(board: &[u8], i: usize) -> u8 {
    let n = LIFE_SIDE;
    let (r, c) = (i / n, i % n);
    let (up, down) = ((r + n - 1) % n, (r + 1) % n);
    let (left, right) = ((c + n - 1) % n, (c + 1) % n);
    let live = board[up * n + left]
        + board[up * n + c]
        + board[up * n + right]
        + board[r * n + left]
        + board[r * n + right]
        + board[down * n + left]
        + board[down * n + c]
        + board[down * n + right];
    u8::from(live == 3 || (live == 2 && board[i] == 1))
}

fn par_life(c: &mut Criterion) {
    let pools = Pools::new();
    let cells = LIFE_SIDE * LIFE_SIDE;
    let mut seed = 30;
    let board: Vec<u8> = (0..cells)
        .map(|_| u8::from(splitmix64(&mut seed) % 3 == 0))
        .collect();
    let board = &board;
    // The obvious way: map over the cells into the next board.
    let on_corepool = || {
        pools
            .corepool
            .par(0..cells)
            .map(|i| life_cell(board, i))
            .collect::<Vec<u8>>()
    };
    let on_rayon = || {
        pools.rayon.install(|| {
            (0..cells)
                .into_par_iter()
                .map(|i| life_cell(board, i))
                .collect::<Vec<u8>>()
        })
    };
    let sequential = || (0..cells).map(|i| life_cell(board, i)).collect::<Vec<u8>>();

    let expected = sequential();
    assert!(on_corepool() == expected, "par_life: corepool differs");
    assert!(on_rayon() == expected, "par_life: rayon differs");

    let mut group = c.benchmark_group("par_life");
    configure(&mut group, Duration::from_secs(3));
    group.throughput(Throughput::Elements(cells as u64));
    group.bench_function("corepool", |b| b.iter(on_corepool));
    group.bench_function("rayon", |b| b.iter(on_rayon));
    group.bench_function("sequential", |b| b.iter(sequential));
    group.finish();
}

// ------------------------------------------------------------ quicksort --

/// Lomuto partition around the median of three; returns the pivot's index.
fn partition(v: &mut [u64]) -> usize {
    let last = v.len() - 1;
    let mid = v.len() / 2;
    if v[mid] < v[0] {
        v.swap(mid, 0);
    }
    if v[last] < v[0] {
        v.swap(last, 0);
    }
    if v[mid] < v[last] {
        v.swap(mid, last);
    }
    let pivot = v[last];
    let mut store = 0;
    for i in 0..last {
        if v[i] < pivot {
            v.swap(i, store);
            store += 1;
        }
    }
    v.swap(store, last);
    store
}

/// Quicksort forking both sides with corepool's `Pool::join`.
fn quicksort_corepool(pool: &Pool, v: &mut [u64]) {
    if v.len() <= SORT_CUTOFF {
        v.sort_unstable();
        return;
    }
    let p = partition(v);
    let (left, right) = v.split_at_mut(p);
    let right = &mut right[1..];
    pool.join(
        || quicksort_corepool(pool, left),
        || quicksort_corepool(pool, right),
    );
}

/// The same quicksort on `rayon::join`.
fn quicksort_rayon(v: &mut [u64]) {
    if v.len() <= SORT_CUTOFF {
        v.sort_unstable();
        return;
    }
    let p = partition(v);
    let (left, right) = v.split_at_mut(p);
    let right = &mut right[1..];
    rayon::join(|| quicksort_rayon(left), || quicksort_rayon(right));
}

/// The same quicksort, both sides in turn.
fn quicksort_sequential(v: &mut [u64]) {
    if v.len() <= SORT_CUTOFF {
        v.sort_unstable();
        return;
    }
    let p = partition(v);
    let (left, right) = v.split_at_mut(p);
    quicksort_sequential(left);
    quicksort_sequential(&mut right[1..]);
}

fn par_quicksort(c: &mut Criterion) {
    let pools = Pools::new();
    let mut seed = 7;
    let input: Vec<u64> = (0..SORT_LEN).map(|_| splitmix64(&mut seed)).collect();
    let on_corepool = |mut v: Vec<u64>| {
        let pool = &pools.corepool;
        pool.install(|| quicksort_corepool(pool, &mut v));
        v
    };
    let on_rayon = |mut v: Vec<u64>| {
        pools.rayon.install(|| quicksort_rayon(&mut v));
        v
    };
    let sequential = |mut v: Vec<u64>| {
        quicksort_sequential(&mut v);
        v
    };

    let mut expected = input.clone();
    expected.sort_unstable();
    assert!(
        on_corepool(input.clone()) == expected,
        "par_quicksort: corepool differs"
    );
    assert!(
        on_rayon(input.clone()) == expected,
        "par_quicksort: rayon differs"
    );
    assert!(
        sequential(input.clone()) == expected,
        "par_quicksort: sequential differs"
    );

    let mut group = c.benchmark_group("par_quicksort");
    configure(&mut group, Duration::from_secs(3));
    group.throughput(Throughput::Elements(SORT_LEN as u64));
    let fresh = || input.clone();
    group.bench_function("corepool", |b| {
        b.iter_batched(fresh, on_corepool, BatchSize::LargeInput)
    });
    group.bench_function("rayon", |b| {
        b.iter_batched(fresh, on_rayon, BatchSize::LargeInput)
    });
    group.bench_function("sequential", |b| {
        b.iter_batched(fresh, sequential, BatchSize::LargeInput)
    });
    group.finish();
}

// --------------------------------------------------------------- matmul --

/// Rows `block * MAT_ROWS_PER_BLOCK ..` of `c = a × b` (all `MAT_N`²,
/// row-major), k-blocked so a band of `b` stays in cache; `c_rows` starts
/// zeroed. The same order of additions for every contender.
fn matmul_block(a: &[f64], b: &[f64], c_rows: &mut [f64], block: usize) {
    let n = MAT_N;
    let row0 = block * MAT_ROWS_PER_BLOCK;
    for k0 in (0..n).step_by(MAT_K_BLOCK) {
        let k1 = (k0 + MAT_K_BLOCK).min(n);
        for (r, c_row) in c_rows.chunks_mut(n).enumerate() {
            let a_row = &a[(row0 + r) * n..(row0 + r + 1) * n];
            for (k, &a_rk) in a_row.iter().enumerate().take(k1).skip(k0) {
                let b_row = &b[k * n..(k + 1) * n];
                for (cij, bkj) in c_row.iter_mut().zip(b_row) {
                    *cij += a_rk * bkj;
                }
            }
        }
    }
}

fn par_matmul(c: &mut Criterion) {
    let pools = Pools::new();
    let n = MAT_N;
    let mut seed = 3;
    let a: Vec<f64> = (0..n * n)
        .map(|_| (splitmix64(&mut seed) % 100) as f64 / 10.0)
        .collect();
    let b: Vec<f64> = (0..n * n)
        .map(|_| (splitmix64(&mut seed) % 100) as f64 / 10.0)
        .collect();
    let (a, b) = (&a, &b);
    let block_len = MAT_ROWS_PER_BLOCK * n;
    let blocks = n / MAT_ROWS_PER_BLOCK;
    let on_corepool = || {
        let mut out = vec![0.0; n * n];
        pools
            .corepool
            .par_chunks_mut(&mut out, block_len)
            .zip(0..blocks)
            .for_each(|(rows, block)| matmul_block(a, b, rows, block));
        out
    };
    let on_rayon = || {
        let mut out = vec![0.0; n * n];
        pools.rayon.install(|| {
            out.par_chunks_mut(block_len)
                .enumerate()
                .for_each(|(block, rows)| matmul_block(a, b, rows, block))
        });
        out
    };
    let sequential = || {
        let mut out = vec![0.0; n * n];
        out.chunks_mut(block_len)
            .enumerate()
            .for_each(|(block, rows)| matmul_block(a, b, rows, block));
        out
    };

    let expected = sequential();
    // Also against the plain triple loop (same order of additions per cell).
    let naive_00: f64 = (0..n).map(|k| a[k] * b[k * n]).sum();
    assert!(
        (expected[0] - naive_00).abs() < 1e-6,
        "par_matmul: blocking is wrong"
    );
    assert!(on_corepool() == expected, "par_matmul: corepool differs");
    assert!(on_rayon() == expected, "par_matmul: rayon differs");

    let mut group = c.benchmark_group("par_matmul");
    configure(&mut group, Duration::from_secs(3));
    group.throughput(Throughput::Elements((n * n * n) as u64));
    group.bench_function("corepool", |bench| bench.iter(on_corepool));
    group.bench_function("rayon", |bench| bench.iter(on_rayon));
    group.bench_function("sequential", |bench| bench.iter(sequential));
    group.finish();
}

// ------------------------------------------- the rayon vocabulary (issue 18) --

const VOCAB_LEN: usize = 10_000_000;
const STRINGS_LEN: usize = 1_000_000;
const MAP_LEN: usize = 1_000_000;

fn random_u64s(n: usize) -> Vec<u64> {
    let mut state = 7;
    (0..n).map(|_| splitmix64(&mut state)).collect()
}

fn par_filter_collect(c: &mut Criterion) {
    let pools = Pools::new();
    let data = random_u64s(VOCAB_LEN);
    let keep = |x: &&u64| **x % 3 == 0;
    let on_corepool = || {
        pools
            .corepool
            .par(&data)
            .filter(keep)
            .copied()
            .collect::<Vec<u64>>()
    };
    let on_rayon = || {
        pools
            .rayon
            .install(|| data.par_iter().filter(keep).copied().collect::<Vec<u64>>())
    };
    let sequential = || data.iter().filter(keep).copied().collect::<Vec<u64>>();
    let expected = sequential();
    assert!(
        on_corepool() == expected,
        "par_filter_collect: corepool differs"
    );
    assert!(on_rayon() == expected, "par_filter_collect: rayon differs");
    drop(expected);

    let mut group = c.benchmark_group("par_filter_collect");
    configure(&mut group, Duration::from_secs(3));
    group.throughput(Throughput::Elements(VOCAB_LEN as u64));
    group.bench_function("corepool", |b| b.iter(on_corepool));
    group.bench_function("rayon", |b| b.iter(on_rayon));
    group.bench_function("sequential", |b| b.iter(sequential));
    group.finish();
}

/// One sorting contender: sorts a fresh copy of the input each iteration.
fn bench_sort<T: Clone + Ord + Send>(
    group: &mut BenchmarkGroup<'_, WallTime>,
    name: &str,
    input: &[T],
    sort: impl Fn(&mut Vec<T>),
) {
    let mut check = input.to_vec();
    sort(&mut check);
    assert!(check.windows(2).all(|w| w[0] <= w[1]), "{name}: not sorted");
    group.bench_function(name, |b| {
        b.iter_batched_ref(|| input.to_vec(), |v| sort(v), BatchSize::LargeInput)
    });
}

fn par_sort_u64(c: &mut Criterion) {
    let pools = Pools::new();
    let data = random_u64s(VOCAB_LEN);
    let (core, ray) = (&pools.corepool, &pools.rayon);
    let key = |x: &u64| x >> 8;

    let mut group = c.benchmark_group("par_sort_u64");
    configure(&mut group, Duration::from_secs(5));
    group.throughput(Throughput::Elements(VOCAB_LEN as u64));
    bench_sort(&mut group, "unstable/corepool", &data, |v| {
        core.install(|| corepool::prelude::ParallelSliceMut::par_sort_unstable(&mut v[..]))
    });
    bench_sort(&mut group, "unstable/rayon", &data, |v| {
        ray.install(|| v.par_sort_unstable())
    });
    bench_sort(&mut group, "unstable/sequential", &data, |v| {
        v.sort_unstable()
    });
    bench_sort(&mut group, "stable/corepool", &data, |v| {
        core.install(|| corepool::prelude::ParallelSliceMut::par_sort(&mut v[..]))
    });
    bench_sort(&mut group, "stable/rayon", &data, |v| {
        ray.install(|| v.par_sort())
    });
    bench_sort(&mut group, "stable/sequential", &data, |v| v.sort());
    bench_sort(&mut group, "by_key/corepool", &data, |v| {
        core.install(|| corepool::prelude::ParallelSliceMut::par_sort_by_key(&mut v[..], key))
    });
    bench_sort(&mut group, "by_key/rayon", &data, |v| {
        ray.install(|| v.par_sort_by_key(key))
    });
    bench_sort(&mut group, "by_key/sequential", &data, |v| {
        v.sort_by_key(key)
    });
    group.finish();
}

fn par_sort_strings(c: &mut Criterion) {
    let pools = Pools::new();
    let data: Vec<String> = random_u64s(STRINGS_LEN)
        .into_iter()
        .map(|x| format!("{x:x}"))
        .collect();
    let (core, ray) = (&pools.corepool, &pools.rayon);

    let mut group = c.benchmark_group("par_sort_strings");
    configure(&mut group, Duration::from_secs(5));
    group.throughput(Throughput::Elements(STRINGS_LEN as u64));
    bench_sort(&mut group, "unstable/corepool", &data, |v| {
        core.install(|| corepool::prelude::ParallelSliceMut::par_sort_unstable(&mut v[..]))
    });
    bench_sort(&mut group, "unstable/rayon", &data, |v| {
        ray.install(|| v.par_sort_unstable())
    });
    bench_sort(&mut group, "stable/corepool", &data, |v| {
        core.install(|| corepool::prelude::ParallelSliceMut::par_sort(&mut v[..]))
    });
    bench_sort(&mut group, "stable/rayon", &data, |v| {
        ray.install(|| v.par_sort())
    });
    bench_sort(&mut group, "stable/sequential", &data, |v| v.sort());
    group.finish();
}

fn par_find_first(c: &mut Criterion) {
    let pools = Pools::new();
    let data: Vec<u64> = (0..VOCAB_LEN as u64).collect();
    let target = (VOCAB_LEN as u64) * 3 / 4;
    let hit = |x: &&u64| **x >= target;
    let on_corepool = || pools.corepool.par(&data).find_first(hit).copied();
    let on_rayon = || {
        pools
            .rayon
            .install(|| data.par_iter().find_first(hit).copied())
    };
    let sequential = || data.iter().find(hit).copied();
    assert_eq!(
        on_corepool(),
        sequential(),
        "par_find_first: corepool differs"
    );
    assert_eq!(on_rayon(), sequential(), "par_find_first: rayon differs");

    let mut group = c.benchmark_group("par_find_first");
    configure(&mut group, Duration::from_secs(3));
    group.bench_function("corepool", |b| b.iter(on_corepool));
    group.bench_function("rayon", |b| b.iter(on_rayon));
    group.bench_function("sequential", |b| b.iter(sequential));
    group.finish();
}

fn par_collect_hashmap(c: &mut Criterion) {
    use std::collections::HashMap;
    let pools = Pools::new();
    let data = random_u64s(MAP_LEN);
    let pair = |x: &u64| (*x, x >> 3);
    let on_corepool = || {
        pools
            .corepool
            .par(&data)
            .map(pair)
            .collect::<HashMap<u64, u64>>()
    };
    let on_rayon = || {
        pools
            .rayon
            .install(|| data.par_iter().map(pair).collect::<HashMap<u64, u64>>())
    };
    let sequential = || data.iter().map(pair).collect::<HashMap<u64, u64>>();
    let expected = sequential();
    assert!(
        on_corepool() == expected,
        "par_collect_hashmap: corepool differs"
    );
    assert!(on_rayon() == expected, "par_collect_hashmap: rayon differs");
    drop(expected);

    let mut group = c.benchmark_group("par_collect_hashmap");
    configure(&mut group, Duration::from_secs(3));
    group.throughput(Throughput::Elements(MAP_LEN as u64));
    group.bench_function("corepool", |b| b.iter(|| black_box(on_corepool())));
    group.bench_function("rayon", |b| b.iter(|| black_box(on_rayon())));
    group.bench_function("sequential", |b| b.iter(|| black_box(sequential())));
    group.finish();
}

criterion_group!(
    benches,
    par_map_cheap,
    par_add_one,
    par_dot,
    par_life,
    par_quicksort,
    par_matmul,
    par_filter_collect,
    par_sort_u64,
    par_sort_strings,
    par_find_first,
    par_collect_hashmap
);
criterion_main!(benches);

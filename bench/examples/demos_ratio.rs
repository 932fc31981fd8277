//! rayon's demo programs (rayon-demo: increment-all and the other join
//! microbenchmarks, quicksort, mergesort, matmul, life, nbody, sieve, tsp)
//! timed against rayon in one run. Each demo's source is compiled twice from
//! one file: the files under `tests/rayon_demos/` that
//! `tests/par_rayon_demos_port.rs` checks, rayon's code in which `rayon::`
//! reads `backend::`; here one copy sits in a module where `backend` is
//! rayon, the other where it is corepool (the `twice!` macro below), so the
//! two sides run the same demo code through each library's
//! `prelude::*`, free `join` and free `scope`.
//!
//! Both sides run inside `install` on a pool of 2 workers: rayon's
//! `ThreadPoolBuilder::new().num_threads(2)` and corepool's
//! `Pool::builder().workers(2)`. Each round runs corepool then rayon on the
//! same fresh input (the other order the next round); the times are those of
//! the whole `install` call, input made untimed. Each side's result is
//! checked against rayon's before any time counts: one untimed warm-up run
//! each, compared, then every timed run's result compared to rayon's
//! warm-up result. Three exceptions: nbody's `tick_par_reduce` sums forces
//! in an order that depends on the splits, so its bodies are compared to
//! rounding; rayon's `par_bridge` hands life's cells over in no order and
//! `collect` keeps that order (corepool's keeps the input's), so rayon's
//! board is scrambled from the first generation on and only the number of
//! live cells after one generation is compared; the join
//! microbenchmarks' bodies keep their vector to themselves, so there is
//! nothing of theirs to compare (`tests/par_rayon_demos_port.rs` checks
//! what they do). The table gives each side's median and their ratio,
//! corepool ÷ rayon (under 1: corepool faster), and the ratio of the two
//! fastest runs.
//!
//! Sizes are rayon-demo's benchmark sizes (each its `bench.rs`), all under
//! a second a run on 2 cores: sorts of 488,281 `u32`s (`250_000_000 /
//! 512`), 256 × 256 `f32` matrices (`(i % 101)` and `(i % 101 + 7)` where
//! its bench multiplies ones by twos, so that the check means something),
//! life on 200 × 200 for 100 generations, nbody with 1,000 bodies for 10
//! ticks, sieve to 10^7, tsp on dj10 from node 0 with sequential threshold
//! 4. Plus a bigger tsp: the command tsp's `mod.rs` suggests, dj15 with
//! threshold 8, takes about 20 s a run here, so the row is dj15's first 12
//! nodes with threshold 6 (a quarter of a second). A microbenchmark's run
//! is that many calls of its body (libtest's `Bencher::iter` would pick the
//! count): 5,000 (increment-all on 100 Ki `usize`s, as issue 17 measured
//! it), fewer for the slower bodies. Where rayon-demo's benchmarks build
//! their input inside the timed closure (life's board, nbody's bodies) it
//! is built untimed here. `--small` shrinks every input to test size (a
//! smoke run: `bench/tests/examples.rs`). nbody's `tick_par_bridge` is
//! `#[cfg(test)]` in rayon's code, so it has no row here (the test checks
//! it).
//!
//! `--settle MS` sleeps that long before each timed run, untimed, so that
//! both pools' idle threads have parked when it starts. Without it a run
//! starts right after the other library's, whose idle threads may still be
//! spinning or yielding on the same two CPUs (rayon's spin and yield for a
//! while before they sleep; corepool's linger up to 100 µs after a `par`
//! call); with it every run starts from parked workers, as a program's
//! first call after other work does. The default, 0, is how this table
//! was always measured.
//!
//! ```sh
//! cargo run --release -p corepool-bench --example demos_ratio               # every demo, 7 rounds
//! cargo run --release -p corepool-bench --example demos_ratio -- 11 sort    # 11 rounds, rows containing "sort"
//! cargo run --release -p corepool-bench --example demos_ratio -- 1 --small  # smoke run
//! cargo run --release -p corepool-bench --example demos_ratio -- --settle 20 # each run from parked workers
//! ```

#[path = "../../examples/common/mod.rs"]
mod common;

use std::fmt::Debug;
use std::hint::black_box;
use std::time::{Duration, Instant};

const WORKERS: usize = 2;

/// Compiles `body` twice: in `on_rayon`, where `backend` is rayon, and in
/// `on_corepool`, where it is corepool. `backend` re-exports the whole
/// library, plus `ScopeRef`, the type tsp's `step` takes its scope as (see
/// tests/rayon_demos/tsp.rs).
macro_rules! twice {
    ($name:ident { $($body:tt)* }) => {
        mod $name {
            #[allow(dead_code, non_camel_case_types)]
            pub mod on_rayon {
                mod backend {
                    pub use ::rayon::*;
                    pub type ScopeRef<'r, 's> = &'r ::rayon::Scope<'s>;
                }
                $($body)*
            }
            #[allow(dead_code, non_camel_case_types)]
            pub mod on_corepool {
                mod backend {
                    pub use ::corepool::*;
                    pub type ScopeRef<'env, 'scope> = &'scope ::corepool::Scope<'scope, 'env>;
                }
                $($body)*
            }
        }
    };
}

twice!(join_microbench {
    mod test {
        include!("../../tests/rayon_demos/bencher.rs");
    }
    include!("../../tests/rayon_demos/join_microbench.rs");

    /// One of the microbenchmarks, by name, its body run `runs` times.
    pub fn run(name: &str, runs: usize) {
        let mut b = test::Bencher { runs };
        match name {
            "increment_all" => increment_all(&mut b),
            "increment_all_min" => increment_all_min(&mut b),
            "increment_all_max" => increment_all_max(&mut b),
            "increment_all_serialized" => increment_all_serialized(&mut b),
            "increment_all_atomized" => increment_all_atomized(&mut b),
            "join_recursively" => join_recursively(&mut b),
            _ => unreachable!("no microbenchmark {name}"),
        }
    }
});

twice!(quicksort {
    include!("../../tests/rayon_demos/quicksort.rs");

    pub fn run(v: &mut [u32]) {
        quick_sort::<Parallel, u32>(v);
    }
});

twice!(mergesort {
    include!("../../tests/rayon_demos/mergesort.rs");

    pub fn run(v: &mut [u32]) {
        merge_sort(v);
    }
});

twice!(matmul {
    include!("../../tests/rayon_demos/matmul.rs");

    /// `a × b` (`n × n`, z-order) by Strassen's method or by `matmulz`.
    pub fn run(strassen: bool, (a, b): &(Vec<f32>, Vec<f32>)) -> Vec<f32> {
        let mut dest = vec![0f32; a.len()];
        if strassen {
            matmul_strassen(a, b, &mut dest);
        } else {
            matmulz(a, b, &mut dest);
        }
        dest
    }
});

twice!(life {
    mod rand {
        include!("../../tests/rayon_demos/life_rand.rs");
    }
    include!("../../tests/rayon_demos/life.rs");

    /// A random `size × size` board (the same on both sides).
    pub fn board(size: usize) -> Board {
        Board::new(size, size).random()
    }

    /// `gens` generations, each by `par_iter` or `par_bridge`: the live
    /// cells after the first, and the board after the last.
    pub fn run(bridge: bool, board: &Board, gens: usize) -> (usize, Vec<bool>) {
        let mut brd = board.clone();
        let mut first_live = 0;
        for generation in 0..gens {
            brd = if bridge {
                brd.par_bridge_next_generation()
            } else {
                brd.parallel_next_generation()
            };
            if generation == 0 {
                first_live = brd.board.iter().filter(|&&live| live).count();
            }
        }
        (first_live, brd.board)
    }
});

twice!(nbody {
    mod cgmath {
        include!("../../tests/rayon_demos/nbody_cgmath.rs");
    }
    mod rand {
        include!("../../tests/rayon_demos/nbody_rand.rs");
    }
    include!("../../tests/rayon_demos/nbody.rs");

    /// `bodies` bodies placed by a fixed-seed generator.
    pub fn benchmark(bodies: usize) -> NBodyBenchmark {
        NBodyBenchmark::new(bodies, &mut rand::XorShift(0x2545_F491_4F6C_DD1D))
    }

    /// Each body's position, velocity and velocity2 after `ticks` ticks of
    /// `tick_par_reduce` (`reduce`) or `tick_par`. (Its `tick_par_bridge`
    /// is `#[cfg(test)]` in rayon's code: tests/par_rayon_demos_port.rs
    /// checks it, this example cannot call it.)
    pub fn run(reduce: bool, benchmark: &mut NBodyBenchmark, ticks: usize) -> Vec<[f64; 9]> {
        let mut last = Vec::new();
        for _ in 0..ticks {
            let bodies = if reduce {
                benchmark.tick_par_reduce()
            } else {
                benchmark.tick_par()
            };
            last = bodies
                .iter()
                .map(|b| {
                    let (p, v, w) = (b.position, b.velocity, b.velocity2);
                    [p.x, p.y, p.z, v.x, v.y, v.z, w.x, w.y, w.z]
                })
                .collect();
        }
        last
    }
});

twice!(sieve {
    include!("../../tests/rayon_demos/sieve.rs");

    /// The sieve of `0..10^magnitude`, by `sieve_chunks` or
    /// `sieve_parallel`, checked against the count of primes.
    pub fn run(parallel: bool, magnitude: usize) -> Vec<bool> {
        let sieve = if parallel {
            sieve_parallel(max(magnitude))
        } else {
            sieve_chunks(max(magnitude))
        };
        assert_eq!(1 + sieve.iter().filter(|&&b| b).count(), NUM_PRIMES[magnitude]);
        sieve
    }
});

twice!(tsp {
    mod fixedbitset {
        include!("../../tests/rayon_demos/fixedbitset.rs");
    }
    include!("../../tests/rayon_demos/tsp.rs");
    include!("../../tests/rayon_demos/tsp_input.rs");

    /// The graph on dj15.tsp's first `nodes` nodes.
    pub fn graph(nodes: usize) -> graph::Graph {
        euc_2d_graph(&DJ15[..nodes])
    }

    /// The cheapest tour's weight, searched from node 0.
    pub fn run(graph: &graph::Graph, seq_threshold: usize) -> usize {
        let mut solver = solver::SolverCx::new(graph, seq_threshold);
        solver.search_from(graph::Node::new(0));
        let (path, weight) = solver.into_result();
        assert_eq!(path.expect("a tour").len(), graph.num_nodes() + 1);
        weight.to_usize()
    }
});

/// The inputs: rayon-demo's benchmark sizes, or test sizes (`--small`).
struct Sizes {
    sort: usize,
    micro_runs: usize,
    matrix_side: usize,
    life_side: usize,
    life_gens: usize,
    bodies: usize,
    ticks: usize,
    sieve_magnitude: usize,
    tsp_big: (usize, usize),
}

const FULL: Sizes = Sizes {
    sort: 250_000_000 / 512,
    micro_runs: 5_000,
    matrix_side: 256,
    life_side: 200,
    life_gens: 100,
    bodies: 1_000,
    ticks: 10,
    sieve_magnitude: 7,
    tsp_big: (12, 6),
};

const SMALL: Sizes = Sizes {
    sort: 20_000,
    micro_runs: 5,
    matrix_side: 64,
    life_side: 32,
    life_gens: 4,
    bodies: 64,
    ticks: 2,
    sieve_magnitude: 5,
    tsp_big: (10, 6),
};

/// `n` pseudo-random `u32`s (splitmix64, fixed seed).
fn random_u32s(n: usize) -> Vec<u32> {
    let mut state = 7u64;
    (0..n)
        .map(|_| {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            let mut z = state;
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            (z ^ (z >> 31)) as u32
        })
        .collect()
}

/// Runs `run` on a fresh `setup()` (setup untimed); its time and result.
fn time<I, O>(setup: &impl Fn() -> I, run: &impl Fn(&mut I) -> O) -> (Duration, O) {
    let mut input = setup();
    let start = Instant::now();
    let out = run(&mut input);
    let elapsed = start.elapsed();
    drop(black_box(input));
    (elapsed, out)
}

fn eq<O: PartialEq>(a: &O, b: &O) -> bool {
    a == b
}

fn median(v: &mut [Duration]) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// The pools both sides run in.
struct Pools {
    core: corepool::Pool,
    ray: rayon::ThreadPool,
    /// Slept before each timed run (`--settle`).
    settle: Duration,
}

/// One row: `core` and `ray` (each run inside its pool's `install`) on
/// fresh inputs, interleaved; every result checked with `same` against
/// rayon's warm-up result.
fn compare<I, O: Send + Debug>(
    pools: &Pools,
    name: &str,
    rounds: usize,
    setup: impl Fn() -> I,
    core: impl Fn(&mut I) -> O + Sync,
    ray: impl Fn(&mut I) -> O + Sync,
    same: impl Fn(&O, &O) -> bool,
) where
    I: Send,
{
    let core = |input: &mut I| pools.core.install(|| core(input));
    let ray = |input: &mut I| pools.ray.install(|| ray(input));
    let check = |side: &str, got: &O, want: &O| {
        assert!(
            same(got, want),
            "{name}: {side}'s result differs from rayon's warm-up result"
        );
    };
    let (_, want) = time(&setup, &ray);
    let (_, got) = time(&setup, &core);
    check("corepool", &got, &want);
    let (mut c, mut r) = (Vec::new(), Vec::new());
    for round in 0..rounds {
        let mut core_run = || {
            std::thread::sleep(pools.settle);
            let (t, got) = time(&setup, &core);
            check("corepool", &got, &want);
            c.push(t);
        };
        let mut ray_run = || {
            std::thread::sleep(pools.settle);
            let (t, got) = time(&setup, &ray);
            check("rayon", &got, &want);
            r.push(t);
        };
        if round % 2 == 0 {
            core_run();
            ray_run();
        } else {
            ray_run();
            core_run();
        }
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let (cm, rm) = (median(&mut c), median(&mut r));
    println!(
        "| {name:<30} | {:>9.2} | {:>9.2} | {:>11.2}x | {:>9.2}x |",
        ms(cm),
        ms(rm),
        ms(cm) / ms(rm),
        ms(c[0]) / ms(r[0]),
    );
}

fn main() {
    let mut args = common::Args::parse("demos_ratio [ROUNDS] [FILTER] [--small] [--settle MS]");
    let small = args.flag("--small");
    let settle = Duration::from_millis(args.option("--settle", 0_u64));
    let rounds: usize = args.next_or("ROUNDS", 7);
    let filter: String = args.next_or("FILTER", String::new());
    args.check(rounds > 0, "ROUNDS must be positive");
    args.finish();
    let want = |name: &str| name.contains(filter.as_str());
    let size = if small { &SMALL } else { &FULL };

    let pools = Pools {
        core: corepool::Pool::builder()
            .workers(WORKERS)
            .build()
            .expect("corepool pool"),
        ray: rayon::ThreadPoolBuilder::new()
            .num_threads(WORKERS)
            .build()
            .expect("rayon pool"),
        settle,
    };
    println!(
        "rayon-demo's demos, {rounds} rounds, {WORKERS} workers each, median ms{}{}",
        if small { " (--small inputs)" } else { "" },
        if settle.is_zero() {
            String::new()
        } else {
            format!(", {} ms settle before each run", settle.as_millis())
        }
    );
    println!(
        "| demo                           |  corepool |     rayon | median ratio | best ratio |"
    );
    println!(
        "|--------------------------------|-----------|-----------|--------------|------------|"
    );

    // The join microbenchmarks: `runs` calls of each body per run.
    let micro_runs = size.micro_runs;
    for (name, bench, runs) in [
        ("increment-all", "increment_all", micro_runs),
        ("increment-all-min", "increment_all_min", micro_runs),
        ("increment-all-max", "increment_all_max", micro_runs / 5),
        (
            "increment-all-serialized",
            "increment_all_serialized",
            micro_runs,
        ),
        (
            "increment-all-atomized",
            "increment_all_atomized",
            micro_runs / 100,
        ),
        ("join-recursively", "join_recursively", micro_runs / 50),
    ] {
        let runs = runs.max(1);
        if want(name) {
            compare(
                &pools,
                &format!("{name} ×{runs}"),
                rounds,
                || (),
                |()| join_microbench::on_corepool::run(bench, runs),
                |()| join_microbench::on_rayon::run(bench, runs),
                eq,
            );
        }
    }

    let unsorted = random_u32s(size.sort);
    if want("quicksort") {
        compare(
            &pools,
            "quicksort",
            rounds,
            || unsorted.clone(),
            |v| {
                quicksort::on_corepool::run(v);
                v.clone()
            },
            |v| {
                quicksort::on_rayon::run(v);
                v.clone()
            },
            eq,
        );
    }
    if want("mergesort") {
        compare(
            &pools,
            "mergesort",
            rounds,
            || unsorted.clone(),
            |v| {
                mergesort::on_corepool::run(v);
                v.clone()
            },
            |v| {
                mergesort::on_rayon::run(v);
                v.clone()
            },
            eq,
        );
    }

    let n = size.matrix_side * size.matrix_side;
    let matrices = (
        (0..n).map(|i| (i % 101) as f32).collect::<Vec<_>>(),
        (0..n).map(|i| (i % 101 + 7) as f32).collect::<Vec<_>>(),
    );
    for (name, strassen) in [("matmul-strassen", true), ("matmulz", false)] {
        if want(name) {
            compare(
                &pools,
                name,
                rounds,
                || (),
                |()| matmul::on_corepool::run(strassen, &matrices),
                |()| matmul::on_rayon::run(strassen, &matrices),
                eq,
            );
        }
    }

    let (side, gens) = (size.life_side, size.life_gens);
    let (core_board, ray_board) = (life::on_corepool::board(side), life::on_rayon::board(side));
    for (name, bridge) in [("life-par-iter", false), ("life-par-bridge", true)] {
        // rayon's `par_bridge` hands cells over in no order and `collect`
        // keeps that order, so its board is scrambled from the first
        // generation on (corepool's keeps the order); what both must agree
        // on is the number of live cells after one generation.
        let same = |a: &(usize, Vec<bool>), b: &(usize, Vec<bool>)| {
            if bridge {
                a.0 == b.0 && a.1.len() == b.1.len()
            } else {
                a == b
            }
        };
        if want(name) {
            compare(
                &pools,
                name,
                rounds,
                || (),
                |()| life::on_corepool::run(bridge, &core_board, gens),
                |()| life::on_rayon::run(bridge, &ray_board, gens),
                same,
            );
        }
    }

    let (bodies, ticks) = (size.bodies, size.ticks);
    for (name, reduce) in [("nbody-par-iter", false), ("nbody-par-reduce", true)] {
        // Rounding only where the force sums are grouped by the splits.
        let close = |a: &Vec<[f64; 9]>, b: &Vec<[f64; 9]>| {
            a.len() == b.len()
                && a.iter().flatten().zip(b.iter().flatten()).all(|(x, y)| {
                    if reduce {
                        (x - y).abs() <= 1e-9 * x.abs().max(1.0)
                    } else {
                        x == y
                    }
                })
        };
        if want(name) {
            compare(
                &pools,
                name,
                rounds,
                || {
                    (
                        nbody::on_corepool::benchmark(bodies),
                        nbody::on_rayon::benchmark(bodies),
                    )
                },
                |(core, _)| nbody::on_corepool::run(reduce, core, ticks),
                |(_, ray)| nbody::on_rayon::run(reduce, ray, ticks),
                close,
            );
        }
    }

    for (name, parallel) in [("sieve-chunks", false), ("sieve-parallel", true)] {
        if want(name) {
            let magnitude = size.sieve_magnitude;
            compare(
                &pools,
                name,
                rounds,
                || (),
                |()| sieve::on_corepool::run(parallel, magnitude),
                |()| sieve::on_rayon::run(parallel, magnitude),
                eq,
            );
        }
    }

    for (nodes, threshold) in [(10, 4), size.tsp_big] {
        let name = format!("tsp-dj{nodes}-threshold-{threshold}");
        if want(&name) {
            let (core_graph, ray_graph) =
                (tsp::on_corepool::graph(nodes), tsp::on_rayon::graph(nodes));
            compare(
                &pools,
                &name,
                rounds,
                || (),
                |()| tsp::on_corepool::run(&core_graph, threshold),
                |()| tsp::on_rayon::run(&ray_graph, threshold),
                eq,
            );
        }
    }

    println!(
        "every result matched rayon's (nbody-par-reduce to rounding, life-par-bridge in live cells)"
    );
}

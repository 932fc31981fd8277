//! rayon's demo programs (rayon-demo: quicksort, mergesort, life, nbody,
//! matmul, sieve, tsp, and the join microbenchmarks' "increment all"),
//! their rayon code ported to corepool, each checked to give the sequential
//! version's output on pools of 1, 2 and 3 workers and on the default pool.
//!
//! rayon's code lives in `tests/rayon_demos/`, one file per demo, copied
//! from the rayon-rs/rayon repository at commit
//! c4dac9f82ee03f61e855075b668229a9e4d759ad with only `rayon::` ->
//! `backend::` changed (`use rayon::prelude::*` -> `use
//! backend::prelude::*`, `rayon::join` -> `backend::join`; each file's
//! first lines say what else, for tsp). Each module here says `use corepool
//! as backend;` (tsp: a `mod backend` naming corepool's `scope`) and
//! `include!`s its demo's file between the "rayon's code" line and "the
//! check" line. The same files are compiled a second time against rayon by
//! `bench/examples/demos_ratio.rs`, which times the two libraries on them.
//!
//! What is not rayon's code, and so left out or stood in for:
//! - the command-line and timing harness of each demo (`docopt`, `main`,
//!   `timed_sort`, `measure`, `cpu_time`, `default_vec`, the `bench.rs`
//!   files): replaced by the checks;
//! - rayon's own `#[test]` functions inside the demos (`test_merge_sort`,
//!   `test_life`, `test_splayed_counter`, `test_matmul`): left out of the
//!   copy and run, with the same assertions, inside the checks (under a
//!   watchdog, and with `test_merge_sort`'s 1 M and 200 k items shrunk to
//!   150 k and 100 k and `test_life`'s 200 x 200 board and 100 generations
//!   to 64 x 64 and 20);
//! - the `rand`, `cgmath` and `fixedbitset` crates (life, nbody, tsp) and
//!   libtest's `Bencher` (the join microbenchmarks): small stand-ins in
//!   `tests/rayon_demos/` with the same names and the calls the demos make,
//!   so `use rand::…`, `use cgmath::…` and `use test::Bencher` resolve
//!   unchanged; the join microbenchmarks lose their `#[bench]` attributes
//!   (a nightly feature) and are called from the check;
//! - tsp's `mod.rs` (docopt, `main`) and `parser.rs` (TSPLIB files read
//!   with `regex`): its solver (graph, solver, step, tour, weight) is
//!   copied, and `tests/rayon_demos/tsp_input.rs` builds the graph its
//!   parser would from dj15.tsp's coordinates (dj10 is the first ten).
//!
//! Which demos needed more than the two changes: tsp, whose `step` names
//! rayon's one-lifetime `Scope<'s>` (see `tests/rayon_demos/tsp.rs`). Two
//! methods were missing and were added to corepool rather than change the
//! demos: `par_bridge` (life's and nbody's `par_bridge` forms) and rayon's
//! `fold(identity, op)` returning the accumulators (nbody's
//! `.fold(..).reduce(..)`).

use corepool::Pool;

mod common;

/// Runs `check` inside pools of 1, 2 and 3 workers (the prelude's entry
/// points and `corepool::join` run on the current pool), then outside any
/// pool (the default pool), each under a watchdog.
fn on_pools(check: fn()) {
    for workers in 1..=3 {
        common::watchdog(120, move || {
            Pool::builder()
                .workers(workers)
                .build()
                .unwrap()
                .install(check);
        });
    }
    common::watchdog(120, check);
}

/// `n` pseudo-random `u32`s (xorshift, fixed seed).
fn random_u32s(n: usize) -> Vec<u32> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u32
        })
        .collect()
}

mod quicksort {
    #![expect(non_camel_case_types)]
    // ---- rayon-demo/src/quicksort/mod.rs: rayon's code, in rayon_demos/quicksort.rs ----
    use corepool as backend;
    include!("rayon_demos/quicksort.rs");
    // ---- the check (not rayon's code) ----
    #[test]
    fn quick_sort_parallel_matches_sequential() {
        crate::on_pools(|| {
            let v = crate::random_u32s(40_000);
            let mut seq = v.clone();
            quick_sort::<Sequential, u32>(&mut seq);
            let mut par = v.clone();
            quick_sort::<Parallel, u32>(&mut par);
            let mut std_sorted = v;
            std_sorted.sort();
            assert!(is_sorted(&par));
            assert_eq!(par, seq);
            assert_eq!(par, std_sorted);
        });
    }
}

mod mergesort {
    // ---- rayon-demo/src/mergesort/mod.rs: rayon's code, in rayon_demos/mergesort.rs ----
    use corepool as backend;
    include!("rayon_demos/mergesort.rs");
    // ---- the check (not rayon's code) ----
    #[test]
    fn merge_sort_matches_sequential() {
        crate::on_pools(|| {
            // rayon's `test_merge_sort`, with 150_000 items where it has 1_000_000 (and 100_000 equal ones where it has 200_000).
            let mut v = vec![1; 100_000];
            merge_sort(&mut v[..]);
            assert!(v.iter().all(|&x| x == 1));
            let sorted: Vec<u32> = (1..150_000).collect();
            let mut v = sorted.clone();
            merge_sort(&mut v[..]);
            assert_eq!(sorted, v);
            v.reverse();
            merge_sort(&mut v[..]);
            assert_eq!(sorted, v);
            // Random input: the parallel sort gives the sequential one's output.
            let input = crate::random_u32s(150_000);
            let mut par = input.clone();
            merge_sort(&mut par[..]);
            let mut seq = input;
            seq_merge_sort(&mut seq[..]);
            assert_eq!(par, seq);
            assert!(is_sorted(&mut par[..]));
        });
    }
}

mod life {
    // Stand-in for the `rand` crate (not rayon's code): the calls this demo
    // makes, on a fixed-seed xorshift generator, so the test needs no new
    // dependency and every run sees the same board.
    mod rand {
        include!("rayon_demos/life_rand.rs");
    }

    // ---- rayon-demo/src/life/mod.rs: rayon's code, in rayon_demos/life.rs ----
    use corepool as backend;
    include!("rayon_demos/life.rs");
    // ---- the check (not rayon's code) ----
    #[test]
    fn life_parallel_and_par_bridge_match_sequential() {
        crate::on_pools(|| {
            // rayon's `test_life`, on a 64 x 64 board for 20 generations (200 x
            // 200 for 100 there), with the par_bridge form checked too.
            let mut brd1 = Board::new(64, 64).random();
            let mut brd2 = brd1.clone();
            let mut brd3 = brd1.clone();
            for _ in 0..20 {
                brd1 = brd1.next_generation();
                brd2 = brd2.parallel_next_generation();
                brd3 = brd3.par_bridge_next_generation();
                assert_eq!(brd1, brd2);
                assert_eq!(brd1, brd3);
            }
        });
    }
}

mod nbody {
    // Stand-in for the `cgmath` crate (not rayon's code): the points, vectors
    // and operations this demo uses, on `f64`.
    mod cgmath {
        include!("rayon_demos/nbody_cgmath.rs");
    }

    // Stand-in for the `rand` crate (not rayon's code): `RngExt` with the two
    // calls this demo makes, on a fixed-seed xorshift generator.
    mod rand {
        include!("rayon_demos/nbody_rand.rs");
    }

    // ---- rayon-demo/src/nbody/nbody.rs: rayon's code, in rayon_demos/nbody.rs ----
    use corepool as backend;
    include!("rayon_demos/nbody.rs");
    // ---- the check (not rayon's code) ----
    #[test]
    fn nbody_par_par_bridge_and_par_reduce_match_sequential() {
        crate::on_pools(|| {
            let new = || NBodyBenchmark::new(200, &mut rand::XorShift(0x2545_F491_4F6C_DD1D));
            let (mut seq, mut par, mut bridge, mut reduce) = (new(), new(), new(), new());
            let state = |b: &Body| (b.position, b.velocity, b.velocity2);
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
            for _ in 0..4 {
                let s: Vec<_> = seq.tick_seq().iter().map(state).collect();
                let p: Vec<_> = par.tick_par().iter().map(state).collect();
                let b: Vec<_> = bridge.tick_par_bridge().iter().map(state).collect();
                assert_eq!(p, s);
                assert_eq!(b, s);
                // `tick_par_reduce` sums each body's forces in parallel: floating
                // point sums grouped otherwise than the sequential loop's, as in
                // rayon, agree to rounding.
                for (r, s) in reduce.tick_par_reduce().iter().map(state).zip(&s) {
                    for (x, y) in [
                        (r.0.x, s.0.x),
                        (r.0.y, s.0.y),
                        (r.0.z, s.0.z),
                        (r.1.x, s.1.x),
                        (r.2.z, s.2.z),
                    ] {
                        assert!(close(x, y), "{x} vs {y}");
                    }
                }
            }
        });
    }
}

mod matmul {
    // ---- rayon-demo/src/matmul/mod.rs: rayon's code, in rayon_demos/matmul.rs ----
    use corepool as backend;
    include!("rayon_demos/matmul.rs");
    // ---- the check (not rayon's code) ----
    #[test]
    fn matmul_matches_sequential() {
        crate::on_pools(|| {
            // rayon's `test_splayed_counter` and `test_matmul`, at their sizes.
            let bits: Vec<usize> = SplayedBitsCounter::new(64).collect();
            assert_eq!(
                vec![0b0, 0b1, 0b100, 0b101, 0b10000, 0b10001, 0b10100, 0b10101],
                bits
            );
            let a: Vec<f32> = vec![1.0, 2.0, 3.0, 4.0];
            let b: Vec<f32> = vec![5.0, 6.0, 7.0, 8.0];
            let mul: Vec<f32> = vec![19.0, 22.0, 43.0, 50.0];
            let mut dest = vec![0f32; 4];
            matmulz(&a[..], &b[..], &mut dest[..]);
            assert_eq!(mul, dest);
            seq_matmulz(&a[..], &b[..], &mut dest[..]);
            assert_eq!(mul, dest);
            matmul_strassen(&a[..], &b[..], &mut dest[..]);
            assert_eq!(mul, dest);
            seq_matmul(&a[..], &b[..], &mut dest[..]); // row-major; 2 x 2 is z-order too
            assert_eq!(mul, dest);
            let n = 1 << 14;
            assert!(n > MULT_CHUNK);
            let a: Vec<f32> = (0..n).map(|i| (i % 101) as f32).collect();
            let b: Vec<f32> = (0..n).map(|i| (i % 101 + 7) as f32).collect();
            let mut seqmul = vec![0f32; n];
            seq_matmulz(&a[..], &b[..], &mut seqmul[..]);
            let mut rmul = vec![0f32; n];
            matmulz(&a[..], &b[..], &mut rmul[..]);
            assert_eq!(rmul, seqmul);
            for d in rmul.iter_mut() {
                *d = 0.0;
            }
            matmul_strassen(&a[..], &b[..], &mut rmul[..]);
            assert_eq!(rmul, seqmul);
        });
    }
}

mod sieve {
    // ---- rayon-demo/src/sieve/mod.rs: rayon's code, in rayon_demos/sieve.rs ----
    use corepool as backend;
    include!("rayon_demos/sieve.rs");
    // ---- the check (not rayon's code) ----
    #[test]
    fn sieve_parallel_matches_serial() {
        crate::on_pools(|| {
            // rayon's benchmark sieves to 10^9; 10^3 (one short chunk) and 10^6
            // (five chunks) here.
            for magnitude in [3, 6] {
                let serial = sieve_serial(max(magnitude));
                let chunks = sieve_chunks(max(magnitude));
                let parallel = sieve_parallel(max(magnitude));
                assert_eq!(chunks, serial);
                assert_eq!(parallel, serial);
                let num_primes = 1 + parallel.into_iter().filter(|&b| b).count();
                assert_eq!(num_primes, NUM_PRIMES[magnitude]);
            }
        });
    }
}

mod join_microbench {
    // ---- rayon-demo/src/join_microbench.rs: rayon's code, in rayon_demos/join_microbench.rs ----
    use corepool as backend;
    include!("rayon_demos/join_microbench.rs");
    // ---- the check (not rayon's code) ----
    // Stand-in for libtest's `Bencher` (not rayon's code; `#[bench]` needs a
    // nightly compiler): runs the benchmark body `runs` times.
    mod test {
        include!("rayon_demos/bencher.rs");
    }

    #[test]
    fn increment_all_benches_give_the_sequential_result() {
        crate::on_pools(|| {
            let mut b = test::Bencher { runs: 1 };
            increment_all(&mut b);
            increment_all_min(&mut b);
            increment_all_serialized(&mut b);
            increment_all_max(&mut b);
            increment_all_atomized(&mut b);
            join_recursively(&mut b);
            // What the bodies above do to their vector, checked.
            let mut big_vec = vec![0_usize; 10 * 1024];
            big_vec.par_iter_mut().for_each(|p| *p = p.wrapping_add(1));
            big_vec
                .par_iter_mut()
                .with_min_len(1024)
                .for_each(|p| *p = p.wrapping_add(1));
            big_vec
                .par_iter_mut()
                .with_min_len(usize::MAX)
                .for_each(|p| *p = p.wrapping_add(1));
            big_vec
                .par_iter_mut()
                .with_max_len(100)
                .for_each(|p| *p = p.wrapping_add(1));
            big_vec
                .par_iter_mut()
                .with_max_len(1)
                .for_each(|p| *p = p.wrapping_add(1));
            assert!(big_vec.iter().all(|&x| x == 5));
        });
    }
}

mod tsp {
    // Stand-in for the `fixedbitset` crate (not rayon's code).
    mod fixedbitset {
        include!("rayon_demos/fixedbitset.rs");
    }

    // What `backend::scope` and the `ScopeRef` of step.rs are here (not
    // rayon's code): corepool's free `scope`, and the `&'scope Scope<'scope,
    // 'env>` its tasks receive (see tsp.rs for why step.rs needs a name).
    mod backend {
        pub use corepool::scope;
        pub type ScopeRef<'env, 'scope> = &'scope corepool::Scope<'scope, 'env>;
    }

    // ---- rayon-demo/src/tsp/{graph,solver,step,tour,weight}.rs: rayon's code, in rayon_demos/tsp.rs ----
    include!("rayon_demos/tsp.rs");
    // ---- the check (not rayon's code) ----
    include!("rayon_demos/tsp_input.rs");

    use graph::{Graph, Node};
    use solver::SolverCx;

    /// The cheapest tour's weight, sequentially (Held-Karp: the cheapest path
    /// from node 0 through each subset of nodes to each end node).
    fn held_karp(graph: &Graph) -> usize {
        let n = graph.num_nodes();
        let w = |i: usize, j: usize| {
            graph
                .edge_weight(Node::new(i), Node::new(j))
                .map_or(usize::MAX, |w| w.to_usize())
        };
        let mut best = vec![vec![usize::MAX; n]; 1 << n];
        best[1][0] = 0;
        for set in 1..1usize << n {
            for end in 0..n {
                let here = best[set][end];
                if here == usize::MAX {
                    continue;
                }
                for next in (0..n).filter(|&next| set & (1 << next) == 0) {
                    let step = w(end, next);
                    if step != usize::MAX {
                        let there = &mut best[set | 1 << next][next];
                        *there = (*there).min(here + step);
                    }
                }
            }
        }
        (1..n)
            .filter(|&end| best[(1 << n) - 1][end] != usize::MAX && w(end, 0) != usize::MAX)
            .map(|end| best[(1 << n) - 1][end] + w(end, 0))
            .min()
            .unwrap_or(usize::MAX)
    }

    /// Solves `graph` from node 0 as rayon-demo's `tsp bench` does; returns
    /// the tour (direction normalised as its bench.rs does) and its weight,
    /// after checking that the tour visits every node once and weighs what
    /// the solver says.
    fn solve(graph: &Graph, seq_threshold: usize) -> (Vec<usize>, usize) {
        let mut solver = SolverCx::new(graph, seq_threshold);
        solver.search_from(Node::new(0));
        let (path, weight) = solver.into_result();
        let mut path: Vec<usize> = path.expect("a tour").iter().map(|n| n.index()).collect();
        if path.iter().rev().lt(&path) {
            path.reverse();
        }
        let n = graph.num_nodes();
        assert_eq!(path.len(), n + 1);
        assert_eq!(path[0], path[n]);
        let mut seen = path[..n].to_vec();
        seen.sort_unstable();
        assert_eq!(seen, (0..n).collect::<Vec<_>>());
        let sum: usize = path
            .windows(2)
            .map(|e| {
                graph
                    .edge_weight(Node::new(e[0]), Node::new(e[1]))
                    .expect("an edge")
                    .to_usize()
            })
            .sum();
        assert_eq!(sum, weight.to_usize());
        (path, weight.to_usize())
    }

    #[test]
    fn tsp_branch_and_bound_matches_a_sequential_solve() {
        crate::on_pools(|| {
            // rayon-demo's bench.rs: dj10 at threshold 4 costs 2577 along
            // this tour; here also the sequential fallback alone (threshold
            // 10) and a threshold that spawns at every level (0).
            let dj10 = euc_2d_graph(&DJ15[..10]);
            assert_eq!(held_karp(&dj10), 2577);
            for seq_threshold in [0, 4, 10] {
                assert_eq!(
                    solve(&dj10, seq_threshold),
                    (vec![0, 1, 3, 2, 4, 6, 8, 7, 5, 9, 0], 2577)
                );
            }
            // Random complete graphs of 9 nodes (ties possible: weights only).
            let coords = crate::random_u32s(18);
            for shift in [0, 24] {
                let points: Vec<(f64, f64)> = coords
                    .chunks(2)
                    .map(|c| (f64::from(c[0] >> shift), f64::from(c[1] >> shift)))
                    .collect();
                let graph = euc_2d_graph(&points);
                let exact = held_karp(&graph);
                for seq_threshold in [0, 3] {
                    assert_eq!(solve(&graph, seq_threshold).1, exact);
                }
            }
        });
    }
}

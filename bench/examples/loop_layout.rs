//! One loop, three threads: adds one to each of 100 Ki `usize`, 5,000 times,
//! on a corepool worker (inside `install`), on a rayon worker (inside
//! `install`) and on a plain thread, and prints the median µs a pass of
//! each. The instructions are the same in all three; only where the linker
//! put each copy of the loop differs. Built as this repository builds
//! (`.cargo/config.toml` aligns loops to 64 bytes) the three agree; built
//! without that, a copy that crosses a 64-byte boundary ran 1.7× slower on
//! this project's AMD EPYC machine (BENCHMARKS.md, "Code layout").
//!
//! ```sh
//! cargo run --release -p corepool-bench --example loop_layout
//! # the same without the alignment (a target directory of its own):
//! RUSTFLAGS= CARGO_TARGET_DIR=target/unaligned cargo run --release -p corepool-bench --example loop_layout
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

const LEN: usize = 100 * 1024;
const PASSES: u32 = 5_000;
const ROUNDS: usize = 7;

/// `PASSES` passes of the loop over `v`; the time of one. Inlined into
/// each caller, so that each thread runs a copy of its own, at its own
/// place in the binary, as each library's leaf loop is.
#[inline(always)]
fn passes(v: &mut [usize]) -> Duration {
    let start = Instant::now();
    for _ in 0..PASSES {
        black_box(&mut *v)
            .iter_mut()
            .for_each(|p| *p = p.wrapping_add(1));
    }
    start.elapsed() / PASSES
}

fn main() {
    let core = corepool::Pool::builder()
        .workers(2)
        .build()
        .expect("corepool");
    let ray = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("rayon");
    let mut v = vec![0usize; LEN];
    let mut times: [Vec<Duration>; 3] = Default::default();
    for _ in 0..ROUNDS {
        times[0].push(core.install(|| passes(&mut v)));
        times[1].push(ray.install(|| passes(&mut v)));
        times[2].push(std::thread::scope(|s| {
            s.spawn(|| passes(&mut v)).join().expect("plain thread")
        }));
    }
    assert!(v.iter().all(|&x| x == 3 * ROUNDS * PASSES as usize));
    println!("the same loop over {LEN} usize, median µs a pass of {ROUNDS} rounds:");
    for (name, t) in ["corepool worker", "rayon worker", "plain thread"]
        .iter()
        .zip(&mut times)
    {
        t.sort();
        println!("{name:>16}: {:6.1}", t[ROUNDS / 2].as_secs_f64() * 1e6);
    }
}

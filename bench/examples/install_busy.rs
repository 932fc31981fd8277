//! A loop of `pool.install(|| busy(d))` calls from a thread outside the
//! pool, where `busy` holds the worker for `d` (1 µs … 256 µs), beside
//! rayon's `install` of the same closure: what a caller outside every pool
//! pays to hand a call of a given length to the pool and get it back, in
//! time and in CPU. 2 workers each, in one run. Columns: µs a call; the
//! CPU time of the calling thread and of the whole process, µs a call
//! (`CLOCK_THREAD_CPUTIME_ID`, `CLOCK_PROCESS_CPUTIME_ID`); and corepool's
//! parks a call (`Pool::stats`).
//!
//! ```sh
//! cargo run --release -p corepool-bench --example install_busy          # 2 rounds
//! cargo run --release -p corepool-bench --example install_busy -- 5     # rounds
//! ```

use std::time::{Duration, Instant};

use corepool::Pool;

const WORKERS: usize = 2;

/// Holds the thread for `d`.
fn busy(d: Duration) {
    let start = Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// CPU time of `clock` so far, µs.
fn cpu_us(clock: libc::clockid_t) -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec.
    let rc = unsafe { libc::clock_gettime(clock, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    ts.tv_sec as f64 * 1e6 + ts.tv_nsec as f64 / 1e3
}

/// Per-call wall time, caller CPU and process CPU of `calls` runs of
/// `call`, µs.
fn per_call(calls: usize, mut call: impl FnMut()) -> (f64, f64, f64) {
    let (thread0, process0) = (
        cpu_us(libc::CLOCK_THREAD_CPUTIME_ID),
        cpu_us(libc::CLOCK_PROCESS_CPUTIME_ID),
    );
    let start = Instant::now();
    for _ in 0..calls {
        call();
    }
    let wall = start.elapsed().as_secs_f64() * 1e6;
    let thread = cpu_us(libc::CLOCK_THREAD_CPUTIME_ID) - thread0;
    let process = cpu_us(libc::CLOCK_PROCESS_CPUTIME_ID) - process0;
    let n = calls as f64;
    (wall / n, thread / n, process / n)
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(2, |a| a.parse().expect("rounds: a whole number"));
    let pool = Pool::builder()
        .workers(WORKERS)
        .build()
        .expect("corepool pool");
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .expect("rayon pool");
    let parks = |p: &Pool| p.stats().times_parked();
    println!("{WORKERS} workers, µs a call (caller CPU, process CPU)");
    println!(
        "| round | busy µs | corepool | caller CPU | process CPU | parks a call | rayon | caller CPU \
         | process CPU |"
    );
    println!("|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    for round in 0..rounds {
        for us in [1u64, 2, 4, 8, 16, 32, 64, 128, 256] {
            let d = Duration::from_micros(us);
            let calls = (400_000 / (us as usize + 20)).max(400);
            let before = parks(&pool);
            let (c, ct, cp) = per_call(calls, || pool.install(|| busy(d)));
            let parked = (parks(&pool) - before) as f64 / calls as f64;
            let (r, rt, rp) = per_call(calls, || rayon.install(|| busy(d)));
            println!(
                "| {round} | {us} | {c:.1} | {ct:.1} | {cp:.1} | {parked:.2} | {r:.1} | {rt:.1} | {rp:.1} |"
            );
        }
    }
}

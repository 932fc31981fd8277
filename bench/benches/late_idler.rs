//! The late idler: one worker busy for 200 ms when the other forks
//! `join(a, b)` of two 300 ms halves. A worker that frees up after the fork
//! must still get `b`: the join should end in about 500 ms, not 600.
//! corepool beside rayon, same machine, same run; spinning halves (no
//! sleeping), medians of `ROUNDS`.
//!
//! ```sh
//! cargo bench -p corepool-bench --bench late_idler
//! ```

use std::time::{Duration, Instant};

const ROUNDS: usize = 5;
const BUSY: Duration = Duration::from_millis(200);
const HALF: Duration = Duration::from_millis(300);

fn spin(d: Duration) -> u64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < d {
        n = n.wrapping_add(1);
        std::hint::spin_loop();
    }
    n
}

fn corepool_round(pool: &corepool::Pool) -> Duration {
    let (started_tx, started) = std::sync::mpsc::channel();
    let busy = pool.submit(move || {
        started_tx.send(()).unwrap();
        spin(BUSY)
    });
    started.recv().unwrap();
    let start = Instant::now();
    pool.install(|| corepool::join(|| spin(HALF), || spin(HALF)));
    let took = start.elapsed();
    busy.join().unwrap();
    took
}

fn rayon_round(pool: &rayon::ThreadPool) -> Duration {
    let (started_tx, started) = std::sync::mpsc::channel();
    pool.spawn(move || {
        started_tx.send(()).unwrap();
        spin(BUSY);
    });
    started.recv().unwrap();
    let start = Instant::now();
    pool.install(|| rayon::join(|| spin(HALF), || spin(HALF)));
    start.elapsed()
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let quick = std::env::args().any(|a| a == "--test" || a == "--quick");
    let rounds = if quick { 1 } else { ROUNDS };
    let core = corepool::Pool::builder()
        .workers(2)
        .build()
        .expect("corepool");
    let ray = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("rayon");
    let mut c = Vec::new();
    let mut r = Vec::new();
    for _ in 0..rounds {
        c.push(corepool_round(&core));
        r.push(rayon_round(&ray));
    }
    println!(
        "late idler: join of two {HALF:?} halves, the other worker busy for the first {BUSY:?}"
    );
    println!("| pool | join took, median of {rounds} (ms) |");
    println!("|---|---:|");
    println!("| corepool | {:.0} |", median(c).as_secs_f64() * 1e3);
    println!("| rayon | {:.0} |", median(r).as_secs_f64() * 1e3);
}

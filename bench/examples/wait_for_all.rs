//! Submit 10,000 tasks of unequal length from a thread outside the pool and
//! wait for them all (`--bench pool`'s `unbalanced` workload: 99 % of
//! ~5 µs, 1 % of ~2 ms, placed by a seeded shuffle), three ways, in one run
//! on 2 workers each: corepool joining each handle in turn, corepool's
//! `wait(&tasks, WaitFor::AllCompleted, None)` and then the joins, the same
//! with `WaitFor::FirstPanic` (no task panics, so it waits for all), and
//! rayon's `spawn` with one wait on a counter. Per-call time in ms, and how
//! often the waiting thread was switched out (voluntary: it blocked;
//! involuntary: preempted; Linux only, else 0).
//!
//! ```sh
//! cargo run --release -p corepool-bench --example wait_for_all        # 10 rounds
//! cargo run --release -p corepool-bench --example wait_for_all -- 21  # rounds
//! ```

use corepool::{Pool, WaitFor, wait};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Instant;

#[path = "../benches/workloads/unbalanced.rs"]
mod unbalanced;
use unbalanced::{UNBALANCED_TASKS, spin, unbalanced_tasks};

const WORKERS: usize = 2;

/// rayon's side: tasks left, and the xor of their answers.
static LEFT: AtomicUsize = AtomicUsize::new(0);
static TOTAL: AtomicU64 = AtomicU64::new(0);

/// This thread's (voluntary, involuntary) context switches so far.
fn switches() -> (u64, u64) {
    let Ok(status) = std::fs::read_to_string("/proc/thread-self/status") else {
        return (0, 0);
    };
    let field = |key: &str| {
        status
            .lines()
            .find_map(|line| line.strip_prefix(key))
            .and_then(|rest| rest.trim().parse().ok())
            .unwrap_or(0)
    };
    (
        field("voluntary_ctxt_switches:"),
        field("nonvoluntary_ctxt_switches:"),
    )
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values[values.len() / 2]
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .map_or(10, |a| a.parse().expect("rounds: a whole number"));
    assert!(rounds > 0, "rounds: at least 1");
    let pool = Pool::builder()
        .workers(WORKERS)
        .build()
        .expect("build corepool");
    let rayon = rayon::ThreadPoolBuilder::new()
        .num_threads(WORKERS)
        .build()
        .expect("build rayon");
    let tasks = unbalanced_tasks();
    let expected: u64 = tasks
        .iter()
        .enumerate()
        .fold(0, |sum, (i, &iters)| sum ^ spin(iters, i as u64));

    let names = [
        "corepool, join each",
        "corepool, wait all",
        "corepool, wait panic",
        "rayon, spawn + latch",
    ];
    let mut times: [Vec<f64>; 4] = Default::default();
    println!(
        "{UNBALANCED_TASKS} tasks (1 % of ~2 ms, the rest ~5 µs), {WORKERS} workers, {rounds} rounds"
    );
    for round in 0..rounds {
        // The order turns every round, so no side always runs first.
        for k in 0..names.len() {
            let way = (round + k) % names.len();
            let before = switches();
            let start = Instant::now();
            let answer = match way {
                0..=2 => {
                    let handles: Vec<_> = tasks
                        .iter()
                        .enumerate()
                        .map(|(i, &iters)| pool.submit(move || spin(iters, i as u64)))
                        .collect();
                    let mode = [None, Some(WaitFor::AllCompleted), Some(WaitFor::FirstPanic)][way];
                    if let Some(mode) = mode {
                        let waited = wait(&handles, mode, None);
                        assert!(waited.pending.is_empty(), "wait returned early");
                    }
                    handles
                        .into_iter()
                        .fold(0, |sum, h| sum ^ h.join().expect("a task panicked"))
                }
                _ => {
                    LEFT.store(tasks.len(), Ordering::Relaxed);
                    TOTAL.store(0, Ordering::Relaxed);
                    let (done_tx, done) = mpsc::channel::<()>();
                    for (i, &iters) in tasks.iter().enumerate() {
                        let done_tx = done_tx.clone();
                        rayon.spawn(move || {
                            TOTAL.fetch_xor(spin(iters, i as u64), Ordering::Relaxed);
                            // AcqRel: the last one sees every xor before it.
                            if LEFT.fetch_sub(1, Ordering::AcqRel) == 1 {
                                let _ = done_tx.send(());
                            }
                        });
                    }
                    done.recv().expect("the last task reports");
                    TOTAL.load(Ordering::Acquire)
                }
            };
            let elapsed = start.elapsed().as_secs_f64() * 1e3;
            let after = switches();
            assert_eq!(black_box(answer), expected, "{}: wrong answer", names[way]);
            println!(
                "round {round:2}  {:<22} {elapsed:8.2} ms  switches: voluntary {:5}, involuntary {:4}",
                names[way],
                after.0 - before.0,
                after.1 - before.1
            );
            times[way].push(elapsed);
        }
    }
    println!();
    for (name, times) in names.iter().zip(times) {
        println!("{name:<22} median {:8.2} ms", median(times));
    }
}

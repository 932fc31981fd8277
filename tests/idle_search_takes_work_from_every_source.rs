//! An idle worker's search glances at the queues between spins and takes
//! the full pass only when the glance sees work (`worker.rs`,
//! `SEARCH_LOOKS`); a glance that misses work must be caught by the sleep's
//! fenced last look. A second reader's test (helper-44): work appears in
//! each place an idle worker takes it from (the injector, another worker's
//! deque, another worker's exposure slot) at jittered moments while the
//! other workers finish a task and search. Each item can be run only by an
//! idle worker (its producer blocks its thread on a channel), so a lost
//! wake-up hangs and the watchdog aborts. With the exposure slots left out
//! of both the glance and the sleeper's last look, both exposure cases hung
//! within 60 s; with the glance forced to see nothing, all passed (the
//! sleep catches every miss). `GLANCE_ROUNDS` sets the rounds (default
//! 5,000). Each round trip is bounded (`LOST`), not the run: a loaded
//! machine only slows the rounds, a lost wake-up stalls one for good.
mod common;

use common::watchdog;
use corepool::{Pool, Task};
use std::sync::mpsc::sync_channel;
use std::time::Duration;

/// How long one round trip may take before it counts as a lost wake-up.
const LOST: Duration = Duration::from_secs(30);

/// `task`'s value, failing (with the round) if it is not done within `LOST`.
fn bounded<T: Send + 'static>(task: Task<T>, what: &str, round: usize) -> T {
    assert!(
        task.wait_timeout(LOST),
        "{what} of round {round} unfinished after {LOST:?}: a lost wake-up?"
    );
    task.join().unwrap()
}

fn rounds() -> usize {
    std::env::var("GLANCE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5_000)
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[inline(never)]
fn spin(n: u64) {
    for _ in 0..n {
        std::hint::spin_loop();
    }
}

fn run(workers: usize, kind: u8, seed: u64) {
    watchdog(600, move || {
        let pool = Pool::builder().workers(workers).build().unwrap();
        let mut rng = Rng(seed);
        for round in 0..rounds() {
            // Jitter up to ~600 hints (beyond the 224-hint search) either side.
            let j1 = rng.next() % 600;
            let j2 = rng.next() % 600;
            let short = pool.submit(move || spin(j1));
            let long = pool.submit(move || spin(j2));
            bounded(short, "the short task", round);
            bounded(long, "the long task", round);
            let j3 = rng.next() % 600;
            let blocked = pool.submit(move || {
                spin(j3);
                let (tx, rx) = sync_channel::<u32>(1);
                match kind {
                    0 => corepool::join(move || rx.recv().unwrap(), move || tx.send(5).unwrap()).0,
                    1 => {
                        // Own deque: only another worker can steal it.
                        corepool::spawn(move || tx.send(6).unwrap());
                        rx.recv().unwrap()
                    }
                    _ => unreachable!(),
                }
            });
            let other = pool.submit(move || spin(j1 / 2));
            bounded(other, "the other task", round);
            assert!(bounded(blocked, "the blocked task", round) >= 5);
        }
    });
}

#[test]
fn exposure_two_workers() {
    run(2, 0, 0x9E3779B97F4A7C15);
}
#[test]
fn deque_two_workers() {
    run(2, 1, 0xD1B54A32D192ED03);
}
#[test]
fn exposure_three_workers() {
    run(3, 0, 0x2545F4914F6CDD1D);
}
#[test]
fn deque_three_workers() {
    run(3, 1, 0x5851F42D4C957F2D);
}

/// Injector: a trickle of external submissions, each awaited, so each lands
/// while the workers are somewhere between finishing and parking.
#[test]
fn injector_trickle() {
    watchdog(600, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let mut rng = Rng(0x1234_5678_9ABC_DEF1);
        for i in 0..rounds() * 5 {
            let j = rng.next() % 800;
            spin(j);
            assert_eq!(bounded(pool.submit(move || i), "the submission", i), i);
        }
    });
}

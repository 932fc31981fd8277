//! Rescue (job.rs, "Rescue") at depth: several joins nested while the other
//! worker is busy, none of them published (the outermost one exposed, the
//! others behind it), and then every level's `a` waits for its own `b`.
//! Only the outer frame is claimed through the exposure slot; each deeper
//! one must be rescued by an idle worker while its owner stays blocked.
//! And a mixed load where such waiting levels meet ordinary joins, to show
//! that every half runs exactly once, whoever takes it.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::Duration;

use common::{nested_waiting_joins, occupy_one_worker, watchdog};
use corepool::Pool;

#[test]
fn five_nested_levels_whose_a_waits_on_its_b_all_end() {
    watchdog(150, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for round in 0..20 {
            let (busy, release_tx) = occupy_one_worker(&pool);
            let got = pool.install(|| nested_waiting_joins(5, release_tx));
            busy.join().unwrap();
            assert_eq!(
                got,
                vec![1, 2, 3, 4, 5],
                "round {round}: a level's b never ran"
            );
        }
    });
}

/// A join tree in which up to `waiting` joins have an `a` that waits for
/// its own `b` (that `b` must be taken by another worker or the call never
/// ends) and the rest are plain forks: every closure runs exactly once. At
/// most workers − 1 such joins, so that one worker is never blocked in one
/// (with every worker blocked, nobody could run the `b`s).
fn tree(depth: u32, seed: u32, runs: &AtomicUsize, waiting: &AtomicUsize) -> u64 {
    runs.fetch_add(1, Ordering::Relaxed);
    if depth == 0 {
        return 1;
    }
    let waits = seed % 3 == 0
        && waiting
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1))
            .is_ok();
    if waits {
        let (tx, rx) = sync_channel::<u64>(1);
        let (left, ()) = corepool::join(
            move || {
                let left = tree(
                    depth - 1,
                    seed.wrapping_mul(7).wrapping_add(1),
                    runs,
                    waiting,
                );
                left + rx
                    .recv_timeout(Duration::from_secs(30))
                    .expect("b never ran")
            },
            move || {
                let right = tree(
                    depth - 1,
                    seed.wrapping_mul(5).wrapping_add(3),
                    runs,
                    waiting,
                );
                tx.send(right).unwrap();
            },
        );
        left
    } else {
        let (a, b) = corepool::join(
            || {
                tree(
                    depth - 1,
                    seed.wrapping_mul(7).wrapping_add(1),
                    runs,
                    waiting,
                )
            },
            || {
                tree(
                    depth - 1,
                    seed.wrapping_mul(5).wrapping_add(3),
                    runs,
                    waiting,
                )
            },
        );
        a + b
    }
}

#[test]
fn mixed_waiting_and_plain_joins_run_every_half_once() {
    watchdog(150, || {
        let pool = Pool::builder().workers(4).build().unwrap();
        for seed in 0..60u32 {
            let runs = AtomicUsize::new(0);
            let waiting = AtomicUsize::new(3);
            let leaves = pool.install(|| tree(9, seed, &runs, &waiting));
            assert_eq!(leaves, 512, "seed {seed}: a leaf was lost or counted twice");
            assert_eq!(
                runs.load(Ordering::Relaxed),
                1023,
                "seed {seed}: a half ran twice or never"
            );
        }
    });
}

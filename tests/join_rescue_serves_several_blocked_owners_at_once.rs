//! One idle worker rescuing from several owners at once (job.rs, "Rescue":
//! a look locks the slot of every worker with frames nobody has taken, makes
//! one barrier for all of them, and takes the oldest untaken frame of each
//! list it locked). Three workers each fork nested joins while the fourth is
//! busy, then block: each level's `a` waits for its own `b`. When the fourth
//! worker is freed it is the only one left, so it must take every level of
//! all three owners: the outermost ones exposed, the rest rescued. The same
//! on pools of up to 130 workers, past the 64 a look locks at once.
mod common;

use std::sync::mpsc::channel;

use common::{nested_waiting_joins, occupy_one_worker, watchdog};
use corepool::Pool;

/// A pool of `workers`: one busy, the others owners of `DEPTH` nested
/// waiting joins each; then the busy one is freed and must take every
/// level of every owner, `rounds` times.
fn every_owner_ends(workers: usize, rounds: usize) {
    const DEPTH: u32 = 3;
    let owners_n = workers - 1;
    let pool = Pool::builder().workers(workers).build().unwrap();
    for round in 0..rounds {
        let (busy, release) = occupy_one_worker(&pool);
        let (arrived_tx, arrived) = channel();
        let owners: Vec<_> = (0..owners_n)
            .map(|_| {
                let arrived_tx = arrived_tx.clone();
                pool.submit(move || nested_waiting_joins(DEPTH, arrived_tx))
            })
            .collect();
        // Every owner has forked all its levels and blocks from here on.
        for _ in 0..owners_n {
            arrived.recv().unwrap();
        }
        release.send(()).unwrap();
        for (i, owner) in owners.into_iter().enumerate() {
            assert_eq!(
                owner.join().unwrap(),
                vec![1, 2, 3],
                "{workers} workers, round {round}: a level's b of owner {i} never ran"
            );
        }
        busy.join().unwrap();
    }
}

#[test]
fn one_freed_worker_ends_the_waiting_joins_of_three_blocked_owners() {
    watchdog(240, || every_owner_ends(4, 20));
}

/// A look locks at most 64 slots before its barrier: pools whose freed
/// worker must reach owners in a second and a third batch, and across the
/// wrap of its rotation (helper-63's test).
#[test]
fn one_freed_worker_reaches_owners_past_a_batch_of_64() {
    watchdog(400, || {
        for workers in [2, 3, 64, 65, 66, 129, 130] {
            every_owner_ends(workers, 3);
        }
    });
}

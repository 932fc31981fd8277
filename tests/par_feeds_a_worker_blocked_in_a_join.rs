//! A worker that finished its half of a `par` call and waits, blocked, for
//! the other half (a join's stolen side) is fed from that half: the walk
//! over it sees the blocked worker at its next look and splits its rest
//! (sleep.rs, step 8). Before, the blocked worker was neither searching nor
//! asleep, so the walk kept its whole half: on 200 items whose cost grows
//! with the index, one worker ran the dearer half alone (1.61× the loop's
//! speed on 2 workers, where rayon ran 1.98×).
mod common;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{busy_for, unpinned_pool, watchdog};
use corepool::Pool;

const ITEMS: usize = 200;

#[test]
fn the_worker_that_finishes_first_runs_part_of_the_dearer_half() {
    watchdog(120, || {
        let pool = unpinned_pool(2);
        for round in 0..5 {
            let ran_on: Vec<AtomicUsize> =
                (0..ITEMS).map(|_| AtomicUsize::new(usize::MAX)).collect();
            let total = pool.install(|| {
                pool.par(0..ITEMS)
                    .map(|i| {
                        let worker = Pool::current_worker_index().expect("items run on workers");
                        ran_on[i].store(worker, Ordering::Relaxed);
                        // Item i costs ~2i µs: the upper half holds three
                        // quarters of the work.
                        busy_for(Duration::from_micros(2 * i as u64));
                        1usize
                    })
                    .sum::<usize>()
            });
            assert_eq!(total, ITEMS, "round {round}: every item once");
            let tail: HashSet<usize> = ran_on[ITEMS * 3 / 4..]
                .iter()
                .map(|w| w.load(Ordering::Relaxed))
                .collect();
            assert_eq!(
                tail.len(),
                2,
                "round {round}: the last quarter ran on worker(s) {tail:?} only"
            );
        }
    });
}

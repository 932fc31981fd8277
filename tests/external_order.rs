//! Tasks submitted from outside the pool start roughly in submission order:
//! workers take them from the shared queue a few at a time (4), so no task
//! starts ahead of its turn by more than the other workers can hold (before:
//! two workers each took half the queue, and 24 tasks started as 0, 12, 1,
//! 13, 2, …).
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Gate, watchdog};
use corepool::Pool;

/// How many tasks a worker takes from the shared queue at once.
const BATCH: usize = 4;

#[test]
fn no_task_starts_ahead_of_its_turn() {
    watchdog(60, || {
        for workers in [1, 2, 3] {
            let pool = Pool::builder().workers(workers).build().unwrap();
            for _ in 0..20 {
                let gate = Gate::new();
                let (busy_tx, busy) = std::sync::mpsc::channel();
                let blockers: Vec<_> = (0..workers)
                    .map(|_| {
                        let (gate, busy_tx) = (gate.clone(), busy_tx.clone());
                        pool.submit(move || {
                            busy_tx.send(()).unwrap();
                            gate.wait();
                        })
                    })
                    .collect();
                for _ in 0..workers {
                    busy.recv().unwrap();
                }
                let next = Arc::new(AtomicUsize::new(0));
                let tasks: Vec<_> = (0..24usize)
                    .map(|i| {
                        let next = next.clone();
                        pool.submit(move || (i, next.fetch_add(1, Ordering::SeqCst)))
                    })
                    .collect();
                gate.open();
                for b in blockers {
                    b.join().unwrap();
                }
                for task in tasks {
                    let (i, position) = task.join().unwrap();
                    // When task i starts, every earlier task was taken; at
                    // most one batch per other worker can still be unstarted.
                    assert!(
                        position + BATCH * workers > i,
                        "task {i} started at position {position} with {workers} workers"
                    );
                }
            }
        }
    });
}

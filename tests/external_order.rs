//! Tasks submitted from outside the pool start in submission order: workers
//! take them from the shared queue one at a time, so no task starts ahead of
//! an earlier one except by the instant between another worker taking that
//! one and starting it (before: two workers each took batches of 4, and tasks
//! started as 0, 4, 1, 5, 2, …; in round one each took half the queue).
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Gate, watchdog};
use corepool::Pool;

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
                    // most one per other worker can be taken and not yet
                    // started (between its worker's take and its first line).
                    assert!(
                        position + workers > i,
                        "task {i} started at position {position} with {workers} workers"
                    );
                }
            }
        }
    });
}

//! Tasks submitted from outside the pool start in submission order: workers
//! take them from the shared queue one at a time, so no task starts ahead of
//! an earlier one except by the instant between another worker taking that
//! one and starting it (before: two workers each took batches of 4, and tasks
//! started as 0, 4, 1, 5, 2, …; in round one each took half the queue).
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Gate, hold_workers, watchdog};
use corepool::Pool;

#[test]
fn no_task_starts_ahead_of_its_turn() {
    watchdog(60, || {
        for workers in [1, 2, 3] {
            let pool = Pool::builder().workers(workers).build().unwrap();
            for _ in 0..20 {
                let gate = Gate::new();
                let blockers = hold_workers(&pool, workers, &gate);
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

/// The order holds across threads: tasks that thread B submits after
/// thread A has told it that A's are queued start after A's, both threads
/// still alive (`ThreadPoolExecutor` has one queue; so does the pool's
/// outside path). Per-thread queues, tried once, started B's first
/// (BENCHMARKS.md, "Per-thread queues for submits from outside").
#[test]
fn tasks_a_second_thread_submits_after_the_first_start_after_its_tasks() {
    watchdog(60, || {
        for workers in [1, 2] {
            let pool = Pool::builder().workers(workers).build().unwrap();
            for _ in 0..10 {
                let gate = Gate::new();
                let blockers = hold_workers(&pool, workers, &gate);
                let next = Arc::new(AtomicUsize::new(0));
                let (a_queued, b_go) = std::sync::mpsc::channel::<()>();
                // Both threads stay alive until both have submitted.
                let both_in = Arc::new(std::sync::Barrier::new(3));
                let submitter =
                    |ids: std::ops::Range<usize>,
                     wait: Option<std::sync::mpsc::Receiver<()>>,
                     tell: Option<std::sync::mpsc::Sender<()>>| {
                        let (pool, next, both_in) = (pool.clone(), next.clone(), both_in.clone());
                        std::thread::spawn(move || {
                            if let Some(wait) = wait {
                                wait.recv().unwrap();
                            }
                            let tasks: Vec<_> = ids
                                .map(|i| {
                                    let next = next.clone();
                                    pool.submit(move || (i, next.fetch_add(1, Ordering::SeqCst)))
                                })
                                .collect();
                            if let Some(tell) = tell {
                                tell.send(()).unwrap();
                            }
                            both_in.wait();
                            tasks
                        })
                    };
                let a = submitter(0..12, None, Some(a_queued));
                let b = submitter(12..24, Some(b_go), None);
                both_in.wait();
                let mut tasks = a.join().unwrap();
                tasks.extend(b.join().unwrap());
                gate.open();
                for blocker in blockers {
                    blocker.join().unwrap();
                }
                for task in tasks {
                    let (i, position) = task.join().unwrap();
                    assert!(
                        position + workers > i,
                        "task {i} started at position {position} with {workers} workers"
                    );
                }
            }
        }
    });
}

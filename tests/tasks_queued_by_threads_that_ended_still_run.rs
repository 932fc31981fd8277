//! Tasks queued from threads outside the pool that have ended since must
//! run, in the order they were queued (one thread after another), however
//! many such threads there were at once; a shutdown runs what they left;
//! and a thread that fed many pools, each dropped in turn, keeps working.
//! (Written for per-thread queues, tried and not kept: BENCHMARKS.md,
//! "Per-thread queues for submits from outside"; they hold for any queue.)
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{Gate, OpenOnDrop, hold_workers, watchdog};
use corepool::Pool;

#[test]
fn threads_that_end_one_after_another_leave_their_tasks_in_order() {
    watchdog(60, || {
        // One worker: it takes the queued tasks in order, so the order they
        // ran in is the order they were queued in.
        let pool = Arc::new(Pool::builder().workers(1).build().unwrap());
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let held = hold_workers(&pool, 1, &gate);
        let ran = Arc::new(Mutex::new(Vec::new()));
        let (ran_tx, ran_rx) = std::sync::mpsc::channel();
        // Each thread ends before the next starts, its tasks still queued.
        for thread in 0..12 {
            let (pool, ran, ran_tx) = (Arc::clone(&pool), Arc::clone(&ran), ran_tx.clone());
            std::thread::spawn(move || {
                for i in 0..50 {
                    let (ran, ran_tx) = (Arc::clone(&ran), ran_tx.clone());
                    pool.spawn(move || {
                        ran.lock().unwrap().push((thread, i));
                        ran_tx.send(()).unwrap();
                    });
                }
            })
            .join()
            .unwrap();
        }
        assert!(ran.lock().unwrap().is_empty(), "the worker is held");
        gate.open();
        for task in held {
            task.join().unwrap();
        }
        for _ in 0..12 * 50 {
            ran_rx.recv().unwrap();
        }
        let ran = ran.lock().unwrap();
        let queued: Vec<_> = (0..12).flat_map(|t| (0..50).map(move |i| (t, i))).collect();
        assert_eq!(*ran, queued);
    });
}

#[test]
fn many_threads_at_once_lose_nothing() {
    watchdog(60, || {
        for workers in [1, 2] {
            let pool = Arc::new(Pool::builder().workers(workers).build().unwrap());
            let gate = Gate::new();
            let _open = OpenOnDrop(gate.clone());
            let held = hold_workers(&pool, workers, &gate);
            let ran = Arc::new(AtomicUsize::new(0));
            let order = Arc::new(Mutex::new(Vec::new()));
            // 20 threads submit at once and end with their tasks still
            // queued.
            let all_in = Arc::new(std::sync::Barrier::new(20));
            let threads: Vec<_> = (0..20)
                .map(|thread| {
                    let (pool, ran, order, all_in) =
                        (pool.clone(), ran.clone(), order.clone(), all_in.clone());
                    std::thread::spawn(move || {
                        let tasks: Vec<_> = (0..100)
                            .map(|i| {
                                let (ran, order) = (ran.clone(), order.clone());
                                pool.submit(move || {
                                    ran.fetch_add(1, Ordering::SeqCst);
                                    order.lock().unwrap().push((thread, i));
                                    thread * 1000 + i
                                })
                            })
                            .collect();
                        all_in.wait();
                        tasks
                    })
                })
                .collect();
            let tasks: Vec<_> = threads
                .into_iter()
                .flat_map(|t| t.join().unwrap())
                .collect();
            assert_eq!(ran.load(Ordering::SeqCst), 0, "the workers are held");
            gate.open();
            for task in held {
                task.join().unwrap();
            }
            let mut values: Vec<_> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
            values.sort_unstable();
            let expected: Vec<_> = (0..20)
                .flat_map(|t| (0..100).map(move |i| t * 1000 + i))
                .collect();
            assert_eq!(values, expected);
            assert_eq!(ran.load(Ordering::SeqCst), 2000, "each task ran once");
            if workers == 1 {
                // Each thread's tasks ran in the order it queued them.
                let order = order.lock().unwrap();
                for thread in 0..20 {
                    let mine: Vec<_> = order
                        .iter()
                        .filter(|(t, _)| *t == thread)
                        .map(|&(_, i)| i)
                        .collect();
                    assert_eq!(mine, (0..100).collect::<Vec<_>>(), "thread {thread}");
                }
            }
        }
    });
}

#[test]
fn a_shutdown_runs_what_ended_threads_left_queued() {
    watchdog(60, || {
        let pool = Arc::new(Pool::builder().workers(2).build().unwrap());
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let held = hold_workers(&pool, 2, &gate);
        let ran = Arc::new(AtomicUsize::new(0));
        for _ in 0..10 {
            let (pool, ran) = (Arc::clone(&pool), Arc::clone(&ran));
            std::thread::spawn(move || {
                for _ in 0..30 {
                    let ran = Arc::clone(&ran);
                    pool.spawn(move || {
                        ran.fetch_add(1, Ordering::SeqCst);
                    });
                }
            })
            .join()
            .unwrap();
        }
        assert_eq!(ran.load(Ordering::SeqCst), 0, "the workers are held");
        gate.open();
        // `shutdown` returns once the workers have drained every queue and
        // exited.
        pool.shutdown();
        assert_eq!(ran.load(Ordering::SeqCst), 300);
        for task in held {
            task.join().unwrap();
        }
    });
}

#[test]
fn a_thread_that_feeds_many_pools_in_turn_keeps_working() {
    watchdog(60, || {
        for round in 0..40u64 {
            let pool = Pool::builder().workers(1).build().unwrap();
            let tasks: Vec<_> = (0..20u64)
                .map(|i| pool.submit(move || round * 100 + i))
                .collect();
            let sum: u64 = tasks.into_iter().map(|t| t.join().unwrap()).sum();
            assert_eq!(sum, round * 2000 + 190);
            // Submits after shutdown are refused.
            pool.shutdown();
            let refused = pool.submit(|| 1);
            assert!(refused.join().is_err());
        }
    });
}

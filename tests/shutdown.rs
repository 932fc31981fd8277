//! Shutting down: graceful, immediate, by the last clone, from inside a task.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{DropCounter, Gate, watchdog};
use corepool::Pool;

#[test]
fn shutdown_runs_every_queued_task_first() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..1000)
            .map(|_| {
                let ran = ran.clone();
                pool.submit(move || ran.fetch_add(1, Ordering::SeqCst))
            })
            .collect();
        pool.shutdown();
        assert_eq!(
            ran.load(Ordering::SeqCst),
            1000,
            "all ran before shutdown returned"
        );
        assert!(tasks.into_iter().all(|t| t.join().is_ok()));
        assert!(pool.is_shutdown());
    });
}

#[test]
fn submit_after_shutdown_is_refused_and_never_runs() {
    watchdog(60, || {
        let pool = Pool::new().unwrap();
        pool.shutdown();
        let drops = DropCounter::new();
        let token = drops.token();
        let task = pool.submit(move || -> u32 {
            let _t = token;
            unreachable!("refused tasks never run")
        });
        drops.assert_all_dropped_once();
        assert!(task.is_finished());
        let err = task.join().unwrap_err();
        assert!(err.is_shutdown());
        assert_eq!(err.to_string(), "task was refused: the pool has shut down");
    });
}

#[test]
fn shutdown_twice_and_on_clones_is_harmless() {
    watchdog(60, || {
        let pool = Pool::new().unwrap();
        let clone = pool.clone();
        pool.shutdown();
        clone.shutdown();
        pool.shutdown();
        assert_eq!(clone.shutdown_now(), 0);
        drop(clone);
        drop(pool);
    });
}

#[test]
fn shutdown_now_cancels_queued_tasks_and_waits_for_running_ones() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let gate = Gate::new();
        let g = gate.clone();
        let running = pool.submit(move || {
            started_tx.send(()).unwrap();
            g.wait();
            "ran"
        });
        started_rx.recv().unwrap();
        let ran = Arc::new(AtomicUsize::new(0));
        let queued: Vec<_> = (0..50)
            .map(|_| {
                let ran = ran.clone();
                pool.submit(move || ran.fetch_add(1, Ordering::SeqCst))
            })
            .collect();
        // Release the running task only once every queued one has ended
        // (cancelled by shutdown_now), so none can start in between.
        let opener = std::thread::spawn(move || {
            corepool::wait(&queued, corepool::WaitFor::AllCompleted, None);
            gate.open();
            queued
        });
        let cancelled = pool.shutdown_now();
        let queued = opener.join().unwrap();
        assert_eq!(cancelled, 50);
        assert_eq!(running.join().unwrap(), "ran");
        for task in queued {
            assert!(task.join().unwrap_err().is_cancelled());
        }
        assert_eq!(ran.load(Ordering::SeqCst), 0);
    });
}

#[test]
fn dropping_the_last_clone_shuts_down_and_runs_queued_work() {
    watchdog(60, || {
        let ran = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = {
            let pool = Pool::builder().workers(2).build().unwrap();
            (0..100)
                .map(|_| {
                    let ran = ran.clone();
                    pool.submit(move || ran.fetch_add(1, Ordering::SeqCst))
                })
                .collect()
        };
        assert_eq!(ran.load(Ordering::SeqCst), 100, "drop waited for the queue");
        assert!(tasks.into_iter().all(|t| t.join().is_ok()));
    });
}

#[test]
fn last_clone_dropped_inside_a_task_does_not_deadlock() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let inner = pool.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let task = pool.submit(move || {
            // Give the outer handle time to go away first: wait for a message.
            rx.recv().unwrap();
            drop(inner); // the last clone, dropped on a worker thread
            "survived"
        });
        drop(pool);
        tx.send(()).unwrap();
        assert_eq!(task.join().unwrap(), "survived");
    });
}

#[test]
fn shutdown_called_inside_a_task_returns_and_refuses_later_submits() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let p = pool.clone();
        let task = pool.submit(move || {
            p.shutdown();
            p.submit(|| ()).join().unwrap_err().is_shutdown()
        });
        assert!(task.join().unwrap());
        pool.shutdown();
    });
}

#[test]
fn submits_racing_with_shutdown_each_resolve() {
    watchdog(120, || {
        for _ in 0..50 {
            let pool = Pool::builder().workers(2).build().unwrap();
            let barrier = Arc::new(std::sync::Barrier::new(3));
            let submitters: Vec<_> = (0..2)
                .map(|_| {
                    let (pool, barrier) = (pool.clone(), barrier.clone());
                    std::thread::spawn(move || {
                        barrier.wait();
                        (0..200).map(|i| pool.submit(move || i)).collect::<Vec<_>>()
                    })
                })
                .collect();
            barrier.wait();
            pool.shutdown();
            for submitter in submitters {
                for task in submitter.join().unwrap() {
                    // Each ends, either run or refused: none is lost.
                    match task.join() {
                        Ok(_) => {}
                        Err(e) => assert!(e.is_shutdown(), "{e}"),
                    }
                }
            }
        }
    });
}

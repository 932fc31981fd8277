//! Regression (second-reader review): a group job (a scope `spawn`ed HeapJob) that runs
//! nested inside a task's wait inherits that task's cancellation context
//! (`enter_group` keeps `previous.task`). When the group is cancelled, its
//! `is_cancelled()` sets CANCEL_SEEN on the *enclosing* task, which was never
//! cancelled: that task's result is discarded and it reports Cancelled.
mod common;
use common::watchdog;
use corepool::{Pinning, Pool, is_cancelled};
use std::sync::mpsc::channel;

#[test]
fn a_cancelled_group_does_not_cancel_the_task_that_owns_it() {
    watchdog(60, || {
        let pool = Pool::builder()
            .workers(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let mut wrongly_cancelled = 0;
        for _ in 0..50 {
            let p = pool.clone();
            let outer = pool.submit(move || {
                let (started_tx, started_rx) = channel::<()>();
                let _ = p.group(|g| {
                    // Pushed first: the other worker steals it (oldest).
                    g.spawn(move || {
                        let _ = started_rx.recv();
                        Err("fail")
                    });
                    // Pushed last: popped by this worker while the scope waits.
                    g.spawn(move || {
                        let _ = started_tx.send(());
                        while !is_cancelled() {
                            std::hint::spin_loop();
                        }
                        Ok(())
                    });
                });
                42
            });
            match outer.join() {
                Ok(v) => assert_eq!(v, 42),
                Err(e) => {
                    assert!(e.is_stopped(), "{e}");
                    wrongly_cancelled += 1;
                }
            }
        }
        assert_eq!(
            wrongly_cancelled, 0,
            "a task nobody cancelled ended Cancelled"
        );
    });
}

#[test]
fn a_spawned_job_run_inside_a_waiting_task_sees_its_own_cancellation_only() {
    watchdog(30, || {
        // One worker: the task's wait runs the job it spawned (a descendant).
        let pool = Pool::builder()
            .workers(1)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let (seen_tx, seen_rx) = channel();
        let (go_tx, go_rx) = channel::<()>();
        let p = pool.clone();
        let outer = pool.submit(move || {
            go_rx.recv().unwrap(); // cancelled while running
            let (ran_tx, ran_rx) = channel::<()>();
            p.spawn(move || {
                seen_tx.send(is_cancelled()).unwrap();
                ran_tx.send(()).unwrap();
            });
            // Wait for a task it cannot run inline (blocking lane): the
            // worker runs its descendant, the spawned job, meanwhile.
            p.submit_blocking(move || ran_rx.recv().unwrap())
                .join()
                .unwrap();
            5
        });
        while !outer.is_running() {
            std::thread::yield_now();
        }
        assert!(!outer.cancel()); // running: a cooperative request only
        go_tx.send(()).unwrap();
        // The detached job was never cancelled: it must see `false`.
        let seen = seen_rx.recv().unwrap();
        let r = outer.join();
        assert!(
            !seen,
            "a detached Pool::spawn job saw its parent's cancellation (outer ended {r:?})"
        );
    });
}

//! Cooperative cancellation: a running task asked to stop sees
//! `is_cancelled`, and if it returns then, its handle says stopped (never
//! cancelled: its closure ran; `TaskError::is_stopped`). A
//! proptest runs random mixes of tasks that are cancelled before they start,
//! while they run, or never, against a model: each task ran to the end, was
//! cancelled before it started, or stopped after seeing the request — exactly
//! one of the three, and its handle says which.
mod common;

use std::sync::mpsc::channel;

use common::watchdog;
use corepool::Pool;
use proptest::prelude::*;

#[test]
fn a_running_task_that_sees_the_request_is_reported_stopped_not_cancelled() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (started_tx, started) = channel();
        let task = pool.submit(move || {
            started_tx.send(()).unwrap();
            while !corepool::is_cancelled() {
                std::hint::spin_loop();
            }
            "stopped"
        });
        started.recv().unwrap();
        assert!(task.is_running());
        assert!(!task.cancel());
        let err = task.join().unwrap_err();
        assert!(err.is_stopped() && !err.is_cancelled(), "{err:?}");
        assert_eq!(
            err.to_string(),
            "task stopped after a cancellation request; its value was dropped"
        );
    });
}

#[test]
fn a_running_task_that_ignores_the_request_finishes() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (started_tx, started) = channel();
        let (release, release_rx) = channel::<()>();
        let task = pool.submit(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
            5
        });
        started.recv().unwrap();
        assert!(!task.cancel());
        release.send(()).unwrap();
        assert_eq!(task.join().unwrap(), 5);
    });
}

#[test]
fn is_cancelled_is_about_the_innermost_task() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (started_tx, started) = channel();
        let (go, go_rx) = channel::<()>();
        let p = pool.clone();
        let outer = pool.submit(move || {
            started_tx.send(()).unwrap();
            go_rx.recv().unwrap();
            // The outer task was asked to stop; a task it runs inline was not.
            let inner = p.submit(corepool::is_cancelled).join().unwrap();
            (inner, corepool::is_cancelled())
        });
        started.recv().unwrap();
        assert!(!outer.cancel());
        go.send(()).unwrap();
        assert!(outer.join().unwrap_err().is_stopped());
        assert!(!corepool::is_cancelled());
    });
}

#[derive(Debug, Clone, Copy)]
enum Plan {
    /// Never cancelled: finishes.
    Run,
    /// Cancelled before it starts: never runs.
    CancelQueued,
    /// Cancelled while running; it polls and stops.
    CancelRunning,
}

fn plan() -> impl Strategy<Value = Plan> {
    prop_oneof![
        Just(Plan::Run),
        Just(Plan::CancelQueued),
        Just(Plan::CancelRunning)
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]
    #[test]
    fn every_task_ends_exactly_one_way(plans in prop::collection::vec(plan(), 1..12), workers in 1usize..3) {
        let outcomes = watchdog(60, move || {
            let pool = Pool::builder().workers(workers).build().unwrap();
            let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
            // One gate holds every worker busy so queued tasks stay queued.
            let gate = common::Gate::new();
            let _open = common::OpenOnDrop(gate.clone());
            let (busy_tx, busy) = channel();
            let blockers: Vec<_> = (0..workers).map(|_| {
                let (gate, busy_tx) = (gate.clone(), busy_tx.clone());
                pool.submit(move || { busy_tx.send(()).unwrap(); gate.wait(); })
            }).collect();
            for _ in 0..workers { busy.recv().unwrap(); }
            let mut tasks = Vec::new();
            for &plan in plans.iter() {
                let runs = runs.clone();
                let (started_tx, started) = channel();
                let task = pool.submit(move || {
                    runs.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let _ = started_tx.send(());
                    loop {
                        if corepool::is_cancelled() { return None; }
                        if let Plan::Run = plan { return Some(1u8); }
                        std::hint::spin_loop();
                    }
                });
                if let Plan::CancelQueued = plan {
                    assert!(task.cancel(), "queued behind the blockers");
                }
                tasks.push((plan, task, started));
            }
            gate.open();
            for b in blockers { b.join().unwrap(); }
            let mut outcomes = Vec::new();
            for (plan, task, started) in tasks {
                if let Plan::CancelRunning = plan {
                    started.recv().unwrap();
                    assert!(!task.cancel());
                }
                outcomes.push((plan, task.join()));
            }
            (outcomes, runs.load(std::sync::atomic::Ordering::SeqCst))
        });
        let (outcomes, runs) = outcomes;
        let mut expected_runs = 0;
        for (plan, result) in outcomes {
            match plan {
                Plan::Run => { expected_runs += 1; prop_assert_eq!(result.unwrap(), Some(1)); }
                Plan::CancelQueued => prop_assert!(result.unwrap_err().is_cancelled()),
                Plan::CancelRunning => { expected_runs += 1; prop_assert!(result.unwrap_err().is_stopped()); }
            }
        }
        prop_assert_eq!(runs, expected_runs);
    }
}

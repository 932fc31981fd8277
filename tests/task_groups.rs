//! Fail-fast groups: the first `Err` or panic cancels the tasks not started
//! and is what the group returns, after every task ended; tasks may borrow.
//! A proptest checks random groups against a model: every task ran or was
//! skipped, exactly once, and the group's answer matches what failed.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::watchdog;
use corepool::{GroupError, Pool};
use proptest::prelude::*;

#[test]
fn the_first_error_cancels_running_tasks_that_ask() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let (started_tx, started) = std::sync::mpsc::channel();
        let stopped = AtomicUsize::new(0);
        let result = pool.group(|g| {
            let stopped = &stopped;
            g.spawn(move || {
                started_tx.send(()).unwrap();
                while !corepool::is_cancelled() {
                    std::hint::spin_loop();
                }
                stopped.fetch_add(1, Ordering::SeqCst);
                Ok(())
            });
            started.recv().unwrap();
            g.spawn(|| Err("bad"));
        });
        assert_eq!(result.unwrap_err().into_failure(), Some("bad"));
        assert_eq!(stopped.into_inner(), 1);
    });
}

#[test]
fn a_panic_fails_the_group_with_its_message() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let result = pool.group(|g| {
            g.spawn(|| -> Result<(), ()> { panic!("group task panicked") });
        });
        match result.unwrap_err() {
            GroupError::Panicked(err) => {
                assert_eq!(err.panic_message(), Some("group task panicked"))
            }
            other => panic!("{other:?}"),
        }
    });
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Ok,
    Err(u8),
    Panic,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => Just(Step::Ok),
        1 => any::<u8>().prop_map(Step::Err),
        1 => Just(Step::Panic),
    ]
}

/// Counts its own drop: a task's closure is consumed exactly once, whether it
/// ran or was skipped.
struct Ended<'a>(&'a AtomicUsize);

impl Drop for Ended<'_> {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]
    #[test]
    fn every_task_runs_or_is_skipped_exactly_once(steps in prop::collection::vec(step(), 0..40), workers in 1usize..4) {
        let model = steps.clone();
        let (result, ran, ended) = watchdog(60, move || {
            let pool = Pool::builder().workers(workers).build().unwrap();
            let ran: Vec<AtomicUsize> = steps.iter().map(|_| AtomicUsize::new(0)).collect();
            let ended: Vec<AtomicUsize> = steps.iter().map(|_| AtomicUsize::new(0)).collect();
            let result = pool.group(|g| {
                for (i, &s) in steps.iter().enumerate() {
                    let (ran, end) = (&ran[i], Ended(&ended[i]));
                    g.spawn(move || {
                        let _end = end;
                        ran.fetch_add(1, Ordering::SeqCst);
                        match s {
                            Step::Ok => Ok(()),
                            Step::Err(code) => Err(code),
                            Step::Panic => panic!("step panicked"),
                        }
                    });
                }
            });
            let ran: Vec<usize> = ran.into_iter().map(AtomicUsize::into_inner).collect();
            let ended: Vec<usize> = ended.into_iter().map(AtomicUsize::into_inner).collect();
            (result, ran, ended)
        });
        prop_assert!(ended.iter().all(|&e| e == 1), "each closure consumed once: {:?}", ended);
        prop_assert!(ran.iter().all(|&r| r <= 1));
        let failed_and_ran = |i: usize| ran[i] == 1 && !matches!(model[i], Step::Ok);
        match result {
            Ok(()) => {
                prop_assert!((0..model.len()).all(|i| !failed_and_ran(i)));
                prop_assert!(ran.iter().all(|&r| r == 1), "no failure: every task ran");
            }
            Err(GroupError::Failed(code)) => {
                prop_assert!((0..model.len()).any(|i| failed_and_ran(i) && matches!(model[i], Step::Err(c) if c == code)));
            }
            Err(GroupError::Panicked(err)) => {
                prop_assert_eq!(err.panic_message(), Some("step panicked"));
                prop_assert!((0..model.len()).any(|i| failed_and_ran(i) && matches!(model[i], Step::Panic)));
            }
            Err(GroupError::Cancelled(err)) => {
                prop_assert!(false, "no shutdown_now here, yet a task never ran: {}", err);
            }
        }
    }
}

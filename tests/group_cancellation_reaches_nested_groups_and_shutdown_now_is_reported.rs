//! Two ways a fail-fast group broke its promise (a second reader's
//! findings, helper-45):
//! - `shutdown_now` dropped a group's queued tasks unrun and the group
//!   returned `Ok` with `skipped() == 0`: tasks that would have failed never
//!   ran, and nobody was told. It now fails with `GroupError::Cancelled`.
//! - A group opened inside another group's task answered `is_cancelled` for
//!   itself alone: when the outer group failed, an inner task waiting for
//!   `is_cancelled` never saw it, and the outer group never returned. The
//!   same with `Task::cancel` of a task that runs a group.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;

use common::{Gate, OpenOnDrop, eventually, unpinned_pool, watchdog};
use corepool::{GroupError, Pool};

/// A one-worker pool whose only worker is held at `gate` by a running task,
/// so that what is submitted next stays queued.
fn held_pool() -> (Pool, Gate) {
    let pool = Pool::builder().workers(1).build().unwrap();
    let gate = Gate::new();
    let held = gate.clone();
    let (started_tx, started) = channel();
    // Detached: it ends when the gate opens.
    drop(pool.submit(move || {
        started_tx.send(()).unwrap();
        held.wait();
    }));
    started.recv().unwrap();
    (pool, gate)
}

/// `shutdown_now` from another thread while the held worker still runs,
/// then the gate opened so that it can end; returns how many of the tasks
/// queued before the call it cancelled.
///
/// `is_shutdown` turns true before the queue is drained (registry.rs,
/// `shutdown`): a gate opened then could let the worker run a queued task
/// before `cancelling` is set. So a probe queued behind the caller's tasks
/// is waited for instead: the drain takes the queue in order, so once the
/// probe is cancelled none of theirs is left for the worker.
fn shutdown_now_while_held(pool: &Pool, gate: &Gate) -> usize {
    let _open = OpenOnDrop(gate.clone());
    let probe = pool.submit(|| ());
    let p = pool.clone();
    let stopper = std::thread::spawn(move || p.shutdown_now());
    assert!(
        probe.join().unwrap_err().is_cancelled(),
        "the drain cancelled the probe"
    );
    gate.open();
    stopper.join().unwrap() - 1
}

#[test]
fn a_group_whose_queued_tasks_shutdown_now_dropped_reports_it() {
    watchdog(60, || {
        let (pool, gate) = held_pool();
        let ran = AtomicUsize::new(0);
        let result = pool.group(|grp| {
            for _ in 0..4 {
                let ran = &ran;
                grp.spawn(move || {
                    ran.fetch_add(1, Ordering::SeqCst);
                    Err::<(), &str>("this task fails")
                });
            }
            assert_eq!(shutdown_now_while_held(&pool, &gate), 4);
        });
        assert_eq!(ran.load(Ordering::SeqCst), 0, "no task of the group ran");
        let err = result.expect_err("a group whose tasks never ran is not a success");
        assert!(err.is_cancelled(), "{err}");
        assert!(!err.is_panic());
        assert!(matches!(&err, GroupError::Cancelled(e) if e.is_cancelled()));
        assert!(
            err.to_string().starts_with("a task of the group never ran"),
            "{err}"
        );
    });
}

#[test]
fn skipped_counts_the_tasks_shutdown_now_dropped() {
    watchdog(60, || {
        let (pool, gate) = held_pool();
        let mut seen = None;
        let result = pool.group(|grp| {
            let tasks: Vec<_> = (0..3)
                .map(|i| grp.submit(move || Ok::<u32, ()>(i)))
                .collect();
            assert_eq!(shutdown_now_while_held(&pool, &gate), 3);
            let joined: Vec<Option<u32>> = tasks.into_iter().map(|t| t.join()).collect();
            seen = Some((joined, grp.skipped()));
        });
        assert!(result.unwrap_err().is_cancelled());
        assert_eq!(seen, Some((vec![None, None, None], 3)));
    });
}

#[test]
fn an_inner_groups_task_sees_the_outer_groups_failure() {
    watchdog(60, || {
        // Three workers: the outer task waits for its inner group (running
        // only its own group's work meanwhile), the inner task may spin on
        // another worker, and the failing task needs a third.
        let pool = unpinned_pool(3);
        let (inner_started_tx, inner_started) = channel();
        let saw = AtomicUsize::new(0);
        let result = pool.group(|outer| {
            let pool = &pool;
            let saw = &saw;
            outer.spawn(move || {
                pool.group(|inner| {
                    inner.spawn(move || {
                        inner_started_tx.send(()).unwrap();
                        while !corepool::is_cancelled() {
                            std::thread::yield_now();
                        }
                        saw.fetch_add(1, Ordering::SeqCst);
                        Ok::<(), &str>(())
                    });
                })
                .map_err(|_| "inner")
            });
            inner_started.recv().unwrap();
            outer.spawn(|| Err("outer task fails"));
        });
        assert_eq!(result.unwrap_err().into_failure(), Some("outer task fails"));
        assert_eq!(saw.into_inner(), 1);
    });
}

#[test]
fn an_inner_group_opened_after_the_outer_group_was_cancelled_skips_its_tasks() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let (started_tx, started) = channel();
        let ran = AtomicUsize::new(0);
        let result = pool.group(|outer| {
            let pool = &pool;
            let ran = &ran;
            outer.spawn(move || {
                started_tx.send(()).unwrap();
                // Wait until the outer group is cancelled, then open a group.
                while !corepool::is_cancelled() {
                    std::thread::yield_now();
                }
                pool.group(|inner| {
                    assert!(
                        inner.is_cancelled(),
                        "the group it was opened in is cancelled"
                    );
                    for _ in 0..5 {
                        inner.spawn(move || {
                            ran.fetch_add(1, Ordering::SeqCst);
                            Ok::<(), ()>(())
                        });
                    }
                })
                .map_err(|_| "inner failed")
            });
            started.recv().unwrap();
            outer.cancel();
        });
        assert!(result.is_ok());
        assert_eq!(
            ran.load(Ordering::SeqCst),
            0,
            "no task of the inner group ran"
        );
    });
}

#[test]
fn cancelling_a_task_that_runs_a_group_reaches_the_groups_tasks() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let (started_tx, started) = channel();
        let p = pool.clone();
        let task = pool.submit(move || {
            p.group(|g| {
                g.spawn(move || {
                    started_tx.send(()).unwrap();
                    while !corepool::is_cancelled() {
                        std::thread::yield_now();
                    }
                    Ok::<(), ()>(())
                });
            })
        });
        started.recv().unwrap();
        assert!(!task.cancel(), "it is running: cancel only asks it to stop");
        assert!(task.join().unwrap_err().is_stopped());
    });
}

/// A group opened in another group's *body* belongs to it too (a second
/// reader's finding, helper-47: the body ran outside its group, so such a
/// group was a sibling, and a task of it waiting for `is_cancelled` hung).
#[test]
fn a_group_opened_in_a_failed_groups_body_is_cancelled() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let result = pool.group(|outer| {
            outer.spawn(|| Err::<(), &str>("outer task fails"));
            eventually(|| outer.is_cancelled());
            assert!(corepool::is_cancelled(), "the body answers for its group");
            let inner = pool.group(|inner| {
                assert!(inner.is_cancelled());
                // Spawned into a cancelled group: skipped.
                inner.spawn(|| Ok::<(), ()>(()));
                inner.is_cancelled()
            });
            inner.map(|seen| (seen, ()))
        });
        assert_eq!(result.unwrap_err().into_failure(), Some("outer task fails"));
    });
}

#[test]
fn an_inner_groups_task_sees_a_failure_of_the_group_whose_body_opened_it() {
    watchdog(60, || {
        let pool = unpinned_pool(3);
        let (inner_started_tx, inner_started) = channel();
        let (fail_tx, fail) = channel::<()>();
        let result = pool.group(|outer| {
            outer.spawn(move || {
                fail.recv().unwrap();
                Err::<(), &str>("outer task fails")
            });
            pool.group(|inner| {
                inner.spawn(move || {
                    inner_started_tx.send(()).unwrap();
                    while !corepool::is_cancelled() {
                        std::thread::yield_now();
                    }
                    Ok::<(), ()>(())
                });
                inner_started.recv().unwrap();
                fail_tx.send(()).unwrap();
            })
        });
        assert_eq!(result.unwrap_err().into_failure(), Some("outer task fails"));
    });
}

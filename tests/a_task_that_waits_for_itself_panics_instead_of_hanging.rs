//! A task whose own thread waits for its result can never end: the wait
//! blocks the only thread that could finish it. Three ways in used to hang
//! forever: the closure joining its own handle, an `on_result` callback
//! (which runs before the task counts as ended) joining it, and the
//! closure's `Drop`, run by `cancel`, joining it. Each untimed wait now
//! panics ("a task waited for its own result") where it would have blocked.
//! A timed wait just times out, and an `on_done` callback, which runs after
//! the task has ended, may join it.
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::mpsc::{Sender, channel};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use common::{Gate, OpenOnDrop, quiet_panics_containing, watchdog};
use corepool::{Pool, SharedTask, Task};

const MESSAGE: &str = "a task waited for its own result";

/// Short: on the code before the fix every case here hangs, and the
/// watchdog is what fails it.
const WATCHDOG_SECS: u64 = 20;

/// The message of a panic payload.
fn message_of(payload: Box<dyn std::any::Any + Send>) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

#[test]
fn a_task_joining_its_own_shared_handle_panics() {
    quiet_panics_containing(MESSAGE);
    watchdog(WATCHDOG_SECS, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let slot: Arc<OnceLock<SharedTask<u32>>> = Arc::new(OnceLock::new());
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let (s, g) = (slot.clone(), gate.clone());
        let task = pool
            .submit(move || {
                g.wait();
                *s.get().unwrap().join().unwrap() + 1
            })
            .shared();
        assert!(slot.set(task.clone()).is_ok());
        gate.open();
        let error = task.join().unwrap_err();
        assert!(
            error.panic_message().is_some_and(|m| m.contains(MESSAGE)),
            "{error:?}"
        );
    });
}

#[test]
fn a_task_joining_its_own_task_handle_panics() {
    quiet_panics_containing(MESSAGE);
    watchdog(WATCHDOG_SECS, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let slot: Arc<Mutex<Option<Task<u32>>>> = Arc::new(Mutex::new(None));
        let gate = Gate::new();
        let (tx, rx) = channel();
        let (s, g) = (slot.clone(), gate.clone());
        let task = pool.submit(move || {
            g.wait();
            let me = s.lock().unwrap().take().unwrap();
            let outcome = catch_unwind(AssertUnwindSafe(|| me.join()));
            tx.send(outcome.map(drop).map_err(message_of)).unwrap();
            7
        });
        *slot.lock().unwrap() = Some(task);
        gate.open();
        let message = rx.recv().unwrap().unwrap_err();
        assert!(message.contains(MESSAGE), "{message:?}");
    });
}

#[test]
fn a_task_joining_a_task_that_runs_beneath_it_on_its_thread_panics() {
    quiet_panics_containing(MESSAGE);
    watchdog(WATCHDOG_SECS, || {
        // One worker: `outer` runs there, joins `inner`, which the worker
        // then runs inline on top of `outer`; `inner` joins `outer`.
        let pool = Pool::builder().workers(1).build().unwrap();
        let slot: Arc<OnceLock<SharedTask<Result<(), String>>>> = Arc::new(OnceLock::new());
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let (s, g, p) = (slot.clone(), gate.clone(), pool.clone());
        let outer = pool
            .submit(move || {
                g.wait();
                let s = s.clone();
                let inner = p.submit(move || {
                    let outer = s.get().unwrap();
                    let outcome = catch_unwind(AssertUnwindSafe(|| {
                        let _ = outer.join();
                    }));
                    outcome.map_err(message_of)
                });
                inner.join().unwrap()
            })
            .shared();
        assert!(slot.set(outer.clone()).is_ok());
        gate.open();
        let message = outer.join().unwrap().clone().unwrap_err();
        assert!(message.contains(MESSAGE), "{message:?}");
    });
}

#[test]
fn an_on_result_callback_joining_its_own_task_panics() {
    quiet_panics_containing(MESSAGE);
    watchdog(WATCHDOG_SECS, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let slot: Arc<OnceLock<SharedTask<u32>>> = Arc::new(OnceLock::new());
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let task = pool.submit(move || {
            g.wait();
            5
        });
        let (tx, rx) = channel();
        let s = slot.clone();
        task.on_result(move |_| {
            let me = s.get().unwrap();
            let outcome = catch_unwind(AssertUnwindSafe(|| me.join().copied()));
            tx.send(outcome.map(drop).map_err(message_of)).unwrap();
        });
        let task = task.shared();
        assert!(slot.set(task.clone()).is_ok());
        gate.open();
        let message = rx.recv().unwrap().unwrap_err();
        assert!(message.contains(MESSAGE), "{message:?}");
        // The callback's panic was caught: the task's value is intact.
        assert_eq!(task.join().unwrap(), &5);
    });
}

/// A closure capture that joins the closure's own task when dropped, and
/// reports how that went.
struct JoinOnDrop {
    me: Arc<OnceLock<SharedTask<u32>>>,
    report: Sender<Result<(), String>>,
}

impl Drop for JoinOnDrop {
    fn drop(&mut self) {
        let me = self.me.get().unwrap();
        let outcome = catch_unwind(AssertUnwindSafe(|| me.join().copied()));
        let _ = self.report.send(outcome.map(drop).map_err(message_of));
    }
}

#[test]
fn a_closure_whose_drop_joins_its_task_during_cancel_panics() {
    quiet_panics_containing(MESSAGE);
    watchdog(WATCHDOG_SECS, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        // Keep the one worker busy so the task stays queued.
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let blocker = pool.submit(move || g.wait());
        let slot = Arc::new(OnceLock::new());
        let (tx, rx) = channel();
        let capture = JoinOnDrop {
            me: slot.clone(),
            report: tx,
        };
        let task = pool
            .submit(move || {
                let _capture = &capture;
                1_u32
            })
            .shared();
        assert!(slot.set(task.clone()).is_ok());
        assert!(task.cancel());
        let message = rx.recv().unwrap().unwrap_err();
        assert!(message.contains(MESSAGE), "{message:?}");
        assert!(task.join().unwrap_err().is_cancelled());
        gate.open();
        blocker.join().unwrap();
    });
}

#[test]
fn a_timed_wait_for_itself_times_out() {
    watchdog(WATCHDOG_SECS, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let slot: Arc<OnceLock<SharedTask<bool>>> = Arc::new(OnceLock::new());
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let (s, g) = (slot.clone(), gate.clone());
        let task = pool
            .submit(move || {
                g.wait();
                s.get().unwrap().wait_timeout(Duration::from_millis(1))
            })
            .shared();
        assert!(slot.set(task.clone()).is_ok());
        gate.open();
        assert_eq!(task.join().unwrap(), &false);
    });
}

#[test]
fn an_on_done_callback_may_join_its_own_task() {
    watchdog(WATCHDOG_SECS, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let g = gate.clone();
        let task = pool
            .submit(move || {
                g.wait();
                9_u32
            })
            .shared();
        let (tx, rx) = channel();
        task.on_done(move |me| tx.send(*me.join().unwrap()).unwrap());
        gate.open();
        assert_eq!(rx.recv().unwrap(), 9);
    });
}

/// `wait` and `as_completed` without a deadline, from a task's own closure
/// (on a worker, and on the blocking lane), over a set holding the task
/// itself: they used to block forever (only `join` checked). They still
/// return what other tasks give first, and panic only once nothing but
/// this thread's own task is left to wait for; with a deadline they time out.
#[test]
fn wait_and_as_completed_over_the_tasks_own_handle_panic() {
    quiet_panics_containing(MESSAGE);
    watchdog(WATCHDOG_SECS, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for lane in [false, true] {
            for how in [
                "all",
                "first_panic",
                "first",
                "as_completed",
                "as_completed_after_other",
            ] {
                let slot: Arc<OnceLock<(SharedTask<u32>, SharedTask<u32>)>> =
                    Arc::new(OnceLock::new());
                let gate = Gate::new();
                let _open = OpenOnDrop(gate.clone());
                let (s, g) = (slot.clone(), gate.clone());
                let body = move || -> u32 {
                    g.wait();
                    let (me, other) = s.get().unwrap().clone();
                    // A timed wait times out rather than panics.
                    let timed = corepool::wait(
                        &[&me],
                        corepool::WaitFor::AllCompleted,
                        Some(Duration::from_millis(1)),
                    );
                    assert_eq!(timed.pending, [0]);
                    match how {
                        "all" => {
                            corepool::wait(&[&other, &me], corepool::WaitFor::AllCompleted, None);
                        }
                        "first_panic" => {
                            corepool::wait(&[&me, &other], corepool::WaitFor::FirstPanic, None);
                        }
                        "first" => {
                            corepool::wait(&[&me, &me], corepool::WaitFor::FirstCompleted, None);
                        }
                        "as_completed" => {
                            corepool::as_completed([&me]).for_each(drop);
                        }
                        _ => {
                            // The other task comes out first, then the wait
                            // for this one panics.
                            let mut done = corepool::as_completed([&me, &other]);
                            assert_eq!(done.next().map(|(i, _)| i), Some(1));
                            done.next();
                        }
                    }
                    unreachable!("the wait for its own task returned")
                };
                let me = if lane {
                    pool.submit_blocking(body)
                } else {
                    pool.submit(body)
                }
                .shared();
                let other = pool.submit(|| 7).shared();
                assert!(slot.set((me.clone(), other.clone())).is_ok());
                gate.open();
                let error = me.join().unwrap_err();
                assert!(
                    error.panic_message().is_some_and(|m| m.contains(MESSAGE)),
                    "{how}, lane {lane}: {error:?}"
                );
                assert_eq!(*other.join().unwrap(), 7);
            }
        }
    });
}

/// A `wait` for the first of two tasks, one of them the caller's own: the
/// other's end satisfies it, so it must not panic.
#[test]
fn a_first_completed_wait_that_another_task_can_satisfy_does_not_panic() {
    watchdog(WATCHDOG_SECS, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let slot: Arc<OnceLock<(SharedTask<u32>, SharedTask<u32>)>> = Arc::new(OnceLock::new());
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let (other_gate, s, g) = (Gate::new(), slot.clone(), gate.clone());
        let release = other_gate.clone();
        let _open_other = OpenOnDrop(other_gate.clone());
        let me = pool
            .submit(move || {
                g.wait();
                let (me, other) = s.get().unwrap().clone();
                release.open();
                let waited =
                    corepool::wait(&[&me, &other], corepool::WaitFor::FirstCompleted, None);
                waited.done.len() as u32
            })
            .shared();
        let other = pool
            .submit(move || {
                other_gate.wait();
                7
            })
            .shared();
        assert!(slot.set((me.clone(), other.clone())).is_ok());
        gate.open();
        assert_eq!(*me.join().unwrap(), 1);
        assert_eq!(*other.join().unwrap(), 7);
    });
}

/// `wait` over `[other, own]`, `other` still running when the wait
/// starts: following only the last unfinished task (its own), nothing woke
/// the wait when `other` ended, and it blocked forever (a third reader's
/// probe, `AllCompleted` and `FirstPanic`). It panics once `other` ends.
#[test]
fn a_wait_whose_other_task_ends_later_panics_once_only_its_own_is_left() {
    quiet_panics_containing(MESSAGE);
    watchdog(WATCHDOG_SECS, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for mode in [
            corepool::WaitFor::AllCompleted,
            corepool::WaitFor::FirstPanic,
        ] {
            let slot: Arc<OnceLock<(SharedTask<u32>, SharedTask<u32>)>> = Arc::new(OnceLock::new());
            let (start, release) = (Gate::new(), Gate::new());
            let _open = (OpenOnDrop(start.clone()), OpenOnDrop(release.clone()));
            // `other` holds the second worker until `me` lets it go, just
            // before its wait: it ends while the wait runs or blocks.
            let (s, g, r) = (slot.clone(), start.clone(), release.clone());
            let me = pool
                .submit(move || -> u32 {
                    g.wait();
                    let (me, other) = s.get().unwrap().clone();
                    r.open();
                    corepool::wait(&[&other, &me], mode, None);
                    unreachable!("the wait for its own task returned")
                })
                .shared();
            let r = release.clone();
            let other = pool
                .submit(move || {
                    r.wait();
                    7
                })
                .shared();
            assert!(slot.set((me.clone(), other.clone())).is_ok());
            start.open();
            let error = me.join().unwrap_err();
            assert!(
                error.panic_message().is_some_and(|m| m.contains(MESSAGE)),
                "{mode:?}: {error:?}"
            );
            assert_eq!(*other.join().unwrap(), 7);
        }
    });
}

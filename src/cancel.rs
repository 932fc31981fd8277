//! Cooperative cancellation: a running task asks [`is_cancelled`] whether its
//! handle (or its [`TaskGroup`](crate::TaskGroup)) was cancelled, so a long
//! loop can stop early.
//!
//! Each thread knows what it is running through one thread-local pair of
//! pointers: the state word of the task cell it runs, and the cancellation
//! flag of the group it runs for. Every kind of job sets the pair for the
//! duration of its run and restores the previous pair afterwards (jobs run
//! nested on one thread while a worker waits), so the answer is always about
//! the innermost job: a task cell enters itself, a group job its group, a
//! spawned job nothing, and a fork-join half the pair of the code that forked
//! it (copied at the fork, so a thief answers for the forking task). The
//! pointers are only read while what they name is alive: the running task,
//! or the task that forked a half and waits for it.

// Layer: cell (`lib.rs`, "Layers"). It may use the sched and base layers and
// the other cell files.

use std::cell::Cell;

use crate::sync::{AtomicBool, AtomicUsize, Ordering};

/// What a thread is running, for [`is_cancelled`]; copied into a fork-join
/// half so that a thief answers for the task that forked it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Running {
    /// The state word of the running task cell, or null (a spawned job).
    task: *const AtomicUsize,
    /// The running task's group flag, or null.
    group: *const AtomicBool,
}

impl Running {
    pub(crate) const NONE: Running = Running {
        task: std::ptr::null(),
        group: std::ptr::null(),
    };
}

thread_local! {
    static RUNNING: Cell<Running> = const { Cell::new(Running::NONE) };
}

/// Restores the previous running pair when dropped.
pub(crate) struct Enter(Running);

impl Drop for Enter {
    fn drop(&mut self) {
        let previous = self.0;
        let _ = RUNNING.try_with(|running| running.set(previous));
    }
}

fn enter(next: impl FnOnce(Running) -> Running) -> Enter {
    let previous = RUNNING
        .try_with(|running| {
            let previous = running.get();
            running.set(next(previous));
            previous
        })
        .unwrap_or(Running::NONE);
    Enter(previous)
}

/// Marks `state` as the running task's state word (no group) until the guard
/// is dropped.
#[inline]
pub(crate) fn enter_task(state: &AtomicUsize) -> Enter {
    enter(|_| Running {
        task: state,
        group: std::ptr::null(),
    })
}

/// Marks `flag` as the running job's group flag (a group job is a spawned
/// job: no task cell) until the guard is dropped.
pub(crate) fn enter_group(flag: &AtomicBool) -> Enter {
    enter(|_| Running {
        task: std::ptr::null(),
        group: flag,
    })
}

/// Enters `running` (what another thread was running; see [`current`]) until
/// the guard is dropped. `Running::NONE` for a job that belongs to no task.
pub(crate) fn enter_running(running: Running) -> Enter {
    enter(|_| running)
}

/// What this thread is running now.
#[inline]
pub(crate) fn current() -> Running {
    RUNNING.try_with(Cell::get).unwrap_or(Running::NONE)
}

/// Whether the task running on this thread was asked to stop: its
/// [`Task::cancel`](crate::Task::cancel) was called while it ran, or its
/// [`TaskGroup`](crate::TaskGroup) was cancelled (a sibling failed, or the
/// group was cancelled, or the group's body panicked). `false` outside
/// any task.
///
/// A task that sees `true` here and then returns is reported stopped
/// ([`TaskError::is_stopped`](crate::TaskError::is_stopped)), not finished
/// and not cancelled (its closure ran): its value is dropped. Checking costs a thread-local read and an
/// atomic load, so a loop can check every iteration.
///
/// ```
/// use corepool::Pool;
/// use std::sync::mpsc::channel;
///
/// let pool = Pool::builder().workers(1).build()?;
/// let (started_tx, started) = channel();
/// let task = pool.submit(move || {
///     started_tx.send(()).unwrap();
///     let mut rounds = 0u64;
///     while !corepool::is_cancelled() {
///         rounds += 1;
///         std::hint::spin_loop();
///     }
///     rounds
/// });
/// started.recv().unwrap();
/// assert!(!task.cancel(), "it is running: cancel only asks it to stop");
/// assert!(task.join().unwrap_err().is_stopped());
/// assert!(!corepool::is_cancelled());
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub fn is_cancelled() -> bool {
    let running = RUNNING.try_with(Cell::get).unwrap_or(Running::NONE);
    // SAFETY: the pointers name the task running on this thread and its
    // group; both outlive the run (module docs).
    let group = unsafe { running.group.as_ref() }
        // Relaxed: a hint to stop; no data is published through it.
        .is_some_and(|flag| flag.load(Ordering::Relaxed));
    // SAFETY: as above.
    match unsafe { running.task.as_ref() } {
        Some(state) => crate::task::observe_cancel(state, group),
        None => group,
    }
}

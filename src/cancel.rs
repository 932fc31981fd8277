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
//!
//! # Nested groups
//!
//! A group opened inside a task (or inside another group's task) belongs to
//! it: its flag ([`GroupFlag`]) keeps the pair the opening code was running,
//! its *parent*, and [`is_cancelled`] walks from the innermost group out
//! until it meets a task cell or the outside: a group counts as cancelled
//! when its own flag is set or its parent is cancelled, as a nested
//! `asyncio.TaskGroup` is. (Answering for the innermost group alone, a task
//! of an inner group waiting for `is_cancelled` never saw the outer group's
//! failure, and the outer group waited for it forever.) The parent is alive
//! whenever the walk reaches it: `Pool::group` returns only after every task
//! of the group has ended, and the code that opened it runs until then.

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
    /// The running job's group flag, or null.
    group: *const GroupFlag,
}

/// A group's cancellation flag and what the code that opened the group was
/// running (module docs, "Nested groups").
pub(crate) struct GroupFlag {
    cancelled: AtomicBool,
    parent: Running,
}

// SAFETY: `parent` is only dereferenced by `is_cancelled`'s walk on threads
// running the group's tasks (or its body), while the task or group it names
// is alive (module docs); the flag itself is an atomic.
unsafe impl Send for GroupFlag {}
// SAFETY: as above; `&GroupFlag` gives only atomic access and copies of the
// parent pair.
unsafe impl Sync for GroupFlag {}

impl GroupFlag {
    /// A flag for a group opened now, on this thread: its parent is what
    /// this thread is running.
    pub(crate) fn new() -> GroupFlag {
        GroupFlag {
            cancelled: AtomicBool::new(false),
            parent: current(),
        }
    }

    /// Cancels the group (its own flag; a parent is never touched).
    pub(crate) fn cancel(&self) {
        // Relaxed: a stop hint; no data is published through it.
        self.cancelled.store(true, Ordering::Relaxed);
    }

    /// Whether the group or anything it runs inside was cancelled (module
    /// docs). Called on a thread running the group's body or one of its
    /// tasks.
    pub(crate) fn is_cancelled(&self) -> bool {
        // Relaxed: as in `cancel`.
        self.cancelled.load(Ordering::Relaxed) || running_is_cancelled(self.parent)
    }
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
pub(crate) fn enter_group(flag: &GroupFlag) -> Enter {
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
    running_is_cancelled(RUNNING.try_with(Cell::get).unwrap_or(Running::NONE))
}

/// [`is_cancelled`] for `running`: its group's flags from the innermost out,
/// then the task cell the walk meets, if any.
fn running_is_cancelled(mut running: Running) -> bool {
    loop {
        // SAFETY: the pointers name the task running on this thread, its
        // group, and the groups and task those were opened in; all outlive
        // the run (module docs).
        let group = unsafe { running.group.as_ref() };
        // Relaxed: a hint to stop; no data is published through it.
        let group_cancelled = group.is_some_and(|flag| flag.cancelled.load(Ordering::Relaxed));
        // SAFETY: as above.
        if let Some(state) = unsafe { running.task.as_ref() } {
            return crate::task::observe_cancel(state, group_cancelled);
        }
        match group {
            Some(_) if group_cancelled => return true,
            Some(flag) => running = flag.parent,
            None => return false,
        }
    }
}

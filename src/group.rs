//! Fail-fast task groups: [`Pool::group`] and [`TaskGroup`], like Python's
//! `asyncio.TaskGroup` or joblib's `Parallel`, over a scope (so tasks may
//! borrow).
//!
//! # How failing fast works
//!
//! 1. Every task of a group is a scoped job whose wrapper first looks at the
//!    group's `cancelled` flag: a task that has not started when the group is
//!    cancelled never runs its closure (it is counted as cancelled).
//! 2. A running task sees the flag through [`is_cancelled`](crate::is_cancelled)
//!    (the wrapper enters the group for the run; see `cancel.rs`).
//! 3. The first task to fail — return `Err`, or panic — stores its error in
//!    the group's slot under a lock and sets the flag (`TaskGroup::cancel`
//!    sets it without an error). Later failures are dropped.
//! 4. [`Pool::group`] returns once every task has ended (the scope waits),
//!    with the first error, or the closure's value.
//! 5. A panic in the body (the closure passed to `group`) is caught at once
//!    and cancels the group as `TaskGroup::cancel` does — the group's handle
//!    is being dropped by unwinding, and a dropped group counts as cancelled
//!    — so running tasks see `is_cancelled` and end, queued ones are
//!    skipped; the scope then waits for the running tasks and re-raises the
//!    body's panic.
//! 6. After the pool's shutdown the group's tasks run on the calling thread
//!    as they are spawned (as every scope's do; see `scope.rs`), so a failure
//!    is still reported and nothing is lost.
//! 7. `shutdown_now` drops queued tasks unrun, a group's too. A member's
//!    closure is wrapped in a guard ([`Member`]) that notices being dropped
//!    unrun: the task counts as skipped, and if the group had not failed yet
//!    it fails now with [`GroupError::Cancelled`] (and is cancelled, so its
//!    other queued tasks are skipped too). Before, such a group returned
//!    `Ok` with tasks that never ran and `skipped() == 0`. The guard is
//!    dropped before the scope hears of the task's end (`submit.rs`,
//!    `ScopedJob`; a task cell drops its closure before it publishes), so
//!    the failure is recorded before [`Pool::group`] reads it.
//! 8. A group opened inside a task, or inside another group's task or
//!    body, is cancelled with it: [`is_cancelled`](crate::is_cancelled) and
//!    the skip in step 1 look at the group's own flag and then at what the
//!    group was opened in (`cancel.rs`, "Nested groups"). The body runs
//!    inside its group for this (so `is_cancelled` in the body answers for
//!    the group too, as a task's does); a group opened in a body was
//!    otherwise a sibling of it, and its tasks never saw the outer group
//!    fail (a second reader's finding, helper-47).

// Layer: many (`lib.rs`, "Layers"). It may use the cell, sched and base
// layers, the other many files, and the `Pool` type (to add its methods),
// nothing else of the face.

use std::fmt;
use std::sync::Arc;

use crate::cancel::GroupFlag;
use crate::error::TaskError;
use crate::pool::Pool;
use crate::scope::{Scope, ScopedTask};
use crate::sync::{AtomicUsize, Mutex, Ordering};
use crate::unwind;

/// Why a [`Pool::group`] failed: the first task that returned `Err`, or the
/// first that panicked.
///
/// ```
/// use corepool::GroupError;
///
/// let err: GroupError<String> = GroupError::Failed("disk full".into());
/// assert_eq!(err.to_string(), "a task of the group failed: disk full");
/// assert_eq!(err.into_failure().as_deref(), Some("disk full"));
/// ```
#[derive(Debug)]
pub enum GroupError<E> {
    /// A task returned this error first.
    Failed(E),
    /// A task panicked first; the error carries its payload.
    Panicked(TaskError),
    /// A task never ran: [`Pool::shutdown_now`] cancelled it while it was
    /// queued, before any task of the group failed. The error answers
    /// [`TaskError::is_cancelled`].
    Cancelled(TaskError),
}

impl<E> GroupError<E> {
    /// The task's own error, if the group failed on an `Err`.
    ///
    /// ```
    /// use corepool::GroupError;
    ///
    /// let err: GroupError<u8> = GroupError::Failed(3);
    /// assert_eq!(err.into_failure(), Some(3));
    /// ```
    pub fn into_failure(self) -> Option<E> {
        match self {
            GroupError::Failed(err) => Some(err),
            GroupError::Panicked(_) | GroupError::Cancelled(_) => None,
        }
    }

    /// Whether the group failed because a task panicked.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// let err = pool.group(|g| g.spawn(|| -> Result<(), ()> { panic!("boom") })).unwrap_err();
    /// assert!(err.is_panic());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, GroupError::Panicked(_))
    }

    /// Whether the group failed because [`Pool::shutdown_now`] cancelled one
    /// of its tasks before it ran (and before any task failed).
    ///
    /// ```
    /// let err: corepool::GroupError<()> = corepool::GroupError::Failed(());
    /// assert!(!err.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self, GroupError::Cancelled(_))
    }
}

impl<E: fmt::Display> fmt::Display for GroupError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GroupError::Failed(err) => write!(f, "a task of the group failed: {err}"),
            GroupError::Panicked(err) => write!(f, "a task of the group failed: {err}"),
            GroupError::Cancelled(err) => {
                write!(f, "a task of the group never ran: {err}")
            }
        }
    }
}

/// Any error type that prints ([`Display`](fmt::Display) and `Debug`), not
/// only `std::error::Error` ones, so that a `GroupError<String>` (or `&str`)
/// goes into `anyhow::Error` or `Box<dyn Error + Send + Sync>` with `?` and
/// prints the task's text. The price: [`source`](std::error::Error::source)
/// does not reach into `E` (the text is in the message; the error itself is
/// [`into_failure`](GroupError::into_failure)); a panic's source is its
/// [`TaskError`].
///
/// ```
/// fn run(pool: &corepool::Pool) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
///     pool.group(|g| g.spawn(|| Err(String::from("disk full"))))?;
///     Ok(())
/// }
/// let pool = corepool::Pool::builder().workers(1).build()?;
/// assert_eq!(run(&pool).unwrap_err().to_string(), "a task of the group failed: disk full");
/// # Ok::<(), corepool::BuildError>(())
/// ```
impl<E: fmt::Display + fmt::Debug> std::error::Error for GroupError<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            GroupError::Failed(_) => None,
            GroupError::Panicked(err) | GroupError::Cancelled(err) => Some(err),
        }
    }
}

/// What a group's tasks share; lives on the frame of [`Pool::group`].
struct GroupState<E> {
    flag: GroupFlag,
    first_error: Mutex<Option<GroupError<E>>>,
    skipped: AtomicUsize,
}

impl<E> GroupState<E> {
    /// Step 3.
    fn fail(&self, error: GroupError<E>) {
        let mut slot = self.first_error.lock();
        if slot.is_none() {
            *slot = Some(error);
            // A stop hint; the error itself is read after the scope has
            // waited for every task (which orders everything).
            self.flag.cancel();
        } else {
            drop(slot);
            unwind::drop_contained(error);
        }
    }
}

/// A fail-fast group of tasks; see [`Pool::group`].
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let mut squares = [0u32; 4];
/// pool.group(|g| {
///     for (i, slot) in squares.iter_mut().enumerate() {
///         g.spawn(move || {
///             *slot = (i * i) as u32;
///             Ok::<(), String>(())
///         });
///     }
/// })?;
/// assert_eq!(squares, [0, 1, 4, 9]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct TaskGroup<'scope, 'env, E> {
    scope: &'scope Scope<'scope, 'env>,
    state: Arc<GroupState<E>>,
}

impl<E> fmt::Debug for TaskGroup<'_, '_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TaskGroup")
            .field("cancelled", &self.is_cancelled())
            .finish_non_exhaustive()
    }
}

impl<E> TaskGroup<'_, '_, E> {
    /// Cancels the group: tasks that have not started never run, running
    /// ones see [`is_cancelled`](crate::is_cancelled). Without a task error,
    /// [`Pool::group`] still returns the closure's value.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// let ran = std::sync::atomic::AtomicUsize::new(0);
    /// let out = pool.group(|g| {
    ///     g.cancel();
    ///     g.spawn(|| {
    ///         ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    ///         Ok::<(), String>(())
    ///     });
    ///     "cancelled"
    /// });
    /// assert_eq!(out.unwrap(), "cancelled");
    /// assert_eq!(ran.into_inner(), 0);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn cancel(&self) {
        // A stop hint: see `GroupState::fail`.
        self.state.flag.cancel();
    }

    /// Whether the group was cancelled: by a failed task, by
    /// [`cancel`](TaskGroup::cancel), or with the task or group it was
    /// opened in ([`Task::cancel`](crate::Task::cancel) of that task, or
    /// that group's failure).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// let seen = pool.group(|g| {
    ///     g.spawn(|| Err::<(), _>("first failure"));
    ///     // Wait for the failure to cancel the group.
    ///     while !g.is_cancelled() { std::thread::yield_now(); }
    ///     g.is_cancelled()
    /// });
    /// assert!(seen.is_err());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.state.flag.is_cancelled()
    }

    /// How many tasks were skipped so far because the group was cancelled
    /// before they started.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// let skipped_so_far = pool.group(|g| {
    ///     g.cancel();
    ///     g.spawn(|| Ok::<(), ()>(()));
    ///     g.skipped() // the skip is counted when the task would have started
    /// });
    /// assert!(skipped_so_far.unwrap() <= 1);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn skipped(&self) -> usize {
        self.state.skipped.load(Ordering::Relaxed)
    }
}

impl<'scope, 'env, E: Send + 'scope> TaskGroup<'scope, 'env, E> {
    /// Runs `f` on the pool as a task of the group. If it returns `Err` or
    /// panics, and no task failed before, the group is cancelled and that
    /// error is what [`Pool::group`] returns. If the group is cancelled before
    /// `f` starts, `f` never runs.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let mut sizes = vec![0usize; 3];
    /// let words = ["a", "bb", "ccc"];
    /// pool.group(|g| {
    ///     for (slot, word) in sizes.iter_mut().zip(words) {
    ///         g.spawn(move || {
    ///             *slot = word.len();
    ///             Ok::<(), std::io::Error>(())
    ///         });
    ///     }
    /// })?;
    /// assert_eq!(sizes, [1, 2, 3]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce() -> Result<(), E> + Send + 'scope,
    {
        let member = Member::new(self.state.clone(), f);
        self.scope.spawn(move |_| {
            let _ = member.run();
        });
    }

    /// Runs `f` on the pool as a task of the group, as
    /// [`spawn`](TaskGroup::spawn) does, and returns a handle to its value:
    /// [`GroupTask::join`] gives `Some(value)` when `f` returned `Ok`, and
    /// `None` when it failed, panicked or was skipped (the group's result
    /// says why). Collect the values in spawn order by joining the handles
    /// inside the group's closure.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let words = ["a", "bb", "ccc"];
    /// let sizes = pool.group(|g| {
    ///     let tasks: Vec<_> = words
    ///         .iter()
    ///         .map(|w| g.submit(move || Ok::<usize, String>(w.len())))
    ///         .collect();
    ///     tasks.into_iter().map(|t| t.join()).collect::<Option<Vec<usize>>>()
    /// })?;
    /// assert_eq!(sizes, Some(vec![1, 2, 3]));
    /// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    /// ```
    pub fn submit<F, T>(&self, f: F) -> GroupTask<'scope, T>
    where
        F: FnOnce() -> Result<T, E> + Send + 'scope,
        T: Send + 'scope,
    {
        let member = Member::new(self.state.clone(), f);
        GroupTask {
            task: self.scope.submit(move || member.run()),
        }
    }
}

impl<E> GroupState<E> {
    /// Steps 1–3 for one task: skipped if the group is cancelled, else run
    /// inside the group; a failure is recorded. Its value, if it succeeded.
    fn run_member<T>(&self, f: impl FnOnce() -> Result<T, E>) -> Option<T> {
        if self.flag.is_cancelled() {
            self.skipped.fetch_add(1, Ordering::Relaxed);
            unwind::drop_contained(f);
            return None;
        }
        let outcome = {
            let _entered = crate::cancel::enter_group(&self.flag);
            unwind::halt_unwinding(f)
        };
        match outcome {
            Ok(Ok(value)) => Some(value),
            Ok(Err(err)) => {
                self.fail(GroupError::Failed(err));
                None
            }
            Err(payload) => {
                self.fail(GroupError::Panicked(TaskError::panicked(payload)));
                None
            }
        }
    }
}

/// A member task's closure until it runs (step 7): dropped unrun, it
/// counts the task skipped and fails the group if nothing failed before.
struct Member<E, F> {
    state: Arc<GroupState<E>>,
    f: Option<F>,
}

impl<E, T, F: FnOnce() -> Result<T, E>> Member<E, F> {
    fn new(state: Arc<GroupState<E>>, f: F) -> Self {
        Member { state, f: Some(f) }
    }

    /// Steps 1–3 (`GroupState::run_member`).
    fn run(mut self) -> Option<T> {
        let f = self.f.take()?;
        self.state.run_member(f)
    }
}

impl<E, F> Drop for Member<E, F> {
    fn drop(&mut self) {
        let Some(f) = self.f.take() else { return };
        // Dropped unrun: only `shutdown_now` (or a torn-down queue) does
        // that to a queued scope task.
        unwind::drop_contained(f);
        self.state.skipped.fetch_add(1, Ordering::Relaxed);
        if !self.state.flag.is_cancelled() {
            self.state
                .fail(GroupError::Cancelled(TaskError::cancelled()));
        }
    }
}

/// A handle to a value-returning task of a [`TaskGroup`], from
/// [`TaskGroup::submit`]; it cannot leave the group's closure. Dropping it
/// detaches the task (the group still waits for it, and its value is
/// dropped).
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let total = pool.group(|g| {
///     let a: corepool::GroupTask<'_, u32> = g.submit(|| Ok::<u32, String>(2));
///     let b = g.submit(|| Ok(3));
///     a.join().unwrap() + b.join().unwrap()
/// })?;
/// assert_eq!(total, 5);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[must_use = "dropping a GroupTask detaches it: its value is dropped"]
pub struct GroupTask<'scope, T> {
    task: ScopedTask<'scope, Option<T>>,
}

impl<T: Send> GroupTask<'_, T> {
    /// Waits for the task and returns its value, or `None` when it failed,
    /// panicked or was skipped (the group's result says why; a task cancelled
    /// by `shutdown_now` is `None` too).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let result = pool.group(|g| {
    ///     let good = g.submit(|| Ok::<u8, &str>(1));
    ///     let bad = g.submit(|| Err::<u8, &str>("bad"));
    ///     (good.join(), bad.join())
    /// });
    /// assert_eq!(result.unwrap_err().into_failure(), Some("bad"));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn join(self) -> Option<T> {
        self.task.join().ok().flatten()
    }

    /// Whether the task has ended. Never blocks.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// pool.group(|g| {
    ///     let task = g.submit(|| Ok::<u8, ()>(1));
    ///     assert!(task.wait_timeout(std::time::Duration::from_secs(60)));
    ///     assert!(task.is_finished());
    /// })
    /// .unwrap();
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Waits at most `timeout` for the task to end; whether it has.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// let done = pool.group(|g| g.submit(|| Ok::<u8, ()>(1)).wait_timeout(std::time::Duration::from_secs(60)));
    /// assert_eq!(done.unwrap(), true);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn wait_timeout(&self, timeout: std::time::Duration) -> bool {
        self.task.wait_timeout(timeout)
    }
}

impl<T> fmt::Debug for GroupTask<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GroupTask")
            .field("task", &self.task)
            .finish()
    }
}

impl Pool {
    /// Runs `f` with a fail-fast [`TaskGroup`] whose tasks may borrow, and
    /// returns when every task of the group has ended: `Ok` with `f`'s value,
    /// or the first task error ([`GroupError::Failed`]) or panic
    /// ([`GroupError::Panicked`]). The first failure cancels the group: tasks
    /// not started never run, running ones see
    /// [`is_cancelled`](crate::is_cancelled). A panic in `f` itself cancels
    /// the group the same way, at once (the group is dropped by the unwinding,
    /// and a dropped group counts as cancelled), and is re-raised once the
    /// tasks already running have ended, as with [`Pool::scope`].
    ///
    /// After [`shutdown`](Pool::shutdown) the tasks run on the calling thread
    /// as they are spawned (see [`Pool::scope`]): the result is the same,
    /// nothing is skipped silently.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let ok = AtomicUsize::new(0);
    /// let result = pool.group(|g| {
    ///     for i in 0..100u32 {
    ///         let ok = &ok;
    ///         g.spawn(move || {
    ///             if i == 3 {
    ///                 return Err(format!("item {i} is bad"));
    ///             }
    ///             ok.fetch_add(1, Ordering::Relaxed);
    ///             Ok(())
    ///         });
    ///     }
    /// });
    /// let err = result.unwrap_err();
    /// assert_eq!(err.into_failure().unwrap(), "item 3 is bad");
    /// assert!(ok.into_inner() < 100);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn group<'env, F, R, E>(&self, f: F) -> Result<R, GroupError<E>>
    where
        F: for<'scope> FnOnce(&TaskGroup<'scope, 'env, E>) -> R,
        E: Send + 'env,
    {
        let state = Arc::new(GroupState {
            flag: GroupFlag::new(),
            first_error: Mutex::new(None),
            skipped: AtomicUsize::new(0),
        });
        let value = unwind::halt_unwinding(|| {
            self.scope(|scope| {
                let group = TaskGroup {
                    scope,
                    state: state.clone(),
                };
                // Step 8: the body runs inside its group, so a group opened
                // in it is the group's child (the flag's parent is what this
                // thread ran before: nothing that answered `true` stops).
                let _entered = crate::cancel::enter_group(&state.flag);
                match unwind::halt_unwinding(|| f(&group)) {
                    Ok(value) => value,
                    Err(payload) => {
                        // Step 5: cancel before the scope waits for the tasks.
                        group.cancel();
                        std::panic::resume_unwind(payload)
                    }
                }
            })
        });
        let value = match value {
            Ok(value) => value,
            Err(payload) => {
                // The body panicked: a task's error (whose destructor may
                // panic) is dropped contained before the panic goes on.
                unwind::drop_contained(state.first_error.lock().take());
                std::panic::resume_unwind(payload)
            }
        };
        let first_error = state.first_error.lock().take();
        match first_error {
            Some(error) => {
                unwind::drop_contained(value);
                Err(error)
            }
            None => Ok(value),
        }
    }
}

//! Promises: a [`Task`] whose outcome is set by hand, like a
//! `concurrent.futures.Future()` completed with `set_result` or
//! `set_exception`, to bring callbacks, other executors or I/O into
//! `join`, `.await`, [`as_completed`](crate::as_completed) and
//! [`wait`](crate::wait).
//!
//! A promise is a task cell that no queue ever holds: its closure is a
//! placeholder that never runs, and the [`Promise`] ends the task through the
//! same claim the runner and the canceller race for (`task/mod.rs`, rule 1). So
//! exactly one of `set`/`fail`, the task's `cancel`, or the promise's drop
//! ends it, and the others see that they lost.

// Layer: many (`lib.rs`, "Layers"). It may use the cell, sched and base
// layers, the other many files, and the `Pool` type (to add its methods),
// nothing else of the face.

use std::fmt;

use crate::error::{Failure, TaskError};
use crate::task::{Abort, Cell, CellRc, Handle, Task, TaskCell};

/// The placeholder closure of a promise's cell: never called, since no
/// queue holds the cell and its pool identity (0) matches no worker.
fn settled_by_hand<T>() -> T {
    panic!("a promise's task is settled by its Promise, never run")
}

type PromiseCell<T> = TaskCell<fn() -> T, T>;

/// The writing end of a [`promise`]: [`set`](Promise::set) gives its task a
/// value, [`fail`](Promise::fail) an error; dropping it unset ends the task
/// with [`TaskError::is_abandoned`].
///
/// ```
/// let (promise, task): (corepool::Promise<u32>, _) = corepool::promise();
/// promise.set(42).unwrap();
/// assert_eq!(task.join().unwrap(), 42);
///
/// let (unset, task) = corepool::promise::<u32>();
/// drop(unset);
/// assert!(task.join().unwrap_err().is_abandoned());
/// ```
#[must_use = "dropping a Promise unset ends its task with an `abandoned` error"]
pub struct Promise<T: Send + 'static> {
    cell: CellRc<PromiseCell<T>>,
}

/// A task completed by hand, and the [`Promise`] that completes it. The task
/// is a plain [`Task`]: `join`, `.await`, `cancel`, `on_done`, `shared`,
/// [`as_completed`](crate::as_completed) and [`wait`](crate::wait) all work.
///
/// ```
/// let (promise, task) = corepool::promise::<String>();
/// std::thread::spawn(move || promise.set("from another thread".to_owned()).unwrap());
/// assert_eq!(task.join().unwrap(), "from another thread");
/// ```
pub fn promise<T: Send + 'static>() -> (Promise<T>, Task<T>) {
    let cell = CellRc::new(PromiseCell::new(
        settled_by_hand::<T> as fn() -> T,
        None,
        0,
        0,
    ));
    let task = Task::from_handle(Handle::new(cell.clone()));
    (Promise { cell }, task)
}

impl<T: Send + 'static> Promise<T> {
    /// Gives the task its value, like `Future.set_result`. `Err(value)` when
    /// the task had been cancelled (its handle's `cancel` won).
    ///
    /// ```
    /// let (promise, task) = corepool::promise::<u8>();
    /// promise.set(7).unwrap();
    /// assert_eq!(task.join().unwrap(), 7);
    ///
    /// let (promise, task) = corepool::promise::<u8>();
    /// assert!(task.cancel());
    /// assert_eq!(promise.set(7), Err(7));
    /// ```
    pub fn set(self, value: T) -> Result<(), T> {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used again and its `Drop` never runs, so
        // the cell's count is moved out exactly once.
        let cell = unsafe { std::ptr::read(&this.cell) };
        cell.settle(Ok(value), false)
            .map_err(|outcome| match outcome {
                Ok(value) => value,
                Err(_) => unreachable!("settle gives back what it was given"),
            })
    }

    /// Ends the task with `error`, like `Future.set_exception`: `join` then
    /// answers [`TaskError::is_failed`] and [`TaskError::failure`] gives the
    /// error back; [`WaitFor::FirstPanic`](crate::WaitFor::FirstPanic) counts
    /// it, as `FIRST_EXCEPTION` does. `Err` with the error when the task had
    /// been cancelled.
    ///
    /// ```
    /// let (promise, task) = corepool::promise::<u8>();
    /// promise.fail("the upstream call failed").unwrap();
    /// assert_eq!(task.join().unwrap_err().to_string(), "task failed: the upstream call failed");
    /// ```
    pub fn fail<E>(self, error: E) -> Result<(), TaskError>
    where
        E: Into<Box<dyn std::error::Error + Send + Sync + 'static>>,
    {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: as in `set`.
        let cell = unsafe { std::ptr::read(&this.cell) };
        let payload: Box<dyn std::any::Any + Send> = Box::new(Failure(error.into()));
        cell.settle(Err(payload), true)
            .map_err(|outcome| match outcome {
                Err(payload) => TaskError::from_payload(payload),
                Ok(_) => unreachable!("settle gives back what it was given"),
            })
    }

    /// Whether the task has ended without this promise: it was cancelled,
    /// so [`set`](Promise::set) would give the value back.
    ///
    /// ```
    /// let (promise, task) = corepool::promise::<u8>();
    /// assert!(!promise.is_cancelled());
    /// task.cancel();
    /// assert!(promise.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        self.cell.header().describe() == "cancelled"
    }
}

impl<T: Send + 'static> Drop for Promise<T> {
    fn drop(&mut self) {
        // Loses quietly to a cancel that came first.
        let _ = Cell::abort(&*self.cell, Abort::Abandoned);
    }
}

impl<T: Send + 'static> fmt::Debug for Promise<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Promise")
            .field("task", &format_args!("{}", self.cell.header().describe()))
            .finish()
    }
}

//! [`SharedTask`]: a task handle that can be cloned and read many times, like
//! a `concurrent.futures.Future` that several threads, callbacks and
//! `as_completed`/`wait` calls all look at.
//!
//! A shared handle keeps the one [`Handle`] of the task's cell (it is never
//! joined, so the cell's one-reader rule still holds) and a [`OnceLock`] for
//! the outcome. The first clone that finds the task ended moves the outcome
//! out of the cell into the `OnceLock` (its initialiser runs at most once,
//! which is what makes it the cell's only reader); every clone then hands
//! out references into it. Waiting, cancelling and `Debug` go to the cell.

// Layer: many (`lib.rs`, "Layers"). It may use the cell, sched and base
// layers, the other many files, and the `Pool` type (to add its methods),
// nothing else of the face.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::error::TaskError;
use crate::task::{Handle, Task};
use crate::unwind;

/// A task handle that can be cloned, shared between threads and read again
/// and again: [`Task::shared`] makes one.
///
/// Every clone can [`join`](SharedTask::join) (a reference to the one stored
/// outcome), [`wait_timeout`](SharedTask::wait_timeout),
/// [`cancel`](SharedTask::cancel), add [`on_done`](SharedTask::on_done)
/// callbacks that receive the handle, `.await` through
/// [`done`](SharedTask::done), and be passed to
/// [`as_completed`](crate::as_completed) and [`wait`](crate::wait), duplicates
/// included. Dropping every clone detaches the task, as dropping a [`Task`]
/// does: it still runs, and its value is dropped.
///
/// ```
/// use corepool::Pool;
///
/// let pool = Pool::new()?;
/// let task = pool.submit(|| vec![1, 2, 3]).shared();
/// let again = task.clone();
/// let reader = std::thread::spawn(move || again.join().unwrap().len());
/// assert_eq!(task.join().unwrap(), &[1, 2, 3]);
/// assert_eq!(task.join().unwrap().iter().sum::<i32>(), 6); // read again
/// assert_eq!(reader.join().unwrap(), 3);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use = "dropping every clone of a SharedTask detaches the task: it still runs, but its result is lost"]
pub struct SharedTask<T> {
    inner: Arc<Inner<T>>,
}

struct Inner<T> {
    handle: Handle<'static, T>,
    outcome: OnceLock<Result<T, TaskError>>,
}

impl<T> Clone for SharedTask<T> {
    fn clone(&self) -> Self {
        SharedTask {
            inner: self.inner.clone(),
        }
    }
}

impl<T: Send + 'static> Task<T> {
    /// Turns this handle into a [`SharedTask`]: cloneable, `Sync`, and
    /// readable any number of times, like a `concurrent.futures.Future`.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::new()?;
    /// let shared = pool.submit(|| String::from("once")).shared();
    /// assert_eq!(shared.join().unwrap(), "once");
    /// assert_eq!(shared.clone().join().unwrap(), "once");
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If the task was awaited to completion: `.await` took the result, so
    /// a shared handle would have nothing to hand out.
    /// The [`Future`](std::future::Future) impl of [`Task`]'s example shows it.
    #[track_caller]
    pub fn shared(self) -> SharedTask<T> {
        self.handle().expect_result("Task::shared");
        SharedTask {
            inner: Arc::new(Inner {
                handle: self.into_handle(),
                outcome: OnceLock::new(),
            }),
        }
    }
}

impl<T: Send + 'static> SharedTask<T> {
    pub(crate) fn handle(&self) -> &Handle<'static, T> {
        &self.inner.handle
    }

    /// The outcome, once the task has ended; `None` before.
    fn outcome(&self) -> Option<&Result<T, TaskError>> {
        if let Some(outcome) = self.inner.outcome.get() {
            return Some(outcome);
        }
        if !self.inner.handle.is_finished() {
            return None;
        }
        Some(self.inner.outcome.get_or_init(|| {
            // SAFETY: the stage is terminal (just seen), and the `OnceLock`
            // runs this initialiser at most once over all clones, so this is
            // the cell's only `take_result`: the inner handle is never joined
            // and its `Drop` (detach) runs only when the last clone is gone.
            unsafe { self.inner.handle.header().take_result() }
        }))
    }

    /// Blocks until the task ends and returns a reference to its value, or to
    /// why there is none, like `Future.result()`; every call and every clone
    /// sees the same outcome. On a pool worker it runs work the task needs
    /// meanwhile, as [`Task::join`] does.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::new()?;
    /// let task = pool.submit(|| -> u8 { panic!("bad row") }).shared();
    /// assert_eq!(task.join().unwrap_err().panic_message(), Some("bad row"));
    /// assert!(task.join().unwrap_err().is_panic()); // the same error, again
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn join(&self) -> Result<&T, &TaskError> {
        self.inner.handle.wait_until(None);
        self.outcome()
            .expect("ended: wait_until(None) returned")
            .as_ref()
    }

    /// Waits at most `timeout` for the task to end; returns whether it has.
    /// Like `Future.result(timeout)` without the result: call
    /// [`join`](SharedTask::join) (which then returns at once) to read it.
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::time::Duration;
    ///
    /// let pool = Pool::new()?;
    /// let task = pool.submit(|| 1).shared();
    /// assert!(task.wait_timeout(Duration::from_secs(60)));
    /// assert_eq!(task.join().ok(), Some(&1));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.inner
            .handle
            .wait_until(Instant::now().checked_add(timeout))
    }

    /// Whether the task has ended (returned, panicked, was cancelled,
    /// stopped or refused). Never blocks.
    ///
    /// ```
    /// use corepool::Pool;
    /// let pool = Pool::new()?;
    /// let task = pool.submit(|| 1).shared();
    /// task.join().unwrap();
    /// assert!(task.is_finished());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.inner.handle.is_finished()
    }

    /// Whether the task is running now. Never blocks.
    ///
    /// ```
    /// use corepool::Pool;
    /// let pool = Pool::new()?;
    /// let task = pool.submit(|| 1).shared();
    /// task.join().unwrap();
    /// assert!(!task.is_running());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn is_running(&self) -> bool {
        self.inner.handle.is_running()
    }

    /// Whether the task was cancelled before it started, like
    /// `Future.cancelled()`. Never blocks.
    ///
    /// ```
    /// use corepool::Pool;
    /// let pool = Pool::new()?;
    /// let task = pool.submit(|| 1).shared();
    /// task.join().unwrap();
    /// assert!(!task.cancelled());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn cancelled(&self) -> bool {
        self.outcome()
            .is_some_and(|outcome| outcome.as_ref().is_err_and(TaskError::is_cancelled))
    }

    /// Cancels the task if it has not started, as [`Task::cancel`] does
    /// (and asks a running one to stop); any clone may call it.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::builder().workers(1).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let blocker = pool.submit(move || rx.recv().unwrap());
    /// let queued = pool.submit(|| 1).shared();
    /// assert!(queued.clone().cancel());
    /// tx.send(()).unwrap();
    /// blocker.join().unwrap();
    /// assert!(queued.cancelled() && queued.join().unwrap_err().is_cancelled());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn cancel(&self) -> bool {
        self.inner.handle.cancel()
    }

    /// Runs `callback` once, with this handle, when the task ends — on the
    /// thread that ends it, or at once on this thread if it has ended — like
    /// `Future.add_done_callback(fn)`, which passes the future to `fn`. The
    /// callback reads the outcome with [`join`](SharedTask::join), which
    /// returns at once there. Any number of callbacks may be added; a panic in
    /// one is contained (reported by the panic hook, then dropped), and keep
    /// them short: they run on a pool worker. They run after the outcome is
    /// published, as Python's do: a `join` elsewhere may return before they
    /// have run.
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::sync::mpsc::channel;
    ///
    /// let pool = Pool::new()?;
    /// let (tx, rx) = channel();
    /// let task = pool.submit(|| 6 * 7).shared();
    /// task.on_done(move |done| tx.send(*done.join().unwrap()).unwrap());
    /// assert_eq!(rx.recv().unwrap(), 42);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn on_done<C>(&self, callback: C)
    where
        C: FnOnce(&SharedTask<T>) + Send + 'static,
        T: Sync,
    {
        let me = self.clone();
        crate::task::on_done_waker(self.inner.handle.header(), move || callback(&me));
    }

    /// Runs `callback` once when the task ends, with a reference to its
    /// outcome, as [`Task::on_result`] does; [`on_done`](SharedTask::on_done)
    /// passes the handle instead, as Python does.
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::sync::mpsc::channel;
    ///
    /// let pool = Pool::new()?;
    /// let (tx, rx) = channel();
    /// let task = pool.submit(|| -> u8 { panic!("bad") }).shared();
    /// task.on_result(move |outcome| tx.send(outcome.unwrap_err().is_panic()).unwrap());
    /// assert!(rx.recv().unwrap());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn on_result<C>(&self, callback: C)
    where
        C: FnOnce(Result<&T, &TaskError>) + Send + 'static,
        T: Sync,
    {
        self.on_done(move |task| callback(task.join()));
    }

    /// A future that resolves to [`join`](SharedTask::join)'s answer when the
    /// task ends; each clone may await its own.
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::future::Future;
    /// use std::pin::pin;
    /// use std::task::{Context, Poll, Waker};
    ///
    /// let pool = Pool::new()?;
    /// let task = pool.submit(|| 5).shared();
    /// task.join().unwrap();
    /// let mut done = pin!(task.done());
    /// let poll = done.as_mut().poll(&mut Context::from_waker(Waker::noop()));
    /// assert!(matches!(poll, Poll::Ready(Ok(&5))));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn done(&self) -> Done<'_, T> {
        Done {
            task: self,
            key: None,
        }
    }
}

/// The future of [`SharedTask::done`].
///
/// ```
/// use std::future::Future;
/// use std::pin::Pin;
/// use std::task::{Context, Poll, Waker};
///
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let task = pool.submit(|| 6 * 7).shared();
/// task.join().unwrap(); // ended, so the first poll is ready
/// let mut done: corepool::Done<'_, i32> = task.done();
/// let poll = Pin::new(&mut done).poll(&mut Context::from_waker(Waker::noop()));
/// assert!(matches!(poll, Poll::Ready(Ok(&42))));
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use = "futures do nothing unless polled"]
pub struct Done<'a, T: Send + 'static> {
    task: &'a SharedTask<T>,
    key: Option<u64>,
}

impl<'a, T: Send + 'static> Future for Done<'a, T> {
    type Output = Result<&'a T, &'a TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `Done` is `Unpin`: a reference and a key.
        let this = self.get_mut();
        let task: &'a SharedTask<T> = this.task;
        match task.inner.handle.header().register(cx.waker(), this.key) {
            Some(key) => {
                this.key = Some(key);
                Poll::Pending
            }
            None => {
                this.key = None;
                Poll::Ready(task.outcome().expect("ended: register saw it").as_ref())
            }
        }
    }
}

impl<T: Send + 'static> Drop for Done<'_, T> {
    fn drop(&mut self) {
        if let Some(key) = self.key.take() {
            self.task.inner.handle.header().deregister(key);
        }
    }
}

impl<T: Send + 'static> fmt::Debug for Done<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Done").field("task", self.task).finish()
    }
}

impl<T> fmt::Debug for SharedTask<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SharedTask")
            .field(
                "state",
                &format_args!("{}", self.inner.handle.header().describe()),
            )
            .finish()
    }
}

impl<T> Drop for Inner<T> {
    fn drop(&mut self) {
        // The outcome may hold a value whose destructor panics; the last
        // clone may be dropped on a worker (in a callback): contain it.
        if let Some(outcome) = self.outcome.take() {
            unwind::drop_contained(outcome);
        }
    }
}

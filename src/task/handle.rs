//! The handles of a task cell: [`Handle`], shared by [`Task`] and the
//! scope's handle, and the public [`Task`]. The protocol is `mod.rs`'s.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::TaskError;

use super::*;
use crate::sync::Mutex;
use crate::unwind;
use crate::wait::{Waitable, wait_until};
use crate::worker::WorkerThread;

/// The shared machinery of [`Task`] and the scope's handle: a typed view of a
/// cell that may borrow for `'a`.
pub(crate) struct Handle<'a, T> {
    cell: CellRc<dyn Cell<T> + 'a>,
    /// Where `poll` stands (the size of the `Option<u64>` it replaced).
    polled: Polled,
}

/// What [`Handle::poll_result`] has done.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Polled {
    /// Nothing registered.
    Idle,
    /// Registered the waker with this key.
    Waiting(u64),
    /// Returned `Ready`: the result is taken, and whatever needs it panics
    /// with [`result_taken`].
    Taken,
}

/// The panic of a call that needs the result of a task whose `poll`
/// returned `Ready` (which moved the result out): `what` names the call.
#[cold]
#[track_caller]
pub(crate) fn result_taken(what: &str) -> ! {
    panic!(
        "{what}: the task's result was already taken by .await (its poll returned Ready); \
         keep the awaited value, or use Task::shared to read a result more than once"
    )
}

impl<'a, T: Send + 'a> Handle<'a, T> {
    pub(crate) fn new<F>(cell: CellRc<TaskCell<F, T>>) -> Self
    where
        F: FnOnce() -> T + Send + 'a,
    {
        Handle {
            cell: cell.erase(),
            polled: Polled::Idle,
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.header().stage().is_terminal()
    }

    pub(crate) fn cancel(&self) -> bool {
        if self.cell.abort(Abort::Cancelled) {
            return true;
        }
        self.header().state.request_cancel();
        false
    }

    pub(crate) fn is_running(&self) -> bool {
        self.header().stage() == Stage::Running
    }

    /// Waits until the task is terminal or the deadline passes; on a worker
    /// thread it runs work the task needs meanwhile.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> bool {
        wait_until(self, deadline)
    }

    /// On a worker of the task's own pool: runs the task here if it has not
    /// started yet. Returns whether it did.
    pub(crate) fn claim(&self, worker: &WorkerThread) -> bool {
        let header = self.header();
        if header.runs_on(worker) && header.stage() == Stage::Scheduled {
            self.cell.run_inline();
            true
        } else {
            false
        }
    }

    /// Runs the task on this thread, whatever thread it is, if it has not
    /// started yet; for owners that would otherwise sleep waiting for it
    /// (the consumer of a map). Returns whether it did.
    pub(crate) fn run_here(&self) -> bool {
        if self.header().stage() == Stage::Scheduled {
            self.cell.run_inline();
            true
        } else {
            false
        }
    }

    pub(crate) fn join(self) -> Result<T, TaskError> {
        self.wait_until(None);
        // SAFETY: `wait_until(None)` returns only once the stage is terminal,
        // and this handle is consumed, so it is the only reader.
        let result = unsafe { self.header().take_result() };
        // The result is taken: dropping the handle has nothing left to do
        // (no `DETACHED` read-modify-write); release just the reference.
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used again and its `Drop` never runs, so
        // the reference-counted cell is moved out exactly once.
        drop(unsafe { std::ptr::read(&this.cell) });
        result
    }

    /// `Future::poll` for the handle. A poll after `Ready` panics (futures
    /// may), naming the mistake.
    pub(crate) fn poll_result(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>> {
        let key = match self.polled {
            Polled::Idle => None,
            Polled::Waiting(key) => Some(key),
            Polled::Taken => result_taken("Task polled after it returned Ready"),
        };
        match self.cell.header().register(cx.waker(), key) {
            Some(key) => {
                self.polled = Polled::Waiting(key);
                Poll::Pending
            }
            None => {
                self.polled = Polled::Taken;
                // SAFETY: `register` returned `None` only after seeing a
                // terminal stage; `&mut self` makes this the only reader, and
                // `Taken` (set above, checked first) makes it the last.
                Poll::Ready(unsafe { self.header().take_result() })
            }
        }
    }

    /// Panics with [`result_taken`] (naming `what`) if `poll` took the result.
    #[inline]
    #[track_caller]
    pub(crate) fn expect_result(&self, what: &str) {
        if self.polled == Polled::Taken {
            result_taken(what);
        }
    }
}

impl<T> Handle<'_, T> {
    pub(crate) fn header(&self) -> &Header<T> {
        self.cell.header()
    }

    /// [`Task::on_result`] for any handle.
    pub(crate) fn on_result<C>(&self, callback: C)
    where
        C: FnOnce(Result<&T, &TaskError>) + Send + 'static,
        T: Sync,
    {
        self.header().on_result(Box::new(callback));
    }

    /// `cancel` for an owner that is being dropped and wants no result.
    pub(crate) fn cancel_quietly(&self) {
        let _ = self.cell.abort(Abort::Cancelled);
    }
}

impl<'a, T: Send + 'a> Waitable for Handle<'a, T> {
    fn is_done(&self) -> bool {
        self.is_finished()
    }

    fn block_until(&self, deadline: Option<Instant>) -> bool {
        self.header().block_until(deadline)
    }

    fn run_inline(&self, worker: &WorkerThread) -> bool {
        self.claim(worker)
    }
}

impl<T> Drop for Handle<'_, T> {
    fn drop(&mut self) {
        let header = self.cell.header();
        if let Polled::Waiting(key) = self.polled {
            header.deregister(key);
        }
        let prev = header.state.detach();
        if Stage::of(prev).is_terminal() && prev & DETACHED == 0 {
            // SAFETY: the stage was terminal when we detached (acquire), and
            // this handle is the only reader; after `join` the slot is empty.
            let outcome = unsafe { (*header.result.get()).take() };
            header.discard_slot(outcome);
        }
    }
}

/// A handle to a task submitted with [`Pool::submit`](crate::Pool::submit):
/// Python's `concurrent.futures.Future`, for one closure's result.
///
/// - [`join`](Task::join) blocks until the task ends and returns its value, or
///   a [`TaskError`] saying it panicked, was cancelled or was refused.
/// - [`wait_timeout`](Task::wait_timeout) waits a while and says whether it
///   ended; call it as often as you like.
/// - [`cancel`](Task::cancel) stops a task that has not started.
/// - `.await` works too: `Task<T>` is a `Future<Output = Result<T, TaskError>>`.
///   Awaiting it to completion moves the result out of the handle: the
///   `Future` impl's docs say what the handle still does afterwards.
///
/// Dropping a `Task` **detaches** it, like `std::thread::JoinHandle`: the task
/// still runs and its result is dropped when it ends.
///
/// Called on one of the pool's own worker threads, `join` and `wait_timeout`
/// do not leave the worker idle while there is work the awaited task needs:
/// if the awaited task has not started, the worker runs it itself, and it
/// runs the tasks that the task it is running submitted; then it blocks. So
/// nested waits cannot deadlock, even with one worker, and a task that waits
/// for tasks it did not submit cannot deadlock either (the worker never picks
/// up unrelated work that might wait for the task paused on its own stack).
/// What cannot work is a task waiting for *itself*, since only the thread
/// running it can end it: a `join` (or any wait without a timeout) of a task
/// from inside its own closure, from one of its [`on_result`](Task::on_result)
/// callbacks, or from its closure's `Drop` during [`cancel`](Task::cancel)
/// panics with "a task waited for its own result" instead of blocking
/// forever. So does a task that runs on top of it on the same thread: a
/// worker waiting in task X for something only another thread can finish
/// (a task of another pool, say) runs the tasks X submitted meanwhile, and
/// one of them that waits for X would wait for itself there; submitted
/// from X, it waits for X only on another worker. (A timed wait just times
/// out, unless its deadline is too far to represent, as with
/// `Duration::MAX`: that is a wait without a deadline. [`on_done`](Task::on_done)
/// callbacks run after the task has ended and may join it.)
///
/// ```
/// use corepool::Pool;
///
/// let pool = Pool::new().unwrap();
/// let task = pool.submit(|| (1..=20u64).product::<u64>());
/// assert_eq!(task.join().unwrap(), 2_432_902_008_176_640_000);
/// ```
#[must_use = "dropping a Task detaches it: the task still runs, but its result is lost"]
pub struct Task<T> {
    handle: Handle<'static, T>,
}

impl<T: Send + 'static> Task<T> {
    pub(crate) fn from_handle(handle: Handle<'static, T>) -> Self {
        Task { handle }
    }

    pub(crate) fn handle(&self) -> &Handle<'static, T> {
        &self.handle
    }

    pub(crate) fn into_handle(self) -> Handle<'static, T> {
        self.handle
    }

    /// Whether the task has ended: finished, panicked, cancelled or refused.
    /// Never blocks.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::new().unwrap();
    /// let task = pool.submit(|| 1);
    /// task.wait_timeout(std::time::Duration::from_secs(10));
    /// assert!(task.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits at most `timeout` for the task to end and says whether it has.
    /// The handle stays usable: call it again, or `join` it.
    ///
    /// On a worker thread it may run the awaited task itself, or tasks the
    /// current task submitted, while it waits (see the type's docs), so it may
    /// return later than `timeout` if one of those takes long.
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::time::Duration;
    ///
    /// let pool = Pool::new().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let task = pool.submit(move || rx.recv().is_ok());
    /// assert!(!task.wait_timeout(Duration::from_millis(1)));
    /// tx.send(()).unwrap();
    /// assert!(task.wait_timeout(Duration::from_secs(60)));
    /// assert!(task.join().unwrap());
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        self.handle.wait_until(deadline)
    }

    /// Cancels the task if it has not started: returns `true` and the closure
    /// is dropped without ever running; `join` then answers
    /// [`TaskError::is_cancelled`]. Returns `false` when the task is running
    /// or has ended. A running task is asked to stop: inside it,
    /// [`is_cancelled`](crate::is_cancelled) answers `true`, and if it then
    /// returns, `join` answers [`TaskError::is_stopped`] (its closure ran; its
    /// value is dropped). A task that never asks finishes as usual. A task
    /// that ran is never reported cancelled.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::builder().workers(1).build().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let blocker = pool.submit(move || rx.recv().unwrap());
    /// let queued = pool.submit(|| unreachable!("cancelled tasks never run"));
    /// assert!(queued.cancel());
    /// tx.send(()).unwrap();
    /// blocker.join().unwrap();
    /// assert!(queued.join().unwrap_err().is_cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        self.handle.cancel()
    }

    /// Whether the task is running now (started, not yet ended), like
    /// `Future.running()`. Never blocks.
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::sync::mpsc::channel;
    ///
    /// let pool = Pool::builder().workers(1).build()?;
    /// let (started_tx, started) = channel();
    /// let (release, release_rx) = channel::<()>();
    /// let task = pool.submit(move || {
    ///     started_tx.send(()).unwrap();
    ///     release_rx.recv().unwrap();
    /// });
    /// started.recv().unwrap();
    /// assert!(task.is_running());
    /// release.send(()).unwrap();
    /// task.join().unwrap();
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn is_running(&self) -> bool {
        self.handle.is_running()
    }

    /// Waits at most `timeout` for the result, like `Future.result(timeout)`:
    /// `Ok` with what [`join`](Task::join) would return, or `Err` with the
    /// handle itself when the time ran out, to wait again or cancel.
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::time::Duration;
    ///
    /// let pool = Pool::builder().workers(1).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let task = pool.submit(move || rx.recv().map(|()| 7).unwrap_or(0));
    /// let task = task.join_timeout(Duration::from_millis(1)).unwrap_err();
    /// tx.send(()).unwrap();
    /// assert_eq!(task.join_timeout(Duration::from_secs(60)).unwrap().unwrap(), 7);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If the task was awaited to completion (its result is gone), as
    /// [`join`](Task::join) does.
    #[track_caller]
    pub fn join_timeout(self, timeout: Duration) -> Result<Result<T, TaskError>, Task<T>> {
        self.handle.expect_result("Task::join_timeout");
        if self.wait_timeout(timeout) {
            Ok(self.handle.join())
        } else {
            Err(self)
        }
    }

    /// Runs `callback` once when the task ends (finished, panicked,
    /// cancelled or refused), on the thread that ends it; at once, on this
    /// thread, if it has ended already. Like `Future.add_done_callback`,
    /// several callbacks may be added. A panic in `callback` is contained
    /// (reported by the panic hook, then dropped). The callback should be
    /// short: it runs on a pool worker. It runs after the outcome is
    /// published, as Python's do: a `join` elsewhere may return before it
    /// has run (use [`on_result`](Self::on_result) for a callback that runs
    /// first).
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::sync::mpsc::channel;
    ///
    /// let pool = Pool::new()?;
    /// let (tx, rx) = channel();
    /// let task = pool.submit(|| 6 * 7);
    /// task.on_done(move || tx.send("done").unwrap());
    /// assert_eq!(rx.recv().unwrap(), "done");
    /// assert_eq!(task.join().unwrap(), 42);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    ///
    /// It needs no result, so it works after the task was awaited too (it
    /// runs at once).
    pub fn on_done<C>(&self, callback: C)
    where
        C: FnOnce() + Send + 'static,
    {
        on_done_waker(self.handle.header(), callback);
    }

    /// Runs `callback` once when the task ends, with a reference to its
    /// outcome — the value, or why there is none — like
    /// `Future.add_done_callback` whose function reads `future.result()`.
    /// It runs on the thread that ends the task, before any `join` can take
    /// the value, or at once on this thread if the task has ended. A panic
    /// in it is contained; keep it short (it runs on a pool worker).
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::sync::mpsc::channel;
    ///
    /// let pool = Pool::new()?;
    /// let (tx, rx) = channel();
    /// let task = pool.submit(|| 6 * 7);
    /// task.on_result(move |outcome| tx.send(*outcome.unwrap()).unwrap());
    /// assert_eq!(rx.recv().unwrap(), 42);
    /// assert_eq!(task.join().unwrap(), 42); // the value is still there
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If the task was awaited to completion: there is no outcome left to
    /// show, and `callback` is dropped without running. (A callback added
    /// before the `.await` ran before the result could be taken.)
    /// The [`Future`] impl's example shows it.
    #[track_caller]
    pub fn on_result<C>(&self, callback: C)
    where
        C: FnOnce(Result<&T, &TaskError>) + Send + 'static,
        T: Sync,
    {
        self.handle.expect_result("Task::on_result");
        self.handle.on_result(callback);
    }

    /// Blocks until the task ends and returns its value, or why there is none.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::new().unwrap();
    /// assert_eq!(pool.submit(|| "done").join().unwrap(), "done");
    /// ```
    ///
    /// # Panics
    ///
    /// If the task was awaited to completion (`.await` returned its result,
    /// so there is nothing left to return). [`is_finished`](Task::is_finished),
    /// [`wait_timeout`](Task::wait_timeout), [`on_done`](Task::on_done) and
    /// [`wait`](crate::wait) still answer (the task has ended).
    /// The [`Future`] impl's example shows it.
    #[track_caller]
    pub fn join(self) -> Result<T, TaskError> {
        self.handle.expect_result("Task::join");
        self.handle.join()
    }
}

/// Has `callback` run once when the task behind `header` ends (at once, here,
/// if it has ended), contained if it panics. Serves every handle's `on_done`.
pub(crate) fn on_done_waker<T, C>(header: &Header<T>, callback: C)
where
    C: FnOnce() + Send + 'static,
{
    let waker = Waker::from(Arc::new(DoneCallback(Mutex::new(Some(callback)))));
    if header.register(&waker, None).is_none() {
        waker.wake();
    }
}

/// A done callback, as a waker that runs it the first time it is woken.
struct DoneCallback<C>(Mutex<Option<C>>);

impl<C: FnOnce() + Send + 'static> std::task::Wake for DoneCallback<C> {
    fn wake(self: Arc<Self>) {
        let callback = self.0.lock().take();
        if let Some(callback) = callback {
            if let Err(payload) = unwind::halt_unwinding(callback) {
                unwind::drop_payload(payload);
            }
        }
    }
}

/// `.await` (or a poll) returns the task's result once it ends, moving it
/// out of the handle, as [`join`](Task::join) would.
///
/// The handle stays usable afterwards for what needs no result:
/// [`is_finished`](Task::is_finished) answers `true`,
/// [`wait_timeout`](Task::wait_timeout) `true`, [`cancel`](Task::cancel)
/// `false`; [`on_done`](Task::on_done) runs its callback at once; [`wait`](crate::wait)
/// and [`as_completed`](crate::as_completed) over a reference (`&task`) count
/// it finished. What needs the result panics with a message saying it was
/// taken by `.await`: polling again, [`join`](Task::join),
/// [`join_timeout`](Task::join_timeout), [`on_result`](Task::on_result),
/// [`shared`](Task::shared), and `as_completed` given the `Task` itself.
///
/// ```
/// # fn block_on<F: std::future::Future>(f: F) -> F::Output {
/// #     let mut f = std::pin::pin!(f);
/// #     let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
/// #     loop {
/// #         if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) { return v; }
/// #         std::thread::yield_now();
/// #     }
/// # }
/// let pool = corepool::Pool::new()?;
/// let mut task = pool.submit(|| 6 * 7);
/// assert_eq!(block_on(&mut task).unwrap(), 42);
/// assert!(task.is_finished());
/// let join = std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || task.join()));
/// assert!(join.is_err(), "the value was taken by .await");
/// # Ok::<(), corepool::BuildError>(())
/// ```
impl<T: Send + 'static> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `Task` is `Unpin`: nothing in it is pinned structurally.
        self.get_mut().handle.poll_result(cx)
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field(
                "state",
                &format_args!("{}", self.handle.header().describe()),
            )
            .finish()
    }
}

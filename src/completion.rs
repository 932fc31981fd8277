//! Taking results as tasks finish: [`as_completed`] and [`wait`], like
//! Python's `concurrent.futures.as_completed` and `wait`.
//!
//! Both put a waker in each unfinished task's waiter list (`task/cell.rs`); the
//! waker pushes the task's index onto a [`ReadyQueue`] and unparks the thread
//! waiting on it (running work the wait needs meanwhile when it is a pool
//! worker). A task that has finished already is put on the queue at once,
//! before any other, so finished tasks come first. `wait` for
//! [`WaitFor::AllCompleted`] or [`WaitFor::FirstPanic`] watches one task at
//! a time instead, the last one unfinished, and wakes about once per task
//! still running when that one ends, not at every end; for the first panic
//! every task also gets a waker that only a panic wakes. Any number of
//! `wait`s and `as_completed`s may watch the same tasks: each has its own
//! waker in the list, so none steals another's wake-up, and none polls on a
//! timer. A `wait` takes its wakers out again when it returns.

// Layer: many (`lib.rs`, "Layers"). It may use the cell, sched and base
// layers, the other many files, and the `Pool` type (to add its methods),
// nothing else of the face.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use crate::error::TaskError;
use crate::shared::SharedTask;
use crate::sync::{Mutex, Thread, current_thread};
use crate::task::{Handle, Header, Task, claimed_cells, waited_for_itself};
use crate::wait::{Waitable, park_until, wait_until};
use crate::worker::WorkerThread;

/// A handle that [`as_completed`] and [`wait`] can watch: [`Task`],
/// [`SharedTask`], and references to any of them, including `&dyn Watch`,
/// so that tasks of different result types can be watched together.
/// Sealed: the pool's handles are the only implementors.
///
/// ```
/// use corepool::{Pool, Watch, WaitFor, wait};
///
/// let pool = Pool::new()?;
/// let number = pool.submit(|| 7u64);
/// let text = pool.submit(|| String::from("seven"));
/// let both: [&dyn Watch; 2] = [&number, &text];
/// let waited = wait(&both, WaitFor::AllCompleted, None);
/// assert_eq!(waited.done, [0, 1]);
/// assert_eq!((number.join().unwrap(), text.join().unwrap().as_str()), (7, "seven"));
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub trait Watch: sealed::Sealed {}

/// A handle that [`as_completed`] can hand back when its task ends: a
/// [`Task`] gives its result, a [`SharedTask`] itself (as Python's
/// `as_completed` yields the future), a reference the reference.
///
/// ```
/// use corepool::{Pool, as_completed};
///
/// let pool = Pool::new()?;
/// let shared = pool.submit(|| 3).shared();
/// // SharedTask: Completes, yielding the handle (read it as often as you like).
/// for (index, done) in as_completed(vec![shared.clone()]) {
///     assert_eq!((index, done.join().unwrap()), (0, &3));
/// }
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub trait Completes: Watch {
    /// What `as_completed` yields for this handle, beside its index.
    type Output;
    /// Called once the task has ended.
    #[doc(hidden)]
    fn complete(self) -> Self::Output;
}

pub(crate) mod sealed {
    use std::task::Waker;

    /// What watching needs from a task, in std types only.
    pub trait Sealed {
        /// The task's cell, as an address: duplicates share it.
        fn cell_id(&self) -> usize;
        fn is_finished(&self) -> bool;
        fn ended_in_panic(&self) -> bool;
        fn register(&self, waker: &Waker) -> Option<u64>;
        /// A waker woken only if the task ends in a panic (or a failed
        /// promise), dropped at any other end (`Header::register_for_panic`).
        fn register_for_panic(&self, waker: &Waker) -> Option<u64>;
        fn deregister(&self, key: u64);
        /// On a worker of the task's pool, runs the task here if it has not
        /// started; whether it did.
        fn claim_here(&self) -> bool;
    }
}

impl<'a, T: Send + 'a> sealed::Sealed for Handle<'a, T> {
    fn cell_id(&self) -> usize {
        self.header() as *const _ as *const () as usize
    }
    fn is_finished(&self) -> bool {
        Handle::is_finished(self)
    }
    fn ended_in_panic(&self) -> bool {
        self.header().panicked()
    }
    fn register(&self, waker: &Waker) -> Option<u64> {
        self.header().register(waker, None)
    }
    fn register_for_panic(&self, waker: &Waker) -> Option<u64> {
        self.header().register_for_panic(waker)
    }
    fn deregister(&self, key: u64) {
        self.header().deregister(key)
    }
    fn claim_here(&self) -> bool {
        WorkerThread::current().is_some_and(|worker| self.claim(worker))
    }
}

/// Implements the sealed trait by handing every method to `$inner`.
macro_rules! watch_through {
    ([$($g:tt)*] $ty:ty, |$this:ident| $inner:expr) => {
        impl<$($g)*> sealed::Sealed for $ty {
            fn cell_id(&self) -> usize {
                let $this = self;
                sealed::Sealed::cell_id($inner)
            }
            fn is_finished(&self) -> bool {
                let $this = self;
                sealed::Sealed::is_finished($inner)
            }
            fn ended_in_panic(&self) -> bool {
                let $this = self;
                sealed::Sealed::ended_in_panic($inner)
            }
            fn register(&self, waker: &Waker) -> Option<u64> {
                let $this = self;
                sealed::Sealed::register($inner, waker)
            }
            fn register_for_panic(&self, waker: &Waker) -> Option<u64> {
                let $this = self;
                sealed::Sealed::register_for_panic($inner, waker)
            }
            fn deregister(&self, key: u64) {
                let $this = self;
                sealed::Sealed::deregister($inner, key)
            }
            fn claim_here(&self) -> bool {
                let $this = self;
                sealed::Sealed::claim_here($inner)
            }
        }
        impl<$($g)*> Watch for $ty {}
    };
}

watch_through!([T: Send + 'static] Task<T>, |t| t.handle());
watch_through!([T: Send + 'static] SharedTask<T>, |t| t.handle());
watch_through!(['a, W: Watch + ?Sized] &'a W, |t| &**t);

impl<T: Send + 'static> Completes for Task<T> {
    type Output = Result<T, TaskError>;
    fn complete(self) -> Self::Output {
        // A task awaited to completion counts as finished, but its result
        // is gone: yielding it panics naming the mistake.
        self.handle()
            .expect_result("as_completed yielding a Task (pass &task instead)");
        self.join()
    }
}

impl<T: Send + 'static> Completes for SharedTask<T> {
    type Output = SharedTask<T>;
    fn complete(self) -> Self::Output {
        self
    }
}

impl<'a, W: Watch + ?Sized> Completes for &'a W {
    type Output = &'a W;
    fn complete(self) -> Self::Output {
        self
    }
}

/// Indices of finished tasks, in the order they finished, and the thread
/// waiting for the next one.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    inner: Mutex<Ready>,
}

#[derive(Debug, Default)]
struct Ready {
    indices: VecDeque<usize>,
    waiter: Option<Thread>,
    /// How many indices wake the waiter; 0 reads as 1. More than one only
    /// during [`ReadyQueue::wait_for_count`].
    wake_at: usize,
}

impl ReadyQueue {
    pub(crate) fn push(&self, index: usize) {
        let waiter = {
            let mut inner = self.inner.lock();
            inner.indices.push_back(index);
            if inner.indices.len() >= inner.wake_at.max(1) {
                inner.waiter.clone()
            } else {
                None
            }
        };
        if let Some(thread) = waiter {
            thread.unpark();
        }
    }

    pub(crate) fn pop(&self) -> Option<usize> {
        self.inner.lock().indices.pop_front()
    }

    /// On a thread outside the pool: waits until `count` indices are
    /// queued, or until `deadline`; the pushes before the `count`th wake
    /// nobody (`Pool::map_unordered`'s gathering consumer, `map.rs`,
    /// "Waking the consumer"). Returns whether `count` were reached.
    ///
    /// The count and the waiter are set under the lock every push takes,
    /// and the wait looks again after each unpark, so the push that reaches
    /// the count either sees both or comes before the first look.
    pub(crate) fn wait_for_count(&self, count: usize, deadline: Instant) -> bool {
        {
            let mut inner = self.inner.lock();
            inner.waiter = Some(current_thread());
            inner.wake_at = count;
        }
        let reached = park_until(|| self.inner.lock().indices.len() >= count, Some(deadline));
        self.inner.lock().wake_at = 0;
        reached
    }

    /// Has the task behind `header` push `index` here when it ends (at once
    /// if it has ended already). Returns the key of the waker to remove with
    /// `Header::deregister`, or `None` when it had ended.
    pub(crate) fn watch<T>(self: &Arc<Self>, index: usize, header: &Header<T>) -> Option<u64> {
        self.watch_task(index, &|waker| header.register(waker, None))
    }

    /// [`watch`](Self::watch) for any handle: `register` puts a waker in the
    /// task's list, returning its key, or `None` when the task has ended.
    pub(crate) fn watch_task(
        self: &Arc<Self>,
        index: usize,
        register: &dyn Fn(&Waker) -> Option<u64>,
    ) -> Option<u64> {
        let waker = Waker::from(Arc::new(IndexWaker {
            index,
            queue: self.clone(),
        }));
        let key = register(&waker);
        if key.is_none() {
            self.push(index);
        }
        key
    }
}

impl Waitable for ReadyQueue {
    fn is_done(&self) -> bool {
        !self.inner.lock().indices.is_empty()
    }

    fn block_until(&self, deadline: Option<Instant>) -> bool {
        // The iterator may move between threads between waits: name the
        // waiting thread each time.
        self.inner.lock().waiter = Some(current_thread());
        park_until(|| self.is_done(), deadline)
    }
}

/// A wait for the next index on a [`ReadyQueue`], which may claim and run
/// one of the awaited tasks that has not started (on a worker thread).
pub(crate) struct NextReady<'a> {
    pub(crate) queue: &'a ReadyQueue,
    pub(crate) claim: &'a dyn Fn(&WorkerThread) -> bool,
}

impl Waitable for NextReady<'_> {
    fn is_done(&self) -> bool {
        self.queue.is_done()
    }

    fn block_until(&self, deadline: Option<Instant>) -> bool {
        self.queue.block_until(deadline)
    }

    fn run_inline(&self, worker: &WorkerThread) -> bool {
        (self.claim)(worker)
    }
}

/// A waker that reports one task's index to a [`ReadyQueue`].
struct IndexWaker {
    index: usize,
    queue: Arc<ReadyQueue>,
}

impl Wake for IndexWaker {
    fn wake(self: Arc<Self>) {
        self.queue.push(self.index);
    }
}

/// A deadline for an iterator that yields `Result<_, Timeout>`: at most one
/// `Err(Timeout)`, then nothing. Shared by `as_completed(..).within(..)` and
/// the maps' `within`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    at: Option<Instant>,
    passed: bool,
}

impl Deadline {
    pub(crate) fn after(timeout: Duration) -> Deadline {
        Deadline {
            at: Instant::now().checked_add(timeout),
            passed: false,
        }
    }

    /// The next item from `next_until(deadline)`, or nothing once a timeout
    /// was yielded.
    pub(crate) fn next<T>(
        &mut self,
        next_until: impl FnOnce(Option<Instant>) -> Option<Result<T, Timeout>>,
    ) -> Option<Result<T, Timeout>> {
        if self.passed {
            return None;
        }
        let item = next_until(self.at);
        self.passed = matches!(item, Some(Err(_)));
        item
    }
}

/// The deadline of [`AsCompleted::within`] passed before every task finished.
///
/// ```
/// use corepool::Timeout;
/// assert_eq!(Timeout { unfinished: 3, total: 5 }.to_string(), "timed out with 3 of 5 tasks unfinished");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("timed out with {unfinished} of {total} tasks unfinished")]
pub struct Timeout {
    /// How many tasks (or a map's items) had not finished.
    pub unfinished: usize,
    /// How many there were in all (for a map over an input of unknown
    /// length: how many it had taken from the input so far).
    pub total: usize,
}

/// One item of [`AsCompleted`]: a task's index and its outcome.
///
/// ```
/// use corepool::{Completed, as_completed};
///
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let (index, result): Completed<u32> = as_completed(vec![pool.submit(|| 7)]).next().unwrap();
/// assert_eq!((index, result.unwrap()), (0, 7));
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub type Completed<T> = (usize, Result<T, TaskError>);

/// Yields `(index, outcome)` for each task as it finishes; see
/// [`as_completed`]. `W` is the handle type: for [`Task<T>`] the outcome is
/// its `Result<T, TaskError>`.
///
/// ```
/// use corepool::{AsCompleted, Task, as_completed};
///
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let tasks: Vec<Task<u32>> = (1..=3).map(|i| pool.submit(move || i * i)).collect();
/// let done: AsCompleted<Task<u32>> = as_completed(tasks);
/// assert_eq!(done.len(), 3);
/// let mut squares: Vec<u32> = done.map(|(_, result)| result.unwrap()).collect();
/// squares.sort();
/// assert_eq!(squares, [1, 4, 9]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use = "iterators are lazy"]
pub struct AsCompleted<W: Completes> {
    tasks: Vec<Option<W>>,
    /// The key of each task's waker in its waiter list, while registered.
    keys: Vec<Option<u64>>,
    queue: Arc<ReadyQueue>,
    remaining: usize,
    /// Distinct tasks given (duplicates count once).
    total: usize,
}

impl<W: Completes> std::fmt::Debug for AsCompleted<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsCompleted")
            .field("remaining", &self.remaining)
            .field("total", &self.total)
            .finish_non_exhaustive()
    }
}

/// Takes each task's result as soon as it finishes, like Python's
/// `concurrent.futures.as_completed`: the iterator yields `(index, result)`,
/// where `index` is the task's position in `tasks`, in completion order; tasks
/// finished before the call come first. Cancelled and refused tasks count as
/// finished (their result is the error).
///
/// A [`Task`] that was awaited to completion counts as finished too, but its
/// result is gone: yielding it panics with a message saying so. Pass a
/// reference (`&task`) to watch such a handle.
///
/// It takes any handle that [`Completes`]: [`Task`]s (yielding each result),
/// [`SharedTask`]s (yielding the handle, as Python yields the future) or
/// references (`&Task<T>`, `&SharedTask<T>`, `&dyn Watch` for tasks of
/// different result types; yielding the reference). A task given twice (two
/// clones of one shared handle) is yielded once, at its first index, as
/// Python's `as_completed` does.
///
/// For a deadline, see [`AsCompleted::within`].
///
/// # Panics
///
/// Iterating without a deadline panics ("a task waited for its own
/// result"), as a `join` of the task would, where every task not yielded
/// yet is one the calling thread is running (its own task, from its
/// closure, or one it runs on top of): only that thread could end them,
/// so the wait would never return.
///
/// ```
/// use corepool::{Pool, as_completed};
///
/// let pool = Pool::new()?;
/// let tasks: Vec<_> = (0..5u64).map(|i| pool.submit(move || i * 10)).collect();
/// let mut seen: Vec<(usize, u64)> =
///     as_completed(tasks).map(|(i, r)| (i, r.unwrap())).collect();
/// seen.sort();
/// assert_eq!(seen, [(0, 0), (1, 10), (2, 20), (3, 30), (4, 40)]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub fn as_completed<W: Completes>(tasks: impl IntoIterator<Item = W>) -> AsCompleted<W> {
    let mut seen = std::collections::HashSet::new();
    let tasks: Vec<Option<W>> = tasks
        .into_iter()
        .map(|task| seen.insert(task.cell_id()).then_some(task))
        .collect();
    let queue = Arc::new(ReadyQueue::default());
    let mut unfinished = Vec::new();
    for (index, task) in tasks.iter().enumerate() {
        match task {
            Some(task) if task.is_finished() => queue.push(index),
            Some(_) => unfinished.push(index),
            None => {}
        }
    }
    let mut keys = vec![None; tasks.len()];
    for index in unfinished {
        let task = tasks[index].as_ref().expect("kept above");
        keys[index] = queue.watch_task(index, &|waker| task.register(waker));
    }
    let total = seen.len();
    AsCompleted {
        tasks,
        keys,
        queue,
        remaining: total,
        total,
    }
}

impl<W: Completes> AsCompleted<W> {
    /// How many tasks have not been yielded yet.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let mut done = corepool::as_completed((0..3).map(|i| pool.submit(move || i)).collect::<Vec<_>>());
    /// assert_eq!(done.remaining(), 3);
    /// done.next();
    /// assert_eq!(done.remaining(), 2);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// Gives a deadline of `timeout` from now: the iterator then yields
    /// `Ok((index, result))` as before, and once the deadline passes with tasks
    /// unfinished, one `Err(Timeout)` and then nothing. The unfinished tasks
    /// stay usable through [`Within::into_pending`].
    ///
    /// ```
    /// use corepool::{Pool, Timeout, as_completed};
    /// use std::time::Duration;
    ///
    /// let pool = Pool::builder().workers(1).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let tasks = vec![pool.submit(|| 1), pool.submit(move || { rx.recv().unwrap(); 2 })];
    /// let mut within = as_completed(tasks).within(Duration::from_millis(20));
    /// assert_eq!(within.next().unwrap().unwrap().0, 0);
    /// let timeout = within.next().unwrap().unwrap_err();
    /// assert_eq!(timeout, Timeout { unfinished: 1, total: 2 });
    /// assert_eq!(timeout.to_string(), "timed out with 1 of 2 tasks unfinished");
    /// assert!(within.next().is_none());
    /// let pending = within.into_pending();
    /// tx.send(()).unwrap();
    /// assert_eq!(pending[0].0, 1);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn within(self, timeout: Duration) -> Within<W> {
        Within {
            inner: self,
            deadline: Deadline::after(timeout),
        }
    }

    /// The tasks not yielded yet, with their indices, ascending.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let tasks = vec![pool.submit(move || rx.recv().is_ok())];
    /// let pending = corepool::as_completed(tasks).into_pending();
    /// assert_eq!(pending.len(), 1);
    /// tx.send(()).unwrap();
    /// assert!(pending.into_iter().all(|(_, t)| t.join().unwrap()));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn into_pending(mut self) -> Vec<(usize, W)> {
        self.forget_wakers();
        std::mem::take(&mut self.tasks)
            .into_iter()
            .enumerate()
            .filter_map(|(i, t)| t.map(|t| (i, t)))
            .collect()
    }

    /// Before a wait without a deadline blocks: panics (as a `join` of
    /// the task from its own closure does) when every task not yielded yet
    /// is one this thread has claimed and not ended — its own, or one it
    /// runs on top of (rule 3 of `task/mod.rs`) — since only this thread
    /// could end them. Unyielded tasks are distinct cells, so where more
    /// remain than this thread has claimed, some other task can end: the
    /// check costs a thread-local read, and a scan only over the last few.
    fn refuse_to_wait_for_itself(&self) {
        let claimed = claimed_cells();
        if self.remaining == 0 || self.remaining > claimed.len() {
            return;
        }
        let own = self
            .tasks
            .iter()
            .flatten()
            .filter(|task| claimed.contains(&task.cell_id()))
            .count();
        if own == self.remaining {
            waited_for_itself();
        }
    }

    /// Takes this iterator's wakers out of the tasks still unyielded.
    fn forget_wakers(&mut self) {
        for (task, key) in self.tasks.iter().zip(&mut self.keys) {
            if let (Some(task), Some(key)) = (task, key.take()) {
                task.deregister(key);
            }
        }
    }

    fn next_until(
        &mut self,
        deadline: Option<Instant>,
    ) -> Option<Result<(usize, W::Output), Timeout>> {
        if self.remaining == 0 {
            return None;
        }
        loop {
            if let Some(index) = self.queue.pop() {
                // A task is reported once, but a waker could fire after an
                // earlier "already finished" push; skip what was taken.
                if let Some(task) = self.tasks[index].take() {
                    self.keys[index] = None;
                    self.remaining -= 1;
                    return Some(Ok((index, task.complete())));
                }
                continue;
            }
            if deadline.is_none() {
                self.refuse_to_wait_for_itself();
            }
            let tasks = &self.tasks;
            let claim = |_: &WorkerThread| tasks.iter().flatten().any(|t| t.claim_here());
            let next = NextReady {
                queue: &self.queue,
                claim: &claim,
            };
            if !wait_until(&next, deadline) {
                return Some(Err(Timeout {
                    unfinished: self.remaining,
                    total: self.total,
                }));
            }
        }
    }
}

impl<W: Completes> Iterator for AsCompleted<W> {
    type Item = (usize, W::Output);

    fn next(&mut self) -> Option<Self::Item> {
        self.next_until(None)
            .map(|r| r.expect("no deadline, no timeout"))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<W: Completes> ExactSizeIterator for AsCompleted<W> {}

impl<W: Completes> Drop for AsCompleted<W> {
    fn drop(&mut self) {
        self.forget_wakers();
    }
}

/// [`as_completed`] with a deadline; see [`AsCompleted::within`].
///
/// ```
/// use corepool::{Task, Within, as_completed};
/// use std::time::Duration;
///
/// let (promise, task) = corepool::promise::<u8>();
/// promise.set(5).unwrap();
/// let within: Within<Task<u8>> = as_completed(vec![task]).within(Duration::from_secs(60));
/// let got: Vec<(usize, u8)> = within.map(|r| r.unwrap()).map(|(i, v)| (i, v.unwrap())).collect();
/// assert_eq!(got, [(0, 5)]);
/// ```
#[must_use = "iterators are lazy"]
#[derive(Debug)]
pub struct Within<W: Completes> {
    inner: AsCompleted<W>,
    deadline: Deadline,
}

impl<W: Completes> Within<W> {
    /// The tasks not yielded yet, with their indices, ascending; they are
    /// still running or queued and can be joined, awaited or cancelled.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (promise, task) = corepool::promise::<u8>();
    /// let within = corepool::as_completed(vec![task]).within(Duration::from_secs(60));
    /// let pending = within.into_pending(); // nothing was yielded: the one task
    /// promise.set(5).unwrap();
    /// let (index, task) = pending.into_iter().next().unwrap();
    /// assert_eq!((index, task.join().unwrap()), (0, 5));
    /// ```
    pub fn into_pending(self) -> Vec<(usize, W)> {
        self.inner.into_pending()
    }

    /// How many tasks have not been yielded yet.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = corepool::Pool::new()?;
    /// let tasks: Vec<_> = (0..2).map(|i| pool.submit(move || i)).collect();
    /// let mut within = corepool::as_completed(tasks).within(Duration::from_secs(60));
    /// assert_eq!(within.remaining(), 2);
    /// within.next();
    /// assert_eq!(within.remaining(), 1);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn remaining(&self) -> usize {
        self.inner.remaining
    }
}

impl<W: Completes> Iterator for Within<W> {
    type Item = Result<(usize, W::Output), Timeout>;

    fn next(&mut self) -> Option<Self::Item> {
        let inner = &mut self.inner;
        self.deadline.next(|at| inner.next_until(at))
    }
}

/// What [`wait`] waits for, as Python's `FIRST_COMPLETED`, `FIRST_EXCEPTION`
/// and `ALL_COMPLETED`.
///
/// ```
/// use corepool::{WaitFor, wait};
///
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let (promise, unset) = corepool::promise::<u32>();
/// let tasks = [pool.submit(|| 1), unset];
/// let first = wait(&tasks, WaitFor::FirstCompleted, None);
/// assert_eq!((first.done, first.pending), (vec![0], vec![1]));
/// drop(promise); // ends the second task (abandoned)
/// assert_eq!(wait(&tasks, WaitFor::AllCompleted, None).done, [0, 1]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitFor {
    /// Return as soon as any task has finished (at once if one has).
    FirstCompleted,
    /// Return as soon as any task has panicked, or when all have finished.
    /// A cancellation is not a panic.
    FirstPanic,
    /// Return when every task has finished.
    AllCompleted,
}

/// The answer of [`wait`]: which tasks had finished and which had not, by
/// their index in the slice, ascending.
///
/// ```
/// use corepool::{WaitFor, Waited, wait};
///
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let tasks: Vec<_> = (0..3).map(|i| pool.submit(move || i)).collect();
/// let waited: Waited = wait(&tasks, WaitFor::AllCompleted, None);
/// assert_eq!(waited, Waited { done: vec![0, 1, 2], pending: vec![] });
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Waited {
    /// Indices of the finished tasks (including cancelled and refused ones).
    pub done: Vec<usize>,
    /// Indices of the tasks still queued or running.
    pub pending: Vec<usize>,
}

/// Waits for some or all of `tasks` to finish, like Python's
/// `concurrent.futures.wait`, at most `timeout` (forever with `None`). It
/// borrows the handles, so they stay usable, and answers with indices.
/// Passing the timeout is not an error: the answer then lists what is still
/// pending. An empty slice returns at once.
///
/// `tasks` may be [`Task`]s, [`SharedTask`]s (a task given twice is listed
/// at both indices) or references to either, including `&dyn Watch` for tasks
/// of different result types (see [`Watch`]).
///
/// # Panics
///
/// Without a timeout, where every task it still waits for is one the
/// calling thread is running (its own task, from its closure, or one it
/// runs on top of): only that thread could end them, so the wait would
/// never return. It panics then ("a task waited for its own result"), as
/// a `join` of the task would; a `FirstCompleted` wait that another task
/// can still end waits for it. (A timeout too long for the clock, such as
/// `Duration::MAX`, counts as none.)
///
/// ```
/// use corepool::{Pool, WaitFor, wait};
///
/// let pool = Pool::new()?;
/// let tasks: Vec<_> = (0..4).map(|i| pool.submit(move || i)).collect();
/// let waited = wait(&tasks, WaitFor::AllCompleted, None);
/// assert_eq!(waited.done, [0, 1, 2, 3]);
/// assert!(waited.pending.is_empty());
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub fn wait<W: Watch>(tasks: &[W], mode: WaitFor, timeout: Option<Duration>) -> Waited {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let queue = Arc::new(ReadyQueue::default());
    let mut done: Vec<bool> = tasks.iter().map(|t| t.is_finished()).collect();
    let mut done_count = done.iter().filter(|&&d| d).count();
    let satisfied = |done: &[bool], done_count: usize| match mode {
        WaitFor::AllCompleted => done_count == tasks.len(),
        WaitFor::FirstCompleted => done_count > 0 || tasks.is_empty(),
        WaitFor::FirstPanic => {
            done_count == tasks.len()
                || done
                    .iter()
                    .zip(tasks)
                    .any(|(&d, t)| d && t.ended_in_panic())
        }
    };
    if !satisfied(&done, done_count) {
        // Puts a waker for task `index` in its list (woken only by a panic
        // if `panic_only`); an index whose task has ended is pushed at once.
        let watch = |index: usize, panic_only: bool| {
            let task = &tasks[index];
            queue.watch_task(index, &|waker| match panic_only {
                true => task.register_for_panic(waker),
                false => task.register(waker),
            })
        };
        // Every waker this wait put in a list, to take out again.
        let mut keys: Vec<(usize, u64)> = Vec::new();
        // AllCompleted and FirstPanic follow the last unfinished task
        // (`last`: every task from there on has finished) with a waker
        // woken at its end. Tasks start in submission order, so by the time
        // the last has ended most others have, and the waiter wakes about
        // once per task still running then. A waker on every task woke it
        // at every end: for 10,000 tasks of ~5 µs on 2 workers, ~4,500
        // wake-ups and 1.17× the time of joining each handle in turn.
        // FirstPanic also puts a panic-only waker on every task: its end
        // wakes the waiter only if it panicked.
        let follow_last = mode != WaitFor::FirstCompleted;
        let mut last = tasks.len();
        let mut watching = None;
        // On a worker, the tasks before this index have been offered to
        // `claim_here` once: a task it turned down (started, ended, or of
        // another pool) never becomes claimable here again. Only watched
        // tasks are marked done as they end, so without it every claim
        // asked every earlier task again (a worker's `wait` for all of
        // 20,000 tasks took 14 times as long; found by a second reader).
        let claimed_to = std::cell::Cell::new(0);
        // Which tasks this thread has claimed and not ended (its own, or
        // ones it runs on top of: rule 3 of `task/mod.rs`): only it can end
        // them, so a wait without a deadline left with those alone would
        // never return, and panics instead, as a `join` of them does. Empty
        // (no scan) on a thread that runs no task; the list cannot change
        // while this wait runs, since whatever the wait runs meanwhile has
        // ended when it blocks.
        let own: Vec<bool> = match deadline {
            None => {
                let claimed = claimed_cells();
                if claimed.is_empty() {
                    Vec::new()
                } else {
                    // O(tasks × claims), once: claims are nested tasks
                    // on this thread's stack, a handful at most.
                    let own: Vec<bool> = tasks
                        .iter()
                        .map(|t| claimed.contains(&t.cell_id()))
                        .collect();
                    if own.contains(&true) { own } else { Vec::new() }
                }
            }
            Some(_) => Vec::new(),
        };
        if !own.is_empty() {
            // Every other task's end wakes this wait, so that it looks
            // again once only its own are left (following only the last
            // unfinished task, its own, nothing would wake it).
            for (index, _) in own.iter().enumerate().filter(|&(i, &own)| !own && !done[i]) {
                keys.extend(watch(index, false).map(|key| (index, key)));
            }
        }
        if mode != WaitFor::AllCompleted {
            let panic_only = mode == WaitFor::FirstPanic;
            for (index, _) in done.iter().enumerate().filter(|&(_, &d)| !d) {
                keys.extend(watch(index, panic_only).map(|key| (index, key)));
            }
        }
        loop {
            while let Some(index) = queue.pop() {
                if watching == Some(index) {
                    watching = None;
                }
                if !done[index] {
                    done[index] = true;
                    done_count += 1;
                }
            }
            if follow_last && watching.is_none() {
                while last > 0 && (done[last - 1] || tasks[last - 1].is_finished()) {
                    last -= 1;
                    if !done[last] {
                        done[last] = true;
                        done_count += 1;
                    }
                }
                if last > 0 {
                    watching = Some(last - 1);
                    // An end between the look above and the registration
                    // pushes the index at once: the next pass pops it.
                    keys.extend(watch(last - 1, false).map(|key| (last - 1, key)));
                    continue;
                }
            }
            if satisfied(&done, done_count) {
                break;
            }
            if !own.is_empty() {
                // Tasks that ended unwatched (AllCompleted follows only the
                // last) are marked first: the wait may be satisfied.
                for (index, task) in tasks.iter().enumerate() {
                    if !done[index] && task.is_finished() {
                        done[index] = true;
                        done_count += 1;
                    }
                }
                if satisfied(&done, done_count) {
                    break;
                }
                if done.iter().zip(&own).all(|(&done, &own)| done || own) {
                    // Our wakers leave the tasks first: a caller that
                    // catches the panic and waits again would pile them up.
                    for (index, key) in keys {
                        tasks[index].deregister(key);
                    }
                    waited_for_itself();
                }
            }
            let claim = |_: &WorkerThread| loop {
                let index = claimed_to.get();
                let Some(task) = tasks.get(index) else {
                    return false;
                };
                claimed_to.set(index + 1);
                if !done[index] && task.claim_here() {
                    return true;
                }
            };
            let next = NextReady {
                queue: &queue,
                claim: &claim,
            };
            if !wait_until(&next, deadline) {
                break;
            }
        }
        // Our wakers leave the tasks that have not ended, so that waiting
        // again and again does not grow their lists.
        for (index, key) in keys {
            tasks[index].deregister(key);
        }
    }
    // A last look, so the answer is as fresh as possible.
    let (mut finished, mut pending) = (Vec::new(), Vec::new());
    for (index, task) in tasks.iter().enumerate() {
        if done[index] || task.is_finished() {
            finished.push(index);
        } else {
            pending.push(index);
        }
    }
    Waited {
        done: finished,
        pending,
    }
}

//! Taking results as tasks finish: [`as_completed`] and [`wait`], like
//! Python's `concurrent.futures.as_completed` and `wait`.
//!
//! Both put a waker in each unfinished task's waiter list (`task.rs`); the
//! waker pushes the task's index onto a [`ReadyQueue`] and unparks the thread
//! waiting on it (running work the wait needs meanwhile when it is a pool
//! worker). A task that has finished already is put on the queue at once,
//! before any other, so finished tasks come first. Any number of `wait`s and
//! `as_completed`s may watch the same tasks: each has its own waker in the
//! list, so none steals another's wake-up, and none polls on a timer. A
//! `wait` takes its wakers out again when it returns.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use crate::error::TaskError;
use crate::sync::{Mutex, Thread, current_thread};
use crate::task::{Header, Task};
use crate::wait::{Waitable, park_until, wait_until};
use crate::worker::WorkerThread;

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
}

impl ReadyQueue {
    pub(crate) fn push(&self, index: usize) {
        let waiter = {
            let mut inner = self.inner.lock();
            inner.indices.push_back(index);
            inner.waiter.clone()
        };
        if let Some(thread) = waiter {
            thread.unpark();
        }
    }

    pub(crate) fn pop(&self) -> Option<usize> {
        self.inner.lock().indices.pop_front()
    }

    /// Has the task behind `header` push `index` here when it ends (at once
    /// if it has ended already). Returns the key of the waker to remove with
    /// `Header::deregister`, or `None` when it had ended.
    pub(crate) fn watch<T>(self: &Arc<Self>, index: usize, header: &Header<T>) -> Option<u64> {
        let waker = Waker::from(Arc::new(IndexWaker {
            index,
            queue: self.clone(),
        }));
        let key = header.register(&waker, None);
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
/// assert_eq!(Timeout { unfinished: 3 }.to_string(), "timed out with 3 tasks unfinished");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("timed out with {unfinished} tasks unfinished")]
pub struct Timeout {
    /// How many tasks had not finished.
    pub unfinished: usize,
}

/// One item of [`AsCompleted`]: a task's index and its outcome.
pub type Completed<T> = (usize, Result<T, TaskError>);

/// Yields `(index, result)` for each task as it finishes; see
/// [`as_completed`].
#[must_use = "iterators are lazy"]
#[derive(Debug)]
pub struct AsCompleted<T: Send + 'static> {
    tasks: Vec<Option<Task<T>>>,
    /// The key of each task's waker in its waiter list, while registered.
    keys: Vec<Option<u64>>,
    queue: Arc<ReadyQueue>,
    remaining: usize,
}

/// Takes each task's result as soon as it finishes, like Python's
/// `concurrent.futures.as_completed`: the iterator yields `(index, result)`,
/// where `index` is the task's position in `tasks`, in completion order; tasks
/// finished before the call come first. Cancelled and refused tasks count as
/// finished (their result is the error).
///
/// For a deadline, see [`AsCompleted::within`].
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
pub fn as_completed<T: Send + 'static>(tasks: impl IntoIterator<Item = Task<T>>) -> AsCompleted<T> {
    let tasks: Vec<Option<Task<T>>> = tasks.into_iter().map(Some).collect();
    let queue = Arc::new(ReadyQueue::default());
    let mut unfinished = Vec::new();
    for (index, task) in tasks.iter().enumerate() {
        let task = task.as_ref().expect("just filled");
        if task.is_finished() {
            queue.push(index);
        } else {
            unfinished.push(index);
        }
    }
    let mut keys = vec![None; tasks.len()];
    for index in unfinished {
        let task = tasks[index].as_ref().expect("just filled");
        keys[index] = queue.watch(index, task.handle().header());
    }
    let remaining = tasks.len();
    AsCompleted {
        tasks,
        keys,
        queue,
        remaining,
    }
}

impl<T: Send + 'static> AsCompleted<T> {
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
    /// assert_eq!(within.next().unwrap().unwrap_err(), Timeout { unfinished: 1 });
    /// assert!(within.next().is_none());
    /// let pending = within.into_pending();
    /// tx.send(()).unwrap();
    /// assert_eq!(pending[0].0, 1);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn within(self, timeout: Duration) -> Within<T> {
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
    pub fn into_pending(mut self) -> Vec<(usize, Task<T>)> {
        self.forget_wakers();
        std::mem::take(&mut self.tasks)
            .into_iter()
            .enumerate()
            .filter_map(|(i, t)| t.map(|t| (i, t)))
            .collect()
    }

    /// Takes this iterator's wakers out of the tasks still unyielded.
    fn forget_wakers(&mut self) {
        for (task, key) in self.tasks.iter().zip(&mut self.keys) {
            if let (Some(task), Some(key)) = (task, key.take()) {
                task.handle().header().deregister(key);
            }
        }
    }

    fn next_until(&mut self, deadline: Option<Instant>) -> Option<Result<Completed<T>, Timeout>> {
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
                    return Some(Ok((index, task.join())));
                }
                continue;
            }
            let tasks = &self.tasks;
            let claim =
                |worker: &WorkerThread| tasks.iter().flatten().any(|t| t.handle().claim(worker));
            let next = NextReady {
                queue: &self.queue,
                claim: &claim,
            };
            if !wait_until(&next, deadline) {
                return Some(Err(Timeout {
                    unfinished: self.remaining,
                }));
            }
        }
    }
}

impl<T: Send + 'static> Iterator for AsCompleted<T> {
    type Item = Completed<T>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_until(None)
            .map(|r| r.expect("no deadline, no timeout"))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<T: Send + 'static> ExactSizeIterator for AsCompleted<T> {}

impl<T: Send + 'static> Drop for AsCompleted<T> {
    fn drop(&mut self) {
        self.forget_wakers();
    }
}

/// [`as_completed`] with a deadline; see [`AsCompleted::within`].
#[must_use = "iterators are lazy"]
#[derive(Debug)]
pub struct Within<T: Send + 'static> {
    inner: AsCompleted<T>,
    deadline: Deadline,
}

impl<T: Send + 'static> Within<T> {
    /// The tasks not yielded yet, with their indices, ascending; they are
    /// still running or queued and can be joined, awaited or cancelled.
    pub fn into_pending(self) -> Vec<(usize, Task<T>)> {
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

impl<T: Send + 'static> Iterator for Within<T> {
    type Item = Result<Completed<T>, Timeout>;

    fn next(&mut self) -> Option<Self::Item> {
        let inner = &mut self.inner;
        self.deadline.next(|at| inner.next_until(at))
    }
}

/// What [`wait`] waits for, as Python's `FIRST_COMPLETED`, `FIRST_EXCEPTION`
/// and `ALL_COMPLETED`.
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
pub fn wait<T: Send + 'static>(
    tasks: &[Task<T>],
    mode: WaitFor,
    timeout: Option<Duration>,
) -> Waited {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let queue = Arc::new(ReadyQueue::default());
    let mut done: Vec<bool> = tasks.iter().map(Task::is_finished).collect();
    let mut done_count = done.iter().filter(|&&d| d).count();
    let satisfied = |done: &[bool], done_count: usize| match mode {
        WaitFor::AllCompleted => done_count == tasks.len(),
        WaitFor::FirstCompleted => done_count > 0 || tasks.is_empty(),
        WaitFor::FirstPanic => {
            done_count == tasks.len()
                || done
                    .iter()
                    .zip(tasks)
                    .any(|(&d, t)| d && t.handle().header().panicked())
        }
    };
    if !satisfied(&done, done_count) {
        let keys: Vec<Option<u64>> = tasks
            .iter()
            .enumerate()
            .map(|(index, task)| match done[index] {
                true => None,
                false => queue.watch(index, task.handle().header()),
            })
            .collect();
        loop {
            while let Some(index) = queue.pop() {
                if !done[index] {
                    done[index] = true;
                    done_count += 1;
                }
            }
            if satisfied(&done, done_count) {
                break;
            }
            let claim = |worker: &WorkerThread| {
                tasks
                    .iter()
                    .zip(&done)
                    .any(|(t, &d)| !d && t.handle().claim(worker))
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
        for (task, key) in tasks.iter().zip(keys) {
            if let Some(key) = key {
                task.handle().header().deregister(key);
            }
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

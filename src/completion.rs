//! Taking results as tasks finish: [`as_completed`] and [`wait`], like
//! Python's `concurrent.futures.as_completed` and `wait`.
//!
//! Both register a waker on each unfinished task; the waker pushes the task's
//! index onto a [`ReadyQueue`], which the caller waits on (running other
//! queued work meanwhile when it is a pool worker). A task that has finished
//! already is put on the queue at once, before any other, so finished tasks
//! come first.

use std::collections::VecDeque;
use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use crate::error::TaskError;
use crate::sync::{Condvar, Mutex};
use crate::task::{Header, Task, wait_until};
use crate::worker::Waitable;

/// How often `wait` looks at its tasks directly, in case a concurrent `wait`
/// on the same tasks took over their wakers.
const RECHECK: Duration = Duration::from_millis(10);

/// Indices of finished tasks, in the order they finished.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    ready: Mutex<VecDeque<usize>>,
    cond: Condvar,
}

impl ReadyQueue {
    pub(crate) fn push(&self, index: usize) {
        self.ready.lock().push_back(index);
        self.cond.notify_all();
    }

    pub(crate) fn pop(&self) -> Option<usize> {
        self.ready.lock().pop_front()
    }

    /// Has the task behind `header` push `index` here when it ends (at once
    /// if it has ended already).
    pub(crate) fn watch<T>(self: &Arc<Self>, index: usize, header: &Header<T>) {
        let waker = Waker::from(Arc::new(IndexWaker {
            index,
            queue: self.clone(),
        }));
        if header.register_waker(&waker) {
            self.push(index);
        }
    }
}

impl Waitable for ReadyQueue {
    fn is_done(&self) -> bool {
        !self.ready.lock().is_empty()
    }

    fn block_until(&self, deadline: Option<Instant>) -> bool {
        let mut ready = self.ready.lock();
        loop {
            if !ready.is_empty() {
                return true;
            }
            match deadline {
                None => self.cond.wait(&mut ready),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return false;
                    }
                    let _ = self.cond.wait_for(&mut ready, deadline - now);
                }
            }
        }
    }
}

/// A wait for the next index on a [`ReadyQueue`], which may claim and run
/// one of the awaited tasks that has not started (on a worker thread).
pub(crate) struct NextReady<'a> {
    pub(crate) queue: &'a ReadyQueue,
    pub(crate) claim: &'a dyn Fn() -> bool,
}

impl Waitable for NextReady<'_> {
    fn is_done(&self) -> bool {
        self.queue.is_done()
    }

    fn block_until(&self, deadline: Option<Instant>) -> bool {
        self.queue.block_until(deadline)
    }

    fn run_inline(&self) -> bool {
        (self.claim)()
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
pub struct AsCompleted<T> {
    tasks: Vec<Option<Task<T>>>,
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
    for index in unfinished {
        let task = tasks[index].as_ref().expect("just filled");
        queue.watch(index, task.handle().header());
    }
    let remaining = tasks.len();
    AsCompleted {
        tasks,
        queue,
        remaining,
    }
}

impl<T: Send + 'static> AsCompleted<T> {
    /// How many tasks have not been yielded yet.
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
            deadline: Instant::now().checked_add(timeout),
            timed_out: false,
        }
    }

    /// The tasks not yielded yet, with their indices, ascending.
    pub fn into_pending(self) -> Vec<(usize, Task<T>)> {
        self.tasks
            .into_iter()
            .enumerate()
            .filter_map(|(i, t)| t.map(|t| (i, t)))
            .collect()
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
                    self.remaining -= 1;
                    return Some(Ok((index, task.join())));
                }
                continue;
            }
            let tasks = &self.tasks;
            let claim = || tasks.iter().flatten().any(|t| t.handle().claim());
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

/// [`as_completed`] with a deadline; see [`AsCompleted::within`].
#[must_use = "iterators are lazy"]
#[derive(Debug)]
pub struct Within<T> {
    inner: AsCompleted<T>,
    deadline: Option<Instant>,
    timed_out: bool,
}

impl<T: Send + 'static> Within<T> {
    /// The tasks not yielded yet, with their indices, ascending; they are
    /// still running or queued and can be joined, awaited or cancelled.
    pub fn into_pending(self) -> Vec<(usize, Task<T>)> {
        self.inner.into_pending()
    }

    /// How many tasks have not been yielded yet.
    pub fn remaining(&self) -> usize {
        self.inner.remaining
    }
}

impl<T: Send + 'static> Iterator for Within<T> {
    type Item = Result<Completed<T>, Timeout>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.timed_out {
            return None;
        }
        let item = self.inner.next_until(self.deadline);
        self.timed_out = matches!(item, Some(Err(_)));
        item
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
    let mut done = vec![false; tasks.len()];
    let mut done_count = 0;
    for (index, task) in tasks.iter().enumerate() {
        if task.is_finished() {
            done[index] = true;
            done_count += 1;
        }
    }
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
        for (index, task) in tasks.iter().enumerate() {
            if !done[index] {
                queue.watch(index, task.handle().header());
            }
        }
        loop {
            while let Some(index) = queue.pop() {
                if !done[index] {
                    done[index] = true;
                    done_count += 1;
                }
            }
            // A task has one waker slot: a `wait` on the same tasks from
            // another thread replaces our wakers. Looking at the tasks
            // themselves at least every `RECHECK` keeps such waits correct.
            for (index, task) in tasks.iter().enumerate() {
                if !done[index] && task.is_finished() {
                    done[index] = true;
                    done_count += 1;
                }
            }
            if satisfied(&done, done_count) {
                break;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) {
                break;
            }
            let slice = match deadline {
                Some(d) => d.min(now + RECHECK),
                None => now + RECHECK,
            };
            let claim = || {
                tasks
                    .iter()
                    .zip(&done)
                    .any(|(t, &d)| !d && t.handle().claim())
            };
            let _ = wait_until(
                &NextReady {
                    queue: &queue,
                    claim: &claim,
                },
                Some(slice),
            );
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

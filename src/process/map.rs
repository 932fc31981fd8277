//! Many process-pool tasks at once: [`ProcessMap`] and
//! [`ProcessMapUnordered`] (a bounded window of tasks over an input
//! iterator), [`as_completed`] and [`wait`], shaped like the thread pool's.

use std::collections::VecDeque;
use std::fmt;
use std::iter::FusedIterator;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ProcessError;
use super::pool::ProcessPool;
use super::task::{ProcessTask, ReadyQueue};
use crate::{Timeout, WaitFor, Waited};

/// One item of [`ProcessAsCompleted`]: a task's index and its outcome.
pub type ProcessCompleted<R> = (usize, Result<R, ProcessError>);

/// The iterator of [`ProcessPool::map`]: results in input order.
#[must_use = "iterators are lazy"]
pub struct ProcessMap<I, A, R> {
    pool: ProcessPool,
    f: fn(A) -> R,
    items: I,
    window: VecDeque<ProcessTask<R>>,
    size: usize,
}

impl<I, A, R> fmt::Debug for ProcessMap<I, A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessMap")
            .field("in_flight", &self.window.len())
            .field("window", &self.size)
            .finish()
    }
}

impl<I, A, R> ProcessMap<I, A, R>
where
    I: Iterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    pub(crate) fn new(pool: ProcessPool, f: fn(A) -> R, items: I, size: usize) -> Self {
        ProcessMap {
            pool,
            f,
            items,
            window: VecDeque::new(),
            size: size.max(1),
        }
    }

    /// How many tasks may be submitted ahead of the one being waited for
    /// (default: four per worker); at least one.
    ///
    /// ```
    /// # fn main() {
    /// # fn id(x: u8) -> u8 { x }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let v: Vec<u8> = pool.map(id, [1, 2, 3]).window(1).map(Result::unwrap).collect();
    /// assert_eq!(v, [1, 2, 3]);
    /// # }
    /// ```
    pub fn window(mut self, tasks: usize) -> Self {
        self.size = tasks.max(1);
        self
    }
}

impl<I, A, R> Iterator for ProcessMap<I, A, R>
where
    I: Iterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    type Item = Result<R, ProcessError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.window.len() < self.size {
            match self.items.next() {
                Some(item) => self.window.push_back(self.pool.submit(self.f, item)),
                None => break,
            }
        }
        self.window.pop_front().map(ProcessTask::join)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (lo, hi) = self.items.size_hint();
        let n = self.window.len();
        (lo.saturating_add(n), hi.and_then(|hi| hi.checked_add(n)))
    }
}

impl<I, A, R> ExactSizeIterator for ProcessMap<I, A, R>
where
    I: ExactSizeIterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
}

impl<I, A, R> FusedIterator for ProcessMap<I, A, R>
where
    I: FusedIterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
}

impl<I, A, R> Drop for ProcessMap<I, A, R> {
    fn drop(&mut self) {
        // The tasks not started never will; running ones finish, detached.
        for task in &self.window {
            task.cancel_queued();
        }
    }
}

/// The iterator of [`ProcessPool::map_unordered`]: results as they finish.
#[must_use = "iterators are lazy"]
pub struct ProcessMapUnordered<I, A, R> {
    pool: ProcessPool,
    f: fn(A) -> R,
    items: I,
    tasks: Vec<Option<ProcessTask<R>>>,
    free: Vec<usize>,
    queue: Arc<ReadyQueue>,
    in_flight: usize,
    size: usize,
}

impl<I, A, R> fmt::Debug for ProcessMapUnordered<I, A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessMapUnordered")
            .field("in_flight", &self.in_flight)
            .field("window", &self.size)
            .finish()
    }
}

impl<I, A, R> ProcessMapUnordered<I, A, R>
where
    I: Iterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    pub(crate) fn new(pool: ProcessPool, f: fn(A) -> R, items: I, size: usize) -> Self {
        ProcessMapUnordered {
            pool,
            f,
            items,
            tasks: Vec::new(),
            free: Vec::new(),
            queue: Arc::default(),
            in_flight: 0,
            size: size.max(1),
        }
    }

    /// How many tasks may be in flight at once (default: four per worker);
    /// at least one.
    ///
    /// ```
    /// # fn main() {
    /// # fn id(x: u8) -> u8 { x }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let n = pool.map_unordered(id, [1, 2, 3]).window(2).count();
    /// assert_eq!(n, 3);
    /// # }
    /// ```
    pub fn window(mut self, tasks: usize) -> Self {
        self.size = tasks.max(1);
        self
    }
}

impl<I, A, R> Iterator for ProcessMapUnordered<I, A, R>
where
    I: Iterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    type Item = Result<R, ProcessError>;

    fn next(&mut self) -> Option<Self::Item> {
        while self.in_flight < self.size {
            let Some(item) = self.items.next() else { break };
            let task = self.pool.submit(self.f, item);
            let index = match self.free.pop() {
                Some(index) => index,
                None => {
                    self.tasks.push(None);
                    self.tasks.len() - 1
                }
            };
            task.watch(&self.queue, index);
            self.tasks[index] = Some(task);
            self.in_flight += 1;
        }
        if self.in_flight == 0 {
            return None;
        }
        let index = self.queue.pop(None).expect("no deadline");
        let task = self.tasks[index]
            .take()
            .expect("each task is reported once");
        self.free.push(index);
        self.in_flight -= 1;
        Some(task.join())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (lo, hi) = self.items.size_hint();
        let n = self.in_flight;
        (lo.saturating_add(n), hi.and_then(|hi| hi.checked_add(n)))
    }
}

impl<I, A, R> ExactSizeIterator for ProcessMapUnordered<I, A, R>
where
    I: ExactSizeIterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
}

impl<I, A, R> Drop for ProcessMapUnordered<I, A, R> {
    fn drop(&mut self) {
        for task in self.tasks.iter().flatten() {
            task.cancel_queued();
        }
    }
}

/// Yields `(index, result)` for each task as it ends; see [`as_completed`].
#[must_use = "iterators are lazy"]
#[derive(Debug)]
pub struct ProcessAsCompleted<R> {
    tasks: Vec<Option<ProcessTask<R>>>,
    queue: Arc<ReadyQueue>,
    remaining: usize,
    deadline: Option<Instant>,
}

/// Takes each task's result as soon as it ends, like Python's
/// `concurrent.futures.as_completed` and the thread pool's
/// [`as_completed`](crate::as_completed): `(index, result)` where `index` is
/// the task's position in `tasks`; tasks that ended before the call come
/// first.
///
/// ```
/// # fn main() {
/// use corepool::process::{self, ProcessPool};
/// fn tenfold(x: u64) -> u64 {
///     x * 10
/// }
/// process::init();
/// let pool = ProcessPool::builder().workers(2).build().unwrap();
/// let tasks: Vec<_> = (0..4).map(|i| pool.submit(tenfold, i)).collect();
/// let mut seen: Vec<(usize, u64)> =
///     process::as_completed(tasks).map(|(i, r)| (i, r.unwrap())).collect();
/// seen.sort();
/// assert_eq!(seen, [(0, 0), (1, 10), (2, 20), (3, 30)]);
/// # }
/// ```
pub fn as_completed<R>(tasks: impl IntoIterator<Item = ProcessTask<R>>) -> ProcessAsCompleted<R>
where
    R: DeserializeOwned + Send + 'static,
{
    let tasks: Vec<Option<ProcessTask<R>>> = tasks.into_iter().map(Some).collect();
    let queue = Arc::new(ReadyQueue::default());
    for (index, task) in tasks.iter().enumerate() {
        task.as_ref().expect("just filled").watch(&queue, index);
    }
    ProcessAsCompleted {
        remaining: tasks.len(),
        tasks,
        queue,
        deadline: None,
    }
}

impl<R: DeserializeOwned + Send + 'static> ProcessAsCompleted<R> {
    /// How many tasks have not been yielded yet.
    ///
    /// ```
    /// # fn main() {
    /// # fn one(_: ()) -> u8 { 1 }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let done = corepool::process::as_completed(vec![pool.submit(one, ())]);
    /// assert_eq!(done.remaining(), 1);
    /// # }
    /// ```
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// The next task to end, waiting at most until `timeout` from now;
    /// `None` when every task has been yielded, `Some(Err(Timeout))` when the
    /// time passed first (the iterator stays usable).
    ///
    /// ```
    /// # fn main() {
    /// use std::time::Duration;
    /// fn hang(_: ()) {
    ///     loop {
    ///         std::thread::park();
    ///     }
    /// }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let mut done = corepool::process::as_completed(vec![pool.submit(hang, ())]);
    /// let next = done.next_timeout(Duration::from_millis(20));
    /// assert_eq!(next.unwrap().unwrap_err(), corepool::Timeout { unfinished: 1, total: 1 });
    /// for (_, task) in done.into_pending() {
    ///     task.cancel();
    /// }
    /// # }
    /// ```
    pub fn next_timeout(
        &mut self,
        timeout: Duration,
    ) -> Option<Result<ProcessCompleted<R>, Timeout>> {
        self.next_until(Instant::now().checked_add(timeout))
    }

    /// The tasks not yielded yet, with their indices, ascending.
    ///
    /// ```
    /// # fn main() {
    /// # fn one(_: ()) -> u8 { 1 }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let done = corepool::process::as_completed(vec![pool.submit(one, ())]);
    /// assert_eq!(done.into_pending().len(), 1);
    /// # }
    /// ```
    pub fn into_pending(self) -> Vec<(usize, ProcessTask<R>)> {
        self.tasks
            .into_iter()
            .enumerate()
            .filter_map(|(i, t)| t.map(|t| (i, t)))
            .collect()
    }

    fn next_until(
        &mut self,
        deadline: Option<Instant>,
    ) -> Option<Result<ProcessCompleted<R>, Timeout>> {
        if self.remaining == 0 {
            return None;
        }
        match self.queue.pop(deadline) {
            Some(index) => {
                let task = self.tasks[index]
                    .take()
                    .expect("each task is reported once");
                self.remaining -= 1;
                Some(Ok((index, task.join())))
            }
            None => Some(Err(Timeout {
                unfinished: self.remaining,
                total: self.tasks.len(),
            })),
        }
    }
}

impl<R: DeserializeOwned + Send + 'static> Iterator for ProcessAsCompleted<R> {
    type Item = ProcessCompleted<R>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_until(self.deadline)
            .map(|r| r.expect("no deadline, no timeout"))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<R: DeserializeOwned + Send + 'static> ExactSizeIterator for ProcessAsCompleted<R> {}

/// Waits for some or all of `tasks` to end, like Python's
/// `concurrent.futures.wait` and the thread pool's [`wait`](crate::wait), at
/// most `timeout` (forever with `None`); answers with indices. With
/// [`WaitFor::FirstPanic`] it returns at the first task that failed in any
/// way (panic, crash, timeout, codec error), not counting cancellations.
///
/// ```
/// # fn main() {
/// use corepool::WaitFor;
/// use corepool::process::{self, ProcessPool};
/// fn one(_: ()) -> u8 {
///     1
/// }
/// process::init();
/// let pool = ProcessPool::builder().workers(2).build().unwrap();
/// let tasks: Vec<_> = (0..3).map(|_| pool.submit(one, ())).collect();
/// let waited = process::wait(&tasks, WaitFor::AllCompleted, None);
/// assert_eq!(waited.done, [0, 1, 2]);
/// assert!(waited.pending.is_empty());
/// # }
/// ```
pub fn wait<R>(tasks: &[ProcessTask<R>], mode: WaitFor, timeout: Option<Duration>) -> Waited
where
    R: DeserializeOwned + Send + 'static,
{
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let queue = Arc::new(ReadyQueue::default());
    for (index, task) in tasks.iter().enumerate() {
        task.watch(&queue, index);
    }
    let mut done = vec![false; tasks.len()];
    let mut count = 0;
    let mut failed = false;
    loop {
        let satisfied = match mode {
            WaitFor::AllCompleted => count == tasks.len(),
            WaitFor::FirstCompleted => count > 0 || tasks.is_empty(),
            WaitFor::FirstPanic => failed || count == tasks.len(),
        };
        if satisfied {
            break;
        }
        let Some(index) = queue.pop(deadline) else {
            break;
        };
        if !done[index] {
            done[index] = true;
            count += 1;
            failed |= tasks[index].failed();
        }
    }
    // Tasks that ended meanwhile count too; the others forget this queue,
    // so that waiting again and again on a long task does not pile up
    // watchers.
    for task in tasks {
        task.unwatch(&queue);
    }
    while let Some(index) = queue.pop(Some(Instant::now())) {
        done[index] = true;
    }
    let (done, pending): (Vec<usize>, Vec<usize>) = (0..tasks.len()).partition(|&i| done[i]);
    Waited { done, pending }
}

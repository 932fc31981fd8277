//! [`Pool`], the handle users hold: submitting, shutting down, looking inside.

// Layer: face (`lib.rs`, "Layers"). It may use every layer below.

use std::any::Any;
use std::fmt;
use std::sync::{Arc, Weak};

use crate::builder::PoolBuilder;
use crate::error::{BuildError, ShutdownError};
use crate::registry::{Pinning, Registry};
use crate::submit::{spawn_job, submit_cell};
use crate::sync::Ordering;
use crate::task::{Abort, Cell, CellRc, Handle, Task, TaskCell};
use crate::unwind;

/// What happened on one worker so far; see [`Pool::stats`].
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// pool.submit(|| ()).join().unwrap();
/// let stats = pool.stats();
/// let workers: &[corepool::WorkerStats] = &stats.workers;
/// assert_eq!(workers.iter().map(|w| w.index).collect::<Vec<_>>(), [0, 1]);
/// assert!(stats.workers.iter().map(|w| w.tasks_run).sum::<u64>() >= 1);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WorkerStats {
    /// The worker's index, `0..pool.workers()`.
    pub index: usize,
    /// The logical CPU the worker is pinned to, if it is pinned.
    pub cpu: Option<usize>,
    /// Jobs this worker has run: tasks, spawned jobs, stolen fork-join
    /// halves and `install` closures it took from a queue, and tasks a wait
    /// on it ran before they started (a `join`, `wait` or `as_completed` of
    /// a task still queued). A task that was cancelled before it started
    /// (by [`Task::cancel`](crate::Task::cancel) or
    /// [`shutdown_now`](crate::Pool::shutdown_now)) is not counted, and a
    /// task is counted once however many queue entries lead to it. A task
    /// is counted as it starts, so every task that ran on a worker and whose
    /// handle has been joined is counted; other jobs once they have run.
    /// The count never goes down. (Tasks of the blocking lane run
    /// on its own threads, and are not counted here.)
    pub tasks_run: u64,
    /// Tasks this worker has stolen from other workers' deques.
    pub tasks_stolen: u64,
    /// How often this worker has parked (gone to sleep for lack of work).
    pub times_parked: u64,
}

/// A snapshot of every worker's counters; see [`Pool::stats`].
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let stats: corepool::PoolStats = pool.stats();
/// assert_eq!(stats.workers.len(), 2);
/// assert_eq!(stats.tasks_run(), stats.workers.iter().map(|w| w.tasks_run).sum::<u64>());
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PoolStats {
    /// One entry per worker, in index order.
    pub workers: Vec<WorkerStats>,
}

impl PoolStats {
    /// Tasks run, summed over all workers.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// for i in 0..10 { pool.submit(move || i).join().unwrap(); }
    /// assert!(pool.stats().tasks_run() >= 10);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn tasks_run(&self) -> u64 {
        self.workers.iter().map(|w| w.tasks_run).sum()
    }

    /// Tasks stolen, summed over all workers.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let stats = pool.stats();
    /// assert_eq!(stats.tasks_stolen(), stats.workers.iter().map(|w| w.tasks_stolen).sum::<u64>());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn tasks_stolen(&self) -> u64 {
        self.workers.iter().map(|w| w.tasks_stolen).sum()
    }

    /// Times parked, summed over all workers.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// let parked = pool.stats().times_parked();
    /// pool.submit(|| ()).join().unwrap();
    /// assert!(pool.stats().times_parked() >= parked);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn times_parked(&self) -> u64 {
        self.workers.iter().map(|w| w.times_parked).sum()
    }
}

/// The part of a pool that `Pool` clones share; dropping the last clone
/// shuts the pool down.
pub(crate) struct Shared {
    pub(crate) registry: Arc<Registry>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.registry.shutdown(false);
    }
}

/// A work-stealing pool of worker threads, one pinned to each physical core.
///
/// `Pool` is a cheap [`Clone`] handle: every clone submits to the same
/// workers, and tasks that submit subtasks carry a clone. The pool shuts down
/// gracefully (as [`shutdown`](Pool::shutdown)) when its last clone is dropped.
///
/// Dropping the last clone waits for the workers as `shutdown` does, except on
/// one of the pool's own workers or blocking-lane threads. On any other
/// thread that one of this pool's tasks is waiting for (inside another pool's
/// `install` called from this pool's task, say), that wait cannot end: keep a
/// clone alive there, or call `shutdown` from the pool's own task.
///
/// ```
/// use corepool::Pool;
///
/// let pool = Pool::builder().workers(2).build()?;
/// let tasks: Vec<_> = (0..10u64).map(|i| pool.submit(move || i * i)).collect();
/// let squares: Vec<u64> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
/// assert_eq!(squares[9], 81);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Clone)]
pub struct Pool {
    shared: Arc<Shared>,
}

impl Pool {
    /// A pool with the default settings: one worker per physical core this
    /// process may use, each pinned to its core, unless `COREPOOL_WORKERS` or
    /// `COREPOOL_PINNING` say otherwise.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// assert!(pool.workers() >= 1);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn new() -> Result<Pool, BuildError> {
        PoolBuilder::new().build()
    }

    /// A builder to choose the worker count, pinning, thread names, stack
    /// size and a start hook.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(3).build()?;
    /// assert_eq!(pool.workers(), 3);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn builder() -> PoolBuilder {
        PoolBuilder::new()
    }

    /// The pool handle's shared part behind the registry's weak `handle`,
    /// if the pool is still up.
    fn upgrade(handle: &Weak<dyn Any + Send + Sync>) -> Option<Arc<Shared>> {
        // Only `from_shared` sets the handle, always to a `Shared`.
        handle.upgrade()?.downcast::<Shared>().ok()
    }

    pub(crate) fn from_shared(shared: Shared) -> Pool {
        let shared = Arc::new(shared);
        // The registry keeps the handle type-erased (it sits below this
        // file); `Pool::current` downcasts it back.
        let weak: Weak<dyn Any + Send + Sync> = Arc::downgrade(&shared) as _;
        let _ = shared.registry.handle.set(weak);
        Pool { shared }
    }

    /// The pool whose worker or blocking-lane thread is running the current
    /// code (inside a task, a [`submit_blocking`](Pool::submit_blocking)
    /// task, `install`, `join` or `scope` on that pool), or `None` on any
    /// other thread. It is a clone of the pool's handle: tasks can submit
    /// more work without a `&Pool` being passed down. A thread outside the
    /// pool that runs a chunk of the pool's [`map`](Pool::map) itself (see
    /// there) gets the pool too while the chunk runs.
    ///
    /// It stays `Some` while the pool shuts down, even after another thread
    /// dropped the last clone: a task that is still running gets a handle to
    /// its pool, which then answers [`is_shutdown`](Pool::is_shutdown) (and
    /// refuses new tasks as any clone would). Dropping that handle on one of
    /// the pool's own threads never waits.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert!(corepool::Pool::current().is_none());
    /// let inside = pool.install(|| corepool::Pool::current().unwrap().workers());
    /// assert_eq!(inside, 2);
    /// let on_lane = pool.submit_blocking(|| corepool::Pool::current().map(|p| p.workers()));
    /// assert_eq!(on_lane.join().unwrap(), Some(2));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn current() -> Option<Pool> {
        let registry = match crate::worker::WorkerThread::current() {
            Some(worker) => {
                // The common case costs one upgrade, no `Arc<Registry>` clone.
                // `handle` is set before the pool is handed to anyone, so
                // before any task runs.
                if let Some(shared) = Self::upgrade(worker.registry().handle.get()?) {
                    return Some(Pool { shared });
                }
                worker.registry_arc().clone()
            }
            None => {
                // A map chunk this thread runs for its consumer is nested
                // inside whatever else the thread runs (a lane task of
                // another pool, say): the mapping pool comes first.
                if let Some(pool) = crate::map::lent_pool() {
                    return Some(pool);
                }
                let registry = crate::blocking::current_registry()?;
                if let Some(shared) = Self::upgrade(registry.handle.get()?) {
                    return Some(Pool { shared });
                }
                registry
            }
        };
        // The last clone was dropped (elsewhere, or is being dropped): the
        // pool is shutting down. A fresh handle to the same registry; its
        // drop calls `shutdown` again, which is harmless, and on this pool's
        // workers and lane threads does not wait.
        Some(Pool {
            shared: Arc::new(Shared { registry }),
        })
    }

    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.shared.registry
    }

    /// How many worker threads the pool has.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(3).build()?;
    /// assert_eq!(pool.workers(), 3);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn workers(&self) -> usize {
        self.shared.registry.workers()
    }

    /// The pinning actually applied: [`Pinning::None`] off Linux, whatever was
    /// asked for.
    ///
    /// ```
    /// use corepool::{Pinning, Pool};
    ///
    /// let pool = Pool::builder().pinning(Pinning::None).workers(1).build()?;
    /// assert_eq!(pool.pinning(), &Pinning::None);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn pinning(&self) -> &Pinning {
        &self.shared.registry.pinning
    }

    /// Runs `f` on a worker and returns a handle to its result, like
    /// `Executor.submit`.
    ///
    /// Called on one of this pool's workers, the task goes to that worker's
    /// own deque (other workers steal it if they are idle); from any other
    /// thread it goes to the pool's shared queue. After
    /// [`shutdown`](Pool::shutdown), `f` is dropped without running and the
    /// handle answers [`TaskError::is_shutdown`](crate::TaskError::is_shutdown).
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let task = pool.submit(|| 6 * 7);
    /// assert_eq!(task.join().unwrap(), 42);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn submit<F, T>(&self, f: F) -> Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        Task::from_handle(submit_cell(&self.shared.registry, f, None))
    }

    /// [`submit`](Pool::submit) that says no at once once the pool is
    /// shutting down, as Python's `Executor.submit` raises after `shutdown`:
    /// `Err` gives `f` back unrun. (A shutdown that starts while this call is
    /// queueing the task can still refuse it; the handle then answers
    /// [`TaskError::is_shutdown`](crate::TaskError::is_shutdown), as with
    /// `submit`.)
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// assert_eq!(pool.try_submit(|| 6 * 7).unwrap().join().unwrap(), 42);
    /// pool.shutdown();
    /// assert!(pool.try_submit(|| 0).is_err());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn try_submit<F, T>(&self, f: F) -> Result<Task<T>, ShutdownError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.is_shutdown() {
            return Err(ShutdownError::new(f));
        }
        Ok(self.submit(f))
    }

    /// [`submit_blocking`](Pool::submit_blocking) that says no at once once
    /// the pool is shutting down, as [`try_submit`](Pool::try_submit) does.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// assert_eq!(pool.try_submit_blocking(|| 1).unwrap().join().unwrap(), 1);
    /// pool.shutdown();
    /// assert!(pool.try_submit_blocking(|| 2).is_err());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn try_submit_blocking<F, T>(&self, f: F) -> Result<Task<T>, ShutdownError<F>>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        if self.is_shutdown() {
            return Err(ShutdownError::new(f));
        }
        Ok(self.submit_blocking(f))
    }

    /// Runs `f` on the pool's blocking lane: threads beside the pinned
    /// workers, unpinned, started on demand (at most
    /// [`MAX_BLOCKING_THREADS`](crate::MAX_BLOCKING_THREADS)) and retired
    /// after [`BLOCKING_KEEP_ALIVE`](crate::BLOCKING_KEEP_ALIVE) idle. Use it
    /// for work that waits — sleeping, file or network I/O, a lock, a child
    /// process — so that it never holds a pinned worker; use
    /// [`submit`](Pool::submit) for CPU-bound work. The handle is the same
    /// [`Task`]: `join`, `cancel`, `as_completed` and `wait` work as usual.
    /// [`shutdown`](Pool::shutdown) waits for the lane's tasks too.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// let slow = pool.submit_blocking(|| {
    ///     std::thread::sleep(Duration::from_millis(10)); // I/O stand-in
    ///     "read"
    /// });
    /// // The only pinned worker is free meanwhile.
    /// assert_eq!(pool.submit(|| 2 + 2).join().unwrap(), 4);
    /// assert_eq!(slow.join().unwrap(), "read");
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn submit_blocking<F, T>(&self, f: F) -> Task<T>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let registry = &self.shared.registry;
        if registry.is_shutdown() {
            unwind::drop_contained(f);
            return Task::from_handle(Handle::new(CellRc::new(TaskCell::<F, T>::refused())));
        }
        // Pool identity 0: a worker waiting on it never runs it inline.
        let cell = CellRc::new(TaskCell::new(f, None, 0, 0));
        // SAFETY: `'static` closure and result: nothing is borrowed.
        let job = unsafe { TaskCell::new_ref(&cell) };
        if let Err(job) = registry.blocking.submit(job, registry) {
            let _ = Cell::abort(&*cell, Abort::Refused);
            drop(job);
        }
        Task::from_handle(Handle::new(cell))
    }

    /// Runs `f` on a worker with no handle and no result slot: fire and
    /// forget, like rayon's `spawn` but without aborting on a panic. The
    /// cheapest way to start work; use [`submit`](Pool::submit) to get a
    /// result or to cancel. A panic in `f` is reported by the panic hook (as
    /// on any thread) and then dropped: the pool and its workers live on.
    /// After [`shutdown`](Pool::shutdown), `f` is dropped without running.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// for i in 0..4u32 {
    ///     let tx = tx.clone();
    ///     pool.spawn(move || tx.send(i * i).unwrap());
    /// }
    /// drop(tx);
    /// assert_eq!(rx.iter().sum::<u32>(), 14);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn spawn<F>(&self, f: F)
    where
        F: FnOnce() + Send + 'static,
    {
        spawn_job(&self.shared.registry, f, None);
    }

    /// Stops accepting tasks, lets every queued task run, and returns when
    /// every worker thread has exited. Tasks submitted afterwards are refused.
    /// Calling it again, or on another clone, is harmless.
    ///
    /// Called on one of the pool's own workers (inside a task), it cannot wait
    /// for the workers, itself included: it stops new submissions and returns,
    /// and the workers exit by themselves once the queues are empty.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let task = pool.submit(|| 1);
    /// pool.shutdown();
    /// assert_eq!(task.join().unwrap(), 1);
    /// assert!(pool.submit(|| 2).join().unwrap_err().is_shutdown());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn shutdown(&self) {
        self.shared.registry.shutdown(false);
    }

    /// Stops accepting tasks, cancels every task that has not started, waits
    /// for the running ones, and returns how many tasks it cancelled (a second
    /// call returns 0, or what was cancelled since). Handles
    /// of cancelled tasks answer
    /// [`TaskError::is_cancelled`](crate::TaskError::is_cancelled).
    ///
    /// On a worker thread it does not wait, as [`shutdown`](Pool::shutdown).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// let (started_tx, started) = std::sync::mpsc::channel();
    /// let (release, release_rx) = std::sync::mpsc::channel::<()>();
    /// let running = pool.submit(move || {
    ///     started_tx.send(()).unwrap();
    ///     release_rx.recv().unwrap();
    /// });
    /// started.recv().unwrap(); // the only worker is busy now
    /// let queued: Vec<_> = (0..5).map(|_| pool.submit(|| ())).collect();
    /// // Let the running task finish once the queued ones are cancelled.
    /// let releaser = std::thread::spawn(move || {
    ///     corepool::wait(&queued, corepool::WaitFor::AllCompleted, None);
    ///     release.send(()).unwrap();
    ///     queued
    /// });
    /// assert_eq!(pool.shutdown_now(), 5);
    /// let queued = releaser.join().unwrap();
    /// assert!(running.join().is_ok());
    /// assert!(queued.into_iter().all(|t| t.join().unwrap_err().is_cancelled()));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn shutdown_now(&self) -> usize {
        self.shared.registry.shutdown(true)
    }

    /// Whether [`shutdown`](Pool::shutdown) or
    /// [`shutdown_now`](Pool::shutdown_now) has been called.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// assert!(!pool.is_shutdown());
    /// pool.shutdown();
    /// assert!(pool.is_shutdown());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.shared.registry.is_shutdown()
    }

    /// Per-worker counters: the CPU each worker is pinned to, tasks run, tasks
    /// stolen, times parked. The counters are read without stopping the
    /// workers, so they may be a few tasks behind.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// pool.submit(|| ()).join().unwrap();
    /// let stats = pool.stats();
    /// assert_eq!(stats.workers.len(), 2);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn stats(&self) -> PoolStats {
        let registry = &self.shared.registry;
        let workers = (0..registry.workers())
            .map(|index| {
                let counters = &registry.counters[index].0;
                WorkerStats {
                    index,
                    cpu: registry.cpus[index],
                    tasks_run: counters.run.load(Ordering::Relaxed),
                    tasks_stolen: counters.stolen.load(Ordering::Relaxed),
                    times_parked: registry.sleep.times_parked(index),
                }
            })
            .collect();
        PoolStats { workers }
    }
}

// A pool's invariants never depend on user code finishing: tasks run inside
// `catch_unwind`, and no lock is held while user code runs. A panic that
// unwinds past a `&Pool` leaves it fully usable.
impl std::panic::UnwindSafe for Pool {}
impl std::panic::RefUnwindSafe for Pool {}

impl fmt::Debug for Pool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool")
            .field("workers", &self.workers())
            .field("pinning", &self.shared.registry.pinning)
            .field("cpus", &self.shared.registry.cpus)
            .field("shutdown", &self.is_shutdown())
            .finish()
    }
}

impl Pool {
    /// The index (`0..workers`) of the worker running the current code, when
    /// it runs on a worker of some pool; `None` on any other thread.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// assert_eq!(corepool::Pool::current_worker_index(), None);
    /// assert_eq!(pool.install(corepool::Pool::current_worker_index), Some(0));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn current_worker_index() -> Option<usize> {
        crate::worker::WorkerThread::current().map(|worker| worker.index())
    }
}

//! Borrowing work: [`Pool::scope`] and the handles of scoped tasks.
//!
//! # How a scope keeps borrowed data alive long enough
//!
//! 1. Every task submitted through a [`Scope`] points to the scope's latch and
//!    is counted in it before it is queued.
//! 2. A task's last touch of anything that may borrow from `'env` (its
//!    closure, its result, a panic payload) happens before it counts itself
//!    done: the runner drops a detached result first, an aborted task's
//!    closure is dropped first (see the rules in `task/mod.rs`).
//! 3. The scope's handles cannot leave the closure passed to `scope` (the
//!    closure is generic over `'scope`), so when it returns every handle has
//!    been joined or dropped, and dropping one takes its result with it.
//! 4. `scope` then waits until the latch counts zero — running its own
//!    queued tasks meanwhile when it is called on a worker — and only then
//!    returns. An `AbortIfPanic` guard makes sure nothing unwinds out of
//!    `scope` before that.
//! 5. A task submitted into a scope from a thread that is not one of the
//!    pool's workers goes to the injector. When the scope's owner is itself a
//!    worker of the pool, a second reference to the task is also listed on
//!    the latch, and the owner is unparked: waiting, it runs listed tasks
//!    that have not started (a task cell runs once whichever reference runs
//!    it). So a scope waiting on the only worker still finds its tasks.
//!
//! # After shutdown
//!
//! A scope never loses work. A task submitted or spawned into a scope after
//! its pool has shut down runs at once on the submitting thread, before
//! `submit` or `spawn` returns, as `join`, `install` and `par` run their
//! closures on the caller after a shutdown; its handle, its panic and the
//! scope's wait work as for any task. A submit that races with the shutdown
//! (the push is refused after the task was queued) takes the task back the
//! same way: it runs it here unless a draining worker started it first
//! (`submit.rs`, `submit_cell`). Only `shutdown_now` drops a scope's queued
//! tasks unrun: it cancels every task that has not started, and a
//! `ScopedTask`'s `join` then says so.
//!
//! # Counting spawns in batches
//!
//! Step 1's count is one atomic add on a line that every finishing task
//! also writes: with spawns on one worker and tasks finishing on another,
//! the line moved between them twice a task (a profile of 200,000 tiny
//! spawns: ~80 % of `spawn`'s own time on that add). So a worker of the
//! scope's pool adds [`CREDIT_BATCH`] at once and keeps the unused counts
//! as *credit* (`worker.rs`, `Credit`), spending one per task it counts
//! after that. The latch's count is then never below the true number of
//! unfinished tasks (a credit only adds), so step 4 never ends early; it
//! can only end late, if credit is kept while the scope waits. A worker
//! holds credit for one latch at a time and gives it back (one atomic
//! subtract, which wakes the owner if it was the last count) when it counts
//! a task of another latch, at the end of every job it runs, and each time
//! round its wait loop (`wait_for`: a scope's owner on a worker gives its
//! body's credit back there, as the credit keeps `is_done` false). Credit
//! is taken only while the worker runs something that can reach the scope
//! (its body, a job nested in it), and a scope cannot finish while that
//! runs; when it ends, the credit goes back.
//!
//! The final decrement wakes the waiting thread through a `Thread` handle
//! cloned *before* the decrement, so nothing touches the latch after its
//! count reaches zero (the latch lives on the stack of `scope`).

// Layer: many (`lib.rs`, "Layers"). It may use the cell, sched and base
// layers, the other many files, and the `Pool` type (to add its methods),
// nothing else of the face.

use std::fmt;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::time::{Duration, Instant};

use crate::error::{ShutdownError, TaskError};
use crate::job::{JobRef, Owner, OwnerTable};
use crate::pool::Pool;
use crate::registry::Registry;
use crate::submit::{spawn_job, submit_cell};
use crate::sync::{AtomicUsize, Mutex, Ordering, Thread, current_thread};
use crate::task::Handle;
use crate::unwind::{self, AbortIfPanic, Payload};
use crate::util::Padded;
use crate::wait::{Waitable, park_until, wait_until};
use crate::worker::{Credit, WorkerThread};

/// Counts a worker takes ahead from a latch at once ("Counting spawns in
/// batches").
const CREDIT_BATCH: usize = 32;

/// Counts a scope's unfinished tasks and keeps the first unobserved panic.
pub(crate) struct ScopeLatch {
    /// On a line of its own: every finishing task writes it, and the
    /// spawning thread reads the fields around it (the scope's pool) at
    /// every spawn.
    pending: Padded<AtomicUsize>,
    owner: Thread,
    panic: Mutex<Option<Payload>>,
    /// Whether the scope's owner is a worker of the scope's pool: its tasks
    /// submitted from other threads are then also listed in `foreign`.
    owner_is_worker: bool,
    /// Step 5: second references to tasks queued on the injector, so that the
    /// owner, waiting, can run them itself.
    foreign: Mutex<Vec<JobRef>>,
}

impl ScopeLatch {
    fn new(registry: &Registry) -> ScopeLatch {
        ScopeLatch {
            pending: Padded(AtomicUsize::new(0)),
            owner: current_thread(),
            panic: Mutex::new(None),
            owner_is_worker: registry.own_worker().is_some(),
            foreign: Mutex::new(Vec::new()),
        }
    }

    /// Counts one more task (step 1). On a worker of the scope's pool the
    /// count comes from a batch taken ahead ("Counting spawns in batches").
    #[inline]
    pub(crate) fn add_task(&self, local: Option<&WorkerThread>) {
        let Some(worker) = local else {
            self.pending.0.fetch_add(1, Ordering::Relaxed);
            return;
        };
        let me = NonNull::from(self).cast::<()>();
        match worker.credit() {
            Some(credit) if credit.latch == me => {
                let left = credit.left - 1;
                worker.set_credit((left > 0).then_some(Credit { left, ..credit }));
            }
            _ => {
                worker.settle_credit();
                // Relaxed: the job carrying a count is published by its
                // queue; the count only has to be there before the job's
                // `done` can run, and it is (program order, then the queue's
                // release).
                self.pending.0.fetch_add(CREDIT_BATCH, Ordering::Relaxed);
                worker.set_credit(Some(Credit {
                    latch: me,
                    left: CREDIT_BATCH - 1,
                    give_back: ScopeLatch::give_back_erased,
                }));
            }
        }
    }

    /// # Safety
    ///
    /// `ptr` is a live latch holding at least `n` counts given out as credit.
    unsafe fn give_back_erased(ptr: NonNull<()>, n: usize) {
        // SAFETY: the caller's contract.
        unsafe { ScopeLatch::release(ptr.cast::<ScopeLatch>().as_ptr().cast_const(), n) }
    }

    /// Whether a task submitted from this thread must also be listed with
    /// [`ScopeLatch::add_foreign`] (step 5).
    pub(crate) fn wants_foreign(&self, from_own_worker: bool) -> bool {
        self.owner_is_worker && !from_own_worker
    }

    /// Step 5: lists a second reference to a task queued on the injector and
    /// wakes the owner, who may be waiting with nothing else to run.
    pub(crate) fn add_foreign(&self, job: JobRef) {
        self.foreign.lock().push(job);
        self.owner.unpark();
    }

    /// Step 2's "done"; the caller's last use of the latch. It takes a raw
    /// pointer: after the final decrement the scope may return and free the
    /// latch, so no reference to it may be alive across that decrement.
    ///
    /// # Safety
    ///
    /// `this` points to a live latch that counts the calling task.
    pub(crate) unsafe fn task_done(this: *const ScopeLatch) {
        // SAFETY: the caller's contract.
        unsafe { ScopeLatch::release(this, 1) }
    }

    /// Takes `n` counts off, waking the owner if they were the last.
    ///
    /// # Safety
    ///
    /// As [`task_done`](Self::task_done), for `n` counts the caller holds.
    unsafe fn release(this: *const ScopeLatch, n: usize) {
        // SAFETY: the latch is alive until our decrement (contract above).
        // The decrement itself takes `&AtomicUsize` while the owner may free
        // the latch right after it: the same pattern as `Arc`'s final
        // `fetch_sub`, which the memory model allows (the reference is not
        // used after the atomic operation; rust-lang/rust#55005).
        let pending = unsafe { &(*this).pending.0 };
        let mut count = pending.load(Ordering::Relaxed);
        loop {
            // The owner's `Thread` is cloned only for what looks like the
            // final decrement: after that decrement the latch may be gone.
            // SAFETY: as above, before the decrement.
            let owner = (count == n).then(|| unsafe { (*this).owner.clone() });
            // AcqRel: release publishes the task's effects to the scope's
            // acquire load in `is_done`.
            match pending.compare_exchange_weak(
                count,
                count - n,
                Ordering::AcqRel,
                Ordering::Relaxed,
            ) {
                Ok(_) => {
                    if let Some(owner) = owner {
                        owner.unpark();
                    }
                    return;
                }
                Err(actual) => count = actual,
            }
        }
    }

    /// This latch as the [`Owner`] of the jobs and cells of its scope, which
    /// report their panics and their ends through it.
    pub(crate) fn owner(&self) -> Owner {
        const TABLE: &OwnerTable = &OwnerTable {
            record_panic: ScopeLatch::record_panic_erased,
            done: ScopeLatch::done_erased,
        };
        // SAFETY: the latch is `Sync`; it lives until `scope` returns, and
        // `scope` returns only after every counted job said `done` (step 4),
        // while handles, which may still record a panic when dropped, cannot
        // outlive the scope's closure (rule 3; a leaked one never records).
        unsafe { Owner::new(NonNull::from(self).cast(), TABLE) }
    }

    /// # Safety
    ///
    /// `ptr` comes from [`owner`](Self::owner) and the latch is alive.
    unsafe fn record_panic_erased(ptr: NonNull<()>, payload: Payload) {
        // SAFETY: the caller's contract.
        unsafe { ptr.cast::<ScopeLatch>().as_ref() }.record_panic(payload);
    }

    /// # Safety
    ///
    /// As [`task_done`](Self::task_done), for a `ptr` from
    /// [`owner`](Self::owner).
    unsafe fn done_erased(ptr: NonNull<()>) {
        // SAFETY: the caller's contract.
        unsafe { ScopeLatch::task_done(ptr.cast::<ScopeLatch>().as_ptr().cast_const()) }
    }

    /// Keeps the first panic nobody observed through a handle.
    pub(crate) fn record_panic(&self, payload: Payload) {
        let mut slot = self.panic.lock();
        if slot.is_none() {
            *slot = Some(payload);
        } else {
            drop(slot);
            unwind::drop_payload(payload);
        }
    }

    fn has_foreign(&self) -> bool {
        !self.foreign.lock().is_empty()
    }
}

impl Waitable for ScopeLatch {
    fn is_done(&self) -> bool {
        // Acquire: pairs with the release half of `task_done`'s
        // compare-exchange.
        self.pending.0.load(Ordering::Acquire) == 0
    }

    fn block_until(&self, deadline: Option<Instant>) -> bool {
        // Only the owner thread waits; `task_done` and `add_foreign` unpark
        // it.
        park_until(|| self.is_done() || self.has_foreign(), deadline);
        self.is_done()
    }

    fn run_inline(&self, worker: &WorkerThread) -> bool {
        // Foreign entries exist only when the owner is a worker of the scope's
        // pool, and only the owner waits on the latch.
        let job = self.foreign.lock().pop();
        match job {
            Some(job) => {
                worker.execute(job);
                true
            }
            None => false,
        }
    }
}

/// A scope for tasks that borrow from the caller's stack; see
/// [`Pool::scope`].
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let data = [1u32, 2, 3, 4];
/// let (left, right) = data.split_at(2);
/// let (mut a, mut b) = (0u32, 0u32);
/// pool.scope(|s| {
///     s.spawn(|_| a = left.iter().sum());
///     s.spawn(|_| b = right.iter().sum());
/// });
/// assert_eq!((a, b), (3, 7));
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub struct Scope<'scope, 'env: 'scope> {
    pool: Pool,
    latch: ScopeLatch,
    /// Invariant in `'scope`, as `std::thread::Scope`.
    _scope: PhantomData<&'scope mut &'scope ()>,
    _env: PhantomData<&'env mut &'env ()>,
}

impl fmt::Debug for Scope<'_, '_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("pending", &self.latch.pending.0.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl<'scope, 'env> Scope<'scope, 'env> {
    /// [`submit`](Scope::submit) that says no at once once the pool is
    /// shutting down (where `submit` would run `f` on the calling thread):
    /// `Err` gives `f` back unrun, as [`Pool::try_submit`] does.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// pool.scope(|s| {
    ///     assert_eq!(s.try_submit(|| 1).unwrap().join().unwrap(), 1);
    ///     pool.shutdown();
    ///     assert!(s.try_submit(|| 2).is_err());
    /// });
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn try_submit<F, T>(&'scope self, f: F) -> Result<ScopedTask<'scope, T>, ShutdownError<F>>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        if self.pool.is_shutdown() {
            return Err(ShutdownError::new(f));
        }
        Ok(self.submit(f))
    }

    /// Runs `f` on the pool; `f` may borrow anything that outlives the scope.
    /// The returned handle works like [`Task`](crate::Task); dropping it
    /// detaches the task, which the scope still waits for. After the pool's
    /// shutdown, `f` runs on the calling thread before `submit` returns.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let words = vec!["a", "bb", "ccc"];
    /// let total = pool.scope(|s| {
    ///     let lens: Vec<_> = words.iter().map(|w| s.submit(move || w.len())).collect();
    ///     lens.into_iter().map(|t| t.join().unwrap()).sum::<usize>()
    /// });
    /// assert_eq!(total, 6);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn submit<F, T>(&'scope self, f: F) -> ScopedTask<'scope, T>
    where
        F: FnOnce() -> T + Send + 'scope,
        T: Send + 'scope,
    {
        ScopedTask {
            handle: submit_cell(self.pool.registry(), f, Some(&self.latch)),
        }
    }

    /// Runs `f` on the pool with no handle and no result slot (fire and
    /// forget within the scope): the cheapest way to start borrowed work. `f`
    /// gets the scope, so it can spawn more work into it without naming the
    /// scope's lifetimes. A panic in `f` is re-raised by the scope. After the
    /// pool's shutdown, `f` runs on the calling thread before `spawn` returns.
    /// A [`Pool::shutdown_now`](crate::Pool::shutdown_now) racing with the
    /// scope drops the spawned jobs it finds queued, unrun, and nothing
    /// tells the scope (its count is `shutdown_now`'s return value): where
    /// every spawn must be known to have run or not, use
    /// [`submit`](Self::submit), whose handle says `cancelled`.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    ///
    /// let pool = corepool::Pool::new()?;
    /// let count = AtomicUsize::new(0);
    /// pool.scope(|s| {
    ///     for _ in 0..4 {
    ///         s.spawn(|s| {
    ///             count.fetch_add(1, Ordering::Relaxed);
    ///             s.spawn(|_| {
    ///                 count.fetch_add(10, Ordering::Relaxed);
    ///             });
    ///         });
    ///     }
    /// });
    /// assert_eq!(count.into_inner(), 44);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn spawn<F>(&'scope self, f: F)
    where
        F: FnOnce(&'scope Scope<'scope, 'env>) + Send + 'scope,
    {
        spawn_job(self.pool.registry(), move || f(self), Some(&self.latch));
    }

    /// The pool this scope runs on.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let workers = pool.scope(|s| s.pool().workers());
    /// assert_eq!(workers, 2);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    pub(crate) fn latch(&self) -> &ScopeLatch {
        &self.latch
    }
}

/// The handle of a task submitted in a [`Scope`]: the same operations as
/// [`Task`](crate::Task), for a task that may borrow.
///
/// Dropping it detaches the task; the scope still waits for it, and
/// re-raises its panic if it panicked.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let text = String::from("scoped tasks may borrow");
/// let words = pool.scope(|s| {
///     let task: corepool::ScopedTask<'_, usize> = s.submit(|| text.split(' ').count());
///     task.join().unwrap()
/// });
/// assert_eq!(words, 4);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use = "dropping a ScopedTask detaches it: the task still runs, but its result is lost"]
pub struct ScopedTask<'scope, T> {
    handle: Handle<'scope, T>,
}

impl<'scope, T: Send + 'scope> ScopedTask<'scope, T> {
    /// Blocks until the task ends and returns its value or why there is none.
    /// A panic returned here is observed: the scope does not re-raise it.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let word = String::from("borrowed");
    /// let len = pool.scope(|s| s.submit(|| word.len()).join().unwrap());
    /// assert_eq!(len, 8);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn join(self) -> Result<T, TaskError> {
        self.handle.join()
    }

    /// Whether the task has ended. Never blocks.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = corepool::Pool::new()?;
    /// pool.scope(|s| {
    ///     let task = s.submit(|| 1);
    ///     task.wait_timeout(Duration::from_secs(60));
    ///     assert!(task.is_finished());
    /// });
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits at most `timeout` for the task to end and says whether it has.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = corepool::Pool::new()?;
    /// let data = vec![1, 2, 3];
    /// pool.scope(|s| {
    ///     let task = s.submit(|| data.iter().sum::<i32>());
    ///     assert!(task.wait_timeout(Duration::from_secs(60)));
    ///     assert_eq!(task.join().unwrap(), 6);
    /// });
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        self.handle.wait_until(Instant::now().checked_add(timeout))
    }

    /// Cancels the task if it has not started; see [`Task::cancel`](crate::Task::cancel).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// pool.scope(|s| {
    ///     let blocker = s.submit(move || rx.recv().unwrap());
    ///     let queued = s.submit(|| unreachable!("cancelled"));
    ///     assert!(queued.cancel());
    ///     tx.send(()).unwrap();
    ///     blocker.join().unwrap();
    ///     assert!(queued.join().unwrap_err().is_cancelled());
    /// });
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn cancel(&self) -> bool {
        self.handle.cancel()
    }

    /// Runs `callback` once when the task ends, with a reference to its
    /// outcome, as [`Task::on_result`](crate::Task::on_result) does.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    ///
    /// let pool = corepool::Pool::new()?;
    /// let seen = Arc::new(AtomicUsize::new(0));
    /// pool.scope(|s| {
    ///     let task = s.submit(|| 5usize);
    ///     let seen = seen.clone();
    ///     task.on_result(move |outcome| seen.store(*outcome.unwrap(), Ordering::SeqCst));
    /// });
    /// assert_eq!(seen.load(Ordering::SeqCst), 5);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn on_result<C>(&self, callback: C)
    where
        C: FnOnce(Result<&T, &TaskError>) + Send + 'static,
        T: Sync,
    {
        self.handle.on_result(callback);
    }
}

impl<T> fmt::Debug for ScopedTask<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScopedTask")
            .field(
                "state",
                &format_args!("{}", self.handle.header().describe()),
            )
            .finish()
    }
}

impl Pool {
    /// Runs `f` with a [`Scope`] whose tasks may borrow non-`'static` data,
    /// like [`std::thread::scope`], and returns when every task submitted in
    /// it has ended.
    ///
    /// If a scoped task panics and its panic is not taken through its
    /// handle's `join`, `scope` re-raises the first such panic after all its
    /// tasks have ended; a panic in `f` itself is re-raised the same way.
    /// Called on one of the pool's workers, `scope` runs its own queued tasks
    /// while it waits, then blocks.
    ///
    /// After [`shutdown`](Pool::shutdown) nothing submitted or spawned in the
    /// scope is lost: each task runs on the calling thread as it is submitted
    /// (as [`join`](Pool::join) and [`install`](Pool::install) do after a
    /// shutdown), and the scope returns once all have run.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// pool.shutdown();
    /// let mut bytes = [0u8; 8];
    /// pool.scope(|s| {
    ///     for (i, b) in bytes.iter_mut().enumerate() {
    ///         s.spawn(move |_| *b = i as u8);
    ///     }
    /// });
    /// assert_eq!(bytes, [0, 1, 2, 3, 4, 5, 6, 7]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let mut data = vec![1u64; 10_000];
    /// pool.scope(|s| {
    ///     for chunk in data.chunks_mut(1000) {
    ///         let _ = s.submit(move || chunk.iter_mut().for_each(|x| *x *= 2));
    ///     }
    /// });
    /// assert!(data.iter().all(|&x| x == 2));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn scope<'env, F, R>(&self, f: F) -> R
    where
        F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
    {
        let scope = Scope {
            pool: self.clone(),
            latch: ScopeLatch::new(self.registry()),
            _scope: PhantomData,
            _env: PhantomData,
        };
        // Until every task has ended, queued work points into `scope`:
        // nothing may unwind out of this frame meanwhile.
        let guard = AbortIfPanic;
        let result = unwind::halt_unwinding(|| f(&scope));
        // On a worker, the body's credit goes back in `wait_for`'s loop.
        wait_until(&scope.latch, None);
        std::mem::forget(guard);
        let task_panic = scope.latch.panic.lock().take();
        match result {
            Err(payload) => {
                if let Some(second) = task_panic {
                    unwind::drop_payload(second);
                }
                std::panic::resume_unwind(payload)
            }
            Ok(value) => {
                if let Some(payload) = task_panic {
                    // Dropped before the unwinding: a destructor panicking
                    // during it would abort the process.
                    unwind::drop_contained(value);
                    std::panic::resume_unwind(payload);
                }
                value
            }
        }
    }
}

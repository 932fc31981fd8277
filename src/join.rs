//! Fork-join: [`Pool::join`] runs two closures, potentially in parallel, the
//! way rayon's `join` does — with no heap allocation on the fast path.
//!
//! # The protocol, on a worker
//!
//! 1. The second closure `b` is wrapped in a [`StackJob`] on the caller's
//!    stack and a pointer to it is pushed on the worker's own deque, where
//!    idle workers may steal it. The push wakes a sleeping worker only when
//!    nobody is searching (`Sleep::notify_one_for_fork`: without the fence a
//!    submit needs, since a missed wake-up here only costs parallelism).
//! 2. The caller runs `a` itself, catching a panic.
//! 3. It pops its deque. Popping its own job back means nobody stole `b`: it
//!    runs `b` inline, no atomics beyond the deque's own. Popping another job
//!    (something `a` pushed and left behind) runs that and pops again.
//! 4. An empty deque means `b` was stolen: the caller runs other work until
//!    the thief marks the job done (`help_until`), then reads `b`'s result.
//! 5. Only then is a panic from `a` or `b` re-raised: `b` may borrow the
//!    caller's stack, so the caller never unwinds while `b` may still run.
//!
//! The thief marks the job done with a release store after writing the
//! result, and wakes the owner through a clone of the owner's `Thread` taken
//! *before* that store, so it never touches the job after the owner may have
//! returned. The store is made through raw pointers ([`DoneSignal`]) after
//! the job's own `&self` methods have returned, so no reference to the job is
//! alive when it may be freed. Called from a thread outside the pool, `join` moves the whole
//! fork-join into the pool (one task) and blocks until it is done.

use std::cell::UnsafeCell;
use std::panic::{self, AssertUnwindSafe};
use std::time::Instant;

use crate::pool::Pool;
use crate::sync::{AtomicUsize, Ordering};
use crate::task::{Job, JobRef};
use crate::worker::{Waitable, WorkerThread, park_until};

const PENDING: usize = 0;
const DONE: usize = 1;

/// The second half of a `join`, on the stack of the worker that forked it.
struct StackJob<'w, F, R> {
    state: AtomicUsize,
    /// The frame that forked it (`WorkerThread::origin`).
    origin: u64,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<Option<std::thread::Result<R>>>,
    /// The forking worker's thread; it outlives the job (the owner blocks in
    /// `join` until the job is done), and is cloned only by a thief.
    owner: &'w std::thread::Thread,
}

// SAFETY: `func` is taken by exactly one thread, the one that popped or stole
// the job (the deque hands each entry out once), and moved there: `F: Send`.
// `result` is written by that thread before the release store of DONE and read
// by the owner after an acquire load of DONE (or by the owner itself when it
// ran the job inline): `R: Send`.
unsafe impl<F: Send, R: Send> Sync for StackJob<'_, F, R> {}

/// How a stolen half tells its owner it has run: raw pointers, used by
/// `JobRef::run` after the job's own methods have returned, because the DONE
/// store lets the owner free the job at once.
pub(crate) struct DoneSignal {
    state: *const AtomicUsize,
    owner: *const std::thread::Thread,
}

impl DoneSignal {
    /// Marks the job done and wakes its owner.
    ///
    /// # Safety
    ///
    /// The job must have run, and both pointers must still be valid: the
    /// owner waits in `join` until this store.
    pub(crate) unsafe fn fire(self) {
        // SAFETY: the owner's `Thread` lives in its `WorkerThread`, alive
        // while the owner waits (this function's contract); cloned before the
        // store, after which nothing here may touch the job or the owner.
        let owner = unsafe { (*self.owner).clone() };
        // SAFETY: as above, the job is alive until this store.
        // Release: pairs with the acquire load in `is_done`; publishes the
        // result.
        unsafe { (*self.state).store(DONE, Ordering::Release) };
        owner.unpark();
    }
}

impl<F: FnOnce() -> R + Send, R: Send> StackJob<'_, F, R> {
    /// Runs the closure on the current thread and stores its outcome.
    fn compute(&self) {
        // SAFETY: only the one thread that took this job out of a deque calls
        // `execute`, once (see the `Sync` impl).
        let func = unsafe { (*self.func.get()).take() }.expect("join half run twice");
        let outcome = panic::catch_unwind(AssertUnwindSafe(func));
        // SAFETY: as above; the owner reads `result` only after DONE.
        unsafe { *self.result.get() = Some(outcome) };
    }

    /// Takes the outcome after the job ran.
    fn into_outcome(self) -> std::thread::Result<R> {
        self.result.into_inner().expect("join half never ran")
    }
}

impl<F: FnOnce() -> R + Send, R: Send> Job for StackJob<'_, F, R> {
    /// Run by a thief (or by `shutdown_now`); `JobRef::run` then fires the
    /// job's [`DoneSignal`].
    fn run(&self) {
        self.compute();
    }

    fn done_signal(&self) -> Option<DoneSignal> {
        Some(DoneSignal {
            state: &self.state,
            owner: self.owner,
        })
    }

    fn abort(&self, _how: crate::task::Abort) -> bool {
        false
    }

    fn origin(&self) -> u64 {
        self.origin
    }

    unsafe fn execute(&self) {
        // Nothing to release: the job lives on its owner's stack.
        self.run();
    }
}

impl<F, R> Waitable for StackJob<'_, F, R> {
    fn is_done(&self) -> bool {
        // Acquire: pairs with the release store in `run`.
        self.state.load(Ordering::Acquire) == DONE
    }

    fn block_until(&self, deadline: Option<Instant>) -> bool {
        // The thief unparks the owner after its DONE store.
        park_until(|| self.is_done(), deadline)
    }
}

impl WorkerThread {
    /// Steps 1–5 of the module docs.
    #[inline]
    fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        let job_b = StackJob {
            state: AtomicUsize::new(PENDING),
            origin: self.origin(),
            func: UnsafeCell::new(Some(b)),
            result: UnsafeCell::new(None),
            owner: self.thread(),
        };
        let job_ptr = &job_b as *const StackJob<'_, B, RB> as *const ();
        // SAFETY: `job_b` lives on this frame, which does not return before
        // the job has run: below we either run it inline after popping it
        // back, or wait until the thief marks it DONE.
        let job_ref = unsafe { JobRef::stack(&job_b) };
        self.push_local(job_ref);
        self.registry().sleep.notify_one_for_fork();

        let result_a = panic::catch_unwind(AssertUnwindSafe(a));

        while !job_b.is_done() {
            match self.pop_local() {
                Some(job) if job.points_to(job_ptr) => {
                    // Our own stack job: nothing to release.
                    std::mem::forget(job);
                    // Nobody stole `b`: run it here, straight. A panic in it
                    // may unwind from here: `a` is done and `b` is ours.
                    // SAFETY: we popped the only reference to the job back
                    // out of our deque, so nobody else takes the closure.
                    let b = unsafe { (*job_b.func.get()).take() }.expect("join half run twice");
                    let result_b = b();
                    return match result_a {
                        Ok(ra) => (ra, result_b),
                        Err(payload) => panic::resume_unwind(payload),
                    };
                }
                Some(other) => self.execute(other),
                None => {
                    self.help_until(&job_b, None);
                    break;
                }
            }
        }
        let result_b = job_b.into_outcome();
        match (result_a, result_b) {
            (Ok(ra), Ok(rb)) => (ra, rb),
            (Err(payload), _) | (_, Err(payload)) => panic::resume_unwind(payload),
        }
    }
}

impl Pool {
    /// Runs `a` and `b`, potentially in parallel, and returns both results:
    /// fork-join for recursive divide and conquer.
    ///
    /// On a worker, `a` runs on the calling thread while `b` waits on the
    /// worker's deque for an idle worker to steal it; if nobody does, the
    /// caller runs `b` itself after `a`, with no heap allocation. Called from
    /// outside the pool, the whole join moves into the pool and the caller
    /// blocks until it is done.
    ///
    /// If either closure panics, `join` waits for the other one and then
    /// re-raises the panic (`a`'s, unless `b` ran on this thread and panicked
    /// too). After [`shutdown`](Pool::shutdown), a call from outside the
    /// pool runs both closures on the calling thread.
    ///
    /// # Panics
    ///
    /// Re-raises a panic of `a` or `b`. Called from outside the pool while
    /// another thread runs `shutdown_now`, it panics if its task is cancelled.
    ///
    /// While a thief runs `b`, the caller runs other queued work, as rayon's
    /// `join` does: first the tasks `a` left on its deque, then anything in
    /// the pool. Such work must not block on a task that is paused lower on
    /// the same thread's stack (a task that `join`s the very task that
    /// called `Pool::join`); `Task::join` never picks up unrelated work.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// fn fib(pool: &Pool, n: u64) -> u64 {
    ///     if n < 2 {
    ///         return n;
    ///     }
    ///     let (a, b) = pool.join(|| fib(pool, n - 1), || fib(pool, n - 2));
    ///     a + b
    /// }
    ///
    /// let pool = Pool::new().unwrap();
    /// assert_eq!(fib(&pool, 20), 6765);
    /// ```
    #[inline]
    pub fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        if let Some(worker) = self.registry().own_worker() {
            return worker.join(a, b);
        }
        // Outside the pool: one hop onto a worker; after a shutdown `install`
        // runs the closure here, so both halves run on the caller.
        self.install(move || {
            let worker = WorkerThread::current().expect("install runs on a worker");
            worker.join(a, b)
        })
    }
}

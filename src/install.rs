//! [`Pool::install`]: one hop onto a worker and back, with no allocation.
//!
//! # The protocol
//!
//! 1. The caller (a thread that is not one of the pool's workers) wraps the
//!    closure in a fork-join half's job (`join.rs`'s `StackJob`) on its own
//!    stack and pushes a pointer to it on the injector, under an
//!    `AbortIfPanic` guard: the queue points into this frame until the job
//!    has run.
//! 2. A worker runs it (or, during `shutdown_now` or when the push lost the
//!    race with shutdown, whoever drains the queue: an install cannot be
//!    cancelled, its caller waits), stores the outcome, clones the caller's
//!    `Thread`, releases DONE through a raw pointer and unparks the caller —
//!    the same hand-off as a stolen join half (`join.rs`).
//! 3. The caller waits for DONE and returns the value or re-raises the
//!    panic. A caller that is a worker of another pool runs any of its own
//!    pool's work meanwhile (`help_until`, as `Pool::join` does while a
//!    stolen half runs): `f` may install back into the caller's pool, and
//!    with every worker of that pool waiting here, nobody else would run it.
//!
//! A caller that finds the pool shut down runs the closure itself.

use crate::join::StackJob;
use crate::pool::Pool;
use crate::sync::current_thread;
use crate::unwind::AbortIfPanic;
use crate::wait::wait_until;
use crate::worker::WorkerThread;

impl Pool {
    /// Runs `f` on one of this pool's workers and returns its value, so that
    /// `join`, `scope`, `par` and `map` called inside `f` start on a worker
    /// (no cross-thread hop per task). Called on one of this pool's own
    /// workers it simply calls `f`. A panic in `f` is re-raised here. The
    /// hop allocates nothing: `f` waits on the caller's stack.
    ///
    /// On a pool that has shut down, `f` runs on the calling thread:
    /// `install` always returns `f`'s value.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let here = pool.install(|| corepool::Pool::current_worker_index());
    /// assert!(matches!(here, Some(0 | 1)));
    /// assert_eq!(pool.install(|| 6 * 7), 42);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn install<F, R>(&self, f: F) -> R
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let registry = self.registry();
        if registry.own_worker().is_some() || registry.is_shutdown() {
            return f();
        }
        let owner = current_thread();
        // A fork-join half's job, published at once: the same hand-off.
        // `f` is part of whatever the caller runs: `is_cancelled` inside it
        // answers for the caller's task (which waits for it below).
        let job = StackJob::new(f, &owner, crate::cancel::current(), std::ptr::null(), 0);
        // Step 1: from the push until DONE, the injector points here.
        let guard = AbortIfPanic;
        // SAFETY: `job` stays in place until DONE (we wait for it below),
        // and the reference is consumed once, by whoever runs it.
        let job_ref = unsafe { job.job_ref() };
        if !registry.push(job_ref, None) {
            // Shutdown raced with the push: the job runs wherever the queue
            // is drained, here if every worker has exited already.
            registry.refused_after_push();
        }
        match WorkerThread::current() {
            // On a worker of another pool: that pool's work may be what `f`
            // needs (an install back into it, nested), so the worker runs
            // any of its own pool's work meanwhile, as `Pool::join` does
            // while a stolen half runs (the same caveat applies).
            Some(worker) => {
                worker.help_until(&job, None);
            }
            None => {
                wait_until(&job, None);
            }
        }
        std::mem::forget(guard);
        match job.into_outcome() {
            Ok(value) => value,
            Err(payload) => std::panic::resume_unwind(payload),
        }
    }
}

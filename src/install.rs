//! [`Pool::install`]: one hop onto a worker and back, with no allocation.
//!
//! # The protocol
//!
//! 1. The caller (a thread that is not one of the pool's workers) wraps the
//!    closure in an [`InstallJob`] on its own stack and pushes a pointer to it
//!    on the injector, as a fork-join half is pushed on a deque, under an
//!    `AbortIfPanic` guard: the queue points into this frame until the job
//!    has run.
//! 2. A worker runs it (or, during `shutdown_now` or when the push lost the
//!    race with shutdown, whoever drains the queue: an install cannot be
//!    cancelled, its caller waits), stores the outcome, clones the caller's
//!    `Thread`, releases DONE through a raw pointer and unparks the caller —
//!    the same hand-off as a stolen join half (`join.rs`).
//! 3. The caller waits for DONE (running its own pool's work meanwhile if it
//!    is a worker of another pool) and returns the value or re-raises the
//!    panic.
//!
//! A caller that finds the pool shut down runs the closure itself.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::time::Instant;

use crate::job::{JobRef, JobVtable};
use crate::pool::Pool;
use crate::sync::{AtomicUsize, Ordering, Thread, current_thread};
use crate::unwind::{self, AbortIfPanic, Payload};
use crate::wait::{Waitable, park_until, wait_until};

const PENDING: usize = 0;
const DONE: usize = 1;

/// A closure installed into a pool, on its caller's stack.
struct InstallJob<F, R> {
    state: AtomicUsize,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<Option<Result<R, Payload>>>,
    owner: Thread,
}

impl<F: FnOnce() -> R + Send, R: Send> InstallJob<F, R> {
    const VTABLE: &'static JobVtable = &JobVtable {
        execute: Self::execute,
        cancel: Self::cancel,
        release: Self::execute,
        origin: Self::origin,
    };

    /// Step 2.
    unsafe fn execute(ptr: NonNull<()>) {
        let job = ptr.cast::<Self>().as_ptr().cast_const();
        let owner = {
            // SAFETY: the job is alive until the DONE store below: its caller
            // waits for it (step 3).
            let this = unsafe { &*job };
            // SAFETY: a queue hands each entry out once, so this thread alone
            // takes the closure.
            let func = unsafe { (*this.func.get()).take() }.expect("install job run twice");
            let outcome = {
                let _running = crate::cancel::enter_running(crate::cancel::Running::NONE);
                unwind::halt_unwinding(func)
            };
            // SAFETY: as above; the caller reads `result` only after DONE.
            unsafe { *this.result.get() = Some(outcome) };
            this.owner.clone()
        };
        // SAFETY: the job is alive until this store, and no other reference to
        // it is; the store's own `&AtomicUsize` is not used after it, as with
        // `Arc`'s final `fetch_sub`. Release: pairs with the acquire load in
        // `is_done`; publishes the result.
        unsafe { (*std::ptr::addr_of!((*job).state)).store(DONE, Ordering::Release) };
        owner.unpark();
    }

    /// An install is never cancelled: its caller waits for it.
    unsafe fn cancel(ptr: NonNull<()>) -> bool {
        // SAFETY: the vtable's contract.
        unsafe { Self::execute(ptr) };
        false
    }

    unsafe fn origin(_ptr: NonNull<()>) -> u64 {
        0
    }
}

impl<F, R> Waitable for InstallJob<F, R> {
    fn is_done(&self) -> bool {
        // Acquire: pairs with the release store in `execute`.
        self.state.load(Ordering::Acquire) == DONE
    }

    fn block_until(&self, deadline: Option<Instant>) -> bool {
        park_until(|| self.is_done(), deadline)
    }
}

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
        let job = InstallJob {
            state: AtomicUsize::new(PENDING),
            func: UnsafeCell::new(Some(f)),
            result: UnsafeCell::new(None),
            owner: current_thread(),
        };
        // Step 1: from the push until DONE, the injector points here.
        let guard = AbortIfPanic;
        // SAFETY: `job` stays in place until DONE (we wait for it below);
        // `F` and `R` are `Send`.
        let job_ref =
            unsafe { JobRef::new(NonNull::from(&job).cast(), InstallJob::<F, R>::VTABLE) };
        if !registry.push(job_ref, None) {
            // Shutdown raced with the push: the job runs wherever the queue
            // is drained, here if every worker has exited already.
            registry.refused_after_push();
        }
        wait_until(&job, None);
        std::mem::forget(guard);
        match job.result.into_inner().expect("install job never ran") {
            Ok(value) => value,
            Err(payload) => std::panic::resume_unwind(payload),
        }
    }
}

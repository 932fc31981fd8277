//! [`JobRef`], the one kind of reference a queue holds: a data pointer and a
//! static table of functions that take that pointer, as rayon-core's `JobRef`
//! and tokio's task vtable.
//!
//! # Why raw pointers and functions, not `&self` methods
//!
//! A job may be freed by the very call that runs it: a heap task cell gives
//! up the queue's reference count when it has run, and a fork-join half lets
//! its owner return (freeing the stack frame it lives in) the moment it says
//! it is done. If that happened inside a method taking `&self`, a reference
//! would be live while its memory is freed, which is undefined behaviour
//! (rust-lang/rust#55005). So every entry of [`JobVtable`] takes the raw
//! pointer, borrows the job only inside a block that ends before the release,
//! and releases through the raw pointer.
//!
//! # The three kinds of job
//!
//! - A **task cell** (`task.rs`): `Arc`-counted, shared with a handle; the
//!   queue holds one count.
//! - A **spawned job** ([`HeapJob`]): a boxed closure with no handle and no
//!   result slot (`Pool::spawn`, `Scope::spawn`); the queue owns the box.
//! - A **fork-join half** (`join.rs`): lives on its owner's stack; the queue
//!   owns nothing, and the owner waits until it has run.
//!
//! Invariant: each `JobRef` is consumed exactly once, by `execute`, by
//! `cancel`, or by being dropped (which releases it without running it; only
//! queues torn down with work still in them do that).

use std::ptr::NonNull;

use crate::scope::ScopeLatch;
use crate::unwind;

/// What a queue can do with a job, given only its pointer.
pub(crate) struct JobVtable {
    /// Runs the job (a task cell that was cancelled meanwhile does nothing)
    /// and gives up the reference.
    pub(crate) execute: unsafe fn(NonNull<()>),
    /// For `shutdown_now`: ends the job without running its closure and
    /// returns `true`, or runs it and returns `false` when it must run (a
    /// fork-join half, whose owner waits) or already ran. Gives up the
    /// reference either way.
    pub(crate) cancel: unsafe fn(NonNull<()>) -> bool,
    /// Gives up the reference without running the job.
    pub(crate) release: unsafe fn(NonNull<()>),
    /// The frame that pushed the job (see `WorkerThread::pop_descendant`).
    pub(crate) origin: unsafe fn(NonNull<()>) -> u64,
}

/// A queued job: a pointer and its function table. Two words.
pub(crate) struct JobRef {
    ptr: NonNull<()>,
    vtable: &'static JobVtable,
}

// SAFETY: every job behind a `JobRef` is made to be run on another thread:
// task cells and spawned jobs require `F: Send` (and `T: Send`), fork-join
// halves require `Send` closures and results (see each constructor).
unsafe impl Send for JobRef {}

impl JobRef {
    /// # Safety
    ///
    /// `ptr` must be valid for every function of `vtable` until the reference
    /// is consumed, and the job must be safe to run on any thread.
    #[inline]
    pub(crate) unsafe fn new(ptr: NonNull<()>, vtable: &'static JobVtable) -> JobRef {
        JobRef { ptr, vtable }
    }

    /// Whether this is a reference to the job at `ptr`.
    #[inline]
    pub(crate) fn points_to(&self, ptr: *const ()) -> bool {
        std::ptr::eq(self.ptr.as_ptr().cast_const(), ptr)
    }

    /// The frame that pushed the job.
    #[inline]
    pub(crate) fn origin(&self) -> u64 {
        // SAFETY: the job is alive until this reference is consumed.
        unsafe { (self.vtable.origin)(self.ptr) }
    }

    /// Runs the job and gives up the reference.
    #[inline]
    pub(crate) fn execute(self) {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: the reference is consumed here, once: `this` is not used
        // again and its `Drop` does not run.
        unsafe { (this.vtable.execute)(this.ptr) }
    }

    /// Cancels the job if it may be cancelled, else runs it; see
    /// [`JobVtable::cancel`]. Gives up the reference.
    pub(crate) fn cancel(self) -> bool {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: as in `execute`.
        unsafe { (this.vtable.cancel)(this.ptr) }
    }
}

impl Drop for JobRef {
    fn drop(&mut self) {
        // SAFETY: dropping is this reference's one consumption.
        unsafe { (self.vtable.release)(self.ptr) }
    }
}

impl std::fmt::Debug for JobRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JobRef").field("ptr", &self.ptr).finish()
    }
}

/// A spawned job: a closure with no handle and no result slot. A panic in it
/// goes to its scope (re-raised by `scope`), or, outside a scope, is reported
/// by the panic hook as usual and then dropped: the pool lives on.
pub(crate) struct HeapJob<F> {
    func: F,
    /// The scope this job belongs to, or null.
    scope: *const ScopeLatch,
    origin: u64,
}

impl<F: FnOnce() + Send> HeapJob<F> {
    /// A queue reference owning a new boxed job.
    ///
    /// # Safety
    ///
    /// `scope`, if not null, must point to a latch that counts this job and
    /// stays alive until the job tells it it is done. Anything `F` borrows
    /// must outlive the job's run (for a scope: the scope waits for it).
    pub(crate) unsafe fn new_ref(func: F, scope: *const ScopeLatch, origin: u64) -> JobRef {
        let boxed = Box::new(HeapJob {
            func,
            scope,
            origin,
        });
        // SAFETY: `Box::into_raw` is never null; the box lives until one of
        // the table's functions consumes it; `F: Send`.
        unsafe {
            JobRef::new(
                NonNull::new_unchecked(Box::into_raw(boxed).cast()),
                Self::VTABLE,
            )
        }
    }

    const VTABLE: &'static JobVtable = &JobVtable {
        execute: Self::execute,
        cancel: Self::cancel,
        release: Self::release,
        origin: Self::origin,
    };

    /// # Safety
    ///
    /// `ptr` comes from `new_ref` and is consumed here.
    unsafe fn take(ptr: NonNull<()>) -> HeapJob<F> {
        // SAFETY: the caller's contract; the box is freed here, its contents
        // moved out.
        *unsafe { Box::from_raw(ptr.cast::<HeapJob<F>>().as_ptr()) }
    }

    unsafe fn execute(ptr: NonNull<()>) {
        // SAFETY: the vtable's contract: consumed once.
        let job = unsafe { Self::take(ptr) };
        // A spawned job belongs to no task: `is_cancelled` answers for
        // nothing here (a group job enters its group itself).
        let outcome = {
            let _running = crate::cancel::enter_running(crate::cancel::Running::NONE);
            unwind::halt_unwinding(job.func)
        };
        // SAFETY: the latch outlives this job until `finish` (new_ref).
        unsafe { finish(job.scope, outcome.err()) };
    }

    unsafe fn cancel(ptr: NonNull<()>) -> bool {
        // SAFETY: as in `execute`.
        let job = unsafe { Self::take(ptr) };
        let outcome = unwind::halt_unwinding(move || drop(job.func));
        // SAFETY: as in `execute`.
        unsafe { finish(job.scope, outcome.err()) };
        true
    }

    unsafe fn release(ptr: NonNull<()>) {
        // SAFETY: as in `cancel`: releasing a spawned job cancels it.
        let _ = unsafe { Self::cancel(ptr) };
    }

    unsafe fn origin(ptr: NonNull<()>) -> u64 {
        // SAFETY: `ptr` points to a live job (vtable contract).
        unsafe { (*ptr.cast::<HeapJob<F>>().as_ptr()).origin }
    }
}

/// The end of a spawned job: its panic goes to its scope or is dropped, then
/// the scope is told the job is done (its last touch).
///
/// # Safety
///
/// `scope` is null or points to a live latch that counts this job.
unsafe fn finish(scope: *const ScopeLatch, panic: Option<unwind::Payload>) {
    if scope.is_null() {
        if let Some(payload) = panic {
            unwind::drop_payload(payload);
        }
        return;
    }
    if let Some(payload) = panic {
        // SAFETY: the latch is alive until `task_done` below.
        unsafe { (*scope).record_panic(payload) };
    }
    // SAFETY: the caller's contract; this is the job's last use of it.
    unsafe { ScopeLatch::task_done(scope) };
}

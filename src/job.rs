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
//! - A **task cell** (`task/`): `Arc`-counted, shared with a handle; the
//!   queue holds one count.
//! - A **spawned job** ([`HeapJob`]): a boxed closure with no handle and no
//!   result slot (`Pool::spawn`, `Scope::spawn`); the queue owns the box.
//! - A **fork-join half** (`join.rs`): lives on its owner's stack; the queue
//!   owns nothing, and the owner waits until it has run.
//!
//! Invariant: each `JobRef` is consumed exactly once, by `execute`, by
//! `cancel`, or by being dropped (which releases it without running it; only
//! queues torn down with work still in them do that).
//!
//! # Layer
//!
//! `sched` (`lib.rs`, "Layers"): this file uses only the base layer. What a
//! job must tell on its way out reaches the layers above through tables they
//! fill in: a task cell's [`Owner`] (a scope's latch, in practice) hears of
//! its panic and its end; a fork-join half is published through its
//! [`JoinFrame`], whose table `join.rs` writes. A spawned job needs neither:
//! the closure the layers above hand in does its own bookkeeping (a scope's
//! `ScopedJob`, `submit.rs`), and sets the cancellation context (what
//! `is_cancelled` answers for) itself.

use std::cell::Cell;
use std::mem::MaybeUninit;
use std::ptr::NonNull;

use crate::slots::{self, Block};
use crate::worker::WorkerThread;

use crate::sync::{AtomicPtr, Ordering};
use crate::unwind::{self, Payload};

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

/// What a task cell that belongs to something (a scope) tells it: a pointer
/// and a static table, so that the layers below the scope need no scope
/// type. (A task cell tells its scope after it has published its result, so
/// its closure cannot do it, as a spawned job's does.)
pub(crate) struct OwnerTable {
    /// Keeps a panic nobody will observe through a handle (the scope
    /// re-raises the first one).
    pub(crate) record_panic: unsafe fn(NonNull<()>, Payload),
    /// The job has ended: its last touch of the owner, which may be freed
    /// as soon as this returns (or even while it runs, after its final
    /// atomic operation).
    pub(crate) done: unsafe fn(NonNull<()>),
}

/// The owner a job reports to; see [`OwnerTable`].
#[derive(Clone, Copy)]
pub(crate) struct Owner {
    ptr: NonNull<()>,
    table: &'static OwnerTable,
}

// SAFETY: an owner is told of jobs' ends from any worker thread; `Owner::new`
// requires the table's functions to be callable from any thread on the
// pointer (the one owner type, the scope latch, is `Sync`).
unsafe impl Send for Owner {}
// SAFETY: as above.
unsafe impl Sync for Owner {}

impl Owner {
    /// # Safety
    ///
    /// `table`'s functions must be callable on `ptr` from any thread:
    /// `record_panic` while a job, or a handle that can still be dropped,
    /// holds this owner,
    /// `done` once per job that was counted by the owner, as that job's last
    /// touch.
    pub(crate) const unsafe fn new(ptr: NonNull<()>, table: &'static OwnerTable) -> Owner {
        Owner { ptr, table }
    }

    /// Hands a panic nobody will observe to the owner.
    ///
    /// # Safety
    ///
    /// The owner is alive: a job or handle holding it exists (`new`).
    pub(crate) unsafe fn record_panic(&self, payload: Payload) {
        // SAFETY: the caller's contract.
        unsafe { (self.table.record_panic)(self.ptr, payload) }
    }

    /// Tells the owner one of its jobs has ended.
    ///
    /// # Safety
    ///
    /// Called once per counted job, as its last touch of the owner (`new`).
    pub(crate) unsafe fn done(self) {
        // SAFETY: the caller's contract.
        unsafe { (self.table.done)(self.ptr) }
    }
}

/// A spawned job: a closure with no handle and no result slot. A panic that
/// leaves it is reported by the panic hook as usual and then dropped: the
/// pool lives on. (A job spawned into a scope catches its own panic and
/// tells its scope, inside its closure: `submit.rs`, `ScopedJob`.)
///
/// A job that fits lives in a recycled block (`slots.rs`), from the
/// spawning worker's cache; a larger one in a box of its own.
pub(crate) struct HeapJob<F> {
    func: F,
    origin: u64,
}

impl<F: FnOnce() + Send> HeapJob<F> {
    /// A queue reference owning a new job: in a block of `local`'s cache
    /// when it fits one and is spawned on a worker (`slots.rs`), else in a
    /// box. (Blocks only come from workers: a thread outside the pool would
    /// allocate every block anew and the workers would only pile them up.)
    ///
    /// # Safety
    ///
    /// Anything `F` borrows must outlive the job's run or drop (for a scope:
    /// the scope waits for it).
    #[inline]
    pub(crate) unsafe fn new_ref(func: F, origin: u64, local: Option<&WorkerThread>) -> JobRef {
        let job = HeapJob { func, origin };
        if let Some(worker) = local.filter(|_| slots::fits::<HeapJob<F>>()) {
            let block = worker.slots().take(&worker.registry().depot);
            let ptr = block.into_raw().cast::<HeapJob<F>>();
            // SAFETY: the block is ours, large and aligned enough (`fits`),
            // and lives until one of the block table's functions releases
            // it (`take::<true>`); `F: Send`.
            unsafe {
                ptr.write(job);
                return JobRef::new(ptr.cast(), Self::BLOCK_VTABLE);
            }
        }
        // SAFETY: `Box::into_raw` is never null; the box lives until one of
        // the box table's functions consumes it; `F: Send`.
        unsafe {
            JobRef::new(
                NonNull::new_unchecked(Box::into_raw(Box::new(job)).cast()),
                Self::BOX_VTABLE,
            )
        }
    }

    /// The table of a job in a block.
    const BLOCK_VTABLE: &'static JobVtable = &JobVtable {
        execute: Self::execute::<true>,
        cancel: Self::cancel::<true>,
        release: Self::release::<true>,
        origin: Self::origin,
    };

    /// The table of a boxed job.
    const BOX_VTABLE: &'static JobVtable = &JobVtable {
        execute: Self::execute::<false>,
        cancel: Self::cancel::<false>,
        release: Self::release::<false>,
        origin: Self::origin,
    };

    /// Moves the job out and frees its memory: a block (`IN_BLOCK`) goes to
    /// this thread's cache, a box to the allocator.
    ///
    /// # Safety
    ///
    /// `ptr` comes from `new_ref`, with the table of its `IN_BLOCK`, and is
    /// consumed here.
    unsafe fn take<const IN_BLOCK: bool>(ptr: NonNull<()>) -> HeapJob<F> {
        let raw = ptr.cast::<HeapJob<F>>();
        // SAFETY: the caller's contract: the job is moved out once, and its
        // memory released below without dropping it again.
        let job = unsafe { raw.read() };
        if IN_BLOCK {
            // SAFETY: `new_ref` placed it in a block it gave up with
            // `into_raw` (its table says so); taken back once, now unused.
            unsafe { Block::from_raw(raw.cast()) }.release();
        } else {
            // SAFETY: the box made by `new_ref`; as `MaybeUninit` its
            // contents (moved out above) are not dropped again.
            drop(unsafe { Box::from_raw(raw.cast::<MaybeUninit<HeapJob<F>>>().as_ptr()) });
        }
        job
    }

    unsafe fn execute<const IN_BLOCK: bool>(ptr: NonNull<()>) {
        // SAFETY: the vtable's contract: consumed once, from its table.
        let job = unsafe { Self::take::<IN_BLOCK>(ptr) };
        if let Err(payload) = unwind::halt_unwinding(job.func) {
            unwind::drop_payload(payload);
        }
    }

    unsafe fn cancel<const IN_BLOCK: bool>(ptr: NonNull<()>) -> bool {
        // SAFETY: as in `execute`.
        let job = unsafe { Self::take::<IN_BLOCK>(ptr) };
        if let Err(payload) = unwind::halt_unwinding(move || drop(job.func)) {
            unwind::drop_payload(payload);
        }
        true
    }

    unsafe fn release<const IN_BLOCK: bool>(ptr: NonNull<()>) {
        // SAFETY: as in `cancel`: releasing a spawned job cancels it.
        let _ = unsafe { Self::cancel::<IN_BLOCK>(ptr) };
    }

    unsafe fn origin(ptr: NonNull<()>) -> u64 {
        // SAFETY: `ptr` points to a live job (vtable contract).
        unsafe { (*ptr.cast::<HeapJob<F>>().as_ptr()).origin }
    }
}

/// The type-erased head of a fork-join frame: a link in the worker's list of
/// running joins, and what it takes to publish the frame's second half. The
/// protocol (exposure, hunger, late idlers) is `join.rs`'s, which builds the
/// frames; it is defined here so that the worker can keep the list and a
/// thief can claim an exposed frame without knowing fork-join.
pub(crate) struct JoinFrame {
    /// The next older frame on this thread, or null.
    pub(crate) parent: *const JoinFrame,
    /// Whether the half was published: claimed from the exposure slot by a
    /// thief (as far as the owner knows). Touched by the owner only.
    pub(crate) promoted: Cell<bool>,
    /// The `StackJob` this frame heads (set once it is in place), and its
    /// table.
    pub(crate) job: Cell<NonNull<()>>,
    pub(crate) vtable: &'static JobVtable,
}

/// Claims the frame exposed in `slot`, if any, and returns its half as a
/// job to run (a thief's side of "Late idlers").
pub(crate) fn claim_exposed(slot: &AtomicPtr<()>) -> Option<JobRef> {
    let frame = slot.load(Ordering::Relaxed);
    if frame.is_null() {
        return None;
    }
    // Acquire on success: pairs with the release store in `expose` (of this
    // frame, or of a newer one at the same address), so its job and table
    // are visible. Exactly one of this and the owner's retraction succeeds.
    slot.compare_exchange(
        frame,
        std::ptr::null_mut(),
        Ordering::Acquire,
        Ordering::Relaxed,
    )
    .ok()?;
    // SAFETY: the claim succeeded, so the owner's retraction will fail and
    // it waits for the job's DONE before the frame leaves its stack; the
    // frame's `job` and `vtable` were written before the release store.
    let frame = unsafe { &*frame.cast_const().cast::<JoinFrame>() };
    // SAFETY: the job stays in place until it has run (above), and this
    // claim is the only reference to it.
    Some(unsafe { JobRef::new(frame.job.get(), frame.vtable) })
}

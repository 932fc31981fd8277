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

use crate::sync::{AtomicBool, AtomicPtr, Ordering};
use crate::unwind::{self, Payload};

/// What running or cancelling a queued job came to, for the pool's
/// counters (`WorkerStats::tasks_run`, `shutdown_now`'s count).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ran {
    /// Its closure ran here; the caller counts it.
    Here,
    /// A task cell's closure ran here, and the cell counted the run in
    /// its worker's `tasks_run` as it started (after its claim, before its
    /// outcome was published, so a joined task is counted and no count is
    /// taken back).
    Counted,
    /// It was cancelled here: its closure was dropped unrun.
    Cancelled,
    /// Nothing ran here: a task cell that another reference had ended
    /// already (run through a second queue entry, or cancelled by its
    /// handle), or an `install` hop handed back to its owner, which runs it.
    No,
}

/// What a queue can do with a job, given only its pointer.
pub(crate) struct JobVtable {
    /// Runs the job (a task cell that was ended meanwhile does nothing:
    /// [`Ran::No`]) and gives up the reference.
    pub(crate) execute: unsafe fn(NonNull<()>) -> Ran,
    /// For `shutdown_now`: ends the job without running its closure
    /// ([`Ran::Cancelled`]), or runs it when it must run (a fork-join half,
    /// whose owner waits: [`Ran::Here`]); [`Ran::No`] where it had ended
    /// already or goes back to its owner. Gives up the reference either way.
    pub(crate) cancel: unsafe fn(NonNull<()>) -> Ran,
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

    /// Runs the job and gives up the reference; whether it ran here.
    #[inline]
    pub(crate) fn execute(self) -> Ran {
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: the reference is consumed here, once: `this` is not used
        // again and its `Drop` does not run.
        unsafe { (this.vtable.execute)(this.ptr) }
    }

    /// Cancels the job if it may be cancelled, else runs it; see
    /// [`JobVtable::cancel`]. Gives up the reference.
    pub(crate) fn cancel(self) -> Ran {
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

    unsafe fn execute<const IN_BLOCK: bool>(ptr: NonNull<()>) -> Ran {
        // SAFETY: the vtable's contract: consumed once, from its table.
        let job = unsafe { Self::take::<IN_BLOCK>(ptr) };
        if let Err(payload) = unwind::halt_unwinding(job.func) {
            unwind::drop_payload(payload);
        }
        Ran::Here
    }

    unsafe fn cancel<const IN_BLOCK: bool>(ptr: NonNull<()>) -> Ran {
        // SAFETY: as in `execute`.
        let job = unsafe { Self::take::<IN_BLOCK>(ptr) };
        if let Err(payload) = unwind::halt_unwinding(move || drop(job.func)) {
            unwind::drop_payload(payload);
        }
        Ran::Cancelled
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
/// frames; it is defined here so that the worker can keep the list, and a
/// thief can claim an exposed frame or rescue an unpublished one, without
/// knowing fork-join.
///
/// # Rescue
///
/// A worker exposes one frame at a time (`join.rs`, step 2); the frames it
/// forks while that one waits in its slot are published only at its next
/// fork. If a thief claims the exposed frame and the owner never forks
/// again (its `a` blocks until a newer frame's `b` has run), the newer
/// frames would wait forever. So a worker about to sleep or block
/// ([`rescue_from`]) looks at each other worker whose slot is empty but
/// whose list of frames is not, and takes the oldest frame nobody has
/// taken, reading the owner's list while the owner runs on:
///
/// 1. **Lock.** The rescuer swaps the slot from null to [`SLOT_BUSY`]. The
///    owner never frees a frame while the slot reads busy: its unlink
///    (`unlinked_published`) waits for the rescuer to put null back.
/// 2. **Barrier.** The owner's unlink is *store the list head; light
///    barrier; load the slot*, the rescuer's *lock the slot; heavy barrier;
///    load the list head* (`sync.rs`, `light_barrier`: together they act as
///    two `SeqCst` fences). So either the rescuer's walk starts past the
///    unlinked frame, or the owner's load sees busy and waits. Every frame
///    the walk reaches stays in place until the lock is released.
/// 3. **Take.** Frames are taken oldest first (exposed, pushed or
///    rescued), so the taken ones are a prefix of the list: the walk goes
///    from the newest frame to the first taken one, and the rescuer takes
///    the oldest untaken frame by a compare-exchange of its `promoted` flag
///    (false to true), the same one the owner makes before it pushes a
///    frame (`join.rs`, step 3). Exactly one of them wins; an exposure
///    needs no such race, as the owner exposes only while it holds the
///    slot itself ([`expose_frame`]), so no rescue runs then.
/// 4. **Unlock**, with a release store of null. The owner's unlink reads
///    the flag after it has seen the slot unlocked (acquire), so a frame
///    rescued is a frame published: the owner waits for its end.
///
/// The owner's side costs a compiler fence at each link and unlink and a
/// load of its own slot at each unlink (a line it already has); the
/// rescuer's, one `membarrier` call per look (per 64 workers), made only
/// when some slot is empty and its list is not. The link needs the pair
/// too: an owner whose exposed frame was claimed looks at its slot after each fork
/// (`exposed_was_claimed`), and either that load sees the rescuer's lock
/// (and the owner publishes the new frame itself) or the rescuer's walk
/// sees the new frame.
pub(crate) struct JoinFrame {
    /// The next older frame on this thread, or null.
    pub(crate) parent: *const JoinFrame,
    /// Whether the half was taken from the unpublished frames: exposed by
    /// its owner, pushed on its owner's deque, or rescued. Goes from false
    /// to true once; an exposed frame that its owner retracts is being
    /// unlinked and is not looked at again.
    pub(crate) promoted: AtomicBool,
    /// The `StackJob` this frame heads (set once it is in place), and its
    /// table.
    pub(crate) job: Cell<NonNull<()>>,
    pub(crate) vtable: &'static JobVtable,
    /// Lets loom's models see a rescuer read a frame its owner has freed.
    #[cfg(loom)]
    pub(crate) probe: loom::cell::UnsafeCell<()>,
}

impl JoinFrame {
    /// A queue reference to the frame's half.
    ///
    /// # Safety
    ///
    /// The caller has taken the frame (its `promoted` flag, or a claim of
    /// its exposure), so that its job stays in place until it has run, and
    /// consumes the reference once.
    unsafe fn job_ref(&self) -> JobRef {
        // SAFETY: the caller's contract; `job` and `vtable` were written
        // before the frame was linked or exposed (both release stores).
        unsafe { JobRef::new(self.job.get(), self.vtable) }
    }

    /// Takes the frame's half, unless someone has (its `promoted` flag,
    /// false to true): the owner's push (`join.rs`, step 3) and a rescue
    /// race here, and exactly one wins. Not an exposure, which marks the
    /// flag while it holds the slot ([`expose_frame`]).
    ///
    /// # Safety
    ///
    /// The frame stays in place until the returned job has run: its `join`
    /// waits for a taken half before it returns.
    pub(crate) unsafe fn take(&self) -> Option<JobRef> {
        // Relaxed: the flag decides who takes the half, nothing more. The
        // owner reads a rescuer's mark after it sees the slot unlocked
        // (acquire), which the rescuer's release store orders after; the
        // half itself reaches its runner through the queue it is pushed on.
        self.promoted
            .compare_exchange(false, true, Ordering::Relaxed, Ordering::Relaxed)
            .ok()?;
        // SAFETY: taken above, so this is the only reference to the half;
        // the caller keeps the frame in place.
        Some(unsafe { self.job_ref() })
    }
}

/// An exposure slot's value while a rescue walks its worker's list, or the
/// owner exposes a frame: neither null nor a frame (frames are aligned to
/// more than one byte).
pub(crate) const SLOT_BUSY: *mut () = std::ptr::without_provenance_mut(1);

/// Waits a moment for an exposure slot to leave [`SLOT_BUSY`]: a rescue
/// holds it for one system call and a short walk, but may be preempted.
#[cold]
fn wait_for_slot(spins: &mut u32) {
    if *spins < 64 {
        *spins += 1;
        std::hint::spin_loop();
    } else {
        crate::sync::yield_now();
    }
}

/// Claims the frame exposed in `slot`, if any, and returns its half as a
/// job to run (a thief's side of "Late idlers").
pub(crate) fn claim_exposed(slot: &AtomicPtr<()>) -> Option<JobRef> {
    let frame = slot.load(Ordering::Relaxed);
    if frame.is_null() || frame == SLOT_BUSY {
        return None;
    }
    // Acquire on success: pairs with the release store in `expose_frame`
    // (of this frame, or of a newer one at the same address), so its job
    // and table are visible. Exactly one of this and the owner's
    // retraction succeeds.
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
    Some(unsafe { frame.job_ref() })
}

/// The owner's exposure of `frame`, the oldest frame on its list that
/// nobody has taken ("Rescue", step 3), into its empty `slot`: `false` if
/// a rescuer took it first (it is published then). The owner holds the
/// slot busy meanwhile, so no rescue runs while it marks the frame taken.
pub(crate) fn expose_frame(slot: &AtomicPtr<()>, frame: &JoinFrame) -> bool {
    let mut spins = 0;
    // Acquire: pairs with a rescuer's release of the slot, so a frame it
    // took reads as taken below. The slot holds null or busy here: the owner
    // exposes only when no frame of its own is in it.
    while slot
        .compare_exchange_weak(
            std::ptr::null_mut(),
            SLOT_BUSY,
            Ordering::Acquire,
            Ordering::Relaxed,
        )
        .is_err()
    {
        wait_for_slot(&mut spins);
    }
    // Relaxed: no rescue runs while the slot is busy, and one that ran
    // before is ordered by the acquire above.
    let taken = frame.promoted.load(Ordering::Relaxed);
    let value = if taken {
        std::ptr::null_mut()
    } else {
        frame.promoted.store(true, Ordering::Relaxed);
        frame as *const JoinFrame as *mut ()
    };
    // Release: pairs with the acquire claim in `claim_exposed`.
    slot.store(value, Ordering::Release);
    !taken
}

/// The owner's unlink of `frame` ("Rescue", step 2), after `a` ran: sets
/// its list head to the frame's parent and says whether the frame was
/// published (claimed from the slot, pushed or rescued: the owner waits
/// for its end), retracting it from the slot if it is exposed there and
/// unclaimed (then it is not published: the owner runs `b` itself).
#[inline]
pub(crate) fn unlinked_published(
    slot: &AtomicPtr<()>,
    newest: &AtomicPtr<JoinFrame>,
    frame: &JoinFrame,
    fence_needed: bool,
) -> bool {
    // Release: a rescuer's walk that starts at the parent (its acquire load
    // of the head) sees the parent's fields, as after the parent's own link
    // (a release sequence does not run through a plain store).
    newest.store(frame.parent.cast_mut(), Ordering::Release);
    crate::sync::light_barrier(fence_needed);
    // Acquire: pairs with a rescuer's release of the slot, so that a frame
    // it took reads as taken below.
    let seen = slot.load(Ordering::Acquire);
    let promoted = frame.promoted.load(Ordering::Relaxed);
    // Only a marked frame can be in the slot: an exposure marks it first.
    if seen == SLOT_BUSY || (promoted && seen == frame as *const JoinFrame as *mut ()) {
        return exposed_or_busy_published(slot, frame);
    }
    promoted
}

/// `unlinked_published` where the slot held the frame or was busy: waits
/// out a rescue, then retracts the frame if it is still exposed.
#[cold]
#[inline(never)]
fn exposed_or_busy_published(slot: &AtomicPtr<()>, frame: &JoinFrame) -> bool {
    let mut spins = 0;
    // Acquire: as in `unlinked_published`.
    let mut seen = slot.load(Ordering::Acquire);
    while seen == SLOT_BUSY {
        wait_for_slot(&mut spins);
        seen = slot.load(Ordering::Acquire);
    }
    let this = frame as *const JoinFrame as *mut ();
    if seen == this {
        // Relaxed: on success nobody else saw the job; on failure the thief
        // has it, and the owner's wait reads its DONE with acquire.
        return slot
            .compare_exchange(
                this,
                std::ptr::null_mut(),
                Ordering::Relaxed,
                Ordering::Relaxed,
            )
            .is_err();
    }
    frame.promoted.load(Ordering::Relaxed)
}

/// The oldest frame nobody has taken on the list that starts at `newest`
/// (step 3: the taken frames are a prefix, so the walk stops at the first
/// one), or null if every frame is taken.
///
/// # Safety
///
/// Every frame reachable from `newest` stays in place during the call: the
/// caller is the list's owner, or a rescuer holding the owner's slot.
pub(crate) unsafe fn oldest_untaken(newest: *const JoinFrame) -> *const JoinFrame {
    let mut frame = newest;
    let mut oldest: *const JoinFrame = std::ptr::null();
    // SAFETY: the caller's contract; `parent` was written before the link.
    while let Some(f) = unsafe { frame.as_ref() } {
        #[cfg(loom)]
        f.probe.with(|_| ());
        // Relaxed: the flag only goes from false to true; a stale false is
        // settled by the taker's compare-exchange or lock.
        if f.promoted.load(Ordering::Relaxed) {
            break;
        }
        oldest = frame;
        frame = f.parent;
    }
    oldest
}

/// The owner's step 3 with no frame of its own exposed: exposes the oldest
/// frame nobody has taken, and if a rescue takes that one first, looks
/// again, so that the taken frames stay a prefix of the list (a first
/// version gave up after one try: a frame behind the rescued one stayed
/// untaken while a newer one was exposed, out of every later walk's reach;
/// helper-61's reproducer, the loom model
/// `a_feed_whose_exposure_loses_to_a_rescue_keeps_the_prefix`). Returns the
/// frame exposed, or null when every frame is taken.
///
/// # Safety
///
/// `newest` is the caller's own list head: the caller owns `slot` and the
/// list.
pub(crate) unsafe fn expose_oldest(
    slot: &AtomicPtr<()>,
    newest: *const JoinFrame,
) -> *const JoinFrame {
    loop {
        // SAFETY: the owner's own frames stay in place while it runs here.
        let oldest = unsafe { oldest_untaken(newest) };
        // SAFETY: as above.
        match unsafe { oldest.as_ref() } {
            None => return oldest,
            Some(f) if expose_frame(slot, f) => return oldest,
            Some(_) => {}
        }
    }
}

/// How many workers one rescue look locks before its one heavy barrier
/// ([`rescue_from`]): the bits of its mask.
const RESCUE_BATCH: usize = u64::BITS as usize;

/// A rescue ("Rescue", steps 1–4) of the worker whose exposure slot is
/// `slot` and list head `newest`: the oldest frame on its list that nobody
/// has taken, as a job to run, or `None` (the slot is not empty, the list
/// is, or every frame on it is taken). [`rescue_from`] with one victim.
#[cfg(all(test, loom))]
pub(crate) fn rescue(slot: &AtomicPtr<()>, newest: &AtomicPtr<JoinFrame>) -> Option<JobRef> {
    let mut job = None;
    rescue_from(1, |_| (slot, newest), |taken| job = Some(taken));
    job
}

/// What a rescue look ([`rescue_from`]) found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Rescued {
    /// Frames taken (each handed to the look's `take`).
    pub(crate) taken: usize,
    /// Whether a list it took from still holds frames nobody has taken,
    /// newer than the one it took: work for another idle worker.
    pub(crate) more: bool,
    /// Whether it skipped a worker with a non-empty list whose slot read
    /// busy (another look's lock, or an exposure under way), or whose lock
    /// it lost after a glance saw the slot empty (to such a lock, or to an
    /// exposure).
    pub(crate) busy: bool,
}

/// A rescue look ("Rescue", steps 1–4) over `count` workers, `victim(i)`
/// giving the `i`th one's exposure slot and list head: hands `take` the
/// oldest frame nobody has taken on each list it walks, as a job to run.
///
/// One heavy barrier serves up to [`RESCUE_BATCH`] workers: the look locks
/// the slot of each worker whose slot is empty and whose list is not
/// (step 1), makes one barrier for all of them (step 2), then walks every
/// list it locked, taking the oldest untaken frame of each (step 3), and
/// unlocks each slot once its list is walked (step 4); it stops after the
/// first batch of workers that gave it a frame. A first version made one
/// `membarrier` call per such worker, each interrupting every CPU that runs
/// a thread of the process: on a pool of many busy workers, a worker about
/// to sleep made one per worker. Every list locked is walked: another
/// look that finds a slot busy skips it and may go to sleep, trusting the
/// holder to take what is there (a version that took one frame from the
/// first list and unlocked the others unwalked left a half nobody would
/// take while a worker slept: helper-63's reproducer; the unit test
/// `a_look_during_a_batch_leaves_no_locked_list_unwalked`). Each lock is a
/// bare compare-exchange that gives up when the slot is not null, so two
/// looks never wait for each other; a slot is held from its lock, through
/// the glances and locks of the batch's later workers, the barrier and the
/// walks before its own, to the end of its own walk.
pub(crate) fn rescue_from<'a>(
    count: usize,
    victim: impl Fn(usize) -> (&'a AtomicPtr<()>, &'a AtomicPtr<JoinFrame>),
    mut take: impl FnMut(JobRef),
) -> Rescued {
    let mut rescued = Rescued::default();
    for first in (0..count).step_by(RESCUE_BATCH) {
        let batch = (count - first).min(RESCUE_BATCH);
        let mut locked = 0_u64;
        for i in 0..batch {
            let (slot, newest) = victim(first + i);
            // Relaxed: a glance; the lock and the barrier below order what
            // counts.
            let seen = slot.load(Ordering::Relaxed);
            // A frame exposed: nothing to rescue, and no reason to read the
            // owner's list head (a line its owner writes at every join).
            let candidate = seen.is_null() || seen == SLOT_BUSY;
            if !candidate || newest.load(Ordering::Relaxed).is_null() {
                continue;
            }
            if seen == SLOT_BUSY {
                rescued.busy = true;
                continue;
            }
            // Relaxed: the lock orders nothing by itself. The owner's unlink
            // sees it through the barrier pair (step 2), and every frame it
            // then reads is ordered by the acquire load of the head below;
            // two rescuers of one worker exclude each other by this
            // exchange alone. A mark an earlier rescuer made before its
            // unlock still reaches the owner through this one's unlock: the
            // heavy barrier after this lock is at least a `SeqCst` fence,
            // so the earlier unlock (release) synchronizes with it
            // (helper-67's check).
            if slot
                .compare_exchange(
                    std::ptr::null_mut(),
                    SLOT_BUSY,
                    Ordering::Relaxed,
                    Ordering::Relaxed,
                )
                .is_ok()
            {
                locked |= 1 << i;
            } else {
                rescued.busy = true;
            }
        }
        if locked == 0 {
            continue;
        }
        crate::sync::heavy_barrier();
        while locked != 0 {
            let i = locked.trailing_zeros() as usize;
            locked &= locked - 1;
            let (slot, newest) = victim(first + i);
            // Acquire: pairs with the release stores of the link and
            // unlink, so the frames' fields are visible.
            let newest = newest.load(Ordering::Acquire).cast_const();
            // SAFETY: step 2: every frame reached stays on its owner's stack
            // until the slot is unlocked below.
            let oldest = unsafe { oldest_untaken(newest) };
            // SAFETY: as above; a taken frame's owner then waits for its
            // half's end before it frees the frame.
            if let Some(job) = unsafe { oldest.as_ref() }.and_then(|f| unsafe { f.take() }) {
                rescued.taken += 1;
                rescued.more |= !std::ptr::eq(oldest, newest);
                take(job);
            }
            // Release: the owner frees a frame only after it has seen this;
            // every read of its frames above comes first.
            slot.store(std::ptr::null_mut(), Ordering::Release);
        }
        if rescued.taken > 0 {
            break;
        }
    }
    rescued
}

/// Loom models of a rescue ("Rescue") racing its owner's links, exposure,
/// unlinks and frees, and a thief's claim. The `heavy_barrier` and
/// `light_barrier` pair runs as two `SeqCst` fences here (`sync.rs`).
#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use crate::sync::AtomicUsize;
    use loom::sync::Arc;

    /// A stand-in for a fork-join half: counts its runs.
    struct Half {
        runs: AtomicUsize,
    }

    const HALF: &JobVtable = &JobVtable {
        execute: Half::execute,
        cancel: Half::cancel,
        release: Half::release,
        origin: Half::origin,
    };

    impl Half {
        unsafe fn execute(ptr: NonNull<()>) -> Ran {
            // SAFETY: the models keep every half alive to their end.
            unsafe { ptr.cast::<Half>().as_ref() }
                .runs
                .fetch_add(1, Ordering::Release);
            Ran::Here
        }
        unsafe fn cancel(ptr: NonNull<()>) -> Ran {
            // SAFETY: as in `execute`.
            unsafe { Half::execute(ptr) }
        }
        unsafe fn release(_: NonNull<()>) {}
        unsafe fn origin(_: NonNull<()>) -> u64 {
            0
        }
        fn ran(&self) -> bool {
            // Acquire: pairs with the release count of the run.
            self.runs.load(Ordering::Acquire) == 1
        }
    }

    /// A frame on the owner's "stack", heading `half`.
    fn frame(parent: *const JoinFrame, half: &Half) -> JoinFrame {
        JoinFrame {
            parent,
            promoted: AtomicBool::new(false),
            job: Cell::new(NonNull::from(half).cast()),
            vtable: HALF,
            probe: loom::cell::UnsafeCell::new(()),
        }
    }

    struct Worker {
        slot: AtomicPtr<()>,
        newest: AtomicPtr<JoinFrame>,
    }

    fn link(worker: &Worker, frame: &JoinFrame) {
        worker
            .newest
            .store((frame as *const JoinFrame).cast_mut(), Ordering::Release);
    }

    /// The owner's unlink and free: the half runs here unless published,
    /// and a published one is waited for; then the frame's memory is
    /// written as a new call would, which loom reports if a rescuer's read
    /// of it is not ordered before.
    fn unlink_and_free(worker: &Worker, frame: &JoinFrame, half: &Half) {
        if unlinked_published(&worker.slot, &worker.newest, frame, true) {
            while !half.ran() {
                loom::thread::yield_now();
            }
        } else {
            // SAFETY: not published: only the owner has it.
            unsafe { frame.job_ref() }.execute();
        }
        frame.probe.with_mut(|_| ());
    }

    /// A thief that claims the exposed frame or rescues one, `tries` times.
    fn thief(worker: Arc<Worker>, tries: usize) -> loom::thread::JoinHandle<()> {
        loom::thread::spawn(move || {
            for _ in 0..tries {
                if let Some(job) = claim_exposed(&worker.slot) {
                    job.execute();
                } else if let Some(job) = rescue(&worker.slot, &worker.newest) {
                    job.execute();
                }
            }
        })
    }

    /// The owner exposes F1, forks F2 behind it, then unlinks both; a
    /// thief claims and rescues meanwhile. Each half runs exactly once,
    /// and no rescue reads a frame after its owner freed it.
    /// loom's explorer, with at most `preemptions` preemptions a run (the
    /// waits for a thief's run are spin loops).
    fn bounded(preemptions: usize) -> loom::model::Builder {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(preemptions);
        builder
    }

    #[test]
    fn a_rescue_never_reads_a_freed_frame_nor_runs_a_half_twice() {
        bounded(3).check(|| {
            let worker = Arc::new(Worker {
                slot: AtomicPtr::new(std::ptr::null_mut()),
                newest: AtomicPtr::new(std::ptr::null_mut()),
            });
            let thief = thief(worker.clone(), 2);
            let (h1, h2) = (
                Half {
                    runs: AtomicUsize::new(0),
                },
                Half {
                    runs: AtomicUsize::new(0),
                },
            );
            let f1 = frame(std::ptr::null(), &h1);
            link(&worker, &f1);
            // `false` where the thief rescued F1 between its link and here.
            let _ = expose_frame(&worker.slot, &f1);
            let f2 = frame(&f1, &h2);
            link(&worker, &f2);
            unlink_and_free(&worker, &f2, &h2);
            unlink_and_free(&worker, &f1, &h1);
            thief.join().unwrap();
            assert_eq!(h1.runs.load(Ordering::Relaxed), 1);
            assert_eq!(h2.runs.load(Ordering::Relaxed), 1);
        });
    }

    /// The test `join_forked_before_the_outer_claim_ends_when_a_waits_on_b`
    /// as a model: F2 forked behind the exposed F1, and F2's `a` waits for
    /// F2's `b`, with its owner doing nothing more. The thief claims F1 and
    /// then must rescue F2; or, where its rescue ran before the link, the
    /// owner's look after the link (`exposed_was_claimed`) saw the claim and
    /// exposes F2 itself.
    #[test]
    fn an_owner_blocked_in_a_for_b_is_rescued() {
        bounded(2).check(|| {
            let worker = Arc::new(Worker {
                slot: AtomicPtr::new(std::ptr::null_mut()),
                newest: AtomicPtr::new(std::ptr::null_mut()),
            });
            let (h1, h2) = (
                Arc::new(Half {
                    runs: AtomicUsize::new(0),
                }),
                Arc::new(Half {
                    runs: AtomicUsize::new(0),
                }),
            );
            let f1 = frame(std::ptr::null(), &h1);
            link(&worker, &f1);
            assert!(expose_frame(&worker.slot, &f1));
            let thief = {
                let (worker, h1, h2) = (worker.clone(), h1.clone(), h2.clone());
                loom::thread::spawn(move || {
                    while !(h1.ran() && h2.ran()) {
                        if let Some(job) = claim_exposed(&worker.slot) {
                            job.execute();
                        } else if let Some(job) = rescue(&worker.slot, &worker.newest) {
                            job.execute();
                        } else {
                            loom::thread::yield_now();
                        }
                    }
                })
            };
            let f2 = frame(&f1, &h2);
            link(&worker, &f2);
            crate::sync::light_barrier(true);
            // Relaxed, as `exposed_was_claimed`.
            if worker.slot.load(Ordering::Relaxed) != (&f1 as *const JoinFrame).cast_mut().cast() {
                expose_frame(&worker.slot, &f2);
            }
            // F2's `a`: waits for F2's `b`, whoever runs it.
            while !h2.ran() {
                loom::thread::yield_now();
            }
            unlink_and_free(&worker, &f2, &h2);
            unlink_and_free(&worker, &f1, &h1);
            thief.join().unwrap();
        });
    }

    /// The owner's step 3 after its exposed E was claimed, with nothing of
    /// its own exposed (`feed_the_hungry`, through `expose_oldest`), racing
    /// a rescue: whichever takes F1, the frame behind it (F2) is exposed or
    /// taken before the owner's next fork may expose F3, so the taken
    /// frames stay a prefix and every later walk reaches F2. (helper-61's
    /// model; with one try instead of `expose_oldest`'s loop it fails.)
    #[test]
    fn a_feed_whose_exposure_loses_to_a_rescue_keeps_the_prefix() {
        bounded(3).check(|| {
            let worker = worker();
            let half = || Half {
                runs: AtomicUsize::new(0),
            };
            let (he, h1, h2, h3) = (half(), half(), half(), half());
            let fe = frame(std::ptr::null(), &he);
            link(&worker, &fe);
            assert!(expose_frame(&worker.slot, &fe));
            // A thief claims E.
            claim_exposed(&worker.slot).unwrap().execute();
            let f1 = frame(&fe, &h1);
            link(&worker, &f1);
            let rescuer = {
                let worker = worker.clone();
                loom::thread::spawn(move || {
                    if let Some(job) = rescue(&worker.slot, &worker.newest) {
                        job.execute();
                    }
                })
            };
            // F2's fork: E was claimed, so step 3 exposes the oldest frame
            // nobody has taken.
            let f2 = frame(&f1, &h2);
            link(&worker, &f2);
            // SAFETY: the model's frames all live to its end.
            let exposed = unsafe { expose_oldest(&worker.slot, &f2) };
            // F3's fork inside F2's `a`: exposed only when nothing is.
            let f3 = frame(&f2, &h3);
            link(&worker, &f3);
            if exposed.is_null() {
                let _ = expose_frame(&worker.slot, &f3);
            }
            rescuer.join().unwrap();
            let taken = |f: &JoinFrame| f.promoted.load(Ordering::Relaxed);
            assert!(
                !(taken(&f3) && !taken(&f2)),
                "F3 was taken while F2 was not: F2 is out of every walk's reach"
            );
            assert!(taken(&f1), "F1 is neither exposed nor rescued");
        });
    }

    /// One look over two owners, one barrier for both (`rescue_from`):
    /// each owner links a frame, runs its `a` and unlinks and frees it,
    /// while the look locks both slots, walks both lists and unlocks them.
    /// Each half runs exactly once, and no walk reads a frame after its
    /// owner freed it, whichever list the look takes from.
    #[test]
    fn one_barrier_for_two_owners_reads_no_freed_frame() {
        bounded(2).check(|| {
            let (wa, wb) = (worker(), worker());
            let rescuer = {
                let (wa, wb) = (wa.clone(), wb.clone());
                loom::thread::spawn(move || {
                    for _ in 0..2 {
                        let victim = |i: usize| {
                            let w = if i == 0 { &wa } else { &wb };
                            (&w.slot, &w.newest)
                        };
                        let mut jobs = Vec::new();
                        rescue_from(2, victim, |job| jobs.push(job));
                        for job in jobs {
                            job.execute();
                        }
                    }
                })
            };
            let own = |w: &Worker| {
                let half = Half {
                    runs: AtomicUsize::new(0),
                };
                let f = frame(std::ptr::null(), &half);
                link(w, &f);
                unlink_and_free(w, &f, &half);
                assert_eq!(half.runs.load(Ordering::Relaxed), 1);
            };
            let owner_b = {
                let wb = wb.clone();
                loom::thread::spawn(move || own(&wb))
            };
            own(&wa);
            owner_b.join().unwrap();
            rescuer.join().unwrap();
        });
    }

    fn worker() -> Arc<Worker> {
        Arc::new(Worker {
            slot: AtomicPtr::new(std::ptr::null_mut()),
            newest: AtomicPtr::new(std::ptr::null_mut()),
        })
    }
}

/// A rescue look that runs while another look holds a slot.
#[cfg(all(test, not(loom)))]
mod rescue_tests {
    use super::*;

    unsafe fn noop(_: NonNull<()>) {}
    unsafe fn noop_run(_: NonNull<()>) -> Ran {
        Ran::Here
    }
    unsafe fn noop_cancel(_: NonNull<()>) -> Ran {
        Ran::Cancelled
    }
    unsafe fn zero(_: NonNull<()>) -> u64 {
        0
    }
    static NOOP: JobVtable = JobVtable {
        execute: noop_run,
        cancel: noop_cancel,
        release: noop,
        origin: zero,
    };

    fn frame() -> JoinFrame {
        JoinFrame {
            parent: std::ptr::null(),
            promoted: AtomicBool::new(false),
            job: Cell::new(NonNull::dangling()),
            vtable: &NOOP,
        }
    }

    /// Worker R1's look over owners A and B; R2's look at B runs during
    /// R1's walk (after both locks and the barrier), as it may on another
    /// CPU, and finds B busy. R2 may go to sleep then, so R1 must take
    /// B's frame as well as A's. A first version took A's and unlocked B
    /// unwalked (helper-63's test).
    #[test]
    fn a_look_during_a_batch_leaves_no_locked_list_unwalked() {
        crate::sync::init_barriers();
        let (fa, fb) = (frame(), frame());
        let slots = [
            AtomicPtr::new(std::ptr::null_mut()),
            AtomicPtr::new(std::ptr::null_mut()),
        ];
        let heads = [
            AtomicPtr::new((&fa as *const JoinFrame).cast_mut()),
            AtomicPtr::new((&fb as *const JoinFrame).cast_mut()),
        ];
        let calls = Cell::new(0);
        let second_look = Cell::new(None);
        let victim = |i: usize| {
            calls.set(calls.get() + 1);
            if calls.get() == 3 {
                second_look.set(Some(rescue_from(1, |_| (&slots[1], &heads[1]), drop)));
            }
            (&slots[i], &heads[i])
        };
        let got = rescue_from(2, victim, drop);
        assert_eq!(
            second_look.get().map(|r| (r.taken, r.busy)),
            Some((0, true)),
            "R2's look finds B busy and takes nothing"
        );
        assert_eq!(
            got,
            Rescued {
                taken: 2,
                more: false,
                busy: false
            }
        );
        assert!(fa.promoted.load(Ordering::Relaxed), "A's frame taken");
        assert!(
            fb.promoted.load(Ordering::Relaxed),
            "B's frame was skipped by R2 (busy) and left unwalked by R1"
        );
        assert!(slots.iter().all(|s| s.load(Ordering::Relaxed).is_null()));
    }

    /// The frames behind the one a look takes are reported, for another
    /// worker to be woken (`WorkerThread::rescue_some`).
    #[test]
    fn a_look_reports_the_untaken_frames_behind_the_one_it_takes() {
        crate::sync::init_barriers();
        let older = frame();
        let mut newer = frame();
        newer.parent = &older;
        let slot = AtomicPtr::new(std::ptr::null_mut());
        let head = AtomicPtr::new((&newer as *const JoinFrame).cast_mut());
        let got = rescue_from(1, |_| (&slot, &head), drop);
        assert_eq!(
            got,
            Rescued {
                taken: 1,
                more: true,
                busy: false
            }
        );
        assert!(older.promoted.load(Ordering::Relaxed), "the oldest first");
        assert!(!newer.promoted.load(Ordering::Relaxed));
        let got = rescue_from(1, |_| (&slot, &head), drop);
        assert_eq!(
            got,
            Rescued {
                taken: 1,
                more: false,
                busy: false
            }
        );
    }
}

//! Fork-join: [`Pool::join`] runs two closures, potentially in parallel, the
//! way rayon's `join` does — with no heap allocation on the fast path.
//!
//! # The protocol, on a worker
//!
//! Publishing `b` for thieves on every join (rayon's way) costs a deque push
//! and pop, with crossbeam's `SeqCst` fence, even when no worker is idle to
//! steal it. corepool publishes lazily, in the spirit of heartbeat scheduling
//! (chili, Forte), with the heartbeat being demand: a join publishes only
//! when some worker is hungry (searching or asleep), and then it publishes
//! the *oldest* unpublished join on its thread — the biggest piece of work a
//! thief can take, which is what keeps deep recursions scaling.
//!
//! 1. The second closure `b` is wrapped in a [`StackJob`] on the caller's
//!    stack, whose head ([`JoinFrame`]) is linked into the worker's list of
//!    running joins. If `Sleep::is_hungry` (one relaxed load), the oldest
//!    unpublished frame on the list is pushed on the worker's deque and a
//!    sleeper woken (`Sleep::notify_one_for_fork`, no fence: a missed
//!    wake-up only costs parallelism). Frames are published oldest first, so
//!    the published ones are a prefix of the list and sit on the deque in
//!    the order their joins will end.
//! 2. The caller runs `a` itself, catching a panic, then unlinks its frame
//!    (every newer join has returned and unlinked itself).
//! 3. Not published: nobody else can see `b`; it runs inline. Published: the
//!    caller pops its deque. Popping its own job back means nobody stole
//!    `b`: it runs `b` inline. Popping another job (something `a` pushed and
//!    left behind) runs that and pops again.
//! 4. An empty deque means `b` was stolen: the caller runs other work until
//!    the thief marks the job done (`help_until`), then reads `b`'s result.
//! 5. Only then is a panic from `a` or `b` re-raised (`a`'s if both
//!    panicked; `b` runs even when `a` panicked): `b` may borrow the caller's
//!    stack, so the caller never unwinds while `b` may still run. An
//!    [`AbortIfPanic`] guard covers the frame from the link until `b` is done
//!    or taken back, in case anything else ever unwinds there.
//!
//! The thief marks the job done with a release store after writing the
//! result, and wakes the owner through a clone of the owner's `Thread` taken
//! *before* that store, so it never touches the job after the owner may have
//! returned. The job's table functions take a raw pointer (see `job.rs`), and
//! the store goes through it after every borrow of the job has ended, so no
//! reference to the job is alive when it may be freed. Called from a thread
//! outside the pool, `join` hops into the pool once (`Pool::install`) and
//! blocks until both halves are done.

use std::cell::{Cell, UnsafeCell};
use std::ptr::NonNull;
use std::time::Instant;

use crate::job::{JobRef, JobVtable};
use crate::pool::Pool;
use crate::sync::{AtomicUsize, Ordering, Thread};
use crate::unwind::{self, AbortIfPanic, Payload};
use crate::wait::{Waitable, park_until};
use crate::worker::WorkerThread;

const PENDING: usize = 0;
const DONE: usize = 1;

/// The type-erased head of a fork-join frame: a link in the worker's list of
/// running joins, and what it takes to publish the frame's second half.
pub(crate) struct JoinFrame {
    /// The next older frame on this thread, or null.
    parent: *const JoinFrame,
    /// Whether the half was pushed on the deque (published for stealing).
    promoted: Cell<bool>,
    /// The `StackJob` this frame heads (set once it is in place), and its
    /// table.
    job: Cell<NonNull<()>>,
    vtable: &'static JobVtable,
}

/// The second half of a `join`, on the stack of the worker that forked it.
/// `repr(C)` with the frame first, so a frame pointer is the job pointer.
#[repr(C)]
pub(crate) struct StackJob<'w, F, R> {
    frame: JoinFrame,
    state: AtomicUsize,
    /// The frame that forked it (`WorkerThread::origin`).
    origin: u64,
    func: UnsafeCell<Option<F>>,
    result: UnsafeCell<Option<Result<R, Payload>>>,
    /// The forking worker's thread; it outlives the job (the owner waits in
    /// `join` until the job is done), and is cloned only by a thief.
    owner: &'w Thread,
    /// What the forking code was running, for `is_cancelled` in a thief.
    running: crate::cancel::Running,
}

impl<'w, F: FnOnce() -> R + Send, R: Send> StackJob<'w, F, R> {
    /// A job for `func` whose owner is the thread `owner`, which will wait
    /// for it; `running` is what a thread running it answers for in
    /// `is_cancelled`, `origin` the frame that pushed it (0 from outside).
    #[inline]
    pub(crate) fn new(
        func: F,
        owner: &'w Thread,
        running: crate::cancel::Running,
        parent: *const JoinFrame,
        origin: u64,
    ) -> Self {
        StackJob {
            frame: JoinFrame {
                parent,
                promoted: Cell::new(false),
                job: Cell::new(NonNull::dangling()),
                vtable: Self::VTABLE,
            },
            state: AtomicUsize::new(PENDING),
            origin,
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(None),
            owner,
            running,
        }
    }

    /// A queue reference to this job: it owns nothing.
    ///
    /// # Safety
    ///
    /// The job must stay in place until it has run (its owner waits for
    /// DONE), and the reference must be consumed exactly once.
    pub(crate) unsafe fn job_ref(&self) -> JobRef {
        // SAFETY: a reference is never null; the caller keeps the job in
        // place until it has run; `F` and `R` are `Send`.
        unsafe { JobRef::new(NonNull::from(self).cast(), Self::VTABLE) }
    }

    const VTABLE: &'static JobVtable = &JobVtable {
        execute: Self::execute,
        cancel: Self::cancel,
        release: Self::release,
        origin: Self::origin,
    };

    /// Run by a thief (or by `shutdown_now`): computes, then signals DONE
    /// through raw pointers — the owner may free the job the moment it sees
    /// DONE, so no reference to it may be alive across that store.
    unsafe fn execute(ptr: NonNull<()>) {
        let job = ptr.cast::<Self>().as_ptr().cast_const();
        let owner = {
            // SAFETY: the job is alive until the DONE store below (the owner
            // waits for it).
            let this = unsafe { &*job };
            let _running = crate::cancel::enter_running(this.running);
            // SAFETY: only the thread that took the job out of a deque runs
            // it, once, so it takes the closure alone.
            let func = unsafe { (*this.func.get()).take() }.expect("join half run twice");
            let outcome = unwind::halt_unwinding(func);
            // SAFETY: as above; the owner reads `result` only after DONE.
            unsafe { *this.result.get() = Some(outcome) };
            this.owner.clone()
        };
        // SAFETY: the job is alive until this store; no other reference to
        // it is. The store takes `&AtomicUsize` while the owner may free the
        // job right after it, as `Arc`'s final `fetch_sub` does: allowed,
        // since the reference is not used after the atomic operation.
        // Release: pairs with the acquire load in `is_done`; publishes the
        // result.
        unsafe { (*std::ptr::addr_of!((*job).state)).store(DONE, Ordering::Release) };
        owner.unpark();
    }

    /// A fork-join half cannot be cancelled: its owner waits for it.
    unsafe fn cancel(ptr: NonNull<()>) -> bool {
        // SAFETY: the vtable's contract.
        unsafe { Self::execute(ptr) };
        false
    }

    unsafe fn release(ptr: NonNull<()>) {
        // A queue torn down with the half in it: its owner still waits.
        // SAFETY: the vtable's contract.
        unsafe { Self::execute(ptr) };
    }

    unsafe fn origin(ptr: NonNull<()>) -> u64 {
        // SAFETY: the job is alive while its reference is queued.
        unsafe { (*ptr.cast::<Self>().as_ptr()).origin }
    }

    /// Takes the outcome after the job ran.
    pub(crate) fn into_outcome(self) -> Result<R, Payload> {
        self.result.into_inner().expect("join half never ran")
    }
}

impl<F, R> Waitable for StackJob<'_, F, R> {
    fn is_done(&self) -> bool {
        // Acquire: pairs with the release store in `execute`.
        self.state.load(Ordering::Acquire) == DONE
    }

    fn block_until(&self, deadline: Option<Instant>) -> bool {
        // The thief unparks the owner after its DONE store.
        park_until(|| self.is_done(), deadline)
    }
}

/// Both halves' outcomes to the caller: `a`'s panic first, then `b`'s; the
/// panic not re-raised is dropped (contained).
fn rejoin<RA, RB>(a: Result<RA, Payload>, b: Result<RB, Payload>) -> (RA, RB) {
    match (a, b) {
        (Ok(ra), Ok(rb)) => (ra, rb),
        (Err(payload), other) => {
            if let Err(second) = other {
                unwind::drop_payload(second);
            }
            std::panic::resume_unwind(payload)
        }
        (Ok(_), Err(payload)) => std::panic::resume_unwind(payload),
    }
}

impl WorkerThread {
    /// Publishes the oldest frame of this thread whose half is not published
    /// yet, if any, and wakes a sleeper for it (step 1).
    #[cold]
    fn promote_oldest(&self) {
        let mut oldest: *const JoinFrame = std::ptr::null();
        let mut frame = self.newest_join.get();
        // SAFETY: every frame on the list lives on this thread's stack, in a
        // `join` call that has not returned (it unlinks itself first), and is
        // only touched by this thread.
        while let Some(f) = unsafe { frame.as_ref() } {
            if f.promoted.get() {
                break;
            }
            oldest = frame;
            frame = f.parent;
        }
        // SAFETY: as above.
        if let Some(f) = unsafe { oldest.as_ref() } {
            f.promoted.set(true);
            // SAFETY: the frame's job stays in place until it has run: its
            // `join` waits for it once promoted (step 3).
            self.push_local(unsafe { JobRef::new(f.job.get(), f.vtable) });
            self.registry().sleep.notify_one_for_fork();
        }
    }

    /// Steps 1–5 of the module docs.
    #[inline]
    pub(crate) fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        // Built in place (not through `StackJob::new`): this is the hottest
        // path of fork-join.
        let job_b = StackJob {
            frame: JoinFrame {
                parent: self.newest_join.get(),
                promoted: Cell::new(false),
                job: Cell::new(NonNull::dangling()),
                vtable: StackJob::<B, RB>::VTABLE,
            },
            state: AtomicUsize::new(PENDING),
            origin: self.origin(),
            func: UnsafeCell::new(Some(b)),
            result: UnsafeCell::new(None),
            owner: self.thread(),
            running: crate::cancel::current(),
        };
        // `job_b` does not move from here on: its frame may point to it.
        let job_ptr = &job_b as *const StackJob<'_, B, RB> as *const ();
        job_b.frame.job.set(NonNull::from(&job_b).cast());
        // From the link until `b` has run or been taken back, this frame is
        // reachable from the worker and maybe from the deque: nothing may
        // unwind out of it meanwhile.
        let guard = AbortIfPanic;
        self.newest_join.set(&job_b.frame);
        if self.registry().sleep.is_hungry() {
            self.promote_oldest();
        }

        let result_a = unwind::halt_unwinding(a);

        // Every newer frame has returned and unlinked itself.
        self.newest_join.set(job_b.frame.parent);
        if !job_b.frame.promoted.get() {
            // Never published: nobody else can see `b`.
            std::mem::forget(guard);
            // SAFETY: the job was never queued, so this thread alone has it.
            let b = unsafe { (*job_b.func.get()).take() }.expect("join half run twice");
            return match result_a {
                Ok(ra) => (ra, b()),
                Err(payload) => rejoin(Err(payload), unwind::halt_unwinding(b)),
            };
        }
        while !job_b.is_done() {
            match self.pop_local() {
                Some(job) if job.points_to(job_ptr) => {
                    // Our own stack job, taken back: nothing to release.
                    std::mem::forget(job);
                    std::mem::forget(guard);
                    // SAFETY: we took the only reference to the job back out
                    // of our deque, so nobody else takes the closure.
                    let b = unsafe { (*job_b.func.get()).take() }.expect("join half run twice");
                    // Nobody stole `b`: run it here, straight. A panic in it
                    // may unwind from here: nothing points into this frame
                    // now. If `a` panicked, `b` still runs (as if stolen) and
                    // `a`'s panic is the one re-raised.
                    return match result_a {
                        Ok(ra) => (ra, b()),
                        Err(payload) => rejoin(Err(payload), unwind::halt_unwinding(b)),
                    };
                }
                Some(other) => self.execute(other),
                None => {
                    self.help_until(&job_b, None);
                    break;
                }
            }
        }
        std::mem::forget(guard);
        rejoin(result_a, job_b.into_outcome())
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
    /// re-raises the panic: `a`'s when both panicked, whoever ran them. After
    /// [`shutdown`](Pool::shutdown), or when `shutdown_now` cancels the hop
    /// into the pool, a call from outside the pool runs both closures on the
    /// calling thread.
    ///
    /// # Panics
    ///
    /// Re-raises a panic of `a` or `b`.
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
        self.install(move || match self.registry().own_worker() {
            Some(worker) => worker.join(a, b),
            None => (a(), b()),
        })
    }
}

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
//!    running joins.
//! 2. **Exposure.** If the worker has no frame in its exposure slot
//!    (`Registry::exposed`, one per worker), this frame goes there: the
//!    oldest frame not yet published is always the one exposed. A worker
//!    looking for work (idle, or waiting for a stolen half) that finds the
//!    injector empty *claims* an exposed frame (swaps the slot to null) and
//!    runs its `b`, before it steals from the deques
//!    (`WorkerThread::steal_shared` says why). Exposing is a store, a `SeqCst` fence
//!    and a look at the sleepers (waking one if nobody searches), once per
//!    outermost join, not per join; the joins nested inside an exposed one
//!    cost a branch.
//! 3. **Hunger.** Otherwise, if `Sleep::is_hungry` (one relaxed load) or
//!    its exposed frame was claimed (one relaxed load of its own slot): a
//!    claimed frame is marked published and the oldest unpublished frame of
//!    the list is exposed in its place; a frame still exposed stays, and the
//!    oldest unpublished frame newer than it is pushed on the deque instead
//!    and a sleeper woken: one more piece per hungry fork, so several idle
//!    workers (or items waiting for each other across workers) are fed.
//!    Frames are published oldest first, so the published ones are a prefix
//!    of the list. Looking at the claim without hunger matters: the thief of
//!    the outer frame goes idle later, and the busy worker may never fork
//!    again (its `a` waiting on this `b`). One more way in keeps the
//!    prefix: `Pool::join_offered` (`par`'s walks over heavy items,
//!    par/drive.rs step 11) publishes its `b` at the fork, pushed with a
//!    push's wake-up, and only while every frame on the list is published
//!    already (`forks_published`, which does step 3's bookkeeping of a
//!    claimed exposure first); it never exposes its own frame.
//! 4. The caller runs `a` itself, catching a panic, then unlinks its frame
//!    (every newer join has returned and unlinked itself). If the frame is
//!    the exposed one, it retracts it with a compare-exchange of the slot
//!    (frame -> null); failing means a thief claimed it: it counts as
//!    published. Otherwise its `promoted` flag says whether it was pushed
//!    or rescued (late idlers, below).
//! 5. Not published: nobody else can see `b`; it runs inline. Published:
//!    the caller pops its deque; popping its own job back means nobody stole
//!    `b`, and it runs `b` inline; popping another job (something `a` left)
//!    runs that and pops again. An empty deque means a thief has `b`: the
//!    caller runs other work until the thief marks the job done
//!    (`help_until`), then reads `b`'s result.
//! 6. Only then is a panic from `a` or `b` re-raised (`a`'s if both
//!    panicked; `b` runs even when `a` panicked): `b` may borrow the caller's
//!    stack, so the caller never unwinds while `b` may still run. An
//!    [`AbortIfPanic`] guard covers the frame from the link until `b` is done
//!    or taken back, in case anything else ever unwinds there.
//!
//! # Late idlers
//!
//! Publishing only at a fork, when some worker is hungry, leaves a worker
//! that goes idle *after* the fork with nothing: a long `a` forks no more,
//! and `b` waited until `a` ended (a join of two 300 ms halves, the other
//! worker busy for the first 200 ms, took 600 ms), or forever when `a`
//! waits on something `b` produces. The exposure slot answers both: the
//! idle worker claims `b` as soon as its search gets past the injector,
//! with no help from the busy one. The race that matters is a worker going to
//! sleep as a frame is exposed: the exposer does *store; fence; look at the
//! sleepers*, the sleeper *announce; fence; look at the queues and slots*
//! (`Registry::has_work`), so one of them sees the other, as for a push
//! (`sleep.rs`). The claim and the retraction are compare-exchanges of the
//! same slot, so exactly one wins: the owner runs `b` inline, or waits for
//! the thief's DONE before its frame may go. A thief reads the frame (its
//! job and table) only after its claim succeeded; if the slot held a newer
//! frame at the same address by then, that frame is the one it claimed, and
//! the release store that exposed it is what its acquire reads from.
//!
//! One frame is exposed at a time per worker, so with more than one idle
//! worker the next frame is exposed at the busy worker's next fork. A join
//! forked while an older frame was exposed and not yet claimed, whose `a`
//! then blocks on its own `b`, would never be offered: its owner forks no
//! more. An idle worker's last look before it sleeps or blocks *rescues*
//! such a frame: it walks the owner's list while the owner runs on, and
//! takes the oldest frame nobody has taken (`job.rs`, "Rescue", with the
//! barrier pair that keeps the walk off frames being freed). Every frame
//! taken, whoever took it (exposed, pushed, rescued), is marked in its
//! `promoted` flag, so the taken frames stay a prefix of the list; the
//! owner's unlink reads that flag after its own slot (tests
//! `join_forked_before_the_outer_claim_ends_when_a_waits_on_b` and
//! `join_rescue_frees_every_level_a_waits_on`, loom models in `job.rs`).
//!
//! The thief marks the job done with a release store after writing the
//! result, and wakes the owner through a clone of the owner's `Thread` taken
//! *before* that store, so it never touches the job after the owner may have
//! returned. An `install` hop's owner outside every pool spins a moment
//! before it parks (`install.rs`, step 5) and *announces* its park first (a
//! `fetch_or` of `OWNER_PARKED` into the state word); for such a job the
//! end is a swap of the same word, which unparks the owner only if it read
//! the announcement. Both are read-modify-writes of one location, so one
//! sees the other: an owner that announced is unparked, and one that saw the
//! end first returns without parking and gets no token. The job's table
//! functions take a raw pointer (see `job.rs`), and
//! the store goes through it after every borrow of the job has ended, so no
//! reference to the job is alive when it may be freed. Called from a thread
//! outside the pool, `join` hops into the pool once (`Pool::install`) and
//! blocks until both halves are done.

// Layer: many (`lib.rs`, "Layers"). It may use the cell, sched and base
// layers, the other many files, and the `Pool` type (to add its methods),
// nothing else of the face.

use std::cell::{Cell, UnsafeCell};
use std::ptr::NonNull;
use std::time::Instant;

use crate::job::{JobRef, JobVtable, JoinFrame, Ran};
use crate::pool::Pool;
use crate::sync::{AtomicBool, AtomicUsize, Ordering, Thread, fence};
use crate::unwind::{self, AbortIfPanic, Payload};
use crate::wait::{Waitable, park_until};
use crate::worker::WorkerThread;

const PENDING: usize = 0;
const DONE: usize = 1;
/// A queue that was drained (`shutdown_now`, a torn-down queue) gave the job
/// back unrun: its owner runs the closure itself (`install`'s hop only).
const HANDED_BACK: usize = 2;
/// Set beside `PENDING` by an owner that announces its park
/// ([`StackJob::owner_announces`]): only then does the job's end unpark it.
const OWNER_PARKED: usize = 4;

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
    /// Whether a drained queue hands the job back to its owner (an
    /// `install` hop, whose owner only waits) rather than running it (a
    /// fork-join half, whose owner may be blocked in `a` on `b`).
    hand_back: bool,
    /// Whether the owner announces its park ([`announce_park`]), so that
    /// the job's end unparks it only then: a thread outside every pool that
    /// saw the end while it spun neither parks nor gets a token it would
    /// have to consume (`install.rs`, step 5). Other owners are unparked at
    /// every end.
    ///
    /// [`announce_park`]: Self::announce_park
    announces: bool,
}

impl<'w, F: FnOnce() -> R + Send, R: Send> StackJob<'w, F, R> {
    /// A job for `func` whose owner is the thread `owner`, which will wait
    /// for it; `running` is what a thread running it answers for in
    /// `is_cancelled`, `origin` the frame that pushed it (0 from outside).
    /// Cancelling it (`shutdown_now`) hands it back unrun: the owner then
    /// runs `func` itself in [`into_outcome`](Self::into_outcome).
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
                promoted: AtomicBool::new(false),
                job: Cell::new(NonNull::dangling()),
                vtable: Self::VTABLE,
                #[cfg(loom)]
                probe: loom::cell::UnsafeCell::new(()),
            },
            state: AtomicUsize::new(PENDING),
            origin,
            func: UnsafeCell::new(Some(func)),
            result: UnsafeCell::new(None),
            owner,
            running,
            hand_back: true,
            announces: false,
        }
    }

    /// The same job, for an owner that announces its park before it parks
    /// (`announce_park`); call before the job is pushed.
    pub(crate) fn owner_announces(mut self) -> Self {
        self.announces = true;
        self
    }

    /// The finisher's last touch of the job at `job`: stores `end` (DONE or
    /// HANDED_BACK) and unparks `owner`, unless the owner announces and had
    /// not announced its park by the store (then it sees the end itself,
    /// before it would park).
    ///
    /// # Safety
    ///
    /// `job` is alive until the store and no reference to it is used after
    /// it (the owner may free it at once).
    unsafe fn finish(job: *const Self, end: usize, owner: Thread, announces: bool) {
        // SAFETY: the caller's contract. The operation takes
        // `&AtomicUsize` while the owner may free the job right after it,
        // as `Arc`'s final `fetch_sub` does: allowed, since the reference
        // is not used after the atomic operation.
        let state = unsafe { &*std::ptr::addr_of!((*job).state) };
        if announces {
            // AcqRel: Release publishes the result to the owner's acquire
            // loads (`is_done`, `announce_park`); the read half pairs with
            // `announce_park`'s fetch_or.
            if state.swap(end, Ordering::AcqRel) & OWNER_PARKED != 0 {
                owner.unpark();
            }
        } else {
            // Release: pairs with the acquire load in `is_done`; publishes
            // the result.
            state.store(end, Ordering::Release);
            owner.unpark();
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
    unsafe fn execute(ptr: NonNull<()>) -> Ran {
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
            (this.owner.clone(), this.announces)
        };
        // SAFETY: the job is alive until the store in `finish`; no other
        // reference to it is.
        unsafe { Self::finish(job, DONE, owner.0, owner.1) };
        Ran::Here
    }

    /// A fork-join half cannot be cancelled: its owner waits for it, maybe
    /// in `a` for `b`, so it runs here. An `install` hop is handed back to
    /// its owner, which only waits, and then runs it on its own thread (not
    /// on the thread draining the queue, inside `shutdown_now`). Neither
    /// counts as a cancelled task.
    unsafe fn cancel(ptr: NonNull<()>) -> Ran {
        let job = ptr.cast::<Self>().as_ptr().cast_const();
        // SAFETY: the job is alive until `finish` swaps or stores its end
        // (the owner waits for that); no other thread touches `hand_back`,
        // `announces` or `owner`.
        let owner = unsafe {
            (*job)
                .hand_back
                .then(|| ((*job).owner.clone(), (*job).announces))
        };
        let Some((owner, announces)) = owner else {
            // SAFETY: the vtable's contract.
            return unsafe { Self::execute(ptr) };
        };
        // SAFETY: as in `execute`: alive until the store, no reference to it
        // used after it. Its release half lets the owner see the closure
        // slot as it was left.
        unsafe { Self::finish(job, HANDED_BACK, owner, announces) };
        Ran::No
    }

    unsafe fn release(ptr: NonNull<()>) {
        // A queue torn down with the job in it: its owner still waits.
        // SAFETY: the vtable's contract.
        unsafe { Self::cancel(ptr) };
    }

    unsafe fn origin(ptr: NonNull<()>) -> u64 {
        // SAFETY: the job is alive while its reference is queued.
        unsafe { (*ptr.cast::<Self>().as_ptr()).origin }
    }

    /// Takes the outcome after the job ran, or runs the closure here if a
    /// drained queue handed the job back (see `cancel`).
    pub(crate) fn into_outcome(self) -> Result<R, Payload> {
        match self.result.into_inner() {
            Some(outcome) => outcome,
            None => {
                let func = self.func.into_inner().expect("join half never ran");
                unwind::halt_unwinding(func)
            }
        }
    }
}

impl<F, R> StackJob<'_, F, R> {
    /// For an owner that announces (`owner_announces`): marks it as about to
    /// park, so that the job's end will unpark it. `false` when the job has
    /// ended already: then its end has not unparked the owner and will not.
    pub(crate) fn announce_park(&self) -> bool {
        // AcqRel: the read half is ordered with the finisher's swap (the
        // same location, so one of the two sees the other); Acquire on an
        // ended job makes its result visible, as `is_done` does.
        let prev = self.state.fetch_or(OWNER_PARKED, Ordering::AcqRel);
        prev & !OWNER_PARKED == PENDING
    }
}

impl<F, R> Waitable for StackJob<'_, F, R> {
    fn is_done(&self) -> bool {
        // Acquire: pairs with the release half of `finish` (DONE from
        // `execute`, HANDED_BACK from `cancel`).
        self.state.load(Ordering::Acquire) & !OWNER_PARKED != PENDING
    }

    fn block_until(&self, deadline: Option<Instant>) -> bool {
        // The thief unparks the owner after its DONE store (an owner that
        // announces: once it has announced).
        if self.announces && !self.announce_park() {
            return true;
        }
        park_until(|| self.is_done(), deadline)
    }
}

/// Both halves' outcomes to the caller: `a`'s panic first, then `b`'s; the
/// panic not re-raised, or the other half's value, is dropped (contained)
/// before the unwinding starts: a destructor that panicked during it would
/// abort the process.
fn rejoin<RA, RB>(a: Result<RA, Payload>, b: Result<RB, Payload>) -> (RA, RB) {
    match (a, b) {
        (Ok(ra), Ok(rb)) => (ra, rb),
        (Err(payload), other) => {
            match other {
                Err(second) => unwind::drop_payload(second),
                Ok(rb) => unwind::drop_contained(rb),
            }
            std::panic::resume_unwind(payload)
        }
        (Ok(ra), Err(payload)) => {
            unwind::drop_contained(ra);
            std::panic::resume_unwind(payload)
        }
    }
}

impl WorkerThread {
    /// Puts `frame`, the oldest frame on this worker's list that nobody
    /// has taken, in its empty exposure slot (step 2), unless a rescue took
    /// it first (`job.rs`, "Rescue"; then it is published already).
    #[inline]
    fn expose(&self, frame: &JoinFrame) {
        if crate::job::expose_frame(self.exposure_slot(), frame) {
            self.exposed_now(frame);
        }
    }

    /// After `frame` went into this worker's exposure slot: remembers it,
    /// and wakes a sleeper unless a worker searches.
    #[inline]
    fn exposed_now(&self, frame: &JoinFrame) {
        self.exposed_frame.set(frame);
        // SeqCst fence: pairs with the fence of a worker going to sleep
        // (sleep.rs step 4, whose look includes the slots): either it sees
        // this frame, or this load sees it asleep and wakes it.
        fence(Ordering::SeqCst);
        self.registry().sleep.notify_one_for_fork();
    }

    /// Whether a thief claimed the frame this worker exposed (its slot no
    /// longer holds it). Only called with a frame exposed.
    #[inline]
    fn exposed_was_claimed(&self) -> bool {
        // Relaxed: only this thread stores a frame in its slot; a thief
        // swaps it to null, a rescue to busy and back. After a link, the
        // light barrier before this load pairs with a rescue's heavy one
        // (`job.rs`, "Rescue"): either the rescue sees the new frame, or
        // this sees the slot changed and publishes it.
        self.exposure_slot().load(Ordering::Relaxed) != self.exposed_frame.get() as *mut ()
    }

    /// Step 3: a worker is hungry, or the exposed frame was claimed. If it
    /// was claimed, the oldest unpublished frame takes its place in the
    /// slot; if it is still there, the oldest unpublished frame newer than
    /// it is pushed on the deque (one more piece of work per hungry fork),
    /// and a sleeper is woken.
    #[cold]
    fn feed_the_hungry(&self) {
        let mine = self.exposed_frame.get();
        let still_exposed = self.exposure_slot().load(Ordering::Relaxed) == mine as *mut ();
        if !still_exposed {
            // Claimed (its `promoted` flag was set when it was exposed).
            self.exposed_frame.set(std::ptr::null());
        }
        if self.exposed_frame.get().is_null() {
            // SAFETY: every frame on the list lives on this thread's stack,
            // in a `join` call that has not returned (it unlinks itself
            // first).
            let exposed =
                unsafe { crate::job::expose_oldest(self.exposure_slot(), self.newest_join()) };
            // SAFETY: as above.
            match unsafe { exposed.as_ref() } {
                Some(f) => self.exposed_now(f),
                None => self.registry().sleep.notify_one_for_fork(),
            }
            return;
        }
        // SAFETY: as above. The exposed frame is taken too, so the walk
        // stops there.
        let oldest = unsafe { crate::job::oldest_untaken(self.newest_join()) };
        // SAFETY: as above.
        let Some(f) = (unsafe { oldest.as_ref() }) else {
            self.registry().sleep.notify_one_for_fork();
            return;
        };
        // (`None`: a rescue took it, and runs it.)
        // SAFETY: the frame's job stays in place until it has run: its
        // `join` waits for it, or takes it back, once promoted.
        if let Some(job) = unsafe { f.take() } {
            self.push_local(job);
            self.registry().sleep.notify_one_for_fork();
        }
    }

    /// Steps 1–6 of the module docs.
    #[inline]
    pub(crate) fn join<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        self.join_with::<false, A, B, RA, RB>(a, b)
    }

    /// Whether a fork may be published at once ([`Pool::join_offered`]):
    /// this worker is not alone, and every frame on its list is published,
    /// so that one published now keeps the published frames a prefix of
    /// the list (step 3). A frame it exposed that a thief has claimed
    /// counts as published, and is marked so here; if frames newer than it
    /// are unpublished, this is step 3 itself (`feed_the_hungry`: the
    /// oldest of them takes the slot) and the answer is no. (A first
    /// version only marked the claimed frame, and the unpublished one after
    /// it was never offered: a second reader's test,
    /// `join_after_a_heavy_par_call_offers_the_frame_behind_a_claimed_one`.)
    pub(crate) fn forks_published(&self) -> bool {
        if self.alone {
            return false;
        }
        let mine = self.exposed_frame.get();
        if !mine.is_null() {
            if !self.exposed_was_claimed() {
                return false;
            }
            let newest = self.newest_join();
            // SAFETY: `newest` is on this thread's list (not null: `mine` is
            // on it), alive until its join returns, as below. Relaxed: see
            // `feed_the_hungry`.
            if !unsafe { (*newest).promoted.load(Ordering::Relaxed) } {
                self.feed_the_hungry();
                return false;
            }
            // Claimed: its flag was set when it was exposed.
            self.exposed_frame.set(std::ptr::null());
        }
        // SAFETY: every frame on the list lives on this thread's stack, in a
        // `join` call that has not returned (it unlinks itself first).
        unsafe { self.newest_join().as_ref() }
            .is_none_or(|newest| newest.promoted.load(Ordering::Relaxed))
    }

    /// Steps 1–6; with `OFFER`, step 2 and 3 give way to publishing `b` at
    /// once: pushed on this worker's deque, with a push's wake-up (only
    /// where [`forks_published`](Self::forks_published) said so).
    #[inline]
    fn join_with<const OFFER: bool, A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
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
                parent: self.newest_join(),
                promoted: AtomicBool::new(OFFER),
                job: Cell::new(NonNull::dangling()),
                vtable: StackJob::<B, RB>::VTABLE,
                #[cfg(loom)]
                probe: loom::cell::UnsafeCell::new(()),
            },
            state: AtomicUsize::new(PENDING),
            origin: self.origin(),
            func: UnsafeCell::new(Some(b)),
            result: UnsafeCell::new(None),
            owner: self.thread(),
            running: crate::cancel::current(),
            hand_back: false,
            announces: false,
        };
        // `job_b` does not move from here on: its frame may point to it.
        let job_ptr = &job_b as *const StackJob<'_, B, RB> as *const ();
        job_b.frame.job.set(NonNull::from(&job_b).cast());
        // From the link until `b` has run or been taken back, this frame is
        // reachable from the worker and maybe from the deque: nothing may
        // unwind out of it meanwhile.
        let guard = AbortIfPanic;
        // Release: pairs with a rescue's acquire load of the head, so the
        // frame's fields are visible to its walk (`job.rs`, "Rescue").
        self.joins().store(
            (&job_b.frame as *const JoinFrame).cast_mut(),
            Ordering::Release,
        );
        if OFFER {
            // SAFETY: the job stays in place until it has run: this `join`
            // waits for it, or takes it back, since it is promoted.
            self.push_local(unsafe { JobRef::new(job_b.frame.job.get(), job_b.frame.vtable) });
            // A push's wake-up, fence and all (sleep.rs, step 1): a sleeper,
            // or else a blocked helper. After a shutdown the job is popped
            // back below as any unstolen half is.
            let _ = self.registry().sleep.notify_one();
        } else if !self.alone {
            if self.exposed_frame.get().is_null() {
                self.expose(&job_b.frame);
            } else {
                // Pairs with a rescue's heavy barrier (`exposed_was_claimed`).
                crate::sync::light_barrier(self.fence_needed);
                if self.registry().sleep.is_hungry() || self.exposed_was_claimed() {
                    self.feed_the_hungry();
                }
            }
        }

        let result_a = unwind::halt_unwinding(a);

        // Every newer frame has returned and unlinked itself. Unlink this
        // one; an exposed frame is retracted (a thief's claim makes that
        // fail), and a rescue in progress is waited for (`job.rs`,
        // "Rescue").
        if std::ptr::eq(self.exposed_frame.get(), &job_b.frame) {
            self.exposed_frame.set(std::ptr::null());
        }
        let published = crate::job::unlinked_published(
            self.exposure_slot(),
            self.joins(),
            &job_b.frame,
            self.fence_needed,
        );
        if !published {
            // Never published: nobody else can see `b`.
            std::mem::forget(guard);
            // SAFETY: the job was never queued, so this thread alone has it.
            let b = unsafe { (*job_b.func.get()).take() }.expect("join half run twice");
            // `b` is caught too: `a`'s value must not be dropped by the
            // unwinding (its destructor may panic).
            return rejoin(result_a, unwind::halt_unwinding(b));
        }
        // Published: pushed on the deque (pop it back if nobody stole it),
        // or claimed by a thief. Run what `a` left on this deque meanwhile,
        // then whatever there is, until the thief marks the job done.
        while !job_b.is_done() {
            match self.pop_local() {
                Some(job) if job.points_to(job_ptr) => {
                    // Our own stack job, taken back: nothing to release.
                    std::mem::forget(job);
                    std::mem::forget(guard);
                    // SAFETY: we took the only reference to the job back out
                    // of our deque, so nobody else takes the closure.
                    let b = unsafe { (*job_b.func.get()).take() }.expect("join half run twice");
                    // Nobody stole `b`: run it here. If `a` panicked, `b`
                    // still runs (as if stolen) and `a`'s panic is the one
                    // re-raised; `b` is caught too, so that `a`'s value is
                    // not dropped by the unwinding.
                    return rejoin(result_a, unwind::halt_unwinding(b));
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
    /// [`join`](Pool::join) with `b` published at once where that keeps
    /// the protocol's order: on one of this pool's workers whose forks are
    /// all published already (`WorkerThread::forks_published`), `b` is
    /// pushed on its deque with a push's wake-up, instead of waiting in the
    /// worker's exposure slot or unpublished for a hungry fork; anywhere
    /// else, a plain `join`. For `par`'s walks over items that each outlast
    /// a wake-up (par/drive.rs, step 11), which fork with nobody hungry:
    /// an exposed frame nobody claims would keep a join forked inside an
    /// item from being offered (see `join`'s docs), and one whose `a` waits
    /// for its `b` would never end. `par`'s walk asks `forks_published`
    /// itself before it forks (`can_offer`), and this asks again: a few
    /// nanoseconds per item of 40 µs or more, so that the prefix rule
    /// holds here whoever calls.
    #[inline]
    pub(crate) fn join_offered<A, B, RA, RB>(&self, a: A, b: B) -> (RA, RB)
    where
        A: FnOnce() -> RA + Send,
        B: FnOnce() -> RB + Send,
        RA: Send,
        RB: Send,
    {
        match self.registry().own_worker() {
            Some(worker) if worker.forks_published() => {
                worker.join_with::<true, A, B, RA, RB>(a, b)
            }
            _ => self.join(a, b),
        }
    }

    /// Runs `a` and `b`, potentially in parallel, and returns both results:
    /// fork-join for recursive divide and conquer.
    ///
    /// On a worker, `a` runs on the calling thread while `b` is offered to
    /// idle workers (one that is idle now, or becomes idle while `a` runs,
    /// takes it); if nobody does, the caller runs `b` itself after `a`, with
    /// no heap allocation. The outermost join on a worker is offered first;
    /// a join forked inside its `a` is offered once that `b` was taken, at
    /// this worker's next fork, or, if `a` forks no more, when another
    /// worker is about to sleep or block: so an `a` that blocks until its
    /// own `b` has run ends whenever another worker is or becomes idle.
    /// Called from outside the pool, the whole join moves into the pool and
    /// the caller blocks until it is done.
    ///
    /// If either closure panics, `join` waits for the other one and then
    /// re-raises the panic: `a`'s when both panicked, whoever ran them. After
    /// [`shutdown`](Pool::shutdown), or when `shutdown_now` cancels the hop
    /// into the pool, a call from outside the pool runs both closures on the
    /// calling thread, `a` first: there an `a` that waits until `b` has run
    /// never returns.
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
            // Both run, and a panic is re-raised after both, as on a
            // worker.
            None => rejoin(unwind::halt_unwinding(a), unwind::halt_unwinding(b)),
        })
    }
}

/// Loom models of an announcing owner (`StackJob::owner_announces`, the
/// caller of an `install` from outside, `install.rs` step 5) racing the
/// job's end: the owner parks only when an unpark is on its way (loom
/// reports a deadlock otherwise), and reads the value the end published.
#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use crate::sync::{current_thread, park};

    /// The owner's side, as `yield_then_park` does it after its spin.
    fn wait_as_owner<F, R>(job: &StackJob<'_, F, R>) {
        if job.announce_park() {
            park();
            park_until(|| job.is_done(), None);
        }
        assert!(job.is_done());
    }

    /// A job for `func` whose owner, `owner`, announces its park.
    fn announcing<F: FnOnce() -> u32 + Send>(func: F, owner: &Thread) -> StackJob<'_, F, u32> {
        StackJob::new(
            func,
            owner,
            crate::cancel::Running::NONE,
            std::ptr::null(),
            0,
        )
        .owner_announces()
    }

    /// The owner waits as `yield_then_park` does after its spin, while
    /// another thread ends the job with `end`; then the owner reads the
    /// value (run by the other thread, or here after a hand-back).
    fn owner_racing(end: fn(JobRef)) {
        loom::model(move || {
            let owner = current_thread();
            let job = announcing(|| 7u32, &owner);
            // SAFETY: `job` stays in place until DONE (the thread is joined
            // after the owner's wait), and the reference is consumed once.
            let job_ref = unsafe { job.job_ref() };
            let other = loom::thread::spawn(move || end(job_ref));
            wait_as_owner(&job);
            other.join().unwrap();
            assert_eq!(job.into_outcome().ok(), Some(7));
        });
    }

    #[test]
    fn announced_park_racing_with_the_run() {
        owner_racing(|job| assert_eq!(job.execute(), Ran::Here));
    }

    /// A drained queue hands the job back (`cancel`): the owner wakes (or
    /// never parks) and runs the closure itself.
    #[test]
    fn announced_park_racing_with_a_hand_back() {
        owner_racing(|job| {
            assert_eq!(job.cancel(), Ran::No, "a hand-back is not a cancelled task")
        });
    }

    /// What the closure writes, in a cell loom tracks, so that a read the
    /// job's end does not order before is reported.
    struct Written(loom::cell::UnsafeCell<u32>);
    // SAFETY: written by the closure only, read by the owner only after
    // the job is done (which loom checks).
    unsafe impl Sync for Written {}

    /// A closure that writes 7 into `written` and returns 7.
    fn writes_seven(written: &std::sync::Arc<Written>) -> impl FnOnce() -> u32 + Send + use<> {
        let written = written.clone();
        move || {
            // SAFETY: the only writer; the owner reads after DONE.
            written.0.with_mut(|p| unsafe { *p = 7 });
            7
        }
    }

    /// The closure's write is visible once the owner's wait returns (read
    /// before the runner is joined, so only the end's release orders it),
    /// and the end leaves no park token: a later park returns only on the
    /// unpark that follows the flag (a second reader's model, helper-56;
    /// it fails with the end unparking the owner every time, and with
    /// relaxed orderings).
    #[test]
    fn the_value_is_published_and_no_token_is_left() {
        loom::model(|| {
            let owner = current_thread();
            let written = std::sync::Arc::new(Written(loom::cell::UnsafeCell::new(0)));
            let job = announcing(writes_seven(&written), &owner);
            // SAFETY: as in `owner_racing`.
            let job_ref = unsafe { job.job_ref() };
            let runner = loom::thread::spawn(move || job_ref.execute());
            wait_as_owner(&job);
            // SAFETY: the job is done: the closure wrote before the end.
            assert_eq!(written.0.with(|p| unsafe { *p }), 7);
            runner.join().unwrap();
            let sent = std::sync::Arc::new(crate::sync::AtomicBool::new(false));
            let later = {
                let (sent, owner) = (sent.clone(), owner.clone());
                loom::thread::spawn(move || {
                    sent.store(true, Ordering::SeqCst);
                    owner.unpark();
                })
            };
            park();
            assert!(
                sent.load(Ordering::SeqCst),
                "a park token was left by the job's end"
            );
            later.join().unwrap();
            assert_eq!(job.into_outcome().ok(), Some(7));
        });
    }

    /// Another thread unparks the owner while it waits: the wait still
    /// returns only once the job is done (it fails with `is_done` reading
    /// the announcement as an end). Threads report their end through flags,
    /// not `join`: a foreign unpark during loom's `join` trips loom's own
    /// assertion.
    #[test]
    fn a_foreign_unpark_during_the_wait() {
        loom::model(|| {
            let owner = current_thread();
            let written = std::sync::Arc::new(Written(loom::cell::UnsafeCell::new(0)));
            let job = announcing(writes_seven(&written), &owner);
            // SAFETY: as in `owner_racing`; the spin below outlasts the run.
            let job_ref = unsafe { job.job_ref() };
            let ended = |f: Box<dyn FnOnce() + Send>| {
                let ended = std::sync::Arc::new(crate::sync::AtomicBool::new(false));
                let flag = ended.clone();
                loom::thread::spawn(move || {
                    f();
                    flag.store(true, Ordering::SeqCst);
                });
                ended
            };
            let other = owner.clone();
            let unparked = ended(Box::new(move || other.unpark()));
            let ran = ended(Box::new(move || {
                job_ref.execute();
            }));
            wait_as_owner(&job);
            // SAFETY: as above.
            assert_eq!(written.0.with(|p| unsafe { *p }), 7);
            while !ran.load(Ordering::SeqCst) || !unparked.load(Ordering::SeqCst) {
                loom::thread::yield_now();
            }
            assert_eq!(job.into_outcome().ok(), Some(7));
        });
    }
}

//! The worker thread: its deque, its loop (pop, take a batch from the
//! injector, steal, park), and helping while a task on it waits for another.

// Layer: sched (`lib.rs`, "Layers"). It may use the base layer and the other
// sched files; what it needs from above (a scope hearing of a job's end, a
// fork-join frame to publish, the pool's handle) reaches it type-erased,
// through tables the layers above fill in (`job.rs`).

use std::cell::Cell;
use std::ptr::NonNull;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_deque::{Steal, Worker as Deque};

use crate::job::{JobRef, JoinFrame, Ran, Rescued, claim_exposed, rescue_from};
use crate::registry::{Counters, Registry};
use crate::sleep::Wake;
use crate::slots::{self, SlotCache};
use crate::sync::{AtomicPtr, Ordering, fence, park};
use crate::unwind::AbortIfPanic;
use crate::util::{Nested, XorShift};

/// Something a thread can wait for: a task, a scope's latch, the first of
/// several tasks, a fork-join half. Defined here, where a waiting worker
/// runs other work meanwhile (`help_until`); `wait.rs` has the waits.
pub(crate) trait Waitable {
    /// Whether it is done; never blocks.
    fn is_done(&self) -> bool;
    /// Blocks until it is done, `deadline` passes, or there may be new work
    /// for `run_inline`; returns whether it is done.
    fn block_until(&self, deadline: Option<Instant>) -> bool;
    /// On `worker`, runs a job this wait is for that has not started yet
    /// (only jobs of `worker`'s own pool); `false` when there is none.
    fn run_inline(&self, _worker: &WorkerThread) -> bool {
        false
    }
}

/// How many times an idle worker whose first look at the shared queues found
/// nothing looks again before it parks (`WorkerThread::search_on`), each
/// after [`SPINS_PER_LOOK`] spin hints: 224 hints in all, ~5.5 µs on this
/// project's VM (AMD EPYC, 24.6 ns a hint; a few hundred cycles in all
/// where a hint costs a handful), enough to catch work pushed or exposed
/// right behind the job just finished, far too short to burn measurable CPU
/// when idle.
///
/// A look between spins is a glance (`Registry::has_work`: loads of lines
/// that stay shared while nothing changes); only when it sees something does
/// the worker take the full pass of `steal_shared`. The same 224 hints used
/// to come as three spins of 32, 64 and 128, a full pass after each: a
/// worker that had just run a fork-join half saw the next half its owner
/// exposed up to 3 µs late. In a loop of joins of two 2 µs halves, beside
/// a worker otherwise idle, that was 1.09× rayon's time (31.6 ms against
/// 29.1, `bench/examples/waiting_worker.rs`, the "idle" rows), and 1.22×
/// this pool's own time when the other worker was waiting in a join, whose
/// search (`search_briefly`) already looked every 8 hints. Looking every 8
/// hints brought the idle rows level with the waiting ones and under
/// rayon's at every half length (2 µs: 25.6–25.8 ms against rayon's 28.8;
/// 0.5 µs: 41.4–42.0 against 57.5–63.0), with the old and new builds
/// alternated in one run. A full pass at every look did the same for the
/// joins but cost the trickle measurement (`--bench idle`, one tiny task a
/// millisecond) ~10 ms of CPU a second more (42–44 against 26–36); the
/// glance keeps it where it was (32–38).
const SEARCH_LOOKS: u32 = 28;
/// Spin hints before each of [`SEARCH_LOOKS`].
const SPINS_PER_LOOK: u32 = 8;

/// How many tasks the only worker of a one-worker pool takes from the
/// injector at once, onto its own deque (with crossbeam's injector that was
/// one compare-exchange for several tasks, and taking one at a time
/// measured 2× slower per task submitted from outside; with ours,
/// `injector.rs`, it is one claim each, and the batch saves the passes
/// through the shared queues between them). With one worker a batch keeps
/// submission order (the injector puts it on the LIFO deque newest first,
/// so it comes back oldest first); with more, workers take one task at a
/// time, see [`WorkerThread::steal_shared`].
const INJECTOR_BATCH: usize = 4;

/// How long a waiting worker first blocks on the awaited task before it looks
/// for other work again; it doubles each time nothing turns up, up to
/// [`HELP_POLL_MAX`]. A task finishing wakes the waiter at once: the poll only
/// bounds how late it notices *new* work while every other worker is busy.
const HELP_POLL_MIN: Duration = Duration::from_micros(50);
const HELP_POLL_MAX: Duration = Duration::from_millis(5);

/// How long a worker waiting for a stolen fork-join half keeps looking for
/// work, counted as searching, before it blocks: long enough for a busy
/// worker's `par` walk to take its next look (par/drive.rs `STEP_TIME`) and
/// split off work for it. (Spinning longer before parking in the idle loop
/// measured slower here: the two vCPUs share a core.)
const HELP_SEARCH: Duration = Duration::from_micros(20);

/// A job that a worker waiting in a join ran in less time than this is not
/// followed by another search (`WorkerThread::help_until`): stealing such
/// a job gains the pair of workers nothing. Beside a loop of tiny joins, each
/// outermost join of which exposes its half, the searches claimed one
/// few-nanosecond half after another (thousands in a 300 ms run), so the
/// worker meant to be blocked used 2-177 ms of CPU, and the loop waited for
/// each half it lost. A loop of joins of two 0.5 µs halves ran as fast
/// whether or not the waiting worker claimed 98% of the halves (26-31 ms
/// against 30 ms, the serial time); one of two 2 µs halves ran 1.6× faster
/// when it did (34-36 ms against 56 ms), so the line is drawn at 1 µs.
const HELP_TINY_JOB: Duration = Duration::from_micros(1);

/// How long a lingering worker searches between two `yield_now`s
/// (`sleep.rs`, step 6).
const LINGER_ROUND: Duration = Duration::from_micros(5);

/// Low bits of a frame stamp that count frames; the high bits hold the
/// worker's index plus one, so that 0 means "not pushed by any worker".
const FRAME_BITS: u32 = 48;

thread_local! {
    static CURRENT: Cell<*const WorkerThread> = const { Cell::new(std::ptr::null()) };
}

/// A worker's own state, living on its thread's stack for the thread's life.
pub(crate) struct WorkerThread {
    index: usize,
    deque: Deque<JobRef>,
    registry: Arc<Registry>,
    rng: XorShift,
    thread: crate::sync::Thread,
    /// The *frame* of the task now running on this worker: `index << 48 |
    /// n`, where `n` counts the tasks this worker has started. Every task
    /// pushed on this deque is stamped with the frame that pushed it (its
    /// origin); see [`WorkerThread::pop_descendant`].
    frame: Cell<u64>,
    frames_started: Cell<u64>,
    /// This worker's line of `Registry::joins`: the newest fork-join frame
    /// running on this thread (a list through each frame's parent; see
    /// `join.rs`), which a rescue reads (`job.rs`, "Rescue"). A pointer into
    /// the registry, which `registry` keeps alive, saved here because a
    /// join reads and writes it twice.
    joins: *const AtomicPtr<JoinFrame>,
    /// This worker's exposure slot (`Registry::exposed`), likewise.
    slot: *const AtomicPtr<()>,
    /// Whether a join's light barrier must be a real fence
    /// (`sync::light_barrier_needs_fence`), read once here.
    pub(crate) fence_needed: bool,
    /// The frame this worker last put in its exposure slot
    /// (`Registry::exposed`), or null; a thief may have claimed it since
    /// (see `join.rs`, "Late idlers").
    pub(crate) exposed_frame: Cell<*const JoinFrame>,
    /// Whether this worker is its pool's only one: nobody could claim an
    /// exposed frame.
    pub(crate) alone: bool,
    /// Added to by a rescue look that took more than one frame, or left
    /// untaken frames behind the one it took (`rescue_look`): how many
    /// idle workers to wake for them where they include untaken frames (one
    /// `notify_one` otherwise), before the next job this worker runs or
    /// when the join's wait it looked from ends (`help_until`).
    wake_for_rescued: Cell<usize>,
    /// Whether those wake-ups are for untaken frames (then even while a
    /// worker searches: `Sleep::wake_for_untaken`) or only for spare jobs
    /// on this deque (`Sleep::notify_one`).
    wake_untaken: Cell<bool>,
    /// Blocks for the jobs this worker spawns (`slots.rs`).
    slots: SlotCache,
    /// Where this worker's stack began (the address of a local of `new`,
    /// which runs at the top of the thread) and where it ends (its lowest
    /// address): how deep helping installs and waits serving hops may nest
    /// ([`WorkerThread::stack_left_over`]).
    stack_base: usize,
    stack_end: usize,
    /// Task counts this worker took ahead from a scope's latch and has not
    /// used yet (`scope.rs`, "Counting spawns in batches"); given back at
    /// the end of every job it runs and before it waits.
    credit: Cell<Option<Credit>>,
}

/// Counts taken ahead from one latch: who to give them back to, and how.
/// Type-erased, as the latch belongs to a layer above (`lib.rs`, "Layers").
/// A worker holds one only while `left > 0`: those unused counts keep the
/// latch alive.
#[derive(Clone, Copy)]
pub(crate) struct Credit {
    pub(crate) latch: NonNull<()>,
    /// At least 1.
    pub(crate) left: usize,
    /// Gives `left` counts back to `latch`; may be the latch's final
    /// decrement, after which it is not touched again.
    pub(crate) give_back: unsafe fn(NonNull<()>, usize),
}

impl std::fmt::Debug for WorkerThread {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkerThread")
            .field("index", &self.index)
            .finish()
    }
}

/// Clears `CURRENT` when the worker's loop ends, however it ends.
struct ResetCurrent;

impl Drop for ResetCurrent {
    fn drop(&mut self) {
        CURRENT.with(|current| current.set(std::ptr::null()));
    }
}

impl WorkerThread {
    pub(crate) fn new(
        index: usize,
        deque: Deque<JobRef>,
        registry: Arc<Registry>,
        stack_size: Option<usize>,
    ) -> Self {
        let top = 0u8;
        let stack_base = std::ptr::addr_of!(top) as usize;
        // Where the system does not say, the size asked for (or std's
        // default) below this frame: an overestimate by what the C library
        // keeps at the top of the stack.
        let stack_end = crate::util::stack_end()
            .filter(|&end| end < stack_base)
            .unwrap_or_else(|| {
                stack_base
                    .saturating_sub(stack_size.unwrap_or_else(crate::util::default_stack_size))
            });
        WorkerThread {
            stack_base,
            stack_end,
            index,
            deque,
            rng: XorShift::new(index as u64 + 1),
            thread: crate::sync::current_thread(),
            frame: Cell::new((index as u64 + 1) << FRAME_BITS),
            frames_started: Cell::new(0),
            joins: &registry.joins[index].0,
            slot: &registry.exposed[index].0,
            fence_needed: crate::sync::light_barrier_needs_fence(),
            exposed_frame: Cell::new(std::ptr::null()),
            alone: registry.workers() == 1,
            wake_for_rescued: Cell::new(0),
            wake_untaken: Cell::new(false),
            slots: SlotCache::new(),
            credit: Cell::new(None),
            registry,
        }
    }

    /// The worker running on this thread, if this is a pool's worker thread.
    #[inline]
    pub(crate) fn current() -> Option<&'static WorkerThread> {
        let ptr = CURRENT.with(Cell::get);
        // SAFETY: `CURRENT` is non-null only while `run` executes on this
        // thread, and `run` borrows the `WorkerThread` for that whole time;
        // every caller of `current` runs inside `run` (it is a task, or a
        // function a task called). `WorkerThread` is `!Sync` (its deque is),
        // so the reference cannot reach another thread.
        unsafe { ptr.as_ref() }
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The registry as the `Arc` this worker holds (for `Pool::current`).
    pub(crate) fn registry_arc(&self) -> &Arc<Registry> {
        &self.registry
    }

    /// This worker's index in its pool, `0..workers`.
    #[inline]
    pub(crate) fn index(&self) -> usize {
        self.index
    }

    #[inline]
    pub(crate) fn push_local(&self, job: JobRef) {
        self.deque.push(job);
    }

    #[inline]
    pub(crate) fn pop_local(&self) -> Option<JobRef> {
        self.deque.pop()
    }

    /// The cache the jobs this worker spawns are placed in.
    #[inline]
    pub(crate) fn slots(&self) -> &SlotCache {
        &self.slots
    }

    /// The counts this worker holds ahead for a latch, if any.
    #[inline]
    pub(crate) fn credit(&self) -> Option<Credit> {
        self.credit.get()
    }

    /// Replaces the credit held (the caller gave the old one back, or is
    /// spending it): `None` once its last count is spent.
    #[inline]
    pub(crate) fn set_credit(&self, credit: Option<Credit>) {
        debug_assert!(credit.is_none_or(|credit| credit.left > 0));
        self.credit.set(credit);
    }

    /// Gives back the counts this worker holds ahead, if any: at the end of
    /// every job it runs, at the end of a scope's body and before it
    /// waits, so unused counts never keep a scope waiting.
    #[inline]
    pub(crate) fn settle_credit(&self) {
        // Most jobs spawn nothing: one load, no store, the rest out of line.
        if self.credit.get().is_some() {
            self.give_back_credit();
        }
    }

    #[cold]
    #[inline(never)]
    fn give_back_credit(&self) {
        if let Some(credit) = self.credit.take() {
            // SAFETY: the credit's counts keep the latch alive (`Credit`);
            // it is taken out of the cell first, so it is given back once.
            unsafe { (credit.give_back)(credit.latch, credit.left) };
        }
    }

    /// This worker's list head of running joins (`Registry::joins`).
    #[inline]
    pub(crate) fn joins(&self) -> &AtomicPtr<JoinFrame> {
        // SAFETY: it points into `self.registry`, an `Arc` this worker holds
        // for its whole life.
        unsafe { &*self.joins }
    }

    /// The newest fork-join frame running on this thread, or null.
    #[inline]
    pub(crate) fn newest_join(&self) -> *const JoinFrame {
        // Relaxed: only this thread writes it.
        self.joins().load(Ordering::Relaxed).cast_const()
    }

    /// This worker's exposure slot (`Registry::exposed`).
    #[inline]
    pub(crate) fn exposure_slot(&self) -> &AtomicPtr<()> {
        // SAFETY: as in `joins`.
        unsafe { &*self.slot }
    }

    /// Looks at every other worker for fork-join halves that nobody has
    /// taken while its exposure slot is empty (`job.rs`, "Rescue"), and
    /// pushes what it takes on this worker's deque: the oldest untaken half
    /// of each list its look locked, in the first batch of 64 workers that
    /// gives it any. `true` if it took something. Called by a worker about
    /// to sleep or to block in a join's wait, as part of its last look
    /// (`sleep.rs`, steps 4 and 8), which then sees the work and does not
    /// park, and by a worker leaving after `shutdown`.
    pub(crate) fn rescue_some(&self) -> bool {
        self.rescue_look().taken > 0
    }

    /// [`rescue_some`](Self::rescue_some)'s look, and what it found.
    pub(crate) fn rescue_look(&self) -> Rescued {
        if self.alone {
            return Rescued::default();
        }
        let registry = &*self.registry;
        let n = registry.workers();
        // The others in turn, starting after this one.
        let victim = |k: usize| {
            let victim = (self.index + 1 + k) % n;
            (&registry.exposed[victim].0, &registry.joins[victim].0)
        };
        let rescued = rescue_from(n - 1, victim, |job| self.deque.push(job));
        if rescued.taken == 0 {
            return rescued;
        }
        Counters::bump(
            &registry.counters[self.index].0.stolen,
            rescued.taken as u64,
        );
        // More than this worker runs at once: other idle workers are woken
        // for the rest when this one runs its next job, or leaves a join's
        // wait (`wake_for_rescued_work`). Not here: this worker is counted
        // asleep, or listed as a blocked helper, while it looks, and a
        // wake-up now could pick this very worker. Halves left untaken are
        // in no queue, so their wake-up must not count on a searcher; and
        // since a worker woken for them may take one of the rescued jobs
        // on this deque instead, one is woken for each of those too.
        let wakes = if rescued.more {
            rescued.taken
        } else {
            // Spare jobs on this deque only: the queues' own wake-up rule
            // (a searcher, or the last searcher's look) covers them.
            usize::from(rescued.taken > 1)
        };
        // Added to what an earlier look of the same wait left pending, which
        // a look that left nothing untaken must not downgrade.
        self.wake_for_rescued
            .set(self.wake_for_rescued.get() + wakes);
        if rescued.more {
            self.wake_untaken.set(true);
        }
        rescued
    }

    /// This worker's thread handle, cloned once at start.
    pub(crate) fn thread(&self) -> &crate::sync::Thread {
        &self.thread
    }

    /// The worker's loop; returns when the pool has shut down and every queue
    /// it can see is empty.
    pub(crate) fn run(&self) {
        slots::worker_started();
        CURRENT.with(|current| current.set(self));
        let _reset = ResetCurrent;
        // Every task and every drop of user data is contained below; if
        // anything escaped anyway, jobs pointing into other workers' frames
        // could be left behind: abort rather than unwind or hang.
        let guard = AbortIfPanic;
        let sleep = &self.registry.sleep;
        // Workers start out counted as searching (see `Sleep::new`).
        let mut searching = true;
        loop {
            if let Some(job) = self.deque.pop() {
                if searching {
                    searching = false;
                    sleep.stop_searching(|| self.registry.has_work());
                }
                self.execute(job);
                continue;
            }
            if !searching {
                // One look at the shared queues before counting itself
                // searching, as it popped its own deque: a worker going from
                // task to task through the injector touches the sleepers'
                // word (which every submit reads) only when it runs dry.
                // Uncounted, it is simply a running worker (`sleep.rs`, step
                // 2): a push meanwhile wakes a sleeper as if it were busy.
                if let Some(job) = self.steal_shared() {
                    self.execute(job);
                    continue;
                }
                searching = true;
                sleep.start_searching();
            }
            // One look at the shared queues first (again right after the
            // uncounted look: skipping it measured no faster, and it takes
            // a task pushed in between without `search_on`'s spins): a task
            // taken from the injector or stolen costs no more than before
            // lingering. Only
            // then, `sleep.rs` step 6: while the pool lingers, at most one
            // worker fewer than the pool has searches for a round that polls
            // more often (a split is taken within a microsecond), then looks
            // again; otherwise the short spins of `search_on`.
            let mut lingering = false;
            let found = match self.steal_shared() {
                Some(job) => Some(job),
                None if sleep.begin_linger() => {
                    lingering = true;
                    let found = self.linger_search();
                    sleep.end_linger();
                    found
                }
                None => self.search_on(),
            };
            if let Some(job) = found {
                searching = false;
                sleep.stop_searching(|| self.registry.has_work());
                self.execute(job);
                continue;
            }
            if sleep.is_shutdown() {
                // SeqCst fence: pairs with the submitter's fence in
                // `Sleep::notify_one` (submit/shutdown race, registry.rs).
                fence(Ordering::SeqCst);
                if let Some(job) = self.steal_shared() {
                    self.execute(job);
                    continue;
                }
                // A half that a blocked `a` waits for, forked behind an
                // exposed one, would never run once every other worker has
                // left (a second reader's test,
                // `join_rescue_after_shutdown_still_ends_a_waiting_a`).
                let rescued = self.rescue_look();
                if rescued.taken > 0 {
                    continue;
                }
                // A slot holding a frame, or held busy by an exposure or a
                // rescue under way, is work about to be offered: an owner
                // may expose a half between the claims above and the
                // rescue's glance, and after the shutdown nobody would be
                // woken for it (helper-62's test,
                // `join_exposed_during_the_leaving_workers_look_is_served`).
                // So is a list the look skipped because its slot read busy:
                // another look may have taken one half from it and left
                // more, which nobody else would take once this worker had
                // left (helper-64's interleaving); the slot may read null
                // again by the check below. Acquire: pairs with the
                // exposure's release store, as a claim's does.
                if rescued.busy
                    || self
                        .registry
                        .exposed
                        .iter()
                        .any(|e| !e.0.load(Ordering::Acquire).is_null())
                {
                    crate::sync::yield_now();
                    continue;
                }
                break;
            }
            if lingering {
                continue;
            }
            // `sleep.rs`, step 4a: before it sleeps, one yield of its CPU,
            // uncounted, then a look. A thread that shares this worker's CPU
            // (a caller feeding the pool) runs meanwhile, and the worker
            // finds its work after the yield instead of parking and being
            // woken for it, a wake-up that would preempt that caller.
            searching = false;
            let was_last = sleep.step_back();
            if let Some(job) = self.steal_shared() {
                // As a searcher that finds work does (step 3): pushes that
                // counted on this worker may have left more than this task.
                // (After the yield no such rule is needed: every push since
                // the step back saw it uncounted, and woke a sleeper or a
                // blocked helper itself, or found every worker running.)
                sleep.found_after_step_back(was_last, || self.registry.has_work());
                self.execute(job);
                continue;
            }
            crate::sync::yield_now();
            if let Some(job) = self.steal_shared() {
                self.execute(job);
                continue;
            }
            searching = true;
            sleep.start_searching();
            // Parked a while, it frees the recycled job blocks it holds,
            // and the process's spare cell blocks (`sleep.rs`, step 7;
            // `slots.rs`), a piece at a time. One that parks with no chore
            // offers itself to be woken when a thread outside the pool
            // stocks the empty cell depot, so that it parks again with one.
            let depot = &self.registry.depot;
            let mut trim = || {
                let jobs_left = self.slots.wants_trim(depot) && self.slots.trim_some(depot);
                let cells_left = slots::cells_stocked() && slots::trim_cells();
                jobs_left || cells_left
            };
            let with_chore = self.slots.wants_trim(depot) || slots::cells_stocked();
            let chore: Option<&mut dyn FnMut() -> bool> = if with_chore {
                Some(&mut trim)
            } else {
                slots::parked_without_chore(&self.registry);
                None
            };
            // The last look before it parks includes a rescue (`job.rs`,
            // "Rescue"): a join whose exposure was claimed may hold newer
            // frames nobody will publish, if their owner blocks.
            // A worker parking with no chore also looks at the cell depot:
            // stocked since, it goes round again and parks with the chore
            // (a stock after this look finds it asleep and wakes it:
            // `slots::wake_trimmer`, whose `notify_one` pairs with the
            // sleep's fence before this look).
            let last_look = || {
                self.registry.has_work()
                    || self.rescue_some()
                    || (!with_chore && slots::cells_stocked())
            };
            match sleep.sleep(self.index, last_look, chore) {
                Wake::Search | Wake::Shutdown => {}
            }
        }
        // Leave the searching count as we found it: nobody else will.
        if searching {
            sleep.stop_searching(|| false);
        }
        std::mem::forget(guard);
        // The last worker of the process empties the cell depot: a process
        // that has dropped its pools keeps no spare cells (`slots.rs`,
        // "Task cells").
        slots::worker_exiting(&self.registry);
        self.registry.worker_exited();
    }

    #[inline]
    pub(crate) fn execute(&self, job: JobRef) {
        if self.wake_for_rescued.get() > 0 {
            self.wake_for_rescued_work();
        }
        // A task cell counts itself as it starts (`Ran::Counted`); any other
        // job that ran is counted here, after it ran: nothing waits on its
        // count, and a count taken ahead would have to be taken back where
        // nothing ran (`tasks_run` would go down).
        if self.in_new_frame(|| self.registry.execute(job)) == Ran::Here {
            Counters::bump(&self.registry.counters[self.index].0.run, 1);
        }
        self.settle_credit();
    }

    /// After a rescue that found more than this worker runs at once
    /// (`rescue_look`), or when a join's wait whose look rescued ends with
    /// jobs on this deque (`help_until`), out of the sleep protocol: wakes
    /// idle workers for
    /// the rescued jobs left on this deque and the untaken frames behind
    /// them. The rescuer's look may have made another worker's look skip
    /// those lists (their slots busy), and that worker may be asleep now;
    /// if this one's next job waits for one of those halves, nobody else
    /// would run it. Each wake's fence pairs with the sleeper's (`sleep.rs`,
    /// "Why no wake-up is lost"): the slots were unlocked and the jobs
    /// pushed before it.
    #[cold]
    fn wake_for_rescued_work(&self) {
        let wakes = self.wake_for_rescued.replace(0).max(1);
        if self.wake_untaken.replace(false) {
            // Until nobody is left to wake: wake-ups asked for by looks
            // whose jobs others stole add up while this worker finds
            // nothing to run.
            for _ in 0..wakes {
                if !self.registry.sleep.wake_for_untaken() {
                    break;
                }
            }
        } else {
            let _ = self.registry.sleep.notify_one();
        }
    }

    /// Runs `f` as a new frame: what it pushes is stamped as its own.
    pub(crate) fn in_new_frame<R>(&self, f: impl FnOnce() -> R) -> R {
        let n = self.frames_started.get() + 1;
        self.frames_started.set(n);
        let outer = self
            .frame
            .replace(((self.index as u64 + 1) << FRAME_BITS) | n);
        let result = f();
        self.frame.set(outer);
        result
    }

    /// The stamp for a task pushed now: the running frame.
    #[inline]
    pub(crate) fn origin(&self) -> u64 {
        self.frame.get()
    }

    /// Pops a task that the running task (or a task nested inside it on this
    /// thread) pushed on this deque, if the top entry is one.
    ///
    /// Frames nest like the stack they run on: every frame started on this
    /// worker after the running one, while it is still running, is nested
    /// inside it. So an entry is a descendant exactly when it was stamped by
    /// this worker with a frame number at or above the running frame's.
    /// Entries stolen in from other workers carry their own index and never
    /// qualify; an entry that does not qualify is pushed straight back, and
    /// sleepers are told: a thief that looked while it was out of the deque
    /// may have gone to sleep, and this worker is about to block.
    fn pop_descendant(&self) -> Option<JobRef> {
        let job = self.deque.pop()?;
        let origin = job.origin();
        let frame = self.frame.get();
        if origin >> FRAME_BITS == frame >> FRAME_BITS && origin >= frame {
            Some(job)
        } else {
            self.deque.push(job);
            let _ = self.registry.sleep.notify_one();
            None
        }
    }

    /// Waits for `what` on this worker without risking a deadlock: it runs
    /// the awaited task itself if that has not started, and the tasks the
    /// running task pushed here; otherwise it blocks.
    ///
    /// Running *any* queued task while waiting (as `help_until` does) can
    /// deadlock when tasks wait on tasks they did not submit: the waiting
    /// worker may pick up a task that waits for the very task paused below
    /// it on this thread's stack. The awaited task and the running task's
    /// descendants cannot close such a cycle unless the program's own
    /// dependencies already form one.
    ///
    /// Only this pool's work runs here: a task of another pool that this
    /// worker waits for is left to that pool's workers.
    pub(crate) fn wait_for(&self, what: &dyn Waitable, deadline: Option<Instant>) -> bool {
        self.wait_running(what, deadline, false)
    }

    /// [`wait_for`](Self::wait_for)'s loop; with `hops`, it also runs the
    /// hops into this pool and, where nothing is left to run, parks listed
    /// in `hop_waiters` instead of `what.block_until` (so `what` must be
    /// a job whose end unparks this thread: an install's, whose owner it
    /// is, without a deadline).
    fn wait_running(&self, what: &dyn Waitable, deadline: Option<Instant>, hops: bool) -> bool {
        loop {
            // Counts held ahead could be what `what` waits for.
            self.settle_credit();
            if what.is_done() {
                return true;
            }
            if self.in_new_frame(|| what.run_inline(self)) {
                continue;
            }
            if let Some(job) = self.pop_descendant() {
                self.execute(job);
                continue;
            }
            if hops {
                if let Some(job) = self.registry.take_hop() {
                    self.execute(job);
                    continue;
                }
                // Listed before the last look: a hop pushed after it
                // unparks this thread; the job's end unparks its owner in
                // any case.
                let _listed = self.registry.wait_for_hops();
                if !what.is_done() && self.registry.hops.is_empty() {
                    park();
                }
                continue;
            }
            if what.block_until(deadline) {
                return true;
            }
            if deadline.is_some_and(|deadline| Instant::now() >= deadline) {
                return false;
            }
        }
    }

    /// Whether more than `1 / fraction` of this worker's stack is still
    /// free here: helping installs stop nesting at half (`install.rs`,
    /// step 4), waits serving hops at a quarter, so that unrelated work a
    /// waiting worker picks up leaves room for the hops other pools may be
    /// blocked on, and a hop's own work has room left.
    #[inline(never)]
    pub(crate) fn stack_left_over(&self, fraction: usize) -> bool {
        let here = 0u8;
        let here = std::hint::black_box(std::ptr::addr_of!(here)) as usize;
        let room = self.stack_base.saturating_sub(self.stack_end);
        here.saturating_sub(self.stack_end) > room / fraction
    }

    /// Counts a task cell's run in this worker's `tasks_run`, as it starts
    /// (`TaskCell::run`). Only this worker writes its counter.
    #[inline]
    pub(crate) fn count_started(&self) {
        Counters::bump(&self.registry.counters[self.index].0.run, 1);
    }

    /// An `install` into another pool nested past the helping limit
    /// (`install.rs`, step 4): waits for `what` as [`wait_for`] does (its
    /// own descendants only, then blocks), and also runs the hops into this
    /// pool (`registry.rs`, "Submitting"): the workers of the pool it
    /// waits on may be blocked in installs back into this one, whose every
    /// worker may be waiting here. At most [`MAX_SERVED_HOPS`] such waits
    /// nest on one thread's stack, and none on top of another once three
    /// quarters of the worker's stack are in use (a hop's own work needs
    /// room too: at 64 levels a debug build overflowed a 128 KiB stack);
    /// deeper waits only wait, and may then hang where the hops they would
    /// have run were needed.
    ///
    /// [`wait_for`]: Self::wait_for
    pub(crate) fn wait_serving_hops(&self, what: &dyn Waitable) {
        let serving = Nested::enter(&SERVING_HOPS, MAX_SERVED_HOPS, || self.stack_left_over(4));
        self.wait_running(what, None, serving.is_some());
    }

    /// After a look at the shared queues found nothing: short spins, each
    /// followed by a glance at the queues and exposure slots, and a full
    /// pass when the glance sees work ([`SEARCH_LOOKS`]). The glance's loads
    /// are relaxed and may miss work pushed a moment ago; the sleep that
    /// follows an empty search looks again after its `SeqCst` fence
    /// (`sleep.rs`, step 4), so nothing is lost by a miss here.
    fn search_on(&self) -> Option<JobRef> {
        for _ in 0..SEARCH_LOOKS {
            for _ in 0..SPINS_PER_LOOK {
                std::hint::spin_loop();
            }
            if self.registry.has_work() {
                if let Some(job) = self.steal_shared() {
                    return Some(job);
                }
            }
        }
        None
    }

    /// A lingering worker's search (`sleep.rs`, step 6): the shared queues
    /// every few dozen spins for up to [`LINGER_ROUND`], so a `par` walk's
    /// split is taken within a microsecond or so, then one `yield_now`.
    fn linger_search(&self) -> Option<JobRef> {
        let until = Instant::now() + LINGER_ROUND;
        loop {
            for _ in 0..32 {
                if let Some(job) = self.steal_shared() {
                    return Some(job);
                }
                for _ in 0..8 {
                    std::hint::spin_loop();
                }
            }
            if Instant::now() >= until {
                std::thread::yield_now();
                return None;
            }
        }
    }

    /// One pass: the injector, then a fork-join half another worker has
    /// exposed, then a batch stolen from another worker's deque, starting
    /// at a random victim.
    ///
    /// Tasks submitted from outside start in submission order: with two or
    /// more workers each takes *one* task from the injector at a time, so the
    /// order in which tasks leave the injector is the order in which they
    /// start (a batch parked in one worker's deque let another worker start
    /// later tasks first: 0, 4, 1, 5, … with batches of 4 on two workers, and
    /// a short task submitted second started after a long one submitted
    /// third). A one-worker pool takes [`INJECTOR_BATCH`] at once: there the
    /// batch keeps the order.
    fn steal_shared(&self) -> Option<JobRef> {
        let registry = &*self.registry;
        // First, an install from a worker of another pool, which is blocked
        // until it has run (`registry.rs`, "Submitting").
        if let Some(job) = registry.take_hop() {
            return Some(job);
        }
        loop {
            let mut retry = false;
            let injected = if self.alone {
                registry
                    .injector
                    .steal_batch_with_limit_and_pop(&self.deque, INJECTOR_BATCH)
            } else {
                registry.injector.steal()
            };
            match injected {
                Steal::Success(job) => return Some(job),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            let n = registry.stealers.len();
            let start = if n > 1 { self.rng.below(n) } else { 0 };
            // Next, a fork-join half another worker has exposed and not
            // published: its owner's oldest unpublished fork, older than any
            // it pushed while that one stayed exposed (join.rs, step 3), so
            // the bigger piece. The deques used to come first. Then two
            // workers, each running a loop of 64 Ki-element `par` calls in
            // one half of a `join`, fell in some rounds into taking each
            // other's fresh fork halves instead of the other's exposed
            // loop: a steal a call, and 1.2-2.4x rayon's time
            // (`bench/examples/par_overhead.rs -- 65536`: 11 of 18 rounds;
            // since the change, none of 12, at most 0.17 steals a call).
            for victim in (start..n).chain(0..start) {
                if victim == self.index {
                    continue;
                }
                if let Some(job) = claim_exposed(&registry.exposed[victim].0) {
                    Counters::bump(&registry.counters[self.index].0.stolen, 1);
                    return Some(job);
                }
            }
            for victim in (start..n).chain(0..start) {
                if victim == self.index {
                    continue;
                }
                let before = self.deque.len();
                match registry.stealers[victim].steal_batch_and_pop(&self.deque) {
                    Steal::Success(job) => {
                        let taken = 1 + self.deque.len().saturating_sub(before);
                        Counters::bump(&registry.counters[self.index].0.stolen, taken as u64);
                        if taken > 1 {
                            // The rest of the batch is pushed on this deque
                            // as a task is: while it moved it was in neither
                            // deque, and a worker going to sleep may have
                            // looked at both meanwhile. A worker that steals
                            // uncounted (`sleep.rs`, steps 2 and 4a) has no
                            // step 3 to wake anyone for it (helper-93), so it
                            // tells the pool as any push does; a counted
                            // searcher's `notify_one` sees itself and wakes
                            // nobody, and its step 3 covers the batch.
                            registry.sleep.notify_one();
                        }
                        return Some(job);
                    }
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return None;
            }
        }
    }

    /// Any task this worker could run now: its own deque first.
    pub(crate) fn find_work(&self) -> Option<JobRef> {
        self.deque.pop().or_else(|| self.steal_shared())
    }

    /// Looks for work for up to [`HELP_SEARCH`], counted as a searching
    /// worker (`Sleep::start_searching`), unless `header` gets done first.
    fn search_briefly(&self, header: &dyn Waitable) -> Option<JobRef> {
        let sleep = &self.registry.sleep;
        sleep.start_searching();
        let until = Instant::now() + HELP_SEARCH;
        let found = loop {
            if header.is_done() {
                break None;
            }
            if let Some(job) = self.find_work() {
                break Some(job);
            }
            if Instant::now() >= until {
                break None;
            }
            for _ in 0..8 {
                std::hint::spin_loop();
            }
        };
        sleep.stop_searching(|| self.registry.has_work());
        found
    }

    /// Runs other tasks until `header` is done or `deadline` passes; returns
    /// whether it is done. Used by `Pool::join` while a thief runs its second
    /// half: like rayon, it runs any queued work, its own deque's newest
    /// entries first (see the caveat on [`Pool::join`](crate::Pool::join)).
    /// When it blocks, it waits on this thread's park token
    /// (`Sleep::block_helping`), so `header`'s end must unpark this thread:
    /// it does for the callers' `StackJob`s (`Pool::join`, `install`), whose
    /// thief unparks their owner. A waitable that wakes its waiters another
    /// way would be noticed only at each poll's end.
    pub(crate) fn help_until(&self, header: &dyn Waitable, deadline: Option<Instant>) -> bool {
        let mut poll = HELP_POLL_MIN;
        // Whether to search (`search_briefly`) when nothing is queued: not
        // right after a job shorter than `HELP_TINY_JOB` (see there); the
        // worker blocks instead, its poll still growing. A longer job starts
        // the polls afresh.
        let mut search = true;
        // Whether a look of this wait rescued halves: on whichever way the
        // wait ends, they may sit on this deque while this worker goes back
        // to the code that waited (helper-64's and helper-65's
        // interleavings), so a worker is woken for them (`leave`).
        let rescued = Cell::new(false);
        let leave = |ended: bool| {
            if rescued.get() && (self.wake_for_rescued.get() > 0 || !self.deque.is_empty()) {
                self.wake_for_rescued_work();
            }
            ended
        };
        loop {
            if header.is_done() {
                return leave(true);
            }
            // Nothing queued: unless the last job was tiny, look a little
            // longer, counted as searching, so that a worker walking a `par`
            // input (par/drive.rs) or forking sees a searcher and splits off
            // work for us, before we block.
            let job = match self.find_work() {
                Some(job) => Some(job),
                None if search => self.search_briefly(header),
                None => None,
            };
            if let Some(job) = job {
                let started = Instant::now();
                self.execute(job);
                search = started.elapsed() >= HELP_TINY_JOB;
                if search {
                    poll = HELP_POLL_MIN;
                }
                continue;
            }
            search = true;
            let now = Instant::now();
            if deadline.is_some_and(|deadline| now >= deadline) {
                return leave(false);
            }
            let poll_until = match deadline {
                Some(deadline) => deadline.min(now + poll),
                None => now + poll,
            };
            // Blocked, but listed as a helper (`sleep.rs`, step 8): a push
            // with nobody searching or asleep, the last searcher leaving
            // work behind, and a `par` walk or leaf splitting for it unpark
            // it, as the end of `header` does (see above).
            let registry = &*self.registry;
            if registry.sleep.block_helping(
                self.index,
                &self.thread,
                &|| header.is_done(),
                || {
                    registry.has_queued_work() || {
                        let took = self.rescue_some();
                        rescued.set(rescued.get() || took);
                        took
                    }
                },
                poll_until,
            ) {
                return leave(true);
            }
            poll = (poll * 2).min(HELP_POLL_MAX);
        }
    }
}

/// How many waits serving hops ([`WorkerThread::wait_serving_hops`]) may
/// be nested on one thread's stack. Each runs a hop for a worker of
/// another pool that is blocked until it ends, and that worker can be
/// waiting so at most once per install nested on its own stack, so the
/// nesting is bounded without this; the limit bounds it on a stack that
/// pools of many workers would otherwise fill.
const MAX_SERVED_HOPS: u32 = 64;

thread_local! {
    /// Waits serving hops now on this thread's stack.
    static SERVING_HOPS: std::cell::Cell<u32> = const { std::cell::Cell::new(0) };
}

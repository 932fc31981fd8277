//! The state one pool's workers share: the global injector, every worker's
//! stealer, the parking lot, counters, and the shutdown sequence.
//!
//! # Submitting
//!
//! A task submitted on one of the pool's own workers goes to that worker's
//! deque (cache-hot, no contention); from any other thread it goes to the
//! injector. Either way the pusher then runs [`Sleep::notify_one`], which wakes
//! a sleeper if nobody is searching.
//!
//! An `install` made on a worker of another pool is a *hop*, and goes to
//! a queue of its own ([`Registry::hops`]), which workers look at before
//! the injector: that other pool's worker is blocked until it has run. A
//! worker waiting in an `install` nested past the helping limit
//! (`install.rs`, step 4) runs nothing but its own descendants and these
//! hops; so that a hop pushed while it is parked reaches it, it lists its
//! thread in [`Registry::hop_waiters`] before its last look at the queue,
//! and the pusher unparks every listed thread after its push (the list's
//! lock orders the two: a waiter that listed itself after the push sees
//! the hop in its look).
//!
//! # Submit racing with shutdown
//!
//! Nothing may be left in a queue that no worker will ever look at, and
//! nothing submitted after shutdown may run. A submit first checks the
//! `SHUTDOWN` bit (a cheap early refusal), then pushes, then — inside
//! `notify_one`, after a `SeqCst` fence — loads the bit again. A worker that
//! finds no work and sees `SHUTDOWN` runs a `SeqCst` fence and scans every
//! queue once more before it exits. Either the submitter's second load sees
//! `SHUTDOWN` and it takes its task back with a `SCHEDULED -> REFUSED`
//! compare-exchange (if a draining worker started it first, it simply runs:
//! that submit is ordered before the shutdown), or its fence precedes the
//! shutdown in the `SeqCst` order, and then the exiting worker's last scan,
//! which comes after its own fence, sees the task and runs it.
//!
//! # Shutting down
//!
//! 1. Set `SHUTDOWN` and wake every sleeping worker ([`Sleep::shutdown`]).
//!    From here on every submit is refused.
//! 2. `shutdown_now` only: set `cancelling`, so workers abort instead of run
//!    whatever they take from a queue, and abort every queued task itself.
//! 3. Workers drain the queues (running or aborting each task), and each
//!    exits when a scan after seeing `SHUTDOWN` finds nothing; on its way out
//!    it counts itself in `exited`.
//! 4. The caller waits until every worker has exited and joins the threads.
//!    On one of the pool's own worker threads (a task that calls `shutdown`
//!    or drops the last `Pool`, or a worker's thread-local destructor after
//!    its loop ended), waiting for itself would deadlock, so it stops after
//!    step 2: the workers finish and exit on their own. Worker threads are
//!    recognised by their thread id, which does not depend on thread-local
//!    state that may already be torn down.

// Layer: sched (`lib.rs`, "Layers"). It may use the base layer and the other
// sched files; what it needs from above (a scope hearing of a job's end, a
// fork-join frame to publish, the pool's handle) reaches it type-erased,
// through tables the layers above fill in (`job.rs`).

use crossbeam_deque::{Steal, Stealer};

use crate::blocking::BlockingLane;
use crate::injector::Injector;
use crate::job::{JobRef, JoinFrame, Ran, SLOT_BUSY};
use crate::sleep::Sleep;
use crate::slots::Depot;
use crate::sync::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Condvar, Mutex, Ordering};
use crate::util::Padded;
use crate::worker::WorkerThread;

/// Where a pool's workers are pinned.
///
/// ```
/// use corepool::{Pinning, Pool};
///
/// let pool = Pool::builder().pinning(Pinning::None).build().unwrap();
/// assert_eq!(pool.pinning(), &Pinning::None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Pinning {
    /// Workers are not pinned; the OS scheduler places them.
    None,
    /// One worker per physical core this process may use, each pinned to one
    /// logical CPU of its core (hyper-thread siblings share a core and get one
    /// worker). The default.
    #[default]
    PhysicalCores,
    /// Worker `i` is pinned to `cpus[i]`: one worker per listed CPU by
    /// default, and never two on one CPU. [`PoolBuilder::workers`](crate::PoolBuilder::workers) may ask
    /// for fewer workers (the first CPUs of the list are used), never more:
    /// that is a [`BuildError::MoreWorkersThanCpus`](crate::BuildError::MoreWorkersThanCpus). Every CPU must be in
    /// the process's affinity mask and appear once.
    ///
    /// ```
    /// use corepool::{BuildError, Pinning, Pool};
    ///
    /// let cpu = corepool::topology::process_cpus()?[0];
    /// let pool = Pool::builder().pinning(Pinning::Cpus(vec![cpu])).build()?;
    /// assert_eq!(pool.workers(), 1);
    /// let err = Pool::builder().workers(2).pinning(Pinning::Cpus(vec![cpu])).build();
    /// assert!(matches!(err, Err(BuildError::MoreWorkersThanCpus { workers: 2, cpus: 1 })));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    Cpus(Vec<usize>),
}

/// Counters one worker writes and anyone may read.
#[derive(Debug, Default)]
pub(crate) struct Counters {
    pub(crate) run: AtomicU64,
    pub(crate) stolen: AtomicU64,
}

impl Counters {
    /// Adds to a counter only its owning worker writes: a plain load and
    /// store, no locked read-modify-write on the hot path.
    pub(crate) fn bump(counter: &AtomicU64, by: u64) {
        counter.store(counter.load(Ordering::Relaxed) + by, Ordering::Relaxed);
    }
}

/// What the builder decided, kept with the pool.
#[derive(Debug)]
pub(crate) struct Settings {
    pub(crate) pinning: Pinning,
    pub(crate) cpus: Vec<Option<usize>>,
    pub(crate) keep_alive: std::time::Duration,
    pub(crate) lane_name_base: String,
}

/// One pool's shared state.
#[derive(Debug)]
pub(crate) struct Registry {
    /// The pinning applied, and each worker's CPU.
    pub(crate) pinning: Pinning,
    pub(crate) cpus: Vec<Option<usize>>,
    pub(crate) injector: Injector<JobRef>,
    /// Installs made on workers of other pools, which wait for them (see
    /// "Submitting").
    pub(crate) hops: Injector<JobRef>,
    /// Workers parked in an install past the helping limit, to unpark when
    /// a hop arrives (see "Submitting").
    hop_waiters: Mutex<Vec<crate::sync::Thread>>,
    pub(crate) stealers: Box<[Stealer<JobRef>]>,
    /// Per worker: the oldest fork-join half it has not published on its
    /// deque, exposed for an idle worker to claim (`join.rs`, "Late
    /// idlers"); null when there is none. Set and retracted by its owner,
    /// claimed (swapped to null) by a thief.
    pub(crate) exposed: Box<[Padded<AtomicPtr<()>>]>,
    /// Per worker: the newest fork-join frame running on it (a list through
    /// each frame's parent), or null. Written by the worker at each join,
    /// read by a rescue (`job.rs`, "Rescue"); on its own line, apart from
    /// the slot that searching workers glance at.
    pub(crate) joins: Box<[Padded<AtomicPtr<JoinFrame>>]>,
    pub(crate) sleep: Sleep,
    pub(crate) counters: Box<[Padded<Counters>]>,
    /// Set by `shutdown_now`: workers abort what they take instead of running it.
    cancelling: AtomicBool,
    /// Tasks aborted by `shutdown_now`, by whichever thread aborted them.
    cancelled: AtomicUsize,
    /// Workers that have left their loop, and a condvar to wait for the count.
    exited: Mutex<usize>,
    exited_cond: Condvar,
    threads: Mutex<Vec<std::thread::JoinHandle<()>>>,
    /// The worker threads' ids, kept after `threads` is emptied by a join.
    worker_ids: Mutex<Vec<std::thread::ThreadId>>,
    /// The pool handle's shared part, for `Pool::current` (set once, by
    /// `Pool::from_shared`); weak, so that workers do not keep the pool up.
    /// Type-erased: the registry sits below the pool's handle (`lib.rs`,
    /// "Layers"); `Pool::current` downcasts it.
    pub(crate) handle: std::sync::OnceLock<std::sync::Weak<dyn std::any::Any + Send + Sync>>,
    /// The blocking lane (threads start with the first `submit_blocking`).
    pub(crate) blocking: std::sync::Arc<BlockingLane>,
    /// Full magazines of recycled job blocks (`slots.rs`).
    pub(crate) depot: Depot,
}

impl Registry {
    pub(crate) fn new(stealers: Vec<Stealer<JobRef>>, settings: Settings) -> Registry {
        // Before any worker of this pool starts (`sync.rs`, `light_barrier`).
        crate::sync::init_barriers();
        let workers = stealers.len();
        Registry {
            pinning: settings.pinning,
            cpus: settings.cpus,
            injector: Injector::new(),
            hops: Injector::new(),
            hop_waiters: Mutex::new(Vec::new()),
            stealers: stealers.into_boxed_slice(),
            exposed: (0..workers)
                .map(|_| Padded(AtomicPtr::new(std::ptr::null_mut())))
                .collect(),
            joins: (0..workers)
                .map(|_| Padded(AtomicPtr::new(std::ptr::null_mut())))
                .collect(),
            sleep: Sleep::new(workers),
            counters: (0..workers).map(|_| Padded(Counters::default())).collect(),
            cancelling: AtomicBool::new(false),
            cancelled: AtomicUsize::new(0),
            exited: Mutex::new(0),
            exited_cond: Condvar::new(),
            threads: Mutex::new(Vec::with_capacity(workers)),
            worker_ids: Mutex::new(Vec::new()),
            handle: std::sync::OnceLock::new(),
            blocking: std::sync::Arc::new(BlockingLane::new(
                settings.keep_alive,
                settings.lane_name_base,
            )),
            depot: Depot::new(),
        }
    }

    pub(crate) fn workers(&self) -> usize {
        self.stealers.len()
    }

    /// Keeps the workers' join handles, and their ids (see
    /// `is_worker_thread`); called before the pool is handed to anyone.
    pub(crate) fn set_threads(&self, threads: Vec<std::thread::JoinHandle<()>>) {
        *self.worker_ids.lock() = threads.iter().map(|t| t.thread().id()).collect();
        *self.threads.lock() = threads;
    }

    pub(crate) fn is_shutdown(&self) -> bool {
        self.sleep.is_shutdown()
    }

    /// This registry's address, as an identity for task cells.
    pub(crate) fn id(&self) -> usize {
        self as *const Registry as usize
    }

    /// The worker running on this thread, if it is one of this pool's.
    #[inline]
    pub(crate) fn own_worker(&self) -> Option<&'static WorkerThread> {
        WorkerThread::current().filter(|worker| std::ptr::eq(worker.registry(), self))
    }

    /// Queues `job` on `local`'s deque (this thread's worker, from
    /// [`Registry::own_worker`]) or else on the injector, and wakes a worker
    /// if needed. Returns `false` when the pool shut down meanwhile: the
    /// caller must then try to take the task back with
    /// `abort(Abort::Refused)` (see the module docs).
    #[inline]
    pub(crate) fn push(&self, job: JobRef, local: Option<&WorkerThread>) -> bool {
        match local {
            Some(worker) => worker.push_local(job),
            None => self.injector.push(job),
        }
        !self.sleep.notify_one()
    }

    /// Queues a hop (an `install` made on a worker of another pool) and
    /// wakes a worker as [`push`](Self::push) does; also unparks every
    /// worker waiting past the helping limit, which may be all that is
    /// left to run it. Returns `false` when the pool shut down meanwhile,
    /// as `push` does.
    pub(crate) fn push_hop(&self, job: JobRef) -> bool {
        self.hops.push(job);
        let open = !self.sleep.notify_one();
        // After the push, under the lock a waiter lists itself with before
        // its last look (see "Submitting").
        for thread in self.hop_waiters.lock().iter() {
            thread.unpark();
        }
        open
    }

    /// Takes the oldest hop, if any. A glance first: on an empty queue a
    /// steal costs a `SeqCst` fence, the glance two plain loads, and every
    /// worker's every look for shared work starts here. A hop the glance
    /// misses is seen by the look a worker makes before it sleeps, after
    /// its fence (`sleep.rs`; `has_queued_work` counts hops).
    #[inline]
    pub(crate) fn take_hop(&self) -> Option<JobRef> {
        if self.hops.is_empty() {
            return None;
        }
        loop {
            match self.hops.steal() {
                Steal::Success(job) => return Some(job),
                Steal::Retry => continue,
                Steal::Empty => return None,
            }
        }
    }

    /// Lists this thread as a worker parked past the helping limit until
    /// the guard is dropped; see "Submitting".
    pub(crate) fn wait_for_hops(&self) -> HopWaiter<'_> {
        let me = crate::sync::current_thread();
        self.hop_waiters.lock().push(me.clone());
        HopWaiter { registry: self, me }
    }

    /// Whether any shared queue holds a task.
    pub(crate) fn has_work(&self) -> bool {
        self.has_queued_work()
            // Relaxed: the callers that rely on it (the sleepers' last looks)
            // order this look with a SeqCst fence (sleep.rs), paired with the
            // fence after an exposure (join.rs); a searching worker's glance
            // (`WorkerThread::search_on`) is a hint, and a miss there is
            // caught by the sleep that follows.
            || self.exposed.iter().any(|e| {
                // A busy slot is a rescue or an exposure under way: the
                // rescuer runs what it finds, and an exposure is followed
                // by its own wake-up (`job.rs`, "Rescue").
                let seen = e.0.load(Ordering::Relaxed);
                !seen.is_null() && seen != SLOT_BUSY
            })
    }

    /// Whether the injector or a worker's deque holds a task: [`has_work`]
    /// without the fork-join halves exposed in the workers' slots, which a
    /// blocked helper's look leaves out (sleep.rs, step 8).
    ///
    /// [`has_work`]: Self::has_work
    pub(crate) fn has_queued_work(&self) -> bool {
        !self.hops.is_empty()
            || !self.injector.is_empty()
            || self.stealers.iter().any(|s| !s.is_empty())
    }

    /// Takes one task from the injector or any worker's deque, for a thread
    /// that is not a worker (it has no deque to steal a batch into).
    fn steal_any(&self) -> Option<JobRef> {
        if let Some(job) = self.take_hop() {
            return Some(job);
        }
        loop {
            let mut retry = false;
            match self.injector.steal() {
                Steal::Success(job) => return Some(job),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
            for stealer in self.stealers.iter() {
                match stealer.steal() {
                    Steal::Success(job) => return Some(job),
                    Steal::Retry => retry = true,
                    Steal::Empty => {}
                }
            }
            if !retry {
                return None;
            }
        }
    }

    /// Runs `job`, or cancels it if `shutdown_now` is in progress.
    #[inline]
    pub(crate) fn execute(&self, job: JobRef) -> Ran {
        if self.cancelling.load(Ordering::Relaxed) {
            self.cancel(job)
        } else {
            job.execute()
        }
    }

    /// Cancels a queued job for `shutdown_now` (a fork-join half runs: its
    /// owner waits for it), counting what was cancelled.
    fn cancel(&self, job: JobRef) -> Ran {
        let ran = job.cancel();
        if ran == Ran::Cancelled {
            self.cancelled.fetch_add(1, Ordering::Relaxed);
        }
        ran
    }

    /// Steps 1–4 of the module docs. Returns how many tasks were cancelled
    /// since the last call that returned a count: over all calls, each
    /// cancellation is counted exactly once.
    pub(crate) fn shutdown(&self, now: bool) -> usize {
        self.sleep.shutdown();
        if now {
            self.cancelling.store(true, Ordering::Relaxed);
            while let Some(job) = self.steal_any() {
                self.cancel(job);
            }
        }
        let cancelled = self.blocking.begin_shutdown(now);
        self.cancelled.fetch_add(cancelled, Ordering::Relaxed);
        // A worker or a lane thread never waits: it could be waiting for
        // itself, or for a lane task that waits for it.
        if !self.is_worker_thread() && !self.blocking.is_lane_thread() {
            self.blocking.wait_exited();
            self.wait_for_workers();
        }
        if now {
            self.cancelled.swap(0, Ordering::Relaxed)
        } else {
            0
        }
    }

    /// Whether this thread is one of this pool's workers, even after its
    /// loop ended (a thread-local destructor dropping the last `Pool`): such
    /// a thread must never wait for the workers to exit, itself included.
    fn is_worker_thread(&self) -> bool {
        if self.own_worker().is_some() {
            return true;
        }
        let me = std::thread::current().id();
        self.worker_ids.lock().contains(&me)
    }

    fn wait_for_workers(&self) {
        self.wait_exited();
        let threads = std::mem::take(&mut *self.threads.lock());
        for thread in threads {
            // A worker's loop never unwinds (it aborts if anything escapes),
            // so a join error could only come from a bug; nothing to return.
            let _ = thread.join();
        }
    }

    fn wait_exited(&self) {
        let mut exited = self.exited.lock();
        while *exited < self.workers() {
            self.exited_cond.wait(&mut exited);
        }
    }

    /// A spawned job was pushed just as the pool shut down (the race in the
    /// module docs) and cannot be taken back by itself. A worker of this pool
    /// drains its own deque before it exits. Otherwise: if every worker has
    /// exited, whatever is left in the queues would be stranded, so it is
    /// cancelled here (its closure dropped unrun, its scope told); if one has
    /// not, the last worker to exit does that after counting itself out
    /// (`worker_exited`), and the `exited` lock orders the two looks.
    #[cold]
    pub(crate) fn refused_after_push(&self) {
        if self.own_worker().is_some() {
            return;
        }
        let all_exited = *self.exited.lock() == self.workers();
        if all_exited {
            self.cancel_stranded();
        }
    }

    /// Cancels whatever is left in the queues once no worker will look.
    fn cancel_stranded(&self) {
        while let Some(job) = self.steal_any() {
            job.cancel();
        }
    }

    /// Called by each worker as the last thing it does.
    /// The last worker to exit cancels what was pushed after every worker's
    /// final look (see `refused_after_push`).
    pub(crate) fn worker_exited(&self) {
        let last = {
            let mut exited = self.exited.lock();
            *exited += 1;
            self.exited_cond.notify_all();
            *exited == self.workers()
        };
        if last {
            self.cancel_stranded();
        }
    }
}

/// A thread listed in [`Registry::hop_waiters`]; unlisted when dropped.
pub(crate) struct HopWaiter<'a> {
    registry: &'a Registry,
    me: crate::sync::Thread,
}

impl Drop for HopWaiter<'_> {
    fn drop(&mut self) {
        let mut waiters = self.registry.hop_waiters.lock();
        if let Some(at) = waiters.iter().position(|t| t.id() == self.me.id()) {
            waiters.swap_remove(at);
        }
    }
}

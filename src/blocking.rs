//! The blocking lane: [`Pool::submit_blocking`] runs blocking or I/O-bound
//! work on threads beside the pinned workers, as tokio's `spawn_blocking` or
//! a `ThreadPoolExecutor` next to a process pool.
//!
//! # When to use which
//!
//! - [`Pool::submit`] for CPU-bound work: one pinned worker per core, so
//!   CPU work never oversubscribes the machine.
//! - [`Pool::submit_blocking`] for work that waits (sleeps, file and network
//!   I/O, a lock held elsewhere, a child process): it would hold a pinned
//!   worker idle. Lane threads are unpinned, created on demand up to a bound
//!   ([`MAX_BLOCKING_THREADS`]) and retire after [`BLOCKING_KEEP_ALIVE`]
//!   idle. Both lanes give the same [`Task`], usable with `as_completed` and
//!   `wait`.
//!
//! # The protocol
//!
//! One mutex guards the queue and three counts: `threads` (alive), `idle`
//! (waiting on the condvar and not yet promised a job) and `wakeups`
//! (promises made to idle threads).
//!
//! 1. Submit: push the job; if a thread is idle, promise it the job (`idle -=
//!    1`, `wakeups += 1`, notify one); else start a thread if under the bound;
//!    else the job waits until a thread finishes one.
//! 2. A thread pops jobs until the queue is empty, then counts itself idle
//!    and waits. Woken with a promise pending, it takes the promise and pops
//!    again. Timed out with no promise, it stops counting itself idle and
//!    exits (`threads -= 1`): every job pushed before that was promised to
//!    someone or seen by a thread that is not idle.
//! 3. Shutdown, under the same lock: refuse new jobs, wake everyone
//!    (`shutdown_now` cancels the queued jobs first); threads drain the
//!    queue and exit, each counting itself out under the lock and signalling
//!    `exited`. Every caller of `Pool::shutdown` that may wait then waits
//!    for the count of live lane threads to reach zero (so two concurrent
//!    shutdowns both wait), and joins whatever handles are left. A caller on
//!    a lane thread or on a pool worker does not wait: a lane task may be
//!    waiting for that very worker, and a lane thread would wait for itself.
//!
//! The lane exists from the pool's start (no threads until the first
//! `submit_blocking`), so a shutdown can never miss a lane created just
//! after it looked.
//!
//! # Belonging to the pool
//!
//! A lane thread holds its pool's registry for as long as it runs jobs, so
//! that [`Pool::current`](crate::Pool::current) inside a lane task is the
//! pool (and the free `join`, `scope` and `spawn` use it, never the default
//! pool). Lane thread `n` is named `{base}-blocking-{n}`, `base` being the
//! pool's worker 0 name without its trailing index ([`lane_name_base`]).
//!
//! A lane thread is recognised as one (step 3: it must never wait for the
//! lane, itself included) by a thread-local marker that is set when the
//! thread starts and never cleared. It has no destructor, so it still reads
//! true while the thread's other thread-local destructors run: one of them
//! may drop the last `Pool` clone after the thread has left its loop and
//! counted itself out (a task kept the clone in a `thread_local!`). Without
//! the marker that drop would wait for the lane and join the thread's own
//! handle, which panics inside a TLS destructor and aborts the process.

// Layer: sched (`lib.rs`, "Layers"). It may use the base layer and the other
// sched files; what it needs from above (a scope hearing of a job's end, a
// fork-join frame to publish, the pool's handle) reaches it type-erased,
// through tables the layers above fill in (`job.rs`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::job::{JobRef, Ran};
use crate::registry::Registry;
use crate::sync::{Condvar, Mutex};

/// The most threads the blocking lane of one pool runs at once.
pub const MAX_BLOCKING_THREADS: usize = 512;

/// How long an idle blocking-lane thread waits for work before it exits.
pub const BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(10);

thread_local! {
    /// The registry of the pool whose lane thread this is, while the thread
    /// runs the lane's loop; read by `Pool::current`.
    static LANE_REGISTRY: RefCell<Option<Arc<Registry>>> = const { RefCell::new(None) };
    /// The address of the lane this thread serves: set when the thread
    /// starts, never cleared, and without a destructor, so that it can be
    /// read from any thread-local destructor (module docs). Only compared,
    /// never dereferenced.
    static LANE_OF: Cell<usize> = const { Cell::new(0) };
}

/// The registry of the pool whose blocking-lane thread runs this code, if
/// this is a lane thread inside its loop.
pub(crate) fn current_registry() -> Option<Arc<Registry>> {
    LANE_REGISTRY
        .try_with(|registry| registry.borrow().clone())
        .ok()
        .flatten()
}

/// The prefix of the lane threads' names, from worker 0's name: the name
/// without a trailing index (ASCII digits, and one `-`, `_` or `.` before
/// them), or the whole name if nothing else is left. `corepool-0` gives
/// `corepool`, `render-0` gives `render`, `io` gives `io`.
pub(crate) fn lane_name_base(worker0: &str) -> String {
    let digits = worker0.trim_end_matches(|c: char| c.is_ascii_digit());
    let base = if digits.len() < worker0.len() {
        digits.strip_suffix(['-', '_', '.']).unwrap_or(digits)
    } else {
        worker0
    };
    if base.is_empty() {
        worker0.to_owned()
    } else {
        base.to_owned()
    }
}

#[derive(Default)]
struct LaneState {
    queue: VecDeque<JobRef>,
    threads: usize,
    idle: usize,
    wakeups: usize,
    shutdown: bool,
    handles: Vec<std::thread::JoinHandle<()>>,
    spawned: usize,
}

/// One pool's blocking lane.
pub(crate) struct BlockingLane {
    /// How long an idle thread waits for work before it exits.
    keep_alive: Duration,
    /// Lane threads are named `{name_base}-blocking-{n}`.
    name_base: String,
    state: Mutex<LaneState>,
    cond: Condvar,
    /// Signalled when a lane thread exits.
    exited: Condvar,
}

impl std::fmt::Debug for BlockingLane {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlockingLane").finish_non_exhaustive()
    }
}

impl BlockingLane {
    pub(crate) fn new(keep_alive: Duration, name_base: String) -> BlockingLane {
        BlockingLane {
            keep_alive,
            name_base,
            state: Mutex::default(),
            cond: Condvar::default(),
            exited: Condvar::default(),
        }
    }

    /// Step 1. Returns the job back when the lane has shut down. `registry`
    /// is the pool's (its `blocking` is `self`); a new lane thread holds it.
    pub(crate) fn submit(
        self: &Arc<Self>,
        job: JobRef,
        registry: &Arc<Registry>,
    ) -> Result<(), JobRef> {
        let mut state = self.state.lock();
        if state.shutdown {
            return Err(job);
        }
        state.queue.push_back(job);
        if state.idle > 0 {
            state.idle -= 1;
            state.wakeups += 1;
            self.cond.notify_one();
        } else if state.threads < MAX_BLOCKING_THREADS {
            let index = state.spawned;
            let lane = self.clone();
            let registry = registry.clone();
            let spawned = std::thread::Builder::new()
                .name(format!("{}-blocking-{index}", self.name_base))
                .spawn(move || lane.run(registry));
            match spawned {
                Ok(handle) => {
                    state.threads += 1;
                    state.spawned += 1;
                    state.handles.retain(|h| !h.is_finished());
                    state.handles.push(handle);
                }
                // No thread could be started: the job waits for a running
                // lane thread; with none at all, it is handed back.
                Err(_) if state.threads == 0 => return Err(state.queue.pop_back().unwrap()),
                Err(_) => {}
            }
        }
        Ok(())
    }

    /// Step 2: a lane thread's life.
    fn run(&self, registry: Arc<Registry>) {
        LANE_OF.with(|lane| lane.set(self as *const BlockingLane as usize));
        LANE_REGISTRY.with(|current| *current.borrow_mut() = Some(registry));
        // Cleared before the thread's thread-local destructors run, however
        // the loop ends: the registry is not kept past the lane's use of it.
        struct Clear;
        impl Drop for Clear {
            fn drop(&mut self) {
                let registry = LANE_REGISTRY.with(|current| current.borrow_mut().take());
                drop(registry);
            }
        }
        let _clear = Clear;
        let mut state = self.state.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                // Panics are contained by the task cell.
                let _ = job.execute();
                state = self.state.lock();
                continue;
            }
            if state.shutdown {
                break;
            }
            state.idle += 1;
            // `None`: a keep-alive too long to add to now (`Duration::MAX`)
            // keeps the thread until shutdown.
            let deadline = Instant::now().checked_add(self.keep_alive);
            let expired = |now: Instant| deadline.is_some_and(|deadline| now >= deadline);
            loop {
                let now = Instant::now();
                if state.wakeups > 0 {
                    state.wakeups -= 1;
                    break;
                }
                if state.shutdown || expired(now) {
                    state.idle -= 1;
                    break;
                }
                match deadline {
                    Some(deadline) => {
                        let _ = self.cond.wait_for(&mut state, deadline - now);
                    }
                    None => self.cond.wait(&mut state),
                }
            }
            if state.queue.is_empty() && (state.shutdown || expired(Instant::now())) {
                break;
            }
        }
        state.threads -= 1;
        self.exited.notify_all();
    }

    /// Step 3, first half: refuse new jobs and wake every thread; with `now`,
    /// cancel the queued jobs. Returns how many it cancelled.
    pub(crate) fn begin_shutdown(&self, now: bool) -> usize {
        let queued: Vec<JobRef> = {
            let mut state = self.state.lock();
            state.shutdown = true;
            self.cond.notify_all();
            if now {
                state.queue.drain(..).collect()
            } else {
                Vec::new()
            }
        };
        queued
            .into_iter()
            .map(JobRef::cancel)
            .filter(|&ran| ran == Ran::Cancelled)
            .count()
    }

    /// Whether this thread is (or was, and is now running its thread-local
    /// destructors) one of the lane's threads; see the module docs.
    pub(crate) fn is_lane_thread(&self) -> bool {
        LANE_OF.with(Cell::get) == self as *const BlockingLane as usize
    }

    /// Step 3, second half: waits until every lane thread has exited, then
    /// joins the handles left. Not on a lane thread (see step 3).
    pub(crate) fn wait_exited(&self) {
        let handles = {
            let mut state = self.state.lock();
            while state.threads > 0 {
                self.exited.wait(&mut state);
            }
            std::mem::take(&mut state.handles)
        };
        let me = std::thread::current().id();
        for handle in handles {
            // Never join this very thread (callers are not lane threads, so
            // this is only a second line of defence): dropping the handle
            // detaches it.
            if handle.thread().id() == me {
                continue;
            }
            // Lane threads never unwind (tasks are contained).
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::lane_name_base;

    #[test]
    fn the_lane_name_base_drops_worker_zeros_index() {
        assert_eq!(lane_name_base("corepool-0"), "corepool");
        assert_eq!(lane_name_base("render-0"), "render");
        assert_eq!(lane_name_base("node_10"), "node");
        assert_eq!(lane_name_base("gpu.0"), "gpu");
        assert_eq!(lane_name_base("w0"), "w");
        assert_eq!(lane_name_base("io"), "io");
        assert_eq!(lane_name_base("0"), "0");
        assert_eq!(lane_name_base("-0"), "-0");
        assert_eq!(lane_name_base(""), "");
    }
}

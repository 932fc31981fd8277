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

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::job::JobRef;
use crate::sync::{Condvar, Mutex};

/// The most threads the blocking lane of one pool runs at once.
pub const MAX_BLOCKING_THREADS: usize = 512;

/// How long an idle blocking-lane thread waits for work before it exits.
pub const BLOCKING_KEEP_ALIVE: Duration = Duration::from_secs(10);

#[derive(Default)]
struct LaneState {
    queue: VecDeque<JobRef>,
    threads: usize,
    idle: usize,
    wakeups: usize,
    shutdown: bool,
    handles: Vec<std::thread::JoinHandle<()>>,
    /// The live lane threads' ids.
    ids: Vec<std::thread::ThreadId>,
    spawned: usize,
}

/// One pool's blocking lane.
pub(crate) struct BlockingLane {
    /// How long an idle thread waits for work before it exits.
    keep_alive: Duration,
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
    pub(crate) fn new(keep_alive: Duration) -> BlockingLane {
        BlockingLane {
            keep_alive,
            state: Mutex::default(),
            cond: Condvar::default(),
            exited: Condvar::default(),
        }
    }

    /// Step 1. Returns the job back when the lane has shut down.
    pub(crate) fn submit(self: &Arc<Self>, job: JobRef) -> Result<(), JobRef> {
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
            let spawned = std::thread::Builder::new()
                .name(format!("corepool-blocking-{index}"))
                .spawn(move || lane.run());
            match spawned {
                Ok(handle) => {
                    state.threads += 1;
                    state.spawned += 1;
                    state.ids.push(handle.thread().id());
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
    fn run(&self) {
        let mut state = self.state.lock();
        loop {
            if let Some(job) = state.queue.pop_front() {
                drop(state);
                // Panics are contained by the task cell.
                job.execute();
                state = self.state.lock();
                continue;
            }
            if state.shutdown {
                break;
            }
            state.idle += 1;
            let deadline = Instant::now() + self.keep_alive;
            loop {
                let now = Instant::now();
                if state.wakeups > 0 {
                    state.wakeups -= 1;
                    break;
                }
                if state.shutdown || now >= deadline {
                    state.idle -= 1;
                    break;
                }
                let _ = self.cond.wait_for(&mut state, deadline - now);
            }
            if state.queue.is_empty() && (state.shutdown || Instant::now() >= deadline) {
                break;
            }
        }
        state.threads -= 1;
        let me = std::thread::current().id();
        state.ids.retain(|id| *id != me);
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
            .filter(|&cancelled| cancelled)
            .count()
    }

    /// Whether this thread is one of the lane's threads.
    pub(crate) fn is_lane_thread(&self) -> bool {
        let me = std::thread::current().id();
        self.state.lock().ids.contains(&me)
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
        for handle in handles {
            // Lane threads never unwind (tasks are contained).
            let _ = handle.join();
        }
    }
}

//! One way to wait: every blocking wait in the crate parks its thread on the
//! thread's own parker (`std::thread::park`), and whatever it waits for
//! unparks it. Task cells keep a list of [`Waker`]s (see `task/cell.rs`); a
//! blocked thread registers a waker that unparks it ([`thread_waker`]), an
//! `async` caller registers its own, `as_completed` and `wait` register one
//! that reports an index. Scopes and fork-join halves unpark their owner
//! directly. No wait polls on a timer; a thread outside every pool yields
//! its CPU for up to 20 µs, looking between yields, before it blocks
//! ([`wait_until`]).
//!
//! Parking may wake spuriously (a stale unpark from an earlier wait, or the
//! platform's own), so every wait loops on its condition: [`park_until`]
//! (in `sync.rs`, the base layer, where a blocked helper waits too).

// Layer: cell (`lib.rs`, "Layers"). It may use the sched and base layers and
// the other cell files.

use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

pub(crate) use crate::sync::park_until;
use crate::sync::{Thread, current_thread};
pub(crate) use crate::worker::Waitable;
use crate::worker::WorkerThread;

/// Waits until `what` is done or `deadline` passes; on a worker thread it runs
/// work the wait needs meanwhile (`WorkerThread::wait_for`). Returns whether
/// `what` is done.
pub(crate) fn wait_until(what: &dyn Waitable, deadline: Option<Instant>) -> bool {
    if what.is_done() {
        return true;
    }
    match WorkerThread::current() {
        Some(worker) => worker.wait_for(what, deadline),
        None => yield_while_pending(what, deadline) || what.block_until(deadline),
    }
}

/// How long a thread outside every pool yields its CPU, looking at what it
/// waits for between yields, before it blocks ([`yield_while_pending`]).
const YIELD_BEFORE_BLOCK: Duration = Duration::from_micros(20);

/// The first part of a wait outside the pool: `yield_now` and look, until
/// `what` is done or [`YIELD_BEFORE_BLOCK`] (or `deadline`, if sooner) has
/// passed; returns whether it is done.
///
/// A blocked waiter costs the thread that ends its wait a wake-up (a futex
/// syscall), and the woken thread then takes a CPU from a pinned worker.
/// Where every CPU has a busy worker, a `yield_now` lets the worker run on
/// and comes back one scheduler slice later, when the task has usually
/// ended. Joining 10,000 handles in turn (99 % of ~5 µs, 1 % of ~2 ms, on
/// 2 workers) blocked ~400 times a call and took 101–103 ms against the
/// 98.5–99.0 of rayon's one wait on a latch; with this wait it blocks about
/// once (`cargo run --release -p corepool-bench --example wait_for_all`).
/// On a CPU nobody else wants, a yield returns at once, and the loop is a
/// spin of at most 20 µs, about one futex wake-up's latency on the
/// project's VM, before the wait blocks as before.
fn yield_while_pending(what: &dyn Waitable, deadline: Option<Instant>) -> bool {
    if cfg!(loom) {
        return false;
    }
    let now = Instant::now();
    let mut until = now + YIELD_BEFORE_BLOCK;
    if let Some(deadline) = deadline {
        // A wait with no time left (`wait_timeout(Duration::ZERO)`, a poll)
        // gives its CPU away to nobody.
        if deadline <= now {
            return false;
        }
        until = until.min(deadline);
    }
    loop {
        std::thread::yield_now();
        if what.is_done() {
            return true;
        }
        if Instant::now() >= until {
            return false;
        }
    }
}

/// A waker that unparks one thread.
struct ThreadWaker(Thread);

impl Wake for ThreadWaker {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

#[cfg(not(loom))]
thread_local! {
    static THREAD_WAKER: Waker = Waker::from(Arc::new(ThreadWaker(current_thread())));
}

/// A waker that unparks the calling thread (cached per thread).
pub(crate) fn thread_waker() -> Waker {
    #[cfg(not(loom))]
    {
        // During thread-local destruction the cache may be gone: make one.
        THREAD_WAKER
            .try_with(Waker::clone)
            .unwrap_or_else(|_| Waker::from(Arc::new(ThreadWaker(current_thread()))))
    }
    #[cfg(loom)]
    {
        Waker::from(Arc::new(ThreadWaker(current_thread())))
    }
}

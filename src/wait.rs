//! One way to wait: every blocking wait in the crate parks its thread on the
//! thread's own parker (`std::thread::park`), and whatever it waits for
//! unparks it. Task cells keep a list of [`Waker`]s (see `task/cell.rs`); a
//! blocked thread registers a waker that unparks it ([`thread_waker`]), an
//! `async` caller registers its own, `as_completed` and `wait` register one
//! that reports an index. Scopes and fork-join halves unpark their owner
//! directly. No wait polls on a timer.
//!
//! Parking may wake spuriously (a stale unpark from an earlier wait, or the
//! platform's own), so every wait loops on its condition: [`park_until`]
//! (in `sync.rs`, the base layer, where a blocked helper waits too).

// Layer: cell (`lib.rs`, "Layers"). It may use the sched and base layers and
// the other cell files.

use std::sync::Arc;
use std::task::{Wake, Waker};
use std::time::Instant;

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
        None => what.block_until(deadline),
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

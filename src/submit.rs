//! How a closure becomes queued work: a task cell with a handle
//! ([`submit_cell`]) or a spawned job with none ([`spawn_job`]), for
//! `Pool::submit`/`spawn`, a scope's `submit`/`spawn` and `map`'s chunks.
//!
//! # Layer
//!
//! `many` (`lib.rs`, "Layers"): it puts the cell layer's task cells and the
//! sched layer's heap jobs on the registry's queues, and is the one place
//! that ties them to a scope's latch (as their type-erased `Owner`).

use std::sync::Arc;

use crate::cancel::{self, Running};
use crate::job::HeapJob;
use crate::registry::Registry;
use crate::scope::ScopeLatch;
use crate::task::{Abort, Cell, Handle, TaskCell};
use crate::unwind;

/// Allocates a task's cell, queues it (or refuses it after shutdown) and
/// returns the typed handle. One allocation; the queue's reference is a
/// reference-count increment of the same cell.
pub(crate) fn submit_cell<'a, F, T>(
    registry: &Registry,
    f: F,
    scope: Option<&'a ScopeLatch>,
) -> Handle<'a, T>
where
    F: FnOnce() -> T + Send + 'a,
    T: Send + 'a,
{
    let shut = registry.is_shutdown();
    if shut && scope.is_none() {
        unwind::drop_contained(f);
        return Handle::new(Arc::new(TaskCell::<F, T>::refused()));
    }
    // One thread-local lookup serves both the origin stamp and the push.
    let local = registry.own_worker();
    let origin = local.map_or(0, |worker| worker.origin());
    let owner = scope.map(|latch| {
        latch.add_task();
        latch.owner()
    });
    let cell = Arc::new(TaskCell::new(f, owner, registry.id(), origin));
    if shut {
        // A scope's task after shutdown runs here and now (scope.rs, "After
        // shutdown"): a scope never loses work.
        let handle = Handle::new(cell);
        handle.run_here();
        return handle;
    }
    // SAFETY: for `'a = 'static` nothing is borrowed. For a scope's tasks,
    // the scope does not return before every task it submitted has ended
    // (scope.rs), and a queue never touches a job's closure or result after
    // the job has ended.
    let job = unsafe { TaskCell::new_ref(&cell) };
    if let Some(latch) = scope.filter(|latch| latch.wants_foreign(local.is_some())) {
        // SAFETY: as above.
        latch.add_foreign(unsafe { TaskCell::new_ref(&cell) });
    }
    if !registry.push(job, local) {
        // Shutdown raced with the push (registry.rs): take the task back,
        // unless a draining worker started it already. A scope's task is
        // taken back by running it here (the queued reference then finds
        // it started and does nothing).
        if scope.is_some() {
            Cell::run_inline(&*cell);
        } else {
            let _ = Cell::abort(&*cell, Abort::Refused);
        }
    }
    Handle::new(cell)
}

/// Queues a spawned job (no handle, no result slot), or drops it after
/// shutdown. A job spawned into a scope takes the task-cell path instead
/// when it is spawned from a thread that is not one of the pool's workers
/// (so that an owner that is a worker can find it, scope.rs step 5, and so
/// that a push racing with shutdown runs it here rather than strand it) or
/// after shutdown (it then runs here: a scope never loses work).
pub(crate) fn spawn_job<'a, F>(registry: &Registry, f: F, scope: Option<&'a ScopeLatch>)
where
    F: FnOnce() + Send + 'a,
{
    let local = registry.own_worker();
    if let Some(latch) = scope.filter(|_| local.is_none() || registry.is_shutdown()) {
        drop(submit_cell(registry, f, Some(latch)));
        return;
    }
    if registry.is_shutdown() {
        unwind::drop_contained(f);
        return;
    }
    let origin = local.map_or(0, |worker| worker.origin());
    let owner = scope.map(|latch| {
        latch.add_task();
        latch.owner()
    });
    // A spawned job belongs to no task: `is_cancelled` answers for nothing
    // while it runs (a group job enters its group itself).
    let f = move || {
        let _running = cancel::enter_running(Running::NONE);
        f()
    };
    // SAFETY: the owner counts the job (just added) and outlives it (the
    // scope waits); whatever `f` borrows outlives the scope.
    let job = unsafe { HeapJob::new_ref(f, owner, origin) };
    if !registry.push(job, local) {
        registry.refused_after_push();
    }
}

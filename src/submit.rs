//! How a closure becomes queued work: a task cell with a handle
//! ([`submit_cell`]) or a spawned job with none ([`spawn_job`]), for
//! `Pool::submit`/`spawn`, a scope's `submit`/`spawn` and `map`'s chunks.
//!
//! # Layer
//!
//! `many` (`lib.rs`, "Layers"): it puts the cell layer's task cells and the
//! sched layer's heap jobs on the registry's queues, and is the one place
//! that ties them to a scope's latch (as their type-erased `Owner`).

use crate::cancel::{self, Running};
use crate::job::HeapJob;
use crate::registry::Registry;
use crate::scope::ScopeLatch;
use crate::task::{Abort, Cell, CellRc, Handle, TaskCell};
use crate::unwind;

/// Allocates a task's cell, queues it (or refuses it after shutdown) and
/// returns the typed handle. One allocation; the queue's reference is a
/// second count of the same cell (stored, not added: nobody else can see
/// the cell yet).
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
        return Handle::new(CellRc::new(TaskCell::<F, T>::refused()));
    }
    // One thread-local lookup serves both the origin stamp and the push.
    let local = registry.own_worker();
    let origin = local.map_or(0, |worker| worker.origin());
    let owner = scope.map(|latch| {
        latch.add_task(local);
        latch.owner()
    });
    let cell = CellRc::new(TaskCell::new(f, owner, registry.id(), origin));
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
    // the job has ended. The cell was made above and only `cell` refers to
    // it: nothing is shared before the pushes below.
    let job = unsafe { TaskCell::new_ref_unshared(&cell) };
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
    // A spawned job belongs to no task: `is_cancelled` answers for nothing
    // while it runs (a group job enters its group itself).
    let job = match scope {
        None => {
            let f = move || {
                let _running = cancel::enter_running(Running::NONE);
                f()
            };
            // SAFETY: `'a` is `'static` here: nothing a scope frees is
            // borrowed (`Pool::spawn` requires `'static`).
            unsafe { HeapJob::new_ref(f, origin, local) }
        }
        Some(latch) => {
            latch.add_task(local);
            let scoped = ScopedJob {
                func: Some(f),
                latch,
            };
            let f = move || {
                let _running = cancel::enter_running(Running::NONE);
                scoped.run()
            };
            // SAFETY: the latch counts the job (just added) and the scope
            // waits for it; whatever `f` borrows outlives the scope.
            unsafe { HeapJob::new_ref(f, origin, local) }
        }
    };
    if !registry.push(job, local) {
        registry.refused_after_push();
    }
}

/// A job spawned into a scope, as its heap job's closure: it tells the
/// scope's latch of its panic and of its end itself, so that the heap job
/// (sched layer) knows no scope, with no table call on the way (rayon's
/// `ScopeBase::execute_job` does the same). Run or dropped unrun
/// (`shutdown_now`, a queue torn down), its closure is gone, contained,
/// before the latch hears `done`, its last touch of the latch.
///
/// The latch is held as a raw pointer, not a reference: it may be freed
/// while this value is still being dropped (right after `task_done`'s final
/// decrement), and no reference may be alive across that (`job.rs`).
struct ScopedJob<F> {
    func: Option<F>,
    latch: *const ScopeLatch,
}

// SAFETY: the closure is `Send`; the latch is `Sync` (the job tells it from
// whatever worker runs or drops the job) and outlives the job (`Drop`).
unsafe impl<F: Send> Send for ScopedJob<F> {}

impl<F> ScopedJob<F> {
    /// Hands a panic nobody will observe to the scope.
    fn record_panic(&self, payload: unwind::Payload) {
        // SAFETY: the latch counts this job, so it is alive until `drop`
        // says `done` (the scope waits for its count).
        unsafe { (*self.latch).record_panic(payload) };
    }
}

impl<F: FnOnce()> ScopedJob<F> {
    fn run(mut self) {
        if let Some(func) = self.func.take() {
            if let Err(payload) = unwind::halt_unwinding(func) {
                self.record_panic(payload);
            }
        }
        // `drop(self)` tells the latch.
    }
}

impl<F> Drop for ScopedJob<F> {
    fn drop(&mut self) {
        if let Some(func) = self.func.take() {
            if let Err(payload) = unwind::halt_unwinding(move || drop(func)) {
                self.record_panic(payload);
            }
        }
        // SAFETY: the latch counts this job (`spawn_job` added it) and is
        // alive until this call, the job's last use of it; `task_done` takes
        // the raw pointer and touches the latch only up to its final
        // decrement, after which the scope may free it.
        unsafe { ScopeLatch::task_done(self.latch) };
    }
}

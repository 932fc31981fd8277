//! The one place that decides what a panic may unwind through.
//!
//! Three tools, used everywhere user code runs or user values are dropped:
//!
//! - [`halt_unwinding`] runs user code and turns a panic into a payload.
//! - [`drop_payload`] and [`drop_contained`] drop a payload or a value whose
//!   destructor may panic. A payload's destructor can itself panic with a
//!   payload whose destructor panics, without end; the second payload is
//!   leaked (`mem::forget`), never dropped, so nothing escapes.
//! - [`AbortIfPanic`] guards a frame that queued work still points into (a
//!   fork-join half on the stack, a scope's latch): if anything unwinds out of
//!   it while that work may still run, the process aborts with a message
//!   rather than let the work touch a dead frame. Every user panic is caught
//!   before it reaches such a frame, so the guard only fires on a bug in
//!   corepool itself.
//!
//! # Where the pool runs user code, and how each place is contained
//!
//! User code is every closure, hook, callback, waker, `Drop`, `Serialize`
//! and `Deserialize` the pool calls. None of them may unwind into a worker,
//! a supervisor or a canceller; each is caught where it runs, and its panic
//! either becomes the outcome the user asked for or is dropped contained.
//!
//! | user code | where | what happens to a panic |
//! |---|---|---|
//! | a task's closure (`submit`, `Scope::submit`, `submit_blocking`) | `task/cell.rs` `TaskCell::run` | `halt_unwinding`; the task's `TaskError` (or its scope's panic) |
//! | a closure dropped unrun (cancel, refused, `shutdown_now`, after shutdown) | `task/cell.rs` `TaskCell::abort`, `settle`; `submit.rs` `submit_cell`, `spawn_job`; `pool.rs` `submit_blocking` | `halt_unwinding` / `drop_contained`; dropped, or the scope's panic |
//! | a result nobody collects (detached handle, stopped task, lost promise value) | `task/cell.rs` `Header::discard`, `discard_slot` | `halt_unwinding` of the drop; the scope's panic or `drop_payload` |
//! | wakers (`.await`, `done()`), waker entries replaced or removed | `task/cell.rs` `Header::finished`, `register`, `deregister` (after the list's lock is released) | `halt_unwinding` / `drop_contained` |
//! | `on_done` callbacks | `task/handle.rs` `DoneCallback::wake` | `halt_unwinding`, then `drop_payload` |
//! | `on_result` callbacks | `task/cell.rs` `Header::call_with_outcome` | `halt_unwinding`, then `drop_payload` |
//! | a `SharedTask`'s outcome, dropped with the last clone | `shared.rs` `Inner::drop` | `drop_contained` |
//! | spawned jobs (`Pool::spawn`, `Scope::spawn`), run or dropped | `job.rs` `HeapJob` execute and cancel; for a scope's, `submit.rs` `ScopedJob::run` and `drop` | `halt_unwinding`; the scope's panic or `drop_payload` |
//! | fork-join halves, inline or stolen; `install`'s closure | `join.rs` `WorkerThread::join`, `StackJob::execute`, `rejoin` | `halt_unwinding`; re-raised to the caller once both halves ended, the other panic dropped with `drop_payload` |
//! | a scope's body | `scope.rs` `Pool::scope` | `halt_unwinding`; re-raised after every task ended |
//! | a group's tasks, body and stored errors | `group.rs` `GroupState::run_member`, `fail`, `Pool::group` | `halt_unwinding` / `drop_contained`; the group's error, or the body's panic re-raised after cancelling |
//! | a map's closure per item, leftover values and payloads, a chunk's input dropped unrun | `map.rs` `Feeder::submit_next`, `drop_each`, `Values`'s and `Items`'s `Drop` | `halt_unwinding` per item; re-raised at that item's place |
//! | a map's input iterator, while a chunk is read | `map.rs` `Feeder::submit_next`, `raise_input_panic` | `halt_unwinding`; the items read before it go as a shorter chunk, then re-raised at once to `next`'s caller |
//! | `par` closures | `par/` (through `join`) | re-raised to the caller, as rayon does; every item dropped once |
//! | `thread_name`, `on_worker_start`, and dropping them | `builder.rs` `checked_name`, `start_worker`, `Contained::drop` | `halt_unwinding` / `drop_contained`; a typed `BuildError` |
//! | process pool, in the parent: a map's input iterator, an argument's `Serialize` and `Drop` while a batch is read | `process/map.rs` `Batcher::next_unit`, `raise_input_panic` | `halt_unwinding`; the items read before it go as a shorter batch, then re-raised at once to `next`'s caller |
//! | process pool, in the worker: argument `Deserialize`, the function, result `Serialize` and `Drop` | `process/call.rs` `trampoline`/`run_item` (one task), `batch_trampoline` (a map's batch: one span per run of items, restarted after a panicking item) | caught per step; the item's panic error names the step, the worker lives |
//! | process pool, on the supervisor: result `Deserialize`, results and jobs dropped | `process/task.rs` `Slot::reply`, `complete_if`; `process/call.rs` `BatchOut::parse` (a batch's results, per item); `process/pool.rs` `supervise`, `close`, `terminate` | caught; the item's panic error, or dropped contained |
//! | cluster: the map's closure per item | `cluster/source.rs` | caught; `ClusterError::Panicked` with rank and item |

// Layer: base (`lib.rs`, "Layers"). It may use std and the dependencies; of
// the crate, only the other base files.

use std::any::Any;
use std::panic::{self, AssertUnwindSafe};

/// A panic payload, as `catch_unwind` returns it.
pub(crate) type Payload = Box<dyn Any + Send + 'static>;

/// Runs `f`, catching a panic as its payload.
#[inline]
pub(crate) fn halt_unwinding<F: FnOnce() -> R, R>(f: F) -> Result<R, Payload> {
    panic::catch_unwind(AssertUnwindSafe(f))
}

/// Drops a panic payload whose destructor may panic. A second payload (from
/// that destructor) is leaked: dropping it could panic again.
pub(crate) fn drop_payload(payload: Payload) {
    if let Err(second) = halt_unwinding(move || drop(payload)) {
        std::mem::forget(second);
    }
}

/// Drops `value`, containing a panic of its destructor.
pub(crate) fn drop_contained<T>(value: T) {
    if let Err(payload) = halt_unwinding(move || drop(value)) {
        drop_payload(payload);
    }
}

/// Aborts the process if dropped during unwinding; `mem::forget` it once the
/// guarded frame no longer has work pointing into it.
pub(crate) struct AbortIfPanic;

impl Drop for AbortIfPanic {
    #[cold]
    fn drop(&mut self) {
        eprintln!(
            "corepool: a panic unwound through a frame that queued work still points into; \
             aborting to avoid a use-after-free"
        );
        std::process::abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct PanicsOnDrop(u32);

    impl Drop for PanicsOnDrop {
        fn drop(&mut self) {
            if self.0 > 0 {
                panic::panic_any(PanicsOnDrop(self.0 - 1));
            }
        }
    }

    #[test]
    fn a_chain_of_panicking_payload_destructors_is_contained() {
        let payload = halt_unwinding(|| panic::panic_any(PanicsOnDrop(5))).unwrap_err();
        drop_payload(payload);
        drop_contained(PanicsOnDrop(3));
    }
}

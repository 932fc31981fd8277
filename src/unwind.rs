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

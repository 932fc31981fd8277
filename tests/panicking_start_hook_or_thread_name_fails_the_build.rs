//! Issue 16, item 11: an `on_worker_start` hook or a `thread_name` closure
//! that panics, even with a payload whose `Drop` panics too, makes `build()`
//! return a typed `BuildError`: never `Ok` with a dead worker (whose pool then
//! hangs when dropped), never a panic out of `build()`, and no worker is
//! left running. Each case runs in a child process so that a hang or an
//! abort is seen as a failed exit.
mod common;

use std::panic;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::watchdog;
use corepool::{BuildError, Pinning, Pool};

const CHILD: &str = "COREPOOL_START_PANIC_CHILD";

fn in_child(name: &str) {
    common::in_child(CHILD, name);
}

fn is_child() -> bool {
    common::is_child(CHILD)
}

/// A payload whose destructor panics with a payload whose destructor
/// panics.
struct Outer;

impl Drop for Outer {
    fn drop(&mut self) {
        panic::panic_any(Inner);
    }
}

struct Inner;

impl Drop for Inner {
    fn drop(&mut self) {
        panic!("inner payload dropped");
    }
}

/// Counts live worker threads: the hook counts one in, a thread-local's
/// destructor counts it out when the thread ends.
struct Alive(Arc<AtomicUsize>);

impl Drop for Alive {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

thread_local! {
    static ALIVE: std::cell::RefCell<Option<Alive>> = const { std::cell::RefCell::new(None) };
}

fn count_in(alive: &Arc<AtomicUsize>) {
    alive.fetch_add(1, Ordering::SeqCst);
    ALIVE.with(|slot| *slot.borrow_mut() = Some(Alive(alive.clone())));
}

#[test]
fn a_start_hook_panicking_with_a_panicking_payload_is_a_build_error() {
    if !is_child() {
        return in_child("a_start_hook_panicking_with_a_panicking_payload_is_a_build_error");
    }
    watchdog(60, || {
        let result = Pool::builder()
            .workers(1)
            .pinning(Pinning::None)
            .on_worker_start(|_| panic::panic_any(Outer))
            .build();
        match result {
            Err(BuildError::WorkerStartPanicked { index: 0, message }) => {
                assert_eq!(message, "Box<dyn Any>");
            }
            Err(other) => panic!("wrong error: {other}"),
            // Dropping it would hang before the fix: leak it to report.
            Ok(pool) => {
                std::mem::forget(pool);
                panic!("build() returned Ok with its only worker dead");
            }
        }
    });
}

#[test]
fn a_start_hook_panicking_on_one_worker_stops_the_others() {
    if !is_child() {
        return in_child("a_start_hook_panicking_on_one_worker_stops_the_others");
    }
    watchdog(60, || {
        let alive = Arc::new(AtomicUsize::new(0));
        let counter = alive.clone();
        let result = Pool::builder()
            .workers(3)
            .pinning(Pinning::None)
            .on_worker_start(move |i| {
                count_in(&counter);
                if i == 1 {
                    panic::panic_any(Outer);
                }
            })
            .build();
        match result {
            Err(BuildError::WorkerStartPanicked { index: 1, .. }) => {}
            Err(other) => panic!("wrong error: {other}"),
            Ok(pool) => {
                std::mem::forget(pool);
                panic!("build() returned Ok");
            }
        }
        // `build` joined every worker before it returned.
        assert_eq!(alive.load(Ordering::SeqCst), 0, "workers left running");
    });
}

#[test]
fn a_thread_name_panicking_with_a_panicking_payload_is_a_build_error() {
    if !is_child() {
        return in_child("a_thread_name_panicking_with_a_panicking_payload_is_a_build_error");
    }
    watchdog(60, || {
        let alive = Arc::new(AtomicUsize::new(0));
        let counter = alive.clone();
        let result = panic::catch_unwind(|| {
            Pool::builder()
                .workers(3)
                .pinning(Pinning::None)
                .on_worker_start(move |_| count_in(&counter))
                .thread_name(|i| {
                    if i == 2 {
                        panic::panic_any(Outer);
                    }
                    format!("named-{i}")
                })
                .build()
        });
        let result = match result {
            Ok(result) => result,
            Err(payload) => {
                std::mem::forget(payload);
                panic!("build() panicked instead of returning Err");
            }
        };
        match result {
            Err(BuildError::BadThreadName { index: 2, reason }) => {
                assert!(reason.contains("panicked"), "{reason}");
            }
            Err(other) => panic!("wrong error: {other}"),
            Ok(_) => panic!("build() returned Ok"),
        }
        // Workers 0 and 1 had started; `build` stopped and joined them.
        assert_eq!(alive.load(Ordering::SeqCst), 0, "workers left running");
    });
}

//! Panics that must never escape a task: a payload whose destructor panics
//! with a payload whose destructor panics, thrown while a worker waits inside
//! `join` or `scope` with borrowed data still queued. Before the fix this was
//! a use-after-free (SIGSEGV) or a dead worker and a hung `shutdown`, so each
//! case runs in a child process and the parent checks it exited cleanly.
mod common;

use std::panic::{self, AssertUnwindSafe};

use common::watchdog;
use corepool::Pool;

/// Set in the child process that runs one case for real.
const CHILD: &str = "COREPOOL_CONTAINMENT_CHILD";

struct Inner;

impl Drop for Inner {
    fn drop(&mut self) {
        panic!("inner payload dropped");
    }
}

struct Outer;

impl Drop for Outer {
    fn drop(&mut self) {
        panic::panic_any(Inner);
    }
}

fn throw_nested() {
    panic::panic_any(Outer);
}

/// Runs `name` (a test of this file) in a child process and checks that it
/// passed: no crash, no abort, no hang.
fn in_child(name: &str) {
    common::in_child(CHILD, name);
}

fn is_child() -> bool {
    common::is_child(CHILD)
}

/// Catches a panic from `f` and leaks its payload: dropping it would panic.
fn catch_and_leak<R>(f: impl FnOnce() -> R) -> bool {
    match panic::catch_unwind(AssertUnwindSafe(f)) {
        Ok(_) => false,
        Err(payload) => {
            std::mem::forget(payload);
            true
        }
    }
}

fn pool_still_serves(pool: &Pool) {
    let sum: u64 = (0..64u64)
        .map(|i| pool.submit(move || i))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|t| t.join().unwrap())
        .sum();
    assert_eq!(sum, 64 * 63 / 2);
}

#[test]
fn nested_panicking_payloads_of_detached_tasks_leave_the_pool_serving() {
    if !is_child() {
        in_child("nested_panicking_payloads_of_detached_tasks_leave_the_pool_serving_child");
    }
}

#[test]
fn nested_panicking_payloads_of_detached_tasks_leave_the_pool_serving_child() {
    if !is_child() {
        return;
    }
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for _ in 0..20 {
            drop(pool.submit(throw_nested));
            pool.spawn(throw_nested);
        }
        pool_still_serves(&pool);
        pool.shutdown();
    });
}

#[test]
fn nested_panicking_payload_under_a_join_does_not_unwind_the_join() {
    if !is_child() {
        in_child("nested_panicking_payload_under_a_join_does_not_unwind_the_join_child");
    }
}

#[test]
fn nested_panicking_payload_under_a_join_does_not_unwind_the_join_child() {
    if !is_child() {
        return;
    }
    watchdog(60, || {
        for workers in [1, 2] {
            let pool = Pool::builder().workers(workers).build().unwrap();
            for _ in 0..50 {
                let data = vec![1u64; 256];
                let (a, b) = pool.install(|| {
                    pool.join(
                        || {
                            // A detached task that the waiting worker may run
                            // while `b` is stolen.
                            drop(pool.submit(throw_nested));
                            pool.join(|| data.iter().sum::<u64>(), || data.len())
                        },
                        || data.iter().sum::<u64>(),
                    )
                });
                assert_eq!((a, b), ((256, 256), 256));
            }
            pool_still_serves(&pool);
        }
    });
}

#[test]
fn nested_panicking_payload_in_a_scope_is_reraised_after_every_task_ended() {
    if !is_child() {
        in_child("nested_panicking_payload_in_a_scope_is_reraised_after_every_task_ended_child");
    }
}

#[test]
fn nested_panicking_payload_in_a_scope_is_reraised_after_every_task_ended_child() {
    if !is_child() {
        return;
    }
    watchdog(60, || {
        for workers in [1, 2] {
            let pool = Pool::builder().workers(workers).build().unwrap();
            for _ in 0..50 {
                let data = vec![2u64; 1024];
                let total = std::sync::atomic::AtomicU64::new(0);
                let raised = catch_and_leak(|| {
                    pool.install(|| {
                        pool.scope(|s| {
                            s.spawn(|_| throw_nested());
                            drop(s.submit(throw_nested));
                            for chunk in data.chunks(64) {
                                s.spawn(|_| {
                                    let sum = chunk.iter().sum::<u64>();
                                    total.fetch_add(sum, std::sync::atomic::Ordering::Relaxed);
                                });
                            }
                        })
                    })
                });
                assert!(raised, "the scope re-raises a task's panic");
                assert_eq!(
                    total.into_inner(),
                    2048,
                    "every borrowing task ran to the end"
                );
            }
            pool_still_serves(&pool);
        }
    });
}

#[test]
fn a_panicking_waker_with_a_panicking_payload_is_contained() {
    if !is_child() {
        in_child("a_panicking_waker_with_a_panicking_payload_is_contained_child");
    }
}

#[test]
fn a_panicking_waker_with_a_panicking_payload_is_contained_child() {
    if !is_child() {
        return;
    }
    use std::sync::Arc;
    use std::task::{Context, Wake, Waker};

    struct ThrowingWaker;
    impl Wake for ThrowingWaker {
        fn wake(self: Arc<Self>) {
            throw_nested();
        }
    }
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = common::Gate::new();
        let g = gate.clone();
        let mut task = pool.submit(move || g.wait());
        let waker = Waker::from(Arc::new(ThrowingWaker));
        let mut cx = Context::from_waker(&waker);
        assert!(std::pin::Pin::new(&mut task).poll(&mut cx).is_pending());
        gate.open();
        // The worker wakes the throwing waker; it must survive it.
        pool_still_serves(&pool);
        assert!(task.wait_timeout(std::time::Duration::from_secs(30)));
        pool.shutdown();
    });
}

use std::future::Future;

//! `join(a, b)` where one half panics and the other returns a value whose
//! destructor panics: the value was dropped while the first panic unwound
//! out of `join` (the tuple of outcomes still held it), a panic during
//! unwinding, and the process aborted. It must be dropped contained and the
//! first panic re-raised. Each case runs in a child process.
mod common;

use std::panic::{self, AssertUnwindSafe};

use common::watchdog;
use corepool::Pool;

const CHILD: &str = "COREPOOL_JOIN_DROP_CHILD";

struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("the other half's value panicked in drop");
    }
}

fn in_child(name: &str) {
    common::in_child(CHILD, name);
}

fn is_child() -> bool {
    common::is_child(CHILD)
}

/// The message of the panic `join` re-raised.
fn joined_panic(pool: &Pool, a_panics: bool) -> String {
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        pool.install(|| {
            if a_panics {
                drop(corepool::join(
                    || -> PanicsOnDrop { panic!("a panicked") },
                    || PanicsOnDrop,
                ));
            } else {
                drop(corepool::join(
                    || PanicsOnDrop,
                    || -> PanicsOnDrop { panic!("b panicked") },
                ));
            }
        })
    }));
    let payload = result.expect_err("join must re-raise the panic");
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .unwrap_or_default()
}

#[test]
fn b_value_dropped_contained_when_a_panics() {
    in_child("b_value_dropped_contained_when_a_panics_child");
}

#[test]
fn b_value_dropped_contained_when_a_panics_child() {
    if !is_child() {
        return;
    }
    watchdog(60, || {
        for workers in [1, 2] {
            let pool = Pool::builder().workers(workers).build().unwrap();
            for _ in 0..20 {
                assert_eq!(joined_panic(&pool, true), "a panicked");
            }
        }
    });
}

#[test]
fn a_value_dropped_contained_when_b_panics() {
    in_child("a_value_dropped_contained_when_b_panics_child");
}

#[test]
fn a_value_dropped_contained_when_b_panics_child() {
    if !is_child() {
        return;
    }
    watchdog(60, || {
        for workers in [1, 2] {
            let pool = Pool::builder().workers(workers).build().unwrap();
            for _ in 0..20 {
                assert_eq!(joined_panic(&pool, false), "b panicked");
            }
        }
    });
}

//! Which panic `Pool::join` re-raises: always `a`'s when both halves panic,
//! whether `b` was stolen or ran on the caller; and `b` still runs when `a`
//! panics.
mod common;

use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::watchdog;
use corepool::Pool;

fn message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<&'static str>() {
        Ok(s) => s.to_string(),
        Err(payload) => *payload.downcast::<String>().unwrap(),
    }
}

#[test]
fn when_both_halves_panic_a_panic_is_reraised() {
    watchdog(120, || {
        for workers in [1, 2, 3] {
            let pool = Pool::builder().workers(workers).build().unwrap();
            for _ in 0..100 {
                let caught = panic::catch_unwind(AssertUnwindSafe(|| {
                    pool.install(|| pool.join(|| panic!("a"), || panic!("b")))
                }))
                .unwrap_err();
                assert_eq!(message(caught), "a", "{workers} workers");
                // From outside the pool too.
                let caught = panic::catch_unwind(AssertUnwindSafe(|| {
                    pool.join(|| panic!("a"), || panic!("b"))
                }))
                .unwrap_err();
                assert_eq!(message(caught), "a", "{workers} workers, outside");
            }
        }
    });
}

#[test]
fn b_runs_even_when_a_panics() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let ran = AtomicUsize::new(0);
        for _ in 0..50 {
            let caught = panic::catch_unwind(AssertUnwindSafe(|| {
                pool.install(|| {
                    pool.join(
                        || panic!("a"),
                        || {
                            ran.fetch_add(1, Ordering::SeqCst);
                        },
                    )
                })
            }));
            assert!(caught.is_err());
        }
        assert_eq!(ran.into_inner(), 50);
    });
}

#[test]
fn only_b_panicking_reraises_b() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for _ in 0..50 {
            let caught = panic::catch_unwind(AssertUnwindSafe(|| {
                pool.install(|| pool.join(|| 1, || -> u32 { panic!("only b") }))
            }))
            .unwrap_err();
            assert_eq!(message(caught), "only b");
        }
    });
}

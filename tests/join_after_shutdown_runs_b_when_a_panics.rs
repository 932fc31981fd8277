//! After `shutdown`, `Pool::join` from outside the pool runs both closures on
//! the caller. Its promise holds there too: when `a` panics, `b` still runs
//! (it may be cleaning up what `a` started) and `a`'s panic is re-raised.
//! Before, the halves ran as `(a(), b())`, so `b` was skipped.
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};

use corepool::Pool;

#[test]
fn b_runs_and_as_panic_is_reraised_after_shutdown() {
    let pool = Pool::builder().workers(2).build().unwrap();
    pool.shutdown();
    let b_ran = AtomicBool::new(false);
    let result = panic::catch_unwind(AssertUnwindSafe(|| {
        pool.join(
            || -> u8 { panic!("a panicked") },
            || b_ran.store(true, Ordering::SeqCst),
        )
    }));
    let payload = result.expect_err("a's panic is re-raised");
    assert_eq!(payload.downcast_ref::<&str>(), Some(&"a panicked"));
    assert!(b_ran.load(Ordering::SeqCst), "b never ran");
}

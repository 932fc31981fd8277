//! A waker's `Drop` is user code, and it may reach the very task whose
//! waiter list holds it. Re-polling a `Done` future with a new waker once
//! replaced the old waker while the list's lock was held; the old waker's
//! `Drop` called `on_done` on the same task, which takes that lock, and the
//! poll never returned (found by a second reader). Wakers now leave the
//! list before they are dropped.
mod common;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Wake, Waker};

use common::{Gate, OpenOnDrop, watchdog};
use corepool::{Pool, SharedTask};

/// A waker that, when its last reference goes, registers a callback on
/// `task`.
struct Reenter(SharedTask<u32>);

impl Wake for Reenter {
    fn wake(self: Arc<Self>) {}
}

impl Drop for Reenter {
    fn drop(&mut self) {
        self.0.on_done(|_| ());
    }
}

struct Noop;

impl Wake for Noop {
    fn wake(self: Arc<Self>) {}
}

#[test]
fn replacing_a_waker_whose_drop_reenters_the_task_does_not_deadlock() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let held = gate.clone();
        let shared = pool
            .submit(move || {
                held.wait();
                5_u32
            })
            .shared();
        let mut done = shared.done();
        let first = Waker::from(Arc::new(Reenter(shared.clone())));
        assert!(
            Pin::new(&mut done)
                .poll(&mut Context::from_waker(&first))
                .is_pending()
        );
        // The waiter list now holds the last reference to `first`.
        drop(first);
        let second = Waker::from(Arc::new(Noop));
        // A new waker replaces (and drops) `first`.
        assert!(
            Pin::new(&mut done)
                .poll(&mut Context::from_waker(&second))
                .is_pending()
        );
        gate.open();
        assert_eq!(*shared.join().unwrap(), 5);
    });
}

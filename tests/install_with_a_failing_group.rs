//! Regression (second-reader review): `Pool::install` from outside the pool runs `f` in a
//! scoped task cell. If `f` runs a `group` whose jobs execute inline on the
//! same worker (while the group's scope waits) and one of them asks
//! `is_cancelled()` after the group was cancelled, CANCEL_SEEN lands on the
//! *install* cell (group jobs keep `previous.task`). The install task ends
//! Cancelled after `f` was taken and ran, so `install` hits
//! `unreachable!("the install closure was taken but did not finish")`
//! and `f`'s value is discarded.
mod common;
use common::watchdog;
use corepool::{Pinning, Pool, is_cancelled};
use std::sync::mpsc::channel;

#[test]
fn install_of_a_group_that_fails_returns_the_groups_error() {
    watchdog(60, || {
        let pool = Pool::builder()
            .workers(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        for _ in 0..50 {
            let outcome = pool.install(|| {
                let (started_tx, started_rx) = channel::<()>();
                pool.group(|g| {
                    g.spawn(move || {
                        let _ = started_rx.recv();
                        Err("fail")
                    });
                    g.spawn(move || {
                        let _ = started_tx.send(());
                        while !is_cancelled() {
                            std::hint::spin_loop();
                        }
                        Ok(())
                    });
                })
            });
            assert_eq!(outcome.unwrap_err().into_failure(), Some("fail"));
        }
    });
}

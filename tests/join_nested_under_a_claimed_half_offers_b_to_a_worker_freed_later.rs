//! `Pool::join` promises that `b` is offered to a worker that is idle now
//! *or becomes idle while `a` runs*. After an outer join's `b` was claimed by
//! the other worker, a join nested in the outer `a` found the exposure slot
//! "taken" (its exposed frame was the claimed one) and, with no worker
//! hungry at that moment, exposed nothing: when the other worker finished
//! the outer `b` and went idle, the inner `b` was invisible, and an inner
//! `a` that waits for the inner `b` hung forever.
mod common;

use std::sync::mpsc::{channel, sync_channel};
use std::time::Duration;

use common::watchdog;
use corepool::Pool;

#[test]
fn inner_a_waiting_on_inner_b_ends_once_the_outer_thief_is_free() {
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for _ in 0..20 {
            let (outer_b_started_tx, outer_b_started) = channel::<()>();
            let (outer_b_release_tx, outer_b_release) = channel::<()>();
            let got = pool.install(|| {
                corepool::join(
                    move || {
                        // The outer `b` is running on the other worker now.
                        outer_b_started.recv().unwrap();
                        let (tx, rx) = sync_channel::<u32>(1);
                        corepool::join(
                            move || {
                                // Free the other worker, then wait for the
                                // inner `b`, which only it can run.
                                outer_b_release_tx.send(()).unwrap();
                                rx.recv_timeout(Duration::from_secs(20)).ok()
                            },
                            move || {
                                let _ = tx.send(9);
                            },
                        )
                        .0
                    },
                    move || {
                        outer_b_started_tx.send(()).unwrap();
                        outer_b_release.recv().unwrap();
                    },
                )
                .0
            });
            assert_eq!(
                got,
                Some(9),
                "the inner b never ran while the inner a waited"
            );
        }
    });
}

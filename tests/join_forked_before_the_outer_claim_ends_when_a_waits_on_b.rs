//! The case the exposure slot alone could not serve: an outer join's `b` is
//! exposed while the other worker is busy; its `a` forks an inner join at
//! once, which is not exposed (the slot is taken by the outer frame and
//! nobody is hungry). The other worker then frees up, claims the outer `b`,
//! finishes it and goes idle, while the inner `a` blocks on the inner `b`:
//! its owner, blocked in user code, never forks again to publish the inner
//! frame. The idle worker's rescue (job.rs, "Rescue") takes it. Before the
//! rescue this test hung (it was kept, ignored, as the design's limit).
mod common;

use std::sync::mpsc::sync_channel;
use std::time::Duration;

use common::{occupy_one_worker, watchdog};
use corepool::Pool;

#[test]
fn inner_a_waiting_on_inner_b_ends_after_the_outer_b_is_claimed_later() {
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let (busy, release_tx) = occupy_one_worker(&pool);
        let got = pool.install(|| {
            corepool::join(
                move || {
                    let (tx, rx) = sync_channel::<u32>(1);
                    corepool::join(
                        move || {
                            // Both frames are forked; now free the other
                            // worker and wait for the inner `b`.
                            release_tx.send(()).unwrap();
                            rx.recv_timeout(Duration::from_secs(20)).ok()
                        },
                        move || {
                            let _ = tx.send(5);
                        },
                    )
                    .0
                },
                || (),
            )
            .0
        });
        busy.join().unwrap();
        assert_eq!(
            got,
            Some(5),
            "the inner b never ran while the inner a waited"
        );
    });
}

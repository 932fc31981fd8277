//! A second reader's case (helper-61): `shutdown` is called while a join's
//! `a` waits for its own `b`, forked behind an exposed frame and not yet
//! published. The other worker then claims the exposed frame, runs it, and
//! goes idle with the pool shut down: it must rescue the waiting half
//! (job.rs, "Rescue") before it leaves, or the inner `a` waits forever (here:
//! its 20 s timeout) and so does `shutdown`, which waits for the workers.
mod common;

use std::sync::mpsc::{channel, sync_channel};
use std::time::Duration;

use common::{install_then_shut_down, occupy_one_worker, watchdog};
use corepool::Pool;

#[test]
fn inner_a_waiting_on_inner_b_ends_when_the_pool_shuts_down_meanwhile() {
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let busy = occupy_one_worker(&pool);
        let (forked_tx, forked) = channel::<()>();
        let got = install_then_shut_down(&pool, busy, forked, move || {
            corepool::join(
                move || {
                    let (tx, rx) = sync_channel::<u32>(1);
                    corepool::join(
                        move || {
                            forked_tx.send(()).unwrap();
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
        assert_eq!(
            got,
            Some(5),
            "the inner b never ran while the inner a waited"
        );
    });
}

//! A second reader's case (helper-62): after `shutdown`, the leaving
//! worker's last look is `steal_shared` (claims an exposed frame) then
//! `rescue_some` (takes an unpublished one from an empty slot). If the owner
//! exposes its oldest unpublished frame X between the two (its first fork
//! after the claim of the outer exposed frame E), the claim scan saw the
//! slot empty and the rescue sees it full (or busy): the worker used to
//! leave, and X's `a`, waiting on X's `b`, was never served (21 of 2,000
//! trials). A worker now looks again while any slot is not empty. Each
//! trial delays the owner's fork by a different amount to sweep the window;
//! `TRIALS` sets how many (default 2,000).
mod common;

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{channel, sync_channel};
use std::time::Duration;

use common::{install_then_shut_down, occupy_one_worker, watchdog};
use corepool::Pool;

fn trial(delay: usize) -> Option<u32> {
    let pool = Pool::builder().workers(2).build().unwrap();
    let busy = occupy_one_worker(&pool);
    let (forked_tx, forked) = channel::<()>();
    let e_claimed = Arc::new(AtomicBool::new(false));
    let e_claimed2 = e_claimed.clone();
    install_then_shut_down(&pool, busy, forked, move || {
        corepool::join(
            move || {
                let (tx, rx) = sync_channel::<u32>(1);
                corepool::join(
                    move || {
                        forked_tx.send(()).unwrap();
                        while !e_claimed.load(Ordering::Acquire) {
                            std::hint::spin_loop();
                        }
                        let mut x = 0usize;
                        for i in 0..delay {
                            x = black_box(x.wrapping_add(i));
                        }
                        black_box(x);
                        // The first fork after E's claim: exposes X.
                        let _ = corepool::join(|| black_box(1), || black_box(2));
                        rx.recv_timeout(Duration::from_millis(300)).ok()
                    },
                    move || {
                        let _ = tx.send(5);
                    },
                )
                .0
            },
            move || e_claimed2.store(true, Ordering::Release),
        )
        .0
    })
}

#[test]
fn a_frame_exposed_during_the_leaving_workers_look_is_still_served() {
    watchdog(600, || {
        let trials: usize = std::env::var("TRIALS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(2000);
        let max: usize = std::env::var("MAXD")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(20000);
        let missed = AtomicUsize::new(0);
        let mut first = None;
        for t in 0..trials {
            let delay = (t * 7919) % max;
            if trial(delay).is_none() {
                missed.fetch_add(1, Ordering::Relaxed);
                first.get_or_insert(delay);
            }
        }
        let missed = missed.into_inner();
        assert_eq!(
            missed, 0,
            "{missed} of {trials} trials: X's b never ran (first at delay {first:?})"
        );
    });
}

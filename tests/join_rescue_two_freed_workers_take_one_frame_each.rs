//! Two workers freed at once make their rescue looks together (job.rs,
//! "Rescue"). One look may lock both owners' slots while the other finds
//! both busy and goes to sleep: the first must then take the oldest
//! untaken frame of *both* lists and wake a worker for the second. Each
//! owner's inner `b` waits for the other owner's inner `b`, so a half left
//! untaken while the other runs is a stall. A first version of the
//! one-barrier look (f8c34b7) took one frame and unlocked the other list
//! unwalked: helper-63's reproducer, this test, stalled in 247 of 20,000
//! rounds (and in every round it stalled, nobody ever took the other
//! frame); with the mend, 0.
mod common;

use std::sync::mpsc::{Receiver, Sender, channel, sync_channel};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{Gate, watchdog};
use corepool::Pool;

/// How long the inner `b`s wait for each other before they count the round
/// as stalled: long enough that only a half nobody takes reaches it.
fn rendezvous() -> Duration {
    Duration::from_secs(20)
}

/// An owner: an outer join whose `b` meets the other owner's outer `b`
/// (so the two freed workers claim one each and leave them together), and
/// inside its `a` an inner join whose `a` waits for its own `b`; the inner
/// `b` meets the other owner's inner `b` (so each must be rescued by a
/// different worker). Returns whether the inner rendezvous was met.
fn owner(
    start: Arc<Barrier>,
    outer: Arc<Barrier>,
    arrived: Sender<()>,
    mine: Sender<()>,
    theirs: Receiver<()>,
) -> bool {
    // Both owners are running (on the two free workers) before either
    // exposes a frame, so no idle worker claims one early.
    start.wait();
    corepool::join(
        move || {
            let (tx, rx) = sync_channel::<bool>(1);
            corepool::join(
                move || {
                    arrived.send(()).unwrap();
                    rx.recv_timeout(Duration::from_secs(30)).unwrap_or(false)
                },
                move || {
                    let _ = mine.send(());
                    let met = theirs.recv_timeout(rendezvous()).is_ok();
                    let _ = tx.send(met);
                },
            )
            .0
        },
        move || {
            outer.wait();
        },
    )
    .0
}

#[test]
fn two_freed_workers_rescue_one_frame_each() {
    watchdog(600, || {
        let pool = Pool::builder().workers(4).build().unwrap();
        // `ROUNDS` for a longer hunt (20,000 took ~1 minute here).
        let rounds: usize = std::env::var("ROUNDS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(500);
        let mut missed = 0;
        for _ in 0..rounds {
            // Occupy two workers (the rescuers-to-be) until the owners have
            // forked everything.
            let gate = Gate::new();
            let (started_tx, started) = channel();
            let busy: Vec<_> = (0..2)
                .map(|_| {
                    let (gate, started_tx) = (gate.clone(), started_tx.clone());
                    pool.submit(move || {
                        started_tx.send(()).unwrap();
                        gate.wait();
                    })
                })
                .collect();
            started.recv().unwrap();
            started.recv().unwrap();
            let outer = Arc::new(Barrier::new(2));
            let start = Arc::new(Barrier::new(2));
            let (arrived_tx, arrived) = channel();
            let (a_tx, a_rx) = channel();
            let (b_tx, b_rx) = channel();
            let owners = vec![
                {
                    let (start, outer, arrived_tx) =
                        (start.clone(), outer.clone(), arrived_tx.clone());
                    pool.submit(move || owner(start, outer, arrived_tx, a_tx, b_rx))
                },
                {
                    let (start, outer, arrived_tx) =
                        (start.clone(), outer.clone(), arrived_tx.clone());
                    pool.submit(move || owner(start, outer, arrived_tx, b_tx, a_rx))
                },
            ];
            arrived.recv().unwrap();
            arrived.recv().unwrap();
            gate.open();
            let res: Vec<bool> = owners.into_iter().map(|o| o.join().unwrap()).collect();
            let met = res.iter().all(|&m| m);
            if !met {
                missed += 1;
            }
            for b in busy {
                b.join().unwrap();
            }
        }
        assert_eq!(
            missed,
            0,
            "{missed} of {rounds} rounds stalled for {:?}",
            rendezvous()
        );
    });
}

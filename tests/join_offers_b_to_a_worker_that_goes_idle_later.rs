//! A worker that goes idle *after* a fork still gets the fork's second half:
//! `join(a, b)` where `a` waits for something only `b` produces ends as soon
//! as another worker is free, whether that worker was busy at the fork or
//! asleep. (Before, `b` was published only when some worker was hungry at
//! the fork, so a worker freed later never saw it and the join hung.)
mod common;

use std::sync::mpsc::{channel, sync_channel};

use common::{occupy_one_worker, watchdog};
use corepool::Pool;

/// `join(a, b)` on one worker while the other worker is busy until the
/// test releases it; `a` needs `b`'s message.
#[test]
fn a_waiting_on_b_ends_once_the_busy_worker_frees_up() {
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for _ in 0..50 {
            let (busy, release_tx) = occupy_one_worker(&pool);
            let (forked_tx, forked) = channel();
            let joined = pool.submit(move || {
                let (tx, rx) = sync_channel::<u32>(1);
                corepool::join(
                    move || {
                        forked_tx.send(()).unwrap();
                        // Only `b` sends: `a` blocks until another worker runs it.
                        rx.recv().unwrap()
                    },
                    move || tx.send(7).unwrap(),
                )
            });
            forked.recv().unwrap();
            // The fork has happened with no hungry worker around; now free
            // the other worker.
            release_tx.send(()).unwrap();
            busy.join().unwrap();
            assert_eq!(joined.join().unwrap(), (7, ()));
        }
    });
}

/// The same with the other worker asleep at the fork (nothing to do).
#[test]
fn a_waiting_on_b_ends_with_the_other_worker_asleep() {
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for _ in 0..200 {
            let joined = pool.install(|| {
                let (tx, rx) = sync_channel::<u32>(1);
                corepool::join(move || rx.recv().unwrap(), move || tx.send(3).unwrap())
            });
            assert_eq!(joined, (3, ()));
        }
    });
}

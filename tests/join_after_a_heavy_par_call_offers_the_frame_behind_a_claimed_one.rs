//! A join forked while an older one was exposed, whose `a` waits for its
//! `b`, is offered once the older one is claimed and its worker forks again
//! (`Pool::join`'s docs), also when a heavy `par` call runs in between.
//! A second reader (helper-43) found that `WorkerThread::forks_published`,
//! which a heavy `par` walk asks before it publishes a fork (par/drive.rs,
//! step 11), took a claimed exposure off the slot without exposing the
//! unpublished frame behind it, as step 3 does (join.rs): the worker's next
//! fork then exposed its own, newer frame, and the older one was never
//! offered. Every case below hung on 2 and 3 workers before the fix.
mod common;

use std::sync::mpsc::channel;
use std::time::Duration;

use common::{busy_for, watchdog};
use corepool::Pool;

/// The other worker is kept busy by a task while J1 and J2 fork (so J1 is
/// exposed, J2 unpublished: nobody hungry). a2 frees it; it claims J1's
/// exposure and runs b1. Then a2 makes `call` (a heavy `par` call: 200
/// items of 100 µs), then (with `fork_after`) a trivial plain join, and
/// waits for b2. `release_before_par`: b1 returns at once, so the other
/// worker turns idle during the call; otherwise b1 holds it until after.
fn case(workers: usize, call: Call, fork_after: bool, release_before_par: bool) -> bool {
    let pool = Pool::builder().workers(workers).build().unwrap();
    let mut busy = Vec::new();
    let mut releases = Vec::new();
    // Keep every other worker busy.
    for _ in 1..workers {
        let (task, release_tx) = common::occupy_one_worker(&pool);
        busy.push(task);
        releases.push(release_tx);
    }
    let (b1_started_tx, b1_started) = channel::<()>();
    let (b1_release_tx, b1_release) = channel::<()>();
    let pool = &pool;
    let ok = pool.install(move || {
        pool.join(
            move || {
                let (tx2, rx2) = channel::<()>();
                // J2 is forked while J1 is exposed, unclaimed, nobody hungry.
                pool.join(
                    move || {
                        for r in releases {
                            r.send(()).unwrap();
                        }
                        b1_started
                            .recv_timeout(Duration::from_secs(5))
                            .expect("b1 claimed by the other worker");
                        if release_before_par {
                            b1_release_tx.send(()).unwrap();
                        }
                        if call == Call::HeavyPar {
                            pool.par(0..200usize)
                                .for_each(|_| busy_for(Duration::from_micros(100)));
                        }
                        if fork_after {
                            pool.join(|| (), || ());
                        }
                        if !release_before_par {
                            b1_release_tx.send(()).unwrap();
                        }
                        rx2.recv_timeout(Duration::from_secs(10)).is_ok()
                    },
                    move || {
                        let _ = tx2.send(());
                    },
                )
                .0
            },
            move || {
                b1_started_tx.send(()).unwrap();
                let _ = b1_release.recv_timeout(Duration::from_secs(10));
            },
        )
        .0
    });
    for b in busy {
        b.join().unwrap();
    }
    ok
}

/// What a2 does between the claim of J1 and its wait for b2.
#[derive(Clone, Copy, PartialEq)]
enum Call {
    HeavyPar,
    None,
}

fn run(fork_after: bool, release_before_par: bool) {
    watchdog(120, move || {
        let mut fails = Vec::new();
        for w in [2, 3] {
            for round in 0..3 {
                if !case(w, Call::HeavyPar, fork_after, release_before_par) {
                    fails.push(format!("workers={w} round={round}"));
                }
            }
        }
        assert!(fails.is_empty(), "b2 never offered: {fails:?}");
    });
}

#[test]
fn offered_at_a_plain_fork_after_the_call() {
    run(true, false);
}

#[test]
fn offered_when_the_thief_turns_idle_during_the_call() {
    run(false, true);
}

/// The same without the `par` call: step 3 exposes J2 at the plain fork.
#[test]
fn offered_at_a_plain_fork_without_a_call_in_between() {
    watchdog(120, || {
        for w in [2, 3] {
            assert!(
                case(w, Call::None, true, false),
                "workers={w}: b2 never offered"
            );
        }
    });
}

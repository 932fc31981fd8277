//! `wait(AllCompleted)` watches one task at a time, the last unfinished one
//! (completion.rs): a second reader's probes of it (helper-49) with the same
//! task at several indices, cancelled, refused and panicking tasks,
//! `shutdown_now` mid-wait, repeated timeouts, and waits from outside, from
//! a worker of the same pool (which runs unstarted tasks inline) and from
//! another pool's worker. The order in which tasks end is left to the
//! threads racing; every answer must list every task as done.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{Gate, OpenOnDrop, busy_for, gated, unpinned_pool, watchdog};
use corepool::{Pool, Task, WaitFor, Watch, wait};

/// The same task at several indices (SharedTask clones and &dyn Watch refs),
/// with the duplicate last, ending after everything else.
#[test]
fn duplicates_at_several_indices() {
    watchdog(60, || {
        let pool = unpinned_pool(2);
        for _ in 0..200 {
            let (g1, g2) = (Gate::new(), Gate::new());
            let a = gated(&pool, &g1, 1).shared();
            let b = gated(&pool, &g2, 2);
            let list: Vec<&dyn Watch> = vec![&a, &b, &a, &b, &a];
            let opener = std::thread::spawn(move || {
                g2.open();
                g1.open();
            });
            let w = wait(&list, WaitFor::AllCompleted, None);
            assert_eq!(w.done, [0, 1, 2, 3, 4]);
            let shared = vec![a.clone(), a.clone(), a];
            assert_eq!(wait(&shared, WaitFor::AllCompleted, None).done, [0, 1, 2]);
            opener.join().unwrap();
        }
    });
}

/// Cancelled, refused and panicking tasks mid-list; shutdown_now while a
/// thread waits on queued tasks behind a blocked one (1 worker).
#[test]
fn cancelled_refused_panicked_and_shutdown_now() {
    common::quiet_panics_containing("rev-boom");
    watchdog(60, || {
        for round in 0..100 {
            let pool = unpinned_pool(1);
            let gate = Gate::new();
            let _open = OpenOnDrop(gate.clone());
            let mut tasks = vec![gated(&pool, &gate, 0)];
            tasks.extend((1..20).map(|i| {
                pool.submit(move || {
                    if i % 7 == 0 {
                        panic!("rev-boom");
                    }
                    i
                })
            }));
            assert!(tasks[5].cancel());
            let list: Vec<&Task<u32>> = tasks.iter().collect();
            let stopper = {
                let pool = pool.clone();
                let gate = gate.clone();
                std::thread::spawn(move || {
                    // shutdown_now waits for the running (gated) task: a
                    // third thread opens the gate, racing it (and, in odd
                    // rounds, racing the waiter's first look too).
                    if round % 2 == 1 {
                        std::thread::yield_now();
                    }
                    let opener = std::thread::spawn(move || gate.open());
                    let _ = pool.shutdown_now();
                    opener.join().unwrap();
                })
            };
            let w = wait(&list, WaitFor::AllCompleted, None);
            assert_eq!(w.done, (0..20).collect::<Vec<_>>());
            stopper.join().unwrap();
            let late = pool.submit(|| 9);
            let w = wait(&[&late], WaitFor::AllCompleted, None);
            assert_eq!(w.done, [0]);
            assert!(late.join().unwrap_err().is_shutdown());
        }
    });
}

/// Many timed-out waits (0, 1 µs, 50 µs) with the watched task mid-list,
/// then the gate opens and an untimed wait returns; from outside and from a
/// worker of another pool.
#[test]
fn repeated_timeouts_then_completion() {
    watchdog(60, || {
        let pool = unpinned_pool(4);
        let other = unpinned_pool(1);
        for on_worker in [false, true] {
            let gate = Gate::new();
            let _open = OpenOnDrop(gate.clone());
            let tasks: Vec<Task<u32>> = (0..6)
                .map(|i| {
                    if i % 2 == 0 {
                        gated(&pool, &gate, i)
                    } else {
                        pool.submit(move || i)
                    }
                })
                .collect();
            for t in tasks.iter().skip(1).step_by(2) {
                assert!(t.wait_timeout(Duration::from_secs(30)));
            }
            let tasks = Arc::new(tasks);
            let t2 = tasks.clone();
            let run = move || {
                for i in 0..3000u32 {
                    let timeout = [0u64, 1, 50][(i % 3) as usize];
                    let w = wait(
                        &t2[..],
                        WaitFor::AllCompleted,
                        Some(Duration::from_micros(timeout)),
                    );
                    assert!(w.pending.iter().all(|p| p % 2 == 0), "{w:?}");
                }
            };
            if on_worker {
                other.install(run)
            } else {
                run()
            }
            gate.open();
            assert_eq!(
                wait(&tasks[..], WaitFor::AllCompleted, None).done,
                [0, 1, 2, 3, 4, 5]
            );
        }
    });
}

/// Random short tasks, waited for from outside, from a worker of the same
/// pool (claims run inline) and from another pool's worker.
#[test]
fn random_durations_from_everywhere() {
    watchdog(120, || {
        let pool = unpinned_pool(2);
        let other = unpinned_pool(1);
        let seed = AtomicUsize::new(12345);
        let rnd = || {
            let mut x = seed.load(Ordering::Relaxed);
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            seed.store(x, Ordering::Relaxed);
            x
        };
        for round in 0..300 {
            let n = 1 + rnd() % 40;
            let durs: Vec<u64> = (0..n).map(|_| (rnd() % 30) as u64).collect();
            let go = |pool: &Pool| {
                let tasks: Vec<Task<usize>> = durs
                    .iter()
                    .enumerate()
                    .map(|(i, &d)| {
                        pool.submit(move || {
                            busy_for(Duration::from_micros(d));
                            i
                        })
                    })
                    .collect();
                let w = wait(&tasks, WaitFor::AllCompleted, None);
                assert_eq!(w.done.len(), tasks.len());
                assert!(tasks.iter().all(|t| t.is_finished()));
            };
            match round % 3 {
                0 => go(&pool),
                1 => pool.install(|| go(&pool)),
                _ => other.install(|| go(&pool)),
            }
        }
    });
}

/// On a worker, with the watched (last) task running on the other worker
/// and the earlier ones unstarted: the waiter runs them inline and returns.
#[test]
fn on_a_worker_while_the_last_runs_elsewhere() {
    watchdog(60, || {
        let pool = unpinned_pool(2);
        for _ in 0..50 {
            pool.install(|| {
                let gate = Gate::new();
                let mut tasks: Vec<Task<u32>> = (0..10).map(|i| pool.submit(move || i)).collect();
                tasks.push(gated(&pool, &gate, 10));
                let g = gate.clone();
                let opener = std::thread::spawn(move || g.open());
                let w = wait(&tasks, WaitFor::AllCompleted, None);
                assert_eq!(w.done.len(), 11);
                let values: Vec<u32> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
                assert_eq!(values, (0..11).collect::<Vec<_>>());
                opener.join().unwrap();
            });
        }
    });
}

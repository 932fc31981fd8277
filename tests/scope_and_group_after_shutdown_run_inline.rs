//! After `shutdown`, `scope` and `group` lose no work: what they are given
//! runs on the calling thread, as `join`, `install` and `par` do after a
//! shutdown. Before the fix a running task's `scope(|s| s.spawn(..))`
//! dropped every spawned closure and returned normally, and a group whose
//! task failed returned `Ok` with nothing skipped.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::watchdog;
use corepool::{GroupError, Pool};

fn filled(bytes: &[u8]) -> bool {
    bytes.iter().enumerate().all(|(i, &b)| b == i as u8 + 1)
}

/// 64 spawned closures, each writing one byte, nested spawns included.
fn spawn_64(pool: &Pool) -> [u8; 64] {
    let mut bytes = [0u8; 64];
    pool.scope(|s| {
        let (low, high) = bytes.split_at_mut(32);
        for (i, b) in low.iter_mut().enumerate() {
            s.spawn(move |_| *b = i as u8 + 1);
        }
        s.spawn(move |s| {
            for (i, b) in high.iter_mut().enumerate() {
                s.spawn(move |_| *b = 32 + i as u8 + 1);
            }
        });
    });
    bytes
}

#[test]
fn scope_spawn_in_a_running_task_after_shutdown_runs_every_closure() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let p = pool.clone();
        let bytes = pool
            .submit(move || {
                p.shutdown();
                spawn_64(&p)
            })
            .join()
            .unwrap();
        assert!(filled(&bytes), "{bytes:?}");
    });
}

#[test]
fn scope_spawn_from_outside_after_shutdown_runs_every_closure() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        pool.shutdown();
        let bytes = spawn_64(&pool);
        assert!(filled(&bytes), "{bytes:?}");
    });
}

#[test]
fn scope_submit_after_shutdown_returns_every_value() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let p = pool.clone();
        let inside = pool
            .submit(move || {
                p.shutdown();
                let data: Vec<u32> = (0..16).collect();
                p.scope(|s| {
                    let tasks: Vec<_> = data.iter().map(|x| s.submit(move || x * 3)).collect();
                    tasks
                        .into_iter()
                        .map(|t| t.join().unwrap())
                        .collect::<Vec<_>>()
                })
            })
            .join()
            .unwrap();
        assert_eq!(inside, (0..16).map(|x| x * 3).collect::<Vec<u32>>());

        // From outside, with detached handles: still run.
        let ran = AtomicUsize::new(0);
        pool.scope(|s| {
            for _ in 0..10 {
                let _ = s.submit(|| ran.fetch_add(1, Ordering::Relaxed));
            }
        });
        assert_eq!(ran.into_inner(), 10);
    });
}

#[test]
fn a_panic_in_a_spawn_run_inline_is_re_raised_by_the_scope() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        pool.shutdown();
        let after = AtomicUsize::new(0);
        let err = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.scope(|s| {
                s.spawn(|_| panic!("inline spawn"));
                s.spawn(|_| {
                    after.fetch_add(1, Ordering::Relaxed);
                });
            })
        }))
        .unwrap_err();
        assert_eq!(err.downcast_ref::<&str>(), Some(&"inline spawn"));
        assert_eq!(after.into_inner(), 1, "the spawn after the panic still ran");
    });
}

#[test]
fn group_after_shutdown_runs_its_tasks_and_reports_the_failure() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let p = pool.clone();
        let (failed, all) = pool
            .submit(move || {
                p.shutdown();
                let failed = p.group(|g| {
                    g.spawn(|| Err::<(), _>("bad"));
                });
                let count = AtomicUsize::new(0);
                let ok = p.group(|g| {
                    for _ in 0..20 {
                        g.spawn(|| {
                            count.fetch_add(1, Ordering::Relaxed);
                            Ok::<(), String>(())
                        });
                    }
                });
                assert!(ok.is_ok());
                (failed, count.into_inner())
            })
            .join()
            .unwrap();
        assert!(
            matches!(failed, Err(GroupError::Failed("bad"))),
            "{failed:?}"
        );
        assert_eq!(all, 20);
    });
}

#[test]
fn scope_spawn_and_submit_racing_shutdown_lose_nothing() {
    watchdog(120, || {
        for round in 0..200 {
            let pool = Pool::builder().workers(2).build().unwrap();
            let barrier = std::sync::Barrier::new(2);
            std::thread::scope(|threads| {
                threads.spawn(|| {
                    barrier.wait();
                    if round % 2 == 0 {
                        pool.shutdown();
                    } else {
                        pool.shutdown_now();
                    }
                });
                barrier.wait();
                let mut bytes = [0u8; 64];
                let submitted = AtomicUsize::new(0);
                pool.scope(|s| {
                    for (i, b) in bytes.iter_mut().enumerate() {
                        if i % 2 == 0 {
                            s.spawn(move |_| *b = i as u8 + 1);
                        } else {
                            let t = s.submit(move || *b = i as u8 + 1);
                            // shutdown_now may cancel a queued task: its
                            // handle says so; nothing is lost silently.
                            match t.join() {
                                Ok(()) => {}
                                Err(err) => assert!(err.is_cancelled(), "{err}"),
                            }
                            submitted.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
                if round % 2 == 0 {
                    assert!(filled(&bytes), "round {round}: {bytes:?}");
                }
                assert_eq!(submitted.into_inner(), 32);
            });
        }
    });
}

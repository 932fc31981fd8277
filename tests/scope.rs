//! `Pool::scope`: borrowed work, waited for, with panics re-raised.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::{DropCounter, watchdog};
use corepool::Pool;

#[test]
fn scoped_tasks_borrow_mutable_chunks() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let mut data = vec![0u64; 1 << 16];
        pool.scope(|s| {
            for (i, chunk) in data.chunks_mut(4096).enumerate() {
                let _ = s.submit(move || chunk.iter_mut().for_each(|x| *x += i as u64));
            }
        });
        for (i, chunk) in data.chunks(4096).enumerate() {
            assert!(chunk.iter().all(|&x| x == i as u64));
        }
    });
}

#[test]
fn scope_returns_only_after_every_task_finished() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let finished = AtomicUsize::new(0);
        pool.scope(|s| {
            for _ in 0..100 {
                let _ = s.submit(|| {
                    std::hint::black_box((0..10_000u64).sum::<u64>());
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        assert_eq!(finished.load(Ordering::SeqCst), 100);
    });
}

#[test]
fn scope_returns_the_closures_value_and_scoped_handles_join() {
    watchdog(60, || {
        let pool = Pool::new().unwrap();
        let text = String::from("borrowed");
        let len = pool.scope(|s| s.submit(|| text.len()).join().unwrap());
        assert_eq!(len, 8);
    });
}

#[test]
fn an_unobserved_panic_is_re_raised_after_all_tasks_finished() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let finished = AtomicUsize::new(0);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.scope(|s| {
                let _ = s.submit(|| panic!("scoped boom"));
                for _ in 0..20 {
                    let _ = s.submit(|| {
                        finished.fetch_add(1, Ordering::SeqCst);
                    });
                }
            })
        }))
        .unwrap_err();
        assert_eq!(caught.downcast_ref::<&str>(), Some(&"scoped boom"));
        assert_eq!(finished.load(Ordering::SeqCst), 20, "the others still ran");
    });
}

#[test]
fn a_panic_taken_through_join_is_not_re_raised() {
    watchdog(60, || {
        let pool = Pool::new().unwrap();
        let observed = pool.scope(|s| s.submit(|| -> u8 { panic!("seen") }).join().unwrap_err());
        assert_eq!(observed.panic_message(), Some("seen"));
    });
}

#[test]
fn scoped_results_are_dropped_inside_the_scope() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let drops = DropCounter::new();
        pool.scope(|s| {
            for _ in 0..50 {
                let token = drops.token();
                let _ = s.submit(move || token); // detached: result dropped by the runner
            }
        });
        drops.assert_all_dropped_once();
    });
}

#[test]
fn scope_map_borrows_items_and_closure() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let offset = 100u64;
        let items: Vec<u64> = (0..1000).collect();
        let out: Vec<u64> = pool.scope(|s| s.map(&items, |x| x + offset).collect());
        assert_eq!(out, (100..1100).collect::<Vec<_>>());
        let mut unordered: Vec<u64> =
            pool.scope(|s| s.map_unordered(items.iter(), |x| x * 2).collect());
        unordered.sort_unstable();
        assert_eq!(unordered, (0..1000).map(|x| x * 2).collect::<Vec<_>>());
    });
}

#[test]
fn scope_on_a_worker_with_one_worker_does_not_deadlock() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let p = pool.clone();
        let sum = pool.submit(move || {
            let data: Vec<u64> = (0..100).collect();
            p.scope(|s| {
                let tasks: Vec<_> = data
                    .chunks(10)
                    .map(|c| s.submit(move || c.iter().sum::<u64>()))
                    .collect();
                tasks.into_iter().map(|t| t.join().unwrap()).sum::<u64>()
            })
        });
        assert_eq!(sum.join().unwrap(), 4950);
    });
}

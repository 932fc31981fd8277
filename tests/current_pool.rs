//! The current pool and the default one: `Pool::current` inside a task, the
//! free `join`, `scope` and `spawn` running on the pool of the calling task
//! (or the default pool), and a scoped task spawning into its own scope.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};

use common::watchdog;
use corepool::Pool;

fn named(prefix: &'static str, workers: usize) -> Pool {
    Pool::builder()
        .workers(workers)
        .thread_name(move |i| format!("{prefix}-{i}"))
        .build()
        .unwrap()
}

fn on(prefix: &str) -> bool {
    std::thread::current()
        .name()
        .is_some_and(|n| n.starts_with(prefix))
}

#[test]
fn inside_a_task_current_is_that_pool() {
    watchdog(60, || {
        let pool = named("cur", 2);
        let seen = pool
            .submit(|| Pool::current().map(|p| p.workers()))
            .join()
            .unwrap();
        assert_eq!(seen, Some(2));
        assert!(Pool::current().is_none());
    });
}

#[test]
fn free_functions_use_the_pool_of_the_calling_task() {
    watchdog(60, || {
        let pool = named("free", 2);
        let all_on_pool = pool.install(|| {
            let (a, b) = corepool::join(|| on("free-"), || on("free-"));
            let in_scope = AtomicUsize::new(0);
            corepool::scope(|s| {
                for _ in 0..8 {
                    s.spawn(|s| {
                        if on("free-") {
                            in_scope.fetch_add(1, Ordering::SeqCst);
                        }
                        // A child spawned into the same scope through the
                        // scope it was given.
                        s.spawn(|_| {
                            if on("free-") {
                                in_scope.fetch_add(1, Ordering::SeqCst);
                            }
                        });
                    });
                }
            });
            a && b && in_scope.into_inner() == 16
        });
        assert!(all_on_pool);
        let (tx, rx) = std::sync::mpsc::channel();
        pool.submit(move || corepool::spawn(move || tx.send(on("free-")).unwrap()))
            .join()
            .unwrap();
        assert!(rx.recv().unwrap());
    });
}

#[test]
fn outside_any_pool_the_free_functions_use_the_default_pool() {
    watchdog(60, || {
        fn sum(v: &[u64]) -> u64 {
            if v.len() <= 64 {
                return v.iter().sum();
            }
            let (l, r) = v.split_at(v.len() / 2);
            let (a, b) = corepool::join(|| sum(l), || sum(r));
            a + b
        }
        let v: Vec<u64> = (0..10_000).collect();
        assert_eq!(sum(&v), 10_000 * 9_999 / 2);
        let default = corepool::default_pool().unwrap();
        assert!(default.workers() >= 1);
        assert!(std::ptr::eq(default, corepool::default_pool().unwrap()));
        // Setting it once it exists hands the pool back.
        assert!(corepool::set_default_pool(named("late", 1)).is_err());
    });
}

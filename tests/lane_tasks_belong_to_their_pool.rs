//! Issue 16, item 14: the blocking lane belongs to its pool. Inside a lane
//! task `Pool::current()` is that pool, the free `join`, `scope` and `spawn`
//! use it (never the default pool), and lane threads are named after the
//! pool's `thread_name`: `{base}-blocking-{n}`, where `base` is worker 0's
//! name without its trailing index.
//!
//! Every test here checks at the end that the default pool was never built,
//! so no test in this file may use it.
mod common;

use std::sync::Mutex;

use common::watchdog;
use corepool::{Pinning, Pool};

fn named(prefix: &'static str) -> Pool {
    Pool::builder()
        .workers(2)
        .pinning(Pinning::None)
        .thread_name(move |i| format!("{prefix}-{i}"))
        .build()
        .unwrap()
}

fn name() -> String {
    std::thread::current().name().unwrap_or("").to_owned()
}

/// The default pool was never built (by this test binary so far). Setting
/// it succeeds only then; later tests in this binary would see the probe as
/// the default pool, and none of them uses it.
fn assert_no_default_pool() {
    let probe = Pool::builder()
        .workers(1)
        .pinning(Pinning::None)
        .build()
        .unwrap();
    assert!(
        corepool::set_default_pool(probe).is_ok(),
        "a lane task built and used the default pool"
    );
}

#[test]
fn inside_a_lane_task_current_is_the_lanes_pool_and_free_functions_use_it() {
    watchdog(60, || {
        let pool = named("lane14");
        let task = pool.submit_blocking(|| {
            let current = Pool::current().expect("Pool::current() inside a lane task");
            let on_pool = current.install(name);
            let (a, b) = corepool::join(name, name);
            let scoped = Mutex::new(Vec::new());
            corepool::scope(|s| {
                for _ in 0..4 {
                    s.spawn(|_| scoped.lock().unwrap().push(name()));
                }
            });
            let (tx, rx) = std::sync::mpsc::channel();
            corepool::spawn(move || tx.send(name()).unwrap());
            let spawned = rx.recv().unwrap();
            (
                current.workers(),
                on_pool,
                [a, b],
                scoped.into_inner().unwrap(),
                spawned,
            )
        });
        let (workers, on_pool, joined, scoped, spawned) = task.join().unwrap();
        assert_eq!(workers, 2);
        assert!(on_pool.starts_with("lane14-"), "{on_pool}");
        for name in joined.iter().chain(&scoped).chain([&spawned]) {
            assert!(
                name.starts_with("lane14-") && !name.starts_with("lane14-blocking"),
                "ran on {name:?}, not on the lane's pool"
            );
        }
        assert_eq!(scoped.len(), 4);
        assert_no_default_pool();
    });
}

#[test]
fn lane_threads_are_named_after_the_pools_thread_name() {
    watchdog(60, || {
        let pool = named("render");
        let lane = pool.submit_blocking(name).join().unwrap();
        assert_eq!(lane, "render-blocking-0");
        let plain = Pool::builder()
            .workers(1)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let lane = plain.submit_blocking(name).join().unwrap();
        assert_eq!(lane, "corepool-blocking-0");
        let unindexed = Pool::builder()
            .workers(1)
            .pinning(Pinning::None)
            .thread_name(|_| "io".to_owned())
            .build()
            .unwrap();
        let lane = unindexed.submit_blocking(name).join().unwrap();
        assert_eq!(lane, "io-blocking-0");
    });
}

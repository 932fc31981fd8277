//! Issue 16, item 12: while another thread drops the last `Pool` clone (or
//! calls `shutdown`), a running task's `Pool::current()` is still its pool,
//! and the free `join`, `scope` and `spawn` there use that pool: they never
//! build the default pool and send the work there, past the pool's
//! shutdown.
//!
//! The test checks at the end that the default pool was never built, so no
//! test in this file may use it.
mod common;

use std::sync::Mutex;
use std::sync::mpsc::channel;

use common::watchdog;
use corepool::{Pinning, Pool};

fn name() -> String {
    std::thread::current().name().unwrap_or("").to_owned()
}

/// What the running task saw once its pool was shutting down.
#[derive(Debug)]
struct Seen {
    current: Option<(usize, bool)>,
    joined: [String; 2],
    scoped: Vec<String>,
}

/// Runs a task that waits until its pool has been shut down by `stop` on
/// another thread, then looks at the current pool.
fn while_stopped_elsewhere(stop: impl FnOnce(Pool) + Send + 'static) -> Seen {
    let pool = Pool::builder()
        .workers(1)
        .pinning(Pinning::None)
        .thread_name(|i| format!("twelve-{i}"))
        .build()
        .unwrap();
    let (started_tx, started) = channel();
    let task = pool.submit(move || {
        started_tx.send(()).unwrap();
        // No channel announces a shutdown: poll for it (the watchdog bounds
        // this). Before the fix `current()` turned `None` once the last
        // clone was gone.
        loop {
            match Pool::current() {
                None => break,
                Some(pool) if pool.is_shutdown() => break,
                Some(_) => std::thread::yield_now(),
            }
        }
        let current = Pool::current().map(|pool| (pool.workers(), pool.is_shutdown()));
        let (a, b) = corepool::join(name, name);
        let scoped = Mutex::new(Vec::new());
        corepool::scope(|s| {
            s.spawn(|_| scoped.lock().unwrap().push(name()));
        });
        Seen {
            current,
            joined: [a, b],
            scoped: scoped.into_inner().unwrap(),
        }
    });
    started.recv().unwrap();
    let stopper = std::thread::spawn(move || stop(pool));
    let seen = task.join().unwrap();
    stopper.join().unwrap();
    seen
}

fn check(seen: Seen) {
    assert_eq!(
        seen.current,
        Some((1, true)),
        "Pool::current() in a running task while its pool shuts down"
    );
    for name in seen.joined.iter().chain(&seen.scoped) {
        assert!(name.starts_with("twelve-"), "ran on {name:?}, off the pool");
    }
    // Nothing built the default pool.
    let probe = Pool::builder()
        .workers(1)
        .pinning(Pinning::None)
        .build()
        .unwrap();
    assert!(
        corepool::set_default_pool(probe).is_ok(),
        "the task built and used the default pool"
    );
}

#[test]
fn last_clone_dropped_on_another_thread() {
    watchdog(60, || check(while_stopped_elsewhere(drop)));
}

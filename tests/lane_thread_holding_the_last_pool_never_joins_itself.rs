//! Issue 16, item 6: a blocking-lane task keeps the last `Pool` clone in a
//! `thread_local!`. When the lane thread ends (it retires after its
//! keep-alive, or the task called `shutdown`), its thread-local destructor
//! drops that clone and shuts the pool down *on the lane thread*, after the
//! thread has left the lane's loop. Before the fix that shutdown joined the
//! lane thread's own handle: std panicked inside a TLS destructor and the
//! process aborted. Each case runs in a child process; the parent checks it
//! exited cleanly.
mod common;

use std::cell::RefCell;
use std::sync::mpsc::{Sender, channel};
use std::time::Duration;

use common::watchdog;
use corepool::{Pinning, Pool};

/// Set in the child process that runs one case for real.
const CHILD: &str = "COREPOOL_LANE_TLS_CHILD";

fn in_child(name: &str) {
    common::in_child(CHILD, name);
}

fn is_child() -> bool {
    common::is_child(CHILD)
}

/// Holds the last clone; says when it has dropped it.
struct Holder {
    pool: Option<Pool>,
    dropped: Sender<()>,
}

impl Drop for Holder {
    fn drop(&mut self) {
        drop(self.pool.take());
        let _ = self.dropped.send(());
    }
}

thread_local! {
    static HELD: RefCell<Option<Holder>> = const { RefCell::new(None) };
}

fn keep_in_tls(pool: Pool, dropped: Sender<()>) {
    HELD.with(|held| {
        *held.borrow_mut() = Some(Holder {
            pool: Some(pool),
            dropped,
        })
    });
}

#[test]
fn the_task_calls_shutdown_and_the_tls_destructor_drops_the_last_clone() {
    if !is_child() {
        return in_child("the_task_calls_shutdown_and_the_tls_destructor_drops_the_last_clone");
    }
    watchdog(60, || {
        let pool = Pool::builder()
            .workers(1)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let (dropped_tx, dropped) = channel();
        let p = pool.clone();
        let task = pool.submit_blocking(move || {
            p.shutdown();
            keep_in_tls(p, dropped_tx);
            7
        });
        drop(pool);
        assert_eq!(task.join().unwrap(), 7);
        dropped
            .recv_timeout(Duration::from_secs(60))
            .expect("the lane thread dropped the last clone");
    });
}

#[test]
fn the_lane_thread_retires_and_its_tls_destructor_drops_the_last_clone() {
    if !is_child() {
        return in_child("the_lane_thread_retires_and_its_tls_destructor_drops_the_last_clone");
    }
    watchdog(60, || {
        let pool = Pool::builder()
            .workers(1)
            .pinning(Pinning::None)
            .blocking_keep_alive(Duration::from_millis(1))
            .build()
            .unwrap();
        let (dropped_tx, dropped) = channel();
        let p = pool.clone();
        let task = pool.submit_blocking(move || keep_in_tls(p, dropped_tx));
        drop(pool);
        task.join().unwrap();
        // The lane thread retires once idle for the keep-alive, and its
        // thread-local destructor shuts the pool down.
        dropped
            .recv_timeout(Duration::from_secs(60))
            .expect("the lane thread retired and dropped the last clone");
    });
}

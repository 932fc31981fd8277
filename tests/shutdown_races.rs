//! Shutdown racing with callers: `Pool::join` from outside the pool while the
//! pool shuts down still returns both values (before: a panic about once in
//! 2,000 races); the last `Pool` clone dropped in a worker's thread-local
//! destructor does not join the worker itself (before: "Resource deadlock
//! avoided", then an abort).
mod common;

use std::process::Command;
use std::sync::Barrier;

use common::watchdog;
use corepool::Pool;

#[test]
fn join_from_outside_racing_with_shutdown_returns_both_values() {
    let rounds: usize = std::env::var("COREPOOL_STRESS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(500, |k: usize| 500 * k);
    watchdog(300, move || {
        for round in 0..rounds {
            let pool = Pool::builder().workers(1).build().unwrap();
            let barrier = Barrier::new(2);
            std::thread::scope(|ts| {
                let joiner = ts.spawn(|| {
                    barrier.wait();
                    pool.join(|| 1, || 2)
                });
                barrier.wait();
                if round % 2 == 0 {
                    pool.shutdown();
                } else {
                    pool.shutdown_now();
                }
                assert_eq!(joiner.join().unwrap(), (1, 2));
            });
        }
    });
}

const CHILD: &str = "COREPOOL_TLS_DROP_CHILD";

#[test]
fn the_last_pool_dropped_in_a_worker_thread_local_destructor_does_not_join_itself() {
    if std::env::var_os(CHILD).is_some() {
        return;
    }
    for _ in 0..3 {
        let output = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", "tls_drop_child", "--nocapture"])
            .env(CHILD, "1")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && stdout.contains("1 passed"),
            "child failed: {:?}\n{stdout}\n{}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        );
    }
}

#[test]
fn tls_drop_child() {
    use std::cell::RefCell;
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    struct Keep(RefCell<Option<Pool>>, Option<std::sync::mpsc::Sender<()>>);
    impl Drop for Keep {
        fn drop(&mut self) {
            // The last clone goes here, on a worker whose loop has ended.
            drop(self.0.borrow_mut().take());
            if let Some(tx) = self.1.take() {
                let _ = tx.send(());
            }
        }
    }
    thread_local! {
        static KEEP: RefCell<Option<Keep>> = const { RefCell::new(None) };
    }
    watchdog(60, || {
        let (tx, rx) = std::sync::mpsc::channel();
        let pool = Pool::builder().workers(2).build().unwrap();
        let clone = pool.clone();
        pool.submit(move || {
            let keep = Keep(RefCell::new(Some(clone.clone())), Some(tx));
            KEEP.with(|k| *k.borrow_mut() = Some(keep));
            // Shut down from inside a task: does not wait for the workers.
            clone.shutdown();
        })
        .join()
        .unwrap();
        drop(pool);
        rx.recv().unwrap();
    });
}

//! A group whose body panics is cancelled at once: a running task that polls
//! `is_cancelled` sees it and ends, queued tasks are skipped, and the body's
//! panic is re-raised once the running tasks have ended. Before the fix
//! nothing cancelled the group, so a task looping until cancelled never
//! ended and `group` never returned.
mod common;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::channel;

use common::watchdog;
use corepool::Pool;

#[test]
fn a_panicking_body_cancels_running_and_queued_tasks_then_re_raises() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let looper_ended = AtomicBool::new(false);
        let queued_ran = AtomicUsize::new(0);
        let (started_tx, started) = channel();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.group(|g| {
                g.spawn(|| {
                    started_tx.send(()).unwrap();
                    while !corepool::is_cancelled() {
                        std::hint::spin_loop();
                    }
                    looper_ended.store(true, Ordering::SeqCst);
                    Ok::<(), String>(())
                });
                started.recv().unwrap();
                // The only worker is in the looper: these wait in the queue.
                for _ in 0..10 {
                    g.spawn(|| {
                        queued_ran.fetch_add(1, Ordering::SeqCst);
                        Ok(())
                    });
                }
                std::panic::panic_any("body failed");
            })
        }));
        let payload = caught.unwrap_err();
        assert_eq!(payload.downcast_ref::<&str>(), Some(&"body failed"));
        assert!(
            looper_ended.load(Ordering::SeqCst),
            "re-raised before the running task ended"
        );
        assert_eq!(
            queued_ran.load(Ordering::SeqCst),
            0,
            "queued tasks of a cancelled group ran"
        );
    });
}

#[test]
fn a_group_body_panic_on_a_worker_cancels_too() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let p = pool.clone();
        let outcome = pool
            .submit(move || {
                let (started_tx, started) = channel();
                let seen = AtomicBool::new(false);
                let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    p.group(|g| {
                        g.spawn(|| {
                            started_tx.send(()).unwrap();
                            while !corepool::is_cancelled() {
                                std::hint::spin_loop();
                            }
                            seen.store(true, Ordering::SeqCst);
                            Ok::<(), ()>(())
                        });
                        started.recv().unwrap();
                        assert!(!g.is_cancelled());
                        panic!("worker body failed");
                    })
                }));
                (caught.is_err(), seen.load(Ordering::SeqCst))
            })
            .join()
            .unwrap();
        assert_eq!(outcome, (true, true));
    });
}

/// An error whose destructor panics (when not already unwinding it would be
/// re-thrown; while unwinding, a second panic aborts the process).
#[derive(Debug)]
struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("error dropped");
    }
}

const CHILD: &str = "COREPOOL_GROUP_BODY_PANIC_CHILD";

/// A task fails with such an error, then the body panics: the body's panic
/// comes back and the task's error is dropped contained. Before, dropping it
/// while the body's panic unwound aborted the process, so the case runs in a
/// child process.
#[test]
fn a_body_panic_after_a_task_error_with_a_panicking_drop_is_contained() {
    if std::env::var_os(CHILD).is_none() {
        let name = "a_body_panic_after_a_task_error_with_a_panicking_drop_is_contained";
        let output = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
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
        return;
    }
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.group(|g| {
                g.spawn(|| Err(PanicsOnDrop));
                while !g.is_cancelled() {
                    std::thread::yield_now();
                }
                std::panic::panic_any("body after the failure");
            })
        }));
        let payload = caught.unwrap_err();
        assert_eq!(
            payload.downcast_ref::<&str>(),
            Some(&"body after the failure")
        );
    });
}

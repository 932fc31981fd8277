//! `scope(f)` where a task panics and `f` returned a value whose destructor
//! panics: the scope re-raises the task's panic, and the value was dropped
//! by that unwinding, a panic during unwinding: the process aborted. The
//! value must be dropped contained first. Runs in a child process.
mod common;

use std::panic::{self, AssertUnwindSafe};
use std::process::Command;

use common::watchdog;
use corepool::Pool;

const CHILD: &str = "COREPOOL_SCOPE_VALUE_DROP_CHILD";

struct PanicsOnDrop;

impl Drop for PanicsOnDrop {
    fn drop(&mut self) {
        panic!("the scope's value panicked in drop");
    }
}

#[test]
fn the_tasks_panic_is_reraised_and_the_process_lives() {
    let name = "the_tasks_panic_is_reraised_and_the_process_lives_child";
    let output = Command::new(std::env::current_exe().unwrap())
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
}

#[test]
fn the_tasks_panic_is_reraised_and_the_process_lives_child() {
    if std::env::var_os(CHILD).is_none() {
        return;
    }
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for _ in 0..10 {
            let result = panic::catch_unwind(AssertUnwindSafe(|| {
                pool.scope(|s| {
                    s.spawn(|_| panic!("a scoped task panicked"));
                    PanicsOnDrop
                })
            }));
            let payload = result.map(std::mem::forget).expect_err("the task's panic");
            assert_eq!(
                payload.downcast_ref::<&str>(),
                Some(&"a scoped task panicked")
            );
        }
    });
}

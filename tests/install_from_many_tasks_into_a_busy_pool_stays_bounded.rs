//! Tens of thousands of tasks on pool A each `install` into a one-worker pool
//! B. While an install waits, A's worker helps with A's work, which installs
//! again; before the fix that nesting was unbounded and the worker's stack
//! overflowed (a crash), so the scenario runs in a child process and the
//! parent checks it passed.
mod common;

use std::process::Command;

use common::watchdog;
use corepool::Pool;

const CHILD: &str = "COREPOOL_INSTALL_NESTING_CHILD";

#[test]
fn many_tasks_installing_into_a_one_worker_pool_complete() {
    if std::env::var_os(CHILD).is_none() {
        let output = Command::new(std::env::current_exe().unwrap())
            .args([
                "--exact",
                "many_tasks_installing_into_a_one_worker_pool_complete",
                "--nocapture",
                "--test-threads=1",
            ])
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
    watchdog(120, || {
        const TASKS: u64 = 50_000;
        // Small worker stacks make an unbounded nesting overflow soon.
        let a = Pool::builder()
            .workers(2)
            .stack_size(512 << 10)
            .build()
            .unwrap();
        let b = Pool::builder().workers(1).build().unwrap();
        let tasks: Vec<_> = (0..TASKS)
            .map(|i| {
                let b = b.clone();
                a.submit(move || b.install(move || i * 3))
            })
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.join().unwrap(), i as u64 * 3);
        }
    });
}

//! Submitting closures and getting their values back through `Task`.
mod common;

use std::time::Duration;

use common::{Gate, OpenOnDrop, block_on, watchdog};
use corepool::Pool;

#[test]
fn join_returns_each_tasks_own_value() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let tasks: Vec<_> = (0..1000u64).map(|i| pool.submit(move || i * 3)).collect();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.join().unwrap(), i as u64 * 3);
        }
    });
}

#[test]
fn tasks_can_return_non_copy_values() {
    watchdog(60, || {
        let pool = Pool::new().unwrap();
        let task = pool.submit(|| vec![String::from("a"), String::from("b")]);
        assert_eq!(task.join().unwrap(), ["a", "b"]);
    });
}

#[test]
fn wait_timeout_can_be_called_again_and_again() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let task = pool.submit(move || {
            g.wait();
            7
        });
        for _ in 0..3 {
            assert!(!task.wait_timeout(Duration::from_millis(1)));
            assert!(!task.is_finished());
        }
        gate.open();
        assert!(task.wait_timeout(Duration::from_secs(30)));
        assert!(
            task.wait_timeout(Duration::ZERO),
            "still finished on a second call"
        );
        assert!(task.is_finished());
        assert_eq!(task.join().unwrap(), 7);
    });
}

#[test]
fn task_is_a_future() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let gate = Gate::new();
        let g = gate.clone();
        let task = pool.submit(move || {
            g.wait();
            "awaited"
        });
        // Open the gate from another thread once the executor is polling.
        let opener = std::thread::spawn(move || gate.open());
        assert_eq!(block_on(task).unwrap(), "awaited");
        opener.join().unwrap();
        // A task that is already finished is ready at the first poll.
        let done = pool.submit(|| 5);
        assert!(done.wait_timeout(Duration::from_secs(30)));
        assert_eq!(block_on(done).unwrap(), 5);
    });
}

#[test]
fn debug_shows_the_outcome() {
    watchdog(60, || {
        let pool = Pool::new().unwrap();
        let task = pool.submit(|| 1);
        assert!(task.wait_timeout(Duration::from_secs(30)));
        assert_eq!(format!("{task:?}"), "Task { state: returned }");
        let _ = task.join();
        assert!(format!("{pool:?}").starts_with("Pool { workers: "));
    });
}

#[test]
fn many_external_threads_submit_at_once() {
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let submitters: Vec<_> = (0..4u64)
            .map(|t| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let tasks: Vec<_> = (0..2000u64)
                        .map(|i| pool.submit(move || t * 10_000 + i))
                        .collect();
                    tasks
                        .into_iter()
                        .map(|task| task.join().unwrap())
                        .sum::<u64>()
                })
            })
            .collect();
        let total: u64 = submitters.into_iter().map(|s| s.join().unwrap()).sum();
        let expected: u64 = (0..4u64)
            .map(|t| (0..2000u64).map(|i| t * 10_000 + i).sum::<u64>())
            .sum();
        assert_eq!(total, expected);
        assert_eq!(pool.stats().tasks_run(), 8000);
    });
}

//! The blocking lane: blocking work runs beside the pinned workers, never
//! holding one; the handles are the usual `Task`s.
mod common;

use std::sync::{Arc, Barrier};

use common::watchdog;
use corepool::{Pool, WaitFor, as_completed, wait};

#[test]
fn eight_blocked_tasks_run_at_once_beside_one_worker() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let all_in = Arc::new(Barrier::new(9));
        let tasks: Vec<_> = (0..8)
            .map(|i| {
                let all_in = all_in.clone();
                pool.submit_blocking(move || {
                    // Only returns once all eight (and the test) are waiting
                    // here together: they must be on eight threads.
                    all_in.wait();
                    (i, std::thread::current().name().map(str::to_owned))
                })
            })
            .collect();
        // The pinned worker is free meanwhile.
        assert_eq!(pool.submit(|| 40 + 2).join().unwrap(), 42);
        all_in.wait();
        let mut seen: Vec<usize> = Vec::new();
        for (index, result) in as_completed(tasks) {
            let (i, name) = result.unwrap();
            assert_eq!(index, i);
            assert!(name.unwrap().starts_with("corepool-blocking-"));
            seen.push(i);
        }
        seen.sort_unstable();
        assert_eq!(seen, (0..8).collect::<Vec<_>>());
    });
}

#[test]
fn a_panic_on_the_lane_is_a_task_error_and_the_lane_lives_on() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let err = pool
            .submit_blocking(|| -> u8 { panic!("blocking panicked") })
            .join()
            .unwrap_err();
        assert_eq!(err.panic_message(), Some("blocking panicked"));
        let tasks: Vec<_> = (0..4).map(|i| pool.submit_blocking(move || i)).collect();
        assert_eq!(wait(&tasks, WaitFor::AllCompleted, None).done.len(), 4);
    });
}

#[test]
fn shutdown_waits_for_the_lane_and_refuses_later_work() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let task = pool.submit_blocking(move || rx.recv().unwrap());
        let releaser = std::thread::spawn(move || tx.send(7u8).unwrap());
        pool.shutdown();
        assert!(
            task.is_finished(),
            "shutdown returned after the lane drained"
        );
        assert_eq!(task.join().unwrap(), 7);
        releaser.join().unwrap();
        assert!(
            pool.submit_blocking(|| ())
                .join()
                .unwrap_err()
                .is_shutdown()
        );
    });
}

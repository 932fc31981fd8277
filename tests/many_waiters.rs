//! Any number of waiters on one task, of every kind at once: threads blocked
//! in `wait`, `wait_timeout` and `as_completed`, and an `async` poller. Each
//! has its own entry in the task's waiter list, so each is woken by the task
//! itself (before: one waker slot, so all but the last waiter learned of the
//! end only from a 10 ms poll).
mod common;

use std::sync::{Arc, Barrier};
use std::time::Duration;

use common::{Gate, OpenOnDrop, block_on, watchdog};
use corepool::{Pool, WaitFor, wait};

#[test]
fn eight_blocked_waiters_and_an_await_all_return_when_the_task_ends() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let g = gate.clone();
        let tasks = Arc::new(vec![pool.submit(move || g.wait())]);
        let ready = Arc::new(Barrier::new(9));
        let mut waiters = Vec::new();
        for kind in 0..8 {
            let (tasks, ready) = (tasks.clone(), ready.clone());
            waiters.push(std::thread::spawn(move || {
                ready.wait();
                match kind % 3 {
                    0 => wait(&tasks, WaitFor::FirstCompleted, None).done == [0],
                    1 => {
                        wait(&tasks, WaitFor::AllCompleted, Some(Duration::from_secs(50))).done
                            == [0]
                    }
                    _ => tasks[0].wait_timeout(Duration::from_secs(50)),
                }
            }));
        }
        ready.wait();
        gate.open();
        for waiter in waiters {
            assert!(waiter.join().unwrap());
        }
        let task = Arc::into_inner(tasks).unwrap().pop().unwrap();
        block_on(task).unwrap();
    });
}

#[test]
fn repeated_timed_out_waits_do_not_accumulate() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let tasks = vec![pool.submit(move || g.wait())];
        for _ in 0..2000 {
            let waited = wait(&tasks, WaitFor::AllCompleted, Some(Duration::ZERO));
            assert_eq!(waited.pending, [0]);
            assert!(!tasks[0].wait_timeout(Duration::ZERO));
        }
        gate.open();
        let waited = wait(&tasks, WaitFor::AllCompleted, None);
        assert_eq!(waited.done, [0]);
    });
}

#[test]
fn two_all_completed_waits_over_the_same_tasks_from_two_threads() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let gate = Gate::new();
        let tasks: Arc<Vec<_>> = Arc::new(
            (0..6u32)
                .map(|i| {
                    let g = gate.clone();
                    pool.submit(move || {
                        g.wait();
                        i
                    })
                })
                .collect(),
        );
        let ready = Arc::new(Barrier::new(3));
        let waiters: Vec<_> = (0..2)
            .map(|_| {
                let (tasks, ready) = (tasks.clone(), ready.clone());
                std::thread::spawn(move || {
                    ready.wait();
                    wait(&tasks, WaitFor::AllCompleted, None).done.len()
                })
            })
            .collect();
        ready.wait();
        gate.open();
        for waiter in waiters {
            assert_eq!(waiter.join().unwrap(), 6);
        }
    });
}

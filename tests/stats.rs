//! `Pool::stats`: per-worker counters and CPUs.
mod common;

use common::{eventually, watchdog};
use corepool::{Pinning, Pool};

#[test]
fn tasks_run_add_up_and_idle_workers_park() {
    watchdog(60, || {
        let pool = Pool::builder()
            .workers(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let tasks: Vec<_> = (0..300).map(|i| pool.submit(move || i)).collect();
        for task in tasks {
            task.join().unwrap();
        }
        let stats = pool.stats();
        assert_eq!(stats.workers.len(), 2);
        assert_eq!(stats.tasks_run(), 300);
        assert_eq!(
            stats.workers.iter().map(|w| w.index).collect::<Vec<_>>(),
            [0, 1]
        );
        assert!(stats.workers.iter().all(|w| w.cpu.is_none()));
        // With nothing to do, every worker parks (instead of spinning).
        eventually(|| pool.stats().workers.iter().all(|w| w.times_parked > 0));
    });
}

#[test]
fn work_submitted_on_a_worker_is_stolen_by_an_idle_one() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let p = pool.clone();
        // The outer task pushes a subtask into its own worker's deque and then
        // blocks without helping (a plain channel receive), so only the other
        // worker can run the subtask: by stealing it.
        let outer = pool.submit(move || {
            let (tx, rx) = std::sync::mpsc::channel();
            let me = std::thread::current().id();
            let sub = p.submit(move || tx.send(std::thread::current().id()).unwrap());
            let ran_on = rx.recv().unwrap();
            sub.join().unwrap();
            ran_on != me
        });
        assert!(outer.join().unwrap(), "the subtask ran on the other worker");
        let stats = pool.stats();
        assert_eq!(stats.tasks_stolen(), 1, "{stats:?}");
        assert_eq!(stats.tasks_run(), 2);
    });
}

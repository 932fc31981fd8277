//! Dropping a `Task` detaches it: the task still runs; its result is freed
//! exactly once.
mod common;

use common::{DropCounter, Gate, watchdog};
use corepool::Pool;

#[test]
fn a_dropped_handle_still_runs() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        for i in 0..100 {
            let tx = tx.clone();
            drop(pool.submit(move || tx.send(i).unwrap()));
        }
        drop(tx);
        let mut got: Vec<i32> = rx.iter().collect();
        got.sort_unstable();
        assert_eq!(got, (0..100).collect::<Vec<_>>());
    });
}

#[test]
fn detached_results_and_closures_are_dropped_once() {
    watchdog(60, || {
        let drops = DropCounter::new();
        {
            let pool = Pool::builder().workers(2).build().unwrap();
            let gate = Gate::new();
            let g = gate.clone();
            // Detach some before they run (the gate holds the first worker
            // busy) and some after they finished.
            let blocker = pool.submit(move || g.wait());
            for _ in 0..200 {
                let (captured, returned) = (drops.token(), drops.token());
                drop(pool.submit(move || {
                    let _captured = captured;
                    returned
                }));
            }
            let finished: Vec<_> = (0..200)
                .map(|_| {
                    let returned = drops.token();
                    pool.submit(move || returned)
                })
                .collect();
            gate.open();
            blocker.join().unwrap();
            for task in &finished {
                assert!(task.wait_timeout(std::time::Duration::from_secs(30)));
            }
            drop(finished);
            pool.shutdown();
        }
        assert_eq!(drops.created(), 600);
        drops.assert_all_dropped_once();
    });
}

#[test]
fn joined_results_are_owned_by_the_caller() {
    watchdog(60, || {
        let drops = DropCounter::new();
        let pool = Pool::new().unwrap();
        let token = drops.token();
        let value = pool.submit(move || token).join().unwrap();
        assert_eq!(drops.dropped(), 0, "the joined value is alive in our hands");
        drop(value);
        drops.assert_all_dropped_once();
    });
}

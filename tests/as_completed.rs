//! `as_completed`: every index once, in completion order, finished first,
//! with a typed timeout.
mod common;

use std::time::Duration;

use common::{Gate, OpenOnDrop, watchdog};
use corepool::{Pool, Timeout, as_completed};

#[test]
fn every_index_is_yielded_once() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let tasks: Vec<_> = (0..300u32).map(|i| pool.submit(move || i * 2)).collect();
        let mut seen: Vec<(usize, u32)> =
            as_completed(tasks).map(|(i, r)| (i, r.unwrap())).collect();
        seen.sort_unstable();
        assert_eq!(
            seen,
            (0..300).map(|i| (i, i as u32 * 2)).collect::<Vec<_>>()
        );
    });
}

#[test]
fn finished_tasks_come_first_then_completion_order() {
    watchdog(60, || {
        // Two workers block on the gates; the third runs `done`.
        let pool = Pool::builder().workers(3).build().unwrap();
        let (gate_a, gate_b) = (Gate::new(), Gate::new());
        let _open = (OpenOnDrop(gate_a.clone()), OpenOnDrop(gate_b.clone()));
        let (a, b) = (gate_a.clone(), gate_b.clone());
        let slow_a = pool.submit(move || {
            a.wait();
            "a"
        });
        let slow_b = pool.submit(move || {
            b.wait();
            "b"
        });
        let done = pool.submit(|| "done");
        assert!(done.wait_timeout(Duration::from_secs(30)));
        let mut it = as_completed(vec![slow_a, slow_b, done]);
        assert_eq!(it.next().map(|(i, r)| (i, r.unwrap())), Some((2, "done")));
        gate_b.open();
        assert_eq!(it.next().map(|(i, r)| (i, r.unwrap())), Some((1, "b")));
        gate_a.open();
        assert_eq!(it.next().map(|(i, r)| (i, r.unwrap())), Some((0, "a")));
        assert!(it.next().is_none());
    });
}

#[test]
fn errors_are_yielded_as_results() {
    watchdog(60, || {
        let pool = Pool::new().unwrap();
        let tasks = vec![pool.submit(|| -> u8 { panic!("p") }), pool.submit(|| 1)];
        let mut results: Vec<(usize, bool)> =
            as_completed(tasks).map(|(i, r)| (i, r.is_err())).collect();
        results.sort_unstable();
        assert_eq!(results, [(0, true), (1, false)]);
    });
}

#[test]
fn a_deadline_gives_a_typed_timeout_and_usable_leftovers() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let tasks = vec![
            pool.submit(|| 0),
            pool.submit(move || {
                g.wait();
                1
            }),
        ];
        // Task 0 ends before the deadline starts, so a loaded machine
        // cannot push it past the 10 ms.
        assert!(tasks[0].wait_timeout(Duration::from_secs(30)));
        let mut within = as_completed(tasks).within(Duration::from_millis(10));
        assert_eq!(within.next().unwrap().unwrap().0, 0);
        assert_eq!(
            within.next().unwrap().unwrap_err(),
            Timeout {
                unfinished: 1,
                total: 2
            }
        );
        assert!(within.next().is_none(), "nothing after the timeout");
        assert_eq!(within.remaining(), 1);
        let pending = within.into_pending();
        assert_eq!(pending.len(), 1);
        gate.open();
        let (index, task) = pending.into_iter().next().unwrap();
        assert_eq!((index, task.join().unwrap()), (1, 1));
    });
}

#[test]
fn empty_input_ends_at_once() {
    watchdog(60, || {
        assert_eq!(as_completed(Vec::<corepool::Task<u8>>::new()).count(), 0);
    });
}

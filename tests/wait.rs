//! `wait`: FIRST_COMPLETED, FIRST_PANIC, ALL_COMPLETED, with timeouts.
mod common;

use std::time::Duration;

use common::{Gate, OpenOnDrop, gated, watchdog};
use corepool::{Pool, Task, WaitFor, wait};

#[test]
fn first_completed_returns_at_once_when_one_is_done() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let tasks = vec![gated(&pool, &gate, 0), pool.submit(|| 1)];
        // No timeout: if it waited for the gated task, the watchdog would fire.
        let waited = wait(&tasks, WaitFor::FirstCompleted, None);
        assert_eq!(waited.done, [1]);
        assert_eq!(waited.pending, [0]);
        gate.open();
        let waited = wait(&tasks, WaitFor::AllCompleted, None);
        assert_eq!(waited.done, [0, 1]);
        assert!(waited.pending.is_empty());
    });
}

#[test]
fn first_panic_returns_on_the_panic_with_successes_in_done() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let ok = pool.submit(|| 7);
        assert!(ok.wait_timeout(Duration::from_secs(30)));
        let tasks = vec![
            ok,
            gated(&pool, &gate, 1),
            pool.submit(|| -> u32 { panic!("bad") }),
        ];
        let waited = wait(&tasks, WaitFor::FirstPanic, None);
        assert_eq!(waited.done, [0, 2]);
        assert_eq!(waited.pending, [1]);
        gate.open();
    });
}

#[test]
fn first_panic_without_a_panic_waits_for_all_and_cancelled_is_not_a_panic() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let blocker = gated(&pool, &gate, 0);
        let cancelled = pool.submit(|| 1);
        assert!(cancelled.cancel());
        let tasks = vec![blocker, cancelled];
        let waited = wait(&tasks, WaitFor::FirstPanic, Some(Duration::from_millis(10)));
        assert_eq!(waited.done, [1], "cancelled counts as done");
        assert_eq!(waited.pending, [0], "a cancellation did not end the wait");
        gate.open();
        let waited = wait(&tasks, WaitFor::FirstPanic, None);
        assert_eq!(waited.done, [0, 1]);
    });
}

#[test]
fn a_timeout_returns_normally_with_the_pending_ones() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let tasks = vec![gated(&pool, &gate, 0), gated(&pool, &gate, 1)];
        let waited = wait(
            &tasks,
            WaitFor::AllCompleted,
            Some(Duration::from_millis(5)),
        );
        assert!(waited.done.is_empty());
        assert_eq!(waited.pending, [0, 1]);
        let waited = wait(&tasks, WaitFor::FirstCompleted, Some(Duration::ZERO));
        assert_eq!(waited.pending, [0, 1]);
        gate.open();
        // The handles are still usable after waiting.
        let values: Vec<u32> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(values, [0, 1]);
    });
}

#[test]
fn empty_input_returns_at_once() {
    watchdog(60, || {
        for mode in [
            WaitFor::FirstCompleted,
            WaitFor::FirstPanic,
            WaitFor::AllCompleted,
        ] {
            let waited = wait::<corepool::Task<u8>>(&[], mode, None);
            assert!(waited.done.is_empty() && waited.pending.is_empty());
        }
    });
}

#[test]
fn two_threads_waiting_on_the_same_tasks_both_return() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let tasks = std::sync::Arc::new(vec![gated(&pool, &gate, 0), pool.submit(|| 1)]);
        let (t1, t2) = (tasks.clone(), tasks.clone());
        let a = std::thread::spawn(move || wait(&t1, WaitFor::AllCompleted, None));
        let b = std::thread::spawn(move || wait(&t2, WaitFor::AllCompleted, None));
        gate.open();
        assert_eq!(a.join().unwrap().done, [0, 1]);
        assert_eq!(b.join().unwrap().done, [0, 1]);
    });
}

/// `AllCompleted` watches the last unfinished task, then the one before it
/// (completion.rs): here the tasks end last first, each only after the one
/// behind it has, so the wait has to move back over every one of them.
#[test]
fn all_completed_returns_when_tasks_end_last_first() {
    watchdog(60, || {
        const TASKS: usize = 4;
        let pool = Pool::builder().workers(TASKS).build().unwrap();
        let gates: Vec<Gate> = (0..TASKS).map(|_| Gate::new()).collect();
        let (ended_tx, ended) = std::sync::mpsc::channel::<usize>();
        let tasks: Vec<Task<usize>> = (0..TASKS)
            .map(|i| {
                let (gate, ended_tx) = (gates[i].clone(), ended_tx.clone());
                pool.submit(move || {
                    gate.wait();
                    ended_tx.send(i).unwrap();
                    i * 10
                })
            })
            .collect();
        let opener = std::thread::spawn(move || {
            // A failed check here opens the rest, so the wait ends and the
            // join below re-raises it.
            let _open: Vec<OpenOnDrop> = gates.iter().cloned().map(OpenOnDrop).collect();
            for i in (0..TASKS).rev() {
                gates[i].open();
                assert_eq!(ended.recv().unwrap(), i, "tasks end in the order opened");
            }
        });
        let waited = wait(&tasks, WaitFor::AllCompleted, None);
        assert_eq!(waited.done, [0, 1, 2, 3]);
        assert!(waited.pending.is_empty());
        opener.join().unwrap();
        let values: Vec<usize> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(values, [0, 10, 20, 30]);
    });
}

/// A timed-out `AllCompleted` lists exactly what had ended, including tasks
/// before the one it was watching and tasks after it.
#[test]
fn a_timed_out_all_completed_lists_every_ended_task() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let (one, three) = (pool.submit(|| 1), pool.submit(|| 3));
        assert!(one.wait_timeout(Duration::from_secs(30)));
        assert!(three.wait_timeout(Duration::from_secs(30)));
        let tasks = vec![gated(&pool, &gate, 0), one, gated(&pool, &gate, 2), three];
        let waited = wait(
            &tasks,
            WaitFor::AllCompleted,
            Some(Duration::from_millis(5)),
        );
        assert_eq!(waited.done, [1, 3]);
        assert_eq!(waited.pending, [0, 2]);
        gate.open();
        let waited = wait(&tasks, WaitFor::AllCompleted, None);
        assert_eq!(waited.done, [0, 1, 2, 3]);
        let values: Vec<u32> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
        assert_eq!(values, [0, 1, 2, 3]);
    });
}

/// `FirstPanic` follows the last unfinished task for "all done" and hears of
/// a panic anywhere through wakers that only a panic wakes (completion.rs):
/// a panic among many tasks ends the wait while later tasks are still held.
#[test]
fn first_panic_among_many_returns_while_the_last_tasks_are_held() {
    common::quiet_panics_containing("the hundredth");
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let (gate, go) = (Gate::new(), Gate::new());
        let _open = (OpenOnDrop(gate.clone()), OpenOnDrop(go.clone()));
        let mut tasks: Vec<Task<u32>> = (0..100).map(|i| pool.submit(move || i)).collect();
        // The first hundred end before the panic can start, so `pending`
        // below is exactly the held ones. Tasks start in submission order
        // but need not end in it: on a loaded machine (CI, and 70 runs in
        // 1,000 here beside two busy loops) the worker that took task 62,
        // the last of the injector's first block, was still on it when the
        // other had run on to the panic; the assertion failed, and the
        // pool's drop then waited for the held tasks until the watchdog.
        assert!(wait(&tasks, WaitFor::AllCompleted, None).pending.is_empty());
        let held_go = go.clone();
        tasks.push(pool.submit(move || -> u32 {
            held_go.wait();
            panic!("the hundredth")
        }));
        tasks.extend((101..200).map(|i| gated(&pool, &gate, i)));
        // Opened by another thread, racing the wait's first look: the panic
        // ends the wait whether it comes before or while the wait blocks.
        // No timeout: without the panic's wake-up it would wait for the
        // gate, and the watchdog would fire.
        let opener = std::thread::spawn(move || go.open());
        let waited = wait(&tasks, WaitFor::FirstPanic, None);
        opener.join().unwrap();
        assert!(waited.done.contains(&100), "the panic is among the done");
        assert_eq!(waited.pending, (101..200).collect::<Vec<usize>>());
        // Asked again, it answers at once: a panic is among the done.
        let again = wait(&tasks, WaitFor::FirstPanic, None);
        assert!(again.done.contains(&100));
        gate.open();
        let waited = wait(&tasks, WaitFor::AllCompleted, None);
        assert_eq!(waited.done.len(), 200);
        let panicked: Vec<usize> = tasks
            .into_iter()
            .enumerate()
            .filter_map(|(i, t)| t.join().is_err().then_some(i))
            .collect();
        assert_eq!(panicked, [100]);
    });
}

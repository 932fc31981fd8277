//! `on_result` callbacks on every handle kind see a reference to the
//! outcome, run exactly once — registered before the task ends, while it
//! ends, or after — and never stop `join` from taking the value.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Arc, Barrier};

use common::{DropCounter, Gate, OpenOnDrop, watchdog};
use corepool::Pool;

#[test]
fn a_callback_sees_the_value_and_join_still_gets_it() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let gate = Gate::new();
        let g = gate.clone();
        let task = pool.submit(move || {
            g.wait();
            String::from("value")
        });
        let (tx, rx) = channel();
        task.on_result(move |outcome| tx.send(outcome.unwrap().clone()).unwrap());
        gate.open();
        assert_eq!(rx.recv().unwrap(), "value");
        assert_eq!(task.join().unwrap(), "value");
    });
}

#[test]
fn a_callback_sees_a_panic_a_cancellation_and_a_failure() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (tx, rx) = channel();

        let panicked = pool.submit(|| -> u8 { panic!("expected in this test") });
        let t = tx.clone();
        panicked.on_result(move |o| {
            t.send(o.unwrap_err().panic_message().unwrap().to_owned())
                .unwrap()
        });
        assert_eq!(rx.recv().unwrap(), "expected in this test");
        assert!(
            panicked.join().unwrap_err().is_panic(),
            "still there for join"
        );

        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let blocker = pool.submit(move || g.wait());
        let queued = pool.submit(|| 1u8);
        let t = tx.clone();
        queued.on_result(move |o| t.send(o.unwrap_err().to_string()).unwrap());
        assert!(queued.cancel());
        assert_eq!(rx.recv().unwrap(), "task was cancelled before it started");
        gate.open();
        blocker.join().unwrap();

        let (promise, task) = corepool::promise::<u8>();
        let t = tx.clone();
        task.on_result(move |o| t.send(o.unwrap_err().to_string()).unwrap());
        promise.fail("upstream").unwrap();
        assert_eq!(rx.recv().unwrap(), "task failed: upstream");
    });
}

#[test]
fn a_callback_added_after_the_end_runs_at_once_here() {
    let pool = Pool::builder().workers(1).build().unwrap();
    let task = pool.submit(|| 9u32);
    assert!(task.wait_timeout(std::time::Duration::from_secs(60)));
    let here = std::thread::current().id();
    let seen = Arc::new(std::sync::Mutex::new(None));
    let s = seen.clone();
    task.on_result(move |o| *s.lock().unwrap() = Some((*o.unwrap(), std::thread::current().id())));
    assert_eq!(*seen.lock().unwrap(), Some((9, here)));
    assert_eq!(task.join().unwrap(), 9);
}

/// Callbacks registered from several threads while the task ends: each runs
/// exactly once, every one sees the value, and the value is dropped once.
#[test]
fn callbacks_racing_the_end_each_run_once() {
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let drops = DropCounter::new();
        for _ in 0..300 {
            let ran = Arc::new(AtomicUsize::new(0));
            let start = Arc::new(Barrier::new(4));
            let value = (7u64, drops.token());
            let s = start.clone();
            let task = Arc::new(pool.submit(move || {
                s.wait();
                value
            }));
            let registrars: Vec<_> = (0..3)
                .map(|_| {
                    let (task, ran, start) = (task.clone(), ran.clone(), start.clone());
                    std::thread::spawn(move || {
                        start.wait();
                        for _ in 0..4 {
                            let ran = ran.clone();
                            task.on_result(move |o| {
                                assert_eq!(o.unwrap().0, 7);
                                ran.fetch_add(1, Ordering::SeqCst);
                            });
                        }
                    })
                })
                .collect();
            for r in registrars {
                r.join().unwrap();
            }
            let task = Arc::try_unwrap(task).unwrap();
            assert_eq!(task.join().unwrap().0, 7);
            assert_eq!(ran.load(Ordering::SeqCst), 12);
        }
        assert_eq!(drops.created(), 300);
        assert_eq!(drops.dropped(), 300);
    });
}

#[test]
fn a_panicking_callback_is_contained_and_the_next_runs() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let g = gate.clone();
        let task = pool.submit(move || {
            g.wait();
            3u8
        });
        task.on_result(|_| panic!("expected in this test"));
        let (tx, rx) = channel();
        task.on_result(move |o| tx.send(*o.unwrap()).unwrap());
        gate.open();
        assert_eq!(rx.recv().unwrap(), 3);
        assert_eq!(task.join().unwrap(), 3);
        assert_eq!(pool.submit(|| 4).join().unwrap(), 4, "the worker lives");
    });
}

#[test]
fn a_detached_task_still_runs_its_callbacks() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let g = gate.clone();
        let task = pool.submit(move || {
            g.wait();
            5u8
        });
        let (tx, rx) = channel();
        task.on_result(move |o| tx.send(*o.unwrap()).unwrap());
        drop(task);
        gate.open();
        assert_eq!(rx.recv().unwrap(), 5);
    });
}

#[test]
fn scoped_and_shared_handles_have_on_result_too() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let (tx, rx) = channel();
        let local = 21u32;
        pool.scope(|s| {
            let t = tx.clone();
            s.submit(|| local * 2)
                .on_result(move |o| t.send(*o.unwrap()).unwrap());
        });
        assert_eq!(rx.recv().unwrap(), 42);
        let shared = pool.submit(|| 8u32).shared();
        shared.on_result(move |o| tx.send(*o.unwrap()).unwrap());
        assert_eq!(rx.recv().unwrap(), 8);
    });
}

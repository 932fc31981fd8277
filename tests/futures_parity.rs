//! The rest of `concurrent.futures.Future`: `result(timeout)` as
//! `join_timeout`, `add_done_callback` as `on_done`, `running()` as
//! `is_running`.
mod common;

use std::sync::mpsc::channel;
use std::time::Duration;

use common::{Gate, OpenOnDrop, watchdog};
use corepool::Pool;

#[test]
fn join_timeout_gives_the_handle_back_and_then_the_value() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let task = pool.submit(move || {
            g.wait();
            9
        });
        let task = task.join_timeout(Duration::ZERO).unwrap_err();
        assert!(!task.is_finished());
        gate.open();
        assert_eq!(
            task.join_timeout(Duration::from_secs(60)).unwrap().unwrap(),
            9
        );
    });
}

#[test]
fn on_done_runs_once_on_the_finishing_thread_or_at_once() {
    watchdog(60, || {
        let pool = Pool::builder()
            .workers(1)
            .thread_name(|i| format!("done-{i}"))
            .build()
            .unwrap();
        let gate = Gate::new();
        let g = gate.clone();
        let task = pool.submit(move || g.wait());
        let (tx, rx) = channel();
        for _ in 0..3 {
            let tx = tx.clone();
            task.on_done(move || {
                tx.send(std::thread::current().name().map(str::to_owned))
                    .unwrap()
            });
        }
        gate.open();
        for _ in 0..3 {
            assert_eq!(rx.recv().unwrap().as_deref(), Some("done-0"));
        }
        task.join().unwrap();
        // On a task that has ended: at once, here.
        let ended = pool.submit(|| ());
        assert!(ended.wait_timeout(Duration::from_secs(60)));
        let (tx, rx) = channel();
        ended.on_done(move || tx.send(std::thread::current().id()).unwrap());
        assert_eq!(rx.try_recv().unwrap(), std::thread::current().id());
    });
}

#[test]
fn a_panicking_done_callback_is_contained() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let g = gate.clone();
        let task = pool.submit(move || g.wait());
        task.on_done(|| panic!("callback panicked"));
        gate.open();
        task.join().unwrap();
        assert_eq!(pool.submit(|| 3).join().unwrap(), 3);
    });
}

#[test]
fn on_done_also_fires_for_a_cancelled_task() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let blocker = pool.submit(move || g.wait());
        let queued = pool.submit(|| ());
        let (tx, rx) = channel();
        queued.on_done(move || tx.send(()).unwrap());
        assert!(queued.cancel());
        rx.recv().unwrap();
        gate.open();
        blocker.join().unwrap();
        assert!(queued.join().unwrap_err().is_cancelled());
    });
}

//! `Task::cancel` wins only before the task starts; a cancelled closure is
//! dropped without running.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{DropCounter, Gate, OpenOnDrop, watchdog};
use corepool::Pool;

#[test]
fn cancel_before_start_drops_the_closure_unrun() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let blocker = pool.submit(move || g.wait());
        let ran = Arc::new(AtomicUsize::new(0));
        let drops = DropCounter::new();
        let (r, token) = (ran.clone(), drops.token());
        let queued = pool.submit(move || {
            let _keep = token;
            r.fetch_add(1, Ordering::SeqCst);
        });
        assert!(queued.cancel(), "a queued task can be cancelled");
        assert_eq!(drops.dropped(), 1, "the closure is dropped at once");
        assert!(!queued.cancel(), "cancelling twice wins once");
        assert!(queued.is_finished(), "a cancelled task counts as finished");
        gate.open();
        blocker.join().unwrap();
        let err = queued.join().unwrap_err();
        assert!(err.is_cancelled() && !err.is_panic());
        assert_eq!(err.to_string(), "task was cancelled before it started");
        // Run something after it so the cancelled job has surely left the queue.
        pool.submit(|| ()).join().unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 0, "a cancelled task never runs");
        drops.assert_all_dropped_once();
    });
}

#[test]
fn cancel_while_running_loses_and_the_task_finishes() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let task = pool.submit(move || {
            started_tx.send(()).unwrap();
            g.wait();
            "finished"
        });
        started_rx.recv().unwrap();
        assert!(!task.cancel());
        gate.open();
        assert_eq!(task.join().unwrap(), "finished");
    });
}

#[test]
fn cancel_after_finish_loses() {
    watchdog(60, || {
        let pool = Pool::new().unwrap();
        let task = pool.submit(|| 9);
        assert!(task.wait_timeout(Duration::from_secs(30)));
        assert!(!task.cancel());
        assert_eq!(task.join().unwrap(), 9);
    });
}

#[test]
fn cancel_from_another_thread_resolves_the_handle() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let blocker = pool.submit(move || g.wait());
        let queued = Arc::new(std::sync::Mutex::new(Some(pool.submit(|| 1))));
        // Another thread cancels while this one waits with wait_timeout.
        let q = queued.clone();
        let canceller = std::thread::spawn(move || q.lock().unwrap().as_ref().unwrap().cancel());
        assert!(canceller.join().unwrap());
        let task = queued.lock().unwrap().take().unwrap();
        assert!(task.wait_timeout(Duration::from_secs(30)));
        assert!(task.join().unwrap_err().is_cancelled());
        gate.open();
        blocker.join().unwrap();
    });
}

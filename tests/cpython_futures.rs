//! CPython's `test_concurrent_futures` cases that round two could not port,
//! written against corepool under their CPython names: shared futures read
//! many times, duplicate futures in `as_completed` and `wait`, done
//! callbacks that receive the future, promises (`Future()` with
//! `set_result` / `set_exception`), submit after shutdown, and the timeout
//! message.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::channel;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Gate, OpenOnDrop, watchdog};
use corepool::{Pool, Timeout, WaitFor, Watch, as_completed, wait};

// FutureTests.test_result_with_success, read from many clones and twice.
#[test]
fn test_result_with_success() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let shared = pool.submit(|| vec![1u32, 2, 3]).shared();
        let readers: Vec<_> = (0..4)
            .map(|_| {
                let mine = shared.clone();
                std::thread::spawn(move || mine.join().unwrap().iter().sum::<u32>())
            })
            .collect();
        for reader in readers {
            assert_eq!(reader.join().unwrap(), 6);
        }
        assert_eq!(shared.join().unwrap(), &[1, 2, 3]);
        assert_eq!(shared.join().unwrap(), &[1, 2, 3], "read again");
        assert!(shared.is_finished() && !shared.cancelled());
    });
}

// FutureTests.test_exception_with_success / test_result_with_cancel.
#[test]
fn test_result_with_cancel() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let blocker = pool.submit(move || g.wait());
        let shared = pool.submit(|| 1).shared();
        assert!(shared.clone().cancel());
        gate.open();
        blocker.join().unwrap();
        assert!(shared.cancelled());
        assert!(shared.join().unwrap_err().is_cancelled());
        assert!(shared.clone().join().unwrap_err().is_cancelled());
    });
}

// AsCompletedTests.test_duplicate_futures: a future given three times is
// yielded once.
#[test]
fn test_duplicate_futures() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let future = pool.submit(|| 5).shared();
        let completed: Vec<_> = as_completed(vec![future.clone(), future.clone(), future.clone()])
            .map(|(index, f)| (index, *f.join().unwrap()))
            .collect();
        assert_eq!(completed, [(0, 5)]);

        // WaitTests: wait([f, f]) answers for each position.
        let waited = wait(&[future.clone(), future], WaitFor::AllCompleted, None);
        assert_eq!(waited.done, [0, 1]);
        assert!(waited.pending.is_empty());
    });
}

// Shared futures in as_completed with a pending one, and wait over handles
// of different result types through `&dyn Watch`.
#[test]
fn test_wait_mixed_result_types() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let number = pool.submit(|| 7u64);
        let text = pool.submit(move || {
            g.wait();
            String::from("late")
        });
        let both: [&dyn Watch; 2] = [&number, &text];
        let first = wait(&both, WaitFor::FirstCompleted, None);
        assert_eq!(first.done, [0]);
        assert_eq!(first.pending, [1]);
        gate.open();
        let order: Vec<usize> = as_completed(both).map(|(index, _)| index).collect();
        assert_eq!(order, [0, 1]);
        assert_eq!(number.join().unwrap(), 7);
        assert_eq!(text.join().unwrap(), "late");
    });
}

// FutureTests.test_done_callback_with_result: the callback gets the future.
#[test]
fn test_done_callback_with_result() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let g = gate.clone();
        let (tx, rx) = channel();
        let future = pool
            .submit(move || {
                g.wait();
                5
            })
            .shared();
        future.on_done(move |f| tx.send(*f.join().unwrap()).unwrap());
        gate.open();
        assert_eq!(rx.recv().unwrap(), 5);
    });
}

// FutureTests.test_done_callback_with_exception.
#[test]
fn test_done_callback_with_exception() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (tx, rx) = channel();
        let future = pool.submit(|| -> u8 { panic!("test exception") }).shared();
        future.on_done(move |f| {
            tx.send(f.join().unwrap_err().panic_message().map(str::to_owned))
                .unwrap()
        });
        assert_eq!(rx.recv().unwrap().as_deref(), Some("test exception"));
    });
}

// FutureTests.test_done_callback_with_cancel.
#[test]
fn test_done_callback_with_cancel() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let blocker = pool.submit(move || g.wait());
        let future = pool.submit(|| 1).shared();
        let (tx, rx) = channel();
        future.on_done(move |f| tx.send(f.cancelled()).unwrap());
        assert!(future.cancel());
        assert!(rx.recv().unwrap());
        gate.open();
        blocker.join().unwrap();
    });
}

// FutureTests.test_done_callback_raises: a raising callback is contained,
// the next one still runs.
#[test]
fn test_done_callback_raises() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let raising_was_called = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = channel();
        let gate = Gate::new();
        let g = gate.clone();
        let future = pool
            .submit(move || {
                g.wait();
                5
            })
            .shared();
        let r = raising_was_called.clone();
        future.on_done(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
            panic!("doh! (expected in this test)");
        });
        future.on_done(move |f| tx.send(*f.join().unwrap()).unwrap());
        gate.open();
        assert_eq!(rx.recv().unwrap(), 5);
        assert_eq!(raising_was_called.load(Ordering::SeqCst), 1);
        // The pool lives on.
        assert_eq!(pool.submit(|| 6).join().unwrap(), 6);
    });
}

// FutureTests.test_done_callback_already_successful: added after the end,
// it runs at once.
#[test]
fn test_done_callback_already_successful() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let future = pool.submit(|| 5).shared();
        future.join().unwrap();
        let seen = Arc::new(Mutex::new(None));
        let s = seen.clone();
        future.on_done(move |f| *s.lock().unwrap() = Some(*f.join().unwrap()));
        assert_eq!(
            *seen.lock().unwrap(),
            Some(5),
            "ran at once, on this thread"
        );
    });
}

// FutureTests.test_set_result / test_result_with_success on a promise.
#[test]
fn test_set_result() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (promise, task) = corepool::promise::<u32>();
        let future = task.shared();
        let waiter = {
            let f = future.clone();
            std::thread::spawn(move || *f.join().unwrap())
        };
        // The promise is settled from a pool task, as a bridge would.
        pool.submit(move || promise.set(42).unwrap())
            .join()
            .unwrap();
        assert_eq!(waiter.join().unwrap(), 42);
        assert_eq!(future.join().unwrap(), &42);
    });
}

// FutureTests.test_set_exception, and wait(FIRST_EXCEPTION) seeing it.
#[test]
fn test_set_exception() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let slow = pool.submit(move || g.wait());
        let (promise, failing) = corepool::promise::<u32>();
        promise
            .fail(std::io::Error::other("set_exception"))
            .unwrap();
        let both: [&dyn Watch; 2] = [&slow, &failing];
        let waited = wait(&both, WaitFor::FirstPanic, None);
        assert_eq!(waited.done, [1]);
        gate.open();
        slow.join().unwrap();
        let err = failing.join().unwrap_err();
        assert!(err.is_failed() && !err.is_panic());
        let io = err.failure().unwrap().downcast_ref::<std::io::Error>();
        assert_eq!(io.unwrap().to_string(), "set_exception");
        assert_eq!(err.to_string(), "task failed: set_exception");
    });
}

// A promise dropped unset ends its task (no waiter hangs), in as_completed too.
#[test]
fn test_abandoned_promise_ends_its_task() {
    watchdog(60, || {
        let (promise, task) = corepool::promise::<u32>();
        let waiter = std::thread::spawn(move || task.join());
        drop(promise);
        assert!(waiter.join().unwrap().unwrap_err().is_abandoned());

        let (kept, first) = corepool::promise::<u32>();
        let (dropped, second) = corepool::promise::<u32>();
        drop(dropped);
        let mut done = as_completed(vec![first, second]);
        let (index, result) = done.next().unwrap();
        assert_eq!(index, 1);
        assert!(result.unwrap_err().is_abandoned());
        kept.set(1).unwrap();
        assert_eq!(done.next().unwrap().1.unwrap(), 1);
    });
}

// A cancelled promise's task refuses the value.
#[test]
fn test_set_result_after_cancel() {
    let (promise, task) = corepool::promise::<String>();
    assert!(task.cancel());
    assert!(promise.is_cancelled());
    assert_eq!(promise.set("late".to_owned()), Err("late".to_owned()));
    assert!(task.join().unwrap_err().is_cancelled());
}

// ThreadPoolShutdownTest.test_run_after_shutdown: submit after shutdown
// raises at once.
#[test]
fn test_run_after_shutdown() {
    let pool = Pool::builder().workers(1).build().unwrap();
    assert_eq!(pool.try_submit(|| 1).unwrap().join().unwrap(), 1);
    pool.shutdown();
    let err = pool.try_submit(|| 2).unwrap_err();
    assert_eq!(err.to_string(), "cannot submit: the pool has shut down");
    assert_eq!(err.into_inner()(), 2, "the closure comes back unrun");
}

// AsCompletedTests.test_correct_timeout_exception_msg: "n (of m) futures
// unfinished".
#[test]
fn test_correct_timeout_exception_msg() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let _open = OpenOnDrop(gate.clone());
        let g = gate.clone();
        let tasks = vec![
            pool.submit(|| 0),
            pool.submit(move || {
                g.wait();
                1
            }),
            pool.submit(|| 2),
        ];
        // Task 0 ends before the deadline starts, so a loaded machine
        // cannot push it past the 20 ms.
        assert!(tasks[0].wait_timeout(Duration::from_secs(30)));
        let mut within = as_completed(tasks).within(Duration::from_millis(20));
        let first = within.next().unwrap().unwrap();
        assert_eq!(first.0, 0);
        let timeout = within.next().unwrap().unwrap_err();
        assert_eq!(
            timeout,
            Timeout {
                unfinished: 2,
                total: 3
            }
        );
        assert_eq!(
            timeout.to_string(),
            "timed out with 2 of 3 tasks unfinished"
        );
        gate.open();
        for (_, task) in within.into_pending() {
            task.join().unwrap();
        }
    });
}

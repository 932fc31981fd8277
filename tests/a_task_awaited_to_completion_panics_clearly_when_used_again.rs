//! Awaiting a `Task` to completion moves its result out of the task. Later
//! calls on the same handle that need the result once panicked inside the
//! crate (`unreachable!("a completed task has an outcome")` in `on_result`,
//! "task result taken twice" in `join`, `shared().join()`, `as_completed`,
//! and a second poll). Each now panics with a message naming the mistake, at
//! the caller's line where it is a method call; what can be answered without
//! the value is answered (`is_finished`, `wait_timeout`, `on_done`, `wait`,
//! `as_completed` over a reference).
mod common;

use std::cell::RefCell;
use std::future::Future;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::pin::Pin;
use std::sync::Once;
use std::sync::mpsc::channel;
use std::task::{Context, Waker};
use std::time::Duration;

use common::{block_on, watchdog};
use corepool::{Pool, Task, WaitFor, as_completed, wait};

/// What every one of these panics says.
const MARKER: &str = "taken by .await";

thread_local! {
    /// Where this thread's last panic was raised: (file, message).
    static LAST_PANIC: RefCell<Option<(String, String)>> = const { RefCell::new(None) };
}

/// A panic hook that records each panic's location and message on the
/// panicking thread, and keeps the expected ones out of the log.
fn record_panics() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let message = common::panic_text(info.payload())
                .unwrap_or_default()
                .to_owned();
            let file = info
                .location()
                .map(|l| l.file().to_owned())
                .unwrap_or_default();
            if !message.contains(MARKER) {
                default(info);
            }
            LAST_PANIC.with(|last| *last.borrow_mut() = Some((file, message)));
        }));
    });
}

/// A task of a one-worker pool, awaited to completion.
fn awaited(pool: &Pool) -> Task<u32> {
    let mut task = pool.submit(|| 5_u32);
    assert_eq!(block_on(&mut task).unwrap(), 5);
    task
}

/// Runs `call`, which must panic; returns (file, message) of the panic.
fn panic_of(call: impl FnOnce()) -> (String, String) {
    record_panics();
    LAST_PANIC.with(|last| last.borrow_mut().take());
    let outcome = catch_unwind(AssertUnwindSafe(call));
    assert!(outcome.is_err(), "the call did not panic");
    LAST_PANIC
        .with(|last| last.borrow_mut().take())
        .expect("the hook saw the panic")
}

/// The panic names the mistake and points at the caller's line in this file.
fn assert_names_the_mistake(api: &str, (file, message): (String, String)) {
    assert!(
        message.contains(MARKER) && message.contains(api),
        "{api}: unexpected panic message {message:?}"
    );
    assert!(
        !message.contains("internal error"),
        "{api}: internal panic {message:?}"
    );
    assert!(
        file.ends_with("a_task_awaited_to_completion_panics_clearly_when_used_again.rs"),
        "{api}: the panic blames {file}, not the caller"
    );
}

#[test]
fn join_after_await_names_the_mistake() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let task = awaited(&pool);
        assert_names_the_mistake("Task::join", panic_of(|| drop(task.join())));
    });
}

#[test]
fn join_timeout_after_await_names_the_mistake() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let task = awaited(&pool);
        assert_names_the_mistake(
            "Task::join_timeout",
            panic_of(|| drop(task.join_timeout(Duration::from_secs(60)))),
        );
    });
}

#[test]
fn on_result_after_await_names_the_mistake_and_never_calls_back() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let task = awaited(&pool);
        let (tx, rx) = channel::<()>();
        assert_names_the_mistake(
            "Task::on_result",
            panic_of(|| task.on_result(move |_| tx.send(()).unwrap())),
        );
        // The callback was dropped unrun: the channel is closed.
        assert!(rx.recv().is_err());
    });
}

#[test]
fn shared_after_await_names_the_mistake() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let task = awaited(&pool);
        assert_names_the_mistake(
            "Task::shared",
            panic_of(|| {
                let _ = task.shared().join().copied();
            }),
        );
    });
}

#[test]
fn a_second_poll_names_the_mistake() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let mut task = awaited(&pool);
        let (_, message) = panic_of(|| {
            let mut cx = Context::from_waker(Waker::noop());
            let _ = Pin::new(&mut task).poll(&mut cx);
        });
        assert!(message.contains(MARKER), "unexpected panic {message:?}");
        assert!(
            !message.contains("internal error"),
            "internal panic {message:?}"
        );
    });
}

#[test]
fn as_completed_yielding_an_awaited_task_names_the_mistake() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let task = awaited(&pool);
        let (_, message) = panic_of(|| drop(as_completed(vec![task]).next()));
        assert!(
            message.contains(MARKER) && message.contains("as_completed"),
            "unexpected panic {message:?}"
        );
        assert!(
            !message.contains("internal error"),
            "internal panic {message:?}"
        );
    });
}

#[test]
fn what_needs_no_value_still_answers() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let task = awaited(&pool);
        assert!(task.is_finished());
        assert!(!task.is_running());
        assert!(!task.cancel());
        assert!(task.wait_timeout(Duration::from_secs(60)));
        assert!(format!("{task:?}").contains("returned"));
        let (tx, rx) = channel();
        task.on_done(move || tx.send(()).unwrap());
        rx.recv().unwrap();
        // `wait` and `as_completed` over a reference count it as finished.
        let waited = wait(&[&task], WaitFor::AllCompleted, None);
        assert_eq!(waited.done, [0]);
        let seen: Vec<usize> = as_completed(vec![&task]).map(|(i, _)| i).collect();
        assert_eq!(seen, [0]);
        let waited = wait(std::slice::from_ref(&task), WaitFor::FirstCompleted, None);
        assert_eq!(waited.done, [0]);
        drop(task);
    });
}

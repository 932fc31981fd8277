//! Loom models of the task state machine (`mod.rs`, "The state word").

use super::*;
use loom::sync::atomic::{AtomicBool, AtomicUsize as LoomUsize};
use std::sync::Arc;
use std::task::Waker;

fn counting_cell(
    runs: &Arc<LoomUsize>,
) -> CellRc<TaskCell<impl FnOnce() -> u32 + Send + use<>, u32>> {
    let runs = runs.clone();
    CellRc::new(TaskCell::new(
        move || {
            runs.fetch_add(1, Ordering::SeqCst);
            7
        },
        None,
        0,
        0,
    ))
}

#[test]
fn cancel_racing_with_start() {
    loom::model(|| {
        let runs = Arc::new(LoomUsize::new(0));
        let cell = counting_cell(&runs);
        let runner = {
            let cell = cell.clone();
            loom::thread::spawn(move || cell.run())
        };
        let cancelled = cell.abort(Abort::Cancelled);
        runner.join().unwrap();
        let ran = runs.load(Ordering::SeqCst);
        if cancelled {
            assert_eq!((ran, cell.header.stage()), (0, Stage::Cancelled));
        } else {
            assert_eq!((ran, cell.header.stage()), (1, Stage::Complete));
        }
    });
}

/// A blocked `join` (register a thread waker, park) racing with the run
/// through a queue reference that frees its count: the joiner is woken
/// and gets the value; loom reports a deadlock if a wake-up is lost. The
/// queue reference is made as `submit` makes it (`new_ref_unshared`, the
/// count stored), and the joiner may take `CellRc`'s count-of-one path
/// when the run let go first (loom explores the interleavings, but does not
/// see the cell freed: `rc.rs` says what checked that path's ordering).
#[test]
fn join_racing_with_completion() {
    loom::model(|| {
        let runs = Arc::new(LoomUsize::new(0));
        let cell = counting_cell(&runs);
        // SAFETY: nothing is borrowed, and the cell was just made: `cell`
        // is its only reference and no other thread has seen it.
        let job = unsafe { TaskCell::new_ref_unshared(&cell) };
        let handle = Handle::new(cell);
        let runner = loom::thread::spawn(move || job.execute());
        assert_eq!(handle.join().unwrap(), 7);
        runner.join().unwrap();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    });
}

/// Two threads blocked on the same task: both are woken.
#[test]
fn two_waiters_racing_with_completion() {
    let mut builder = loom::model::Builder::new();
    builder.preemption_bound = Some(2);
    builder.check(|| {
        let runs = Arc::new(LoomUsize::new(0));
        let cell = counting_cell(&runs);
        let other = {
            let cell = cell.clone();
            loom::thread::spawn(move || assert!(cell.header.block_until(None)))
        };
        let runner = {
            let cell = cell.clone();
            loom::thread::spawn(move || cell.run())
        };
        assert!(cell.header.block_until(None));
        other.join().unwrap();
        runner.join().unwrap();
    });
}

struct FlagWaker(AtomicBool);

impl std::task::Wake for FlagWaker {
    fn wake(self: Arc<Self>) {
        self.0.store(true, Ordering::SeqCst);
    }
}

#[test]
fn waker_registration_racing_with_completion() {
    loom::model(|| {
        let runs = Arc::new(LoomUsize::new(0));
        let cell = counting_cell(&runs);
        let flag = Arc::new(FlagWaker(AtomicBool::new(false)));
        let waker = Waker::from(flag.clone());
        let runner = {
            let cell = cell.clone();
            loom::thread::spawn(move || cell.run())
        };
        let ready_at_once = cell.header.register(&waker, None).is_none();
        runner.join().unwrap();
        // Either registration saw the end, or the runner woke the waker.
        assert!(ready_at_once || flag.0.load(Ordering::SeqCst));
    });
}

struct Counted(Arc<LoomUsize>);

impl Drop for Counted {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn detach_racing_with_completion() {
    loom::model(|| {
        let drops = Arc::new(LoomUsize::new(0));
        let d = drops.clone();
        let cell = CellRc::new(TaskCell::new(move || Counted(d), None, 0, 0));
        // SAFETY: nothing is borrowed.
        let job = unsafe { TaskCell::new_ref(&cell) };
        let handle = Handle::new(cell);
        // Whichever of the run and the detach comes last, the result is
        // dropped exactly once and the cell freed by the last count.
        let runner = loom::thread::spawn(move || job.execute());
        drop(handle);
        runner.join().unwrap();
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    });
}

/// Rule 6: an outcome callback registered while the task completes runs
/// exactly once and sees the value, whichever side runs it; then the
/// value is still there for the handle.
#[test]
fn result_callback_racing_with_completion() {
    loom::model(|| {
        let runs = Arc::new(LoomUsize::new(0));
        let cell = counting_cell(&runs);
        let seen = Arc::new(LoomUsize::new(0));
        let runner = {
            let cell = cell.clone();
            loom::thread::spawn(move || cell.run())
        };
        let s = seen.clone();
        cell.header.on_result(Box::new(move |outcome| {
            assert_eq!(outcome.ok().copied(), Some(7));
            s.fetch_add(1, Ordering::SeqCst);
        }));
        runner.join().unwrap();
        assert_eq!(seen.load(Ordering::SeqCst), 1);
        // SAFETY: the runner has finished; this is the only reader.
        assert_eq!(unsafe { cell.header.take_result() }.unwrap(), 7);
    });
}

/// `wait` for the first panic puts a panic-only waker on every task
/// (`Header::register_for_panic`): registered while the task ends, it is
/// woken exactly when the task ended in a panic, or its registration says
/// the task had ended; a plain waker beside it is woken at any end; and no
/// waker outlives the end in the task's list. (`settle` is the promise's
/// way to the same ending a run has: `publish`, then `finished`.)
#[test]
fn panic_only_waker_racing_with_completion() {
    for panics in [false, true] {
        loom::model(move || {
            let runs = Arc::new(LoomUsize::new(0));
            let cell = counting_cell(&runs);
            let on_panic = Arc::new(FlagWaker(AtomicBool::new(false)));
            let on_end = Arc::new(FlagWaker(AtomicBool::new(false)));
            let runner = {
                let cell = cell.clone();
                loom::thread::spawn(move || {
                    let outcome: Result<u32, crate::unwind::Payload> = match panics {
                        true => Err(Box::new("boom")),
                        false => Ok(7),
                    };
                    assert!(cell.settle(outcome, false).is_ok());
                })
            };
            let panic_key = cell
                .header
                .register_for_panic(&Waker::from(on_panic.clone()));
            let end_key = cell.header.register(&Waker::from(on_end.clone()), None);
            runner.join().unwrap();
            assert!(end_key.is_none() || on_end.0.load(Ordering::SeqCst));
            let panic_woken = on_panic.0.load(Ordering::SeqCst);
            if panic_key.is_some() {
                assert_eq!(panic_woken, panics, "woken by a panic alone");
            } else {
                assert!(!panic_woken, "a waker not kept is never woken");
            }
            assert_eq!(cell.header.panicked(), panics);
            // Every clone the list held was woken or dropped at the end.
            assert_eq!(Arc::strong_count(&on_panic), 1);
            assert_eq!(Arc::strong_count(&on_end), 1);
        });
    }
}

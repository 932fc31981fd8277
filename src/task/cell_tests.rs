//! Unit tests of the task cell (`cell.rs`): the state word's bits, runs
//! and aborts, queue references, and the waiter list.

use super::*;
use crate::wait::thread_waker;
use std::sync::Arc;

#[test]
fn stage_bits_do_not_overlap_the_flags() {
    for stage in [
        SCHEDULED, RUNNING, COMPLETE, CANCELLED, REFUSED, STOPPED, ABANDONED,
    ] {
        assert_eq!(
            stage
                & (WAITER
                    | DETACHED
                    | PANICKED
                    | CANCEL_REQUESTED
                    | CANCEL_SEEN
                    | FAILED
                    | RESULT_CB),
            0
        );
        assert_eq!(stage & STAGE, stage);
        assert_eq!(Stage::of(stage | WAITER | DETACHED), Stage::of(stage));
    }
    assert_eq!(COMPLETE - RUNNING + RUNNING, COMPLETE);
}

#[test]
fn run_then_abort_does_nothing() {
    let cell = TaskCell::new(|| 5, None, 0, 0);
    cell.run();
    assert!(!cell.abort(Abort::Cancelled));
    assert_eq!(cell.header.stage(), Stage::Complete);
}

#[test]
fn abort_then_run_never_runs() {
    let cell = TaskCell::new(|| -> u8 { panic!("must not run") }, None, 0, 0);
    assert!(cell.abort(Abort::Refused));
    cell.run();
    assert_eq!(cell.header.stage(), Stage::Refused);
}

#[test]
fn a_queue_reference_runs_the_cell_and_frees_it_last() {
    let cell = CellRc::new(TaskCell::new(|| 7_u32, None, 0, 0));
    // SAFETY: nothing is borrowed.
    let job = unsafe { TaskCell::new_ref(&cell) };
    assert_eq!(cell.count(), 2);
    let handle = Handle::new(cell);
    job.execute();
    assert_eq!(handle.join().unwrap(), 7);
}

#[test]
fn a_dropped_queue_reference_cancels_its_task() {
    let cell = CellRc::new(TaskCell::new(|| 7_u32, None, 0, 0));
    // SAFETY: nothing is borrowed.
    let job = unsafe { TaskCell::new_ref(&cell) };
    let handle = Handle::new(cell);
    drop(job);
    assert!(handle.join().unwrap_err().is_cancelled());
}

#[test]
fn every_waiter_is_woken_and_a_timed_out_one_leaves_the_list() {
    let cell = CellRc::new(TaskCell::new(|| 1_u8, None, 0, 0));
    let header = &cell.header;
    let first = header.register(&thread_waker(), None).unwrap();
    let second = header.register(&thread_waker(), None).unwrap();
    assert_ne!(first, second);
    header.deregister(first);
    assert_eq!(header.waiter_count(), 1);
    // Re-registering under a live key replaces the entry.
    assert_eq!(header.register(&thread_waker(), Some(second)), Some(second));
    assert_eq!(header.waiter_count(), 1);
    cell.run();
    assert_eq!(header.waiter_count(), 0);
    assert_eq!(header.register(&thread_waker(), None), None);
}

/// Counts its wake-ups.
struct Counting(std::sync::atomic::AtomicUsize);

impl std::task::Wake for Counting {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    }
}

#[test]
fn a_panic_only_waiter_is_woken_by_a_panic_alone_and_dropped_otherwise() {
    type Cell = TaskCell<fn() -> u8, u8>;
    let end = |cell: &Cell, how: &str| match how {
        "returned" => assert!(cell.run()),
        "cancelled" => assert!(cell.abort(Abort::Cancelled)),
        _ => assert!(cell.abort(Abort::Refused)),
    };
    for how in ["returned", "cancelled", "refused"] {
        let cell: Cell = TaskCell::new(|| 1, None, 0, 0);
        let counting = Arc::new(Counting(Default::default()));
        let waker = Waker::from(counting.clone());
        let key = cell.header.register_for_panic(&waker).unwrap();
        assert_ne!(key & PANIC_ONLY, 0);
        let plain = cell.header.register(&waker, None).unwrap();
        assert_eq!(plain & PANIC_ONLY, 0, "a plain waiter's key is unmarked");
        drop(waker);
        end(&cell, how);
        // The plain waiter was woken, the panic-only one was not; both
        // left the list and were dropped.
        assert_eq!(
            counting.0.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "{how}"
        );
        assert_eq!(Arc::strong_count(&counting), 1, "{how}: a waker kept");
        assert_eq!(cell.header.waiter_count(), 0);
    }
    let cell: Cell = TaskCell::new(|| panic!("boom"), None, 0, 0);
    let counting = Arc::new(Counting(Default::default()));
    cell.header
        .register_for_panic(&Waker::from(counting.clone()))
        .unwrap();
    cell.run();
    assert_eq!(
        counting.0.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "panicked"
    );
    assert_eq!(Arc::strong_count(&counting), 1);
    // Ended: nothing is registered.
    assert_eq!(cell.header.register_for_panic(&thread_waker()), None);
}

#[test]
fn a_small_task_fits_a_cell_block() {
    use crate::slots::{Cells, fits_layout};
    use std::alloc::Layout;
    // The submit of a closure capturing a few words and returning a word or
    // a `String` takes a recycled block (`slots.rs`, "Task cells").
    fn layout_of<F: FnOnce() -> T, T>(_: &F) -> Layout {
        Layout::new::<TaskCell<F, T>>()
    }
    let (a, b, c) = (1_u64, 2_u64, 3_u64);
    let words = move || a + b + c;
    let text = move || format!("{a}");
    assert!(
        fits_layout::<Cells>(layout_of(&words)),
        "{:?}",
        layout_of(&words)
    );
    assert!(
        fits_layout::<Cells>(layout_of(&text)),
        "{:?}",
        layout_of(&text)
    );
    let big = [0_u64; 16];
    let too_big = move || big[0];
    assert!(!fits_layout::<Cells>(layout_of(&too_big)));
    // A big cell takes the allocator's path and still runs and frees.
    let cell = CellRc::new(TaskCell::new(too_big, None, 0, 0));
    // SAFETY: nothing is borrowed.
    let job = unsafe { TaskCell::new_ref(&cell) };
    let handle = Handle::new(cell);
    job.execute();
    assert_eq!(handle.join().unwrap(), 0);
}

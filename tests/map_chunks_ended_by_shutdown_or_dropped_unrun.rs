//! Two ways a map's chunk ends without running, found by an adversarial
//! reader: `shutdown_now` while the map is read gives the map's own panic
//! naming the shutdown (it was an internal "into_panic called on a task
//! that did not panic"), and a chunk dropped unrun whose input items panic
//! in `Drop` drops each of them once (the input `Vec`'s own drop aborted the
//! process at the second panicking destructor).
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

use common::{quiet_panics_containing, watchdog};
use corepool::Pool;

const BOMB: &str = "input item's drop panics on purpose";

#[test]
fn shutdown_now_while_mapping_panics_naming_the_shutdown() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let stopper = pool.clone();
        let mut out = pool
            .map(0..100u32, move |i| {
                if i == 0 {
                    // Cancels the chunks still queued behind this one.
                    stopper.shutdown_now();
                }
                i
            })
            .chunk_size(1)
            .window(4)
            // A deadline keeps the consumer from running a queued chunk
            // itself (it may without one): item 0's `shutdown_now` there
            // would race the worker for item 1.
            .within(Duration::from_secs(60));
        assert_eq!(out.next(), Some(Ok(0)));
        let payload = catch_unwind(AssertUnwindSafe(|| out.next())).unwrap_err();
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .unwrap_or_default();
        assert!(
            message.contains("the pool was shut down while mapping"),
            "got: {message:?}"
        );
    });
}

/// An input item whose `Drop` counts itself, then panics.
struct Bomb(Arc<AtomicUsize>);

impl Drop for Bomb {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("{BOMB}");
    }
}

#[test]
fn inputs_of_a_chunk_dropped_unrun_are_dropped_once_each() {
    quiet_panics_containing(BOMB);
    watchdog(60, || {
        let made = Arc::new(AtomicUsize::new(0));
        let dropped = Arc::new(AtomicUsize::new(0));
        let mapped = Arc::new(AtomicUsize::new(0));
        let pool = Pool::builder().workers(1).build().unwrap();
        let (go, gate) = mpsc::channel::<()>();
        let gate = Mutex::new(gate);
        let input = {
            let (made, dropped) = (made.clone(), dropped.clone());
            (0..100).map(move |_| {
                made.fetch_add(1, Ordering::SeqCst);
                Bomb(dropped.clone())
            })
        };
        let f = {
            let mapped = mapped.clone();
            move |bomb: Bomb| {
                // Mapped items are kept from dropping (and counted).
                std::mem::forget(bomb);
                mapped.fetch_add(1, Ordering::SeqCst);
                // Each item waits for the test, or for the gate to close.
                let _ = gate.lock().unwrap().recv();
                1u32
            }
        };
        // A deadline keeps the consumer from running a queued chunk itself
        // (it may without one): that chunk and the worker's would share the
        // four messages below, and wait for more that only come after.
        let mut out = pool
            .map(input, f)
            .chunk_size(4)
            .window(3)
            .within(Duration::from_secs(60));
        for _ in 0..4 {
            go.send(()).unwrap();
        }
        assert_eq!(out.next(), Some(Ok(1)));
        // The first chunk is done and a fourth was read in its place; the
        // second holds the worker at its first item (or has not started);
        // the third and fourth are queued: dropping the map cancels them,
        // and their eight panicking inputs are dropped unrun.
        drop(out);
        drop(go);
        pool.shutdown();
        let (made, dropped, mapped) = (
            made.load(Ordering::SeqCst),
            dropped.load(Ordering::SeqCst),
            mapped.load(Ordering::SeqCst),
        );
        assert_eq!(made, 16, "four chunks of four were read");
        assert_eq!(dropped + mapped, made, "each input dropped or mapped, once");
        assert!(dropped >= 8, "the queued chunks' inputs were dropped unrun");
    });
}

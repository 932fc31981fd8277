//! `Pool::map`: input order, lazy bounded input, panics at the right item,
//! cancellation on drop, exact size.
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{Gate, watchdog};
use corepool::Pool;

#[test]
fn results_come_in_input_order() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        // Items of uneven cost, so chunks finish out of order.
        let out: Vec<u64> = pool
            .map(0..2000u64, |x| {
                if x % 7 == 0 {
                    std::hint::black_box((0..5_000u64).sum::<u64>());
                }
                x * 2
            })
            .collect();
        assert_eq!(out, (0..2000u64).map(|x| x * 2).collect::<Vec<_>>());
    });
}

#[test]
fn endless_input_runs_in_bounded_memory() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let read = Arc::new(AtomicUsize::new(0));
        let r = read.clone();
        let input = (0u64..).inspect(move |_| {
            r.fetch_add(1, Ordering::SeqCst);
        });
        let out: Vec<u64> = pool
            .map(input, |x| x + 1)
            .chunk_size(10)
            .window(3)
            .take(25)
            .collect();
        assert_eq!(out, (1..=25).collect::<Vec<_>>());
        // 25 taken; at most one window (3 chunks of 10) read beyond the chunk
        // being consumed.
        let read = read.load(Ordering::SeqCst);
        assert!(read <= 30 + 30, "read {read} items of an endless input");
    });
}

#[test]
fn a_panic_is_re_raised_at_its_item_after_the_results_before_it() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let mut it = pool
            .map(0..100u32, |x| if x == 42 { panic!("item {x}") } else { x })
            .chunk_size(8);
        for expected in 0..42 {
            assert_eq!(it.next(), Some(expected));
        }
        let caught =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| it.next())).unwrap_err();
        assert_eq!(
            caught.downcast_ref::<String>().map(String::as_str),
            Some("item 42")
        );
    });
}

#[test]
fn results_of_fallible_closures_collect_into_result() {
    watchdog(60, || {
        let pool = Pool::new().unwrap();
        let ok: Result<Vec<u32>, String> = pool.map(1..=4u32, |x| Ok::<_, String>(x * 3)).collect();
        assert_eq!(ok.unwrap(), [3, 6, 9, 12]);
        let err: Result<Vec<u32>, String> = pool
            .map(1..=4u32, |x| {
                if x == 3 {
                    Err(format!("bad {x}"))
                } else {
                    Ok(x)
                }
            })
            .collect();
        assert_eq!(err.unwrap_err(), "bad 3");
    });
}

#[test]
fn dropping_the_iterator_cancels_chunks_not_started() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let g = gate.clone();
        let (started_tx, started_rx) = std::sync::mpsc::channel();
        let started_tx = std::sync::Mutex::new(started_tx);
        let runs = Arc::new(AtomicUsize::new(0));
        let r = runs.clone();
        let mut it = pool
            .map(0..1000u32, move |x| {
                r.fetch_add(1, Ordering::SeqCst);
                if x == 1 {
                    // Hold the only worker inside item 1.
                    started_tx.lock().unwrap().send(()).unwrap();
                    g.wait();
                }
                x
            })
            .chunk_size(1)
            .window(5);
        assert_eq!(it.next(), Some(0));
        // Chunks 1..=5 are in flight; the worker is stuck in item 1, so
        // chunks 2..=5 are still queued when the iterator is dropped.
        started_rx.recv().unwrap();
        drop(it);
        gate.open();
        pool.shutdown();
        assert_eq!(
            runs.load(Ordering::SeqCst),
            2,
            "only items 0 and 1 ever ran"
        );
    });
}

#[test]
fn exact_size_when_the_input_is() {
    watchdog(60, || {
        let pool = Pool::new().unwrap();
        let mut it = pool.map(vec![1, 2, 3, 4, 5], |x| x * 10);
        assert_eq!(it.len(), 5);
        assert_eq!(it.next(), Some(10));
        assert_eq!(it.len(), 4);
        let rest: Vec<_> = it.collect();
        assert_eq!(rest, [20, 30, 40, 50]);
        let unordered = pool.map_unordered(0..7, |x| x);
        assert_eq!(unordered.len(), 7);
    });
}

#[test]
fn empty_input_yields_nothing() {
    watchdog(60, || {
        let pool = Pool::new().unwrap();
        assert_eq!(pool.map(Vec::<u8>::new(), |x| x).count(), 0);
        assert_eq!(pool.map_unordered(Vec::<u8>::new(), |x| x).count(), 0);
    });
}

#[test]
fn map_inside_a_task_does_not_deadlock_with_one_worker() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let p = pool.clone();
        let total = pool.submit(move || p.map(0..500u64, |x| x).sum::<u64>());
        assert_eq!(total.join().unwrap(), 124_750);
    });
}

/// The consumer runs chunks itself when no worker takes them: a map completes
/// even while the pool's only worker is blocked.
#[test]
fn the_consumer_runs_chunks_while_every_worker_is_busy() {
    common::watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = common::Gate::new();
        let (busy_tx, busy) = std::sync::mpsc::channel();
        let g = gate.clone();
        let blocker = pool.submit(move || {
            busy_tx.send(()).unwrap();
            g.wait();
        });
        busy.recv().unwrap();
        let out: Vec<u64> = pool.map(0..1000u64, |x| x * 2).collect();
        assert_eq!(out, (0..1000u64).map(|x| x * 2).collect::<Vec<_>>());
        let mut unordered: Vec<u64> = pool.map_unordered(0..100u64, |x| x + 1).collect();
        unordered.sort_unstable();
        assert_eq!(unordered, (1..=100u64).collect::<Vec<_>>());
        gate.open();
        blocker.join().unwrap();
    });
}

/// `within`: values before the deadline, then one timeout, then nothing.
#[test]
fn a_map_with_a_deadline_reports_the_timeout_once() {
    common::watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = common::Gate::new();
        let _open = common::OpenOnDrop(gate.clone());
        let g = gate.clone();
        let mut map = pool
            .map(0..4u32, move |i| {
                if i == 2 {
                    g.wait();
                }
                i
            })
            .chunk_size(1)
            .window(1);
        // The values before the deadline are taken before it starts, so a
        // loaded machine cannot push them past it (an ordered map's
        // consumer helps only with the front chunk: never item 2 here).
        assert_eq!(map.next(), Some(0));
        assert_eq!(map.next(), Some(1));
        let mut out = map.within(std::time::Duration::from_millis(50));
        assert!(out.next().unwrap().is_err());
        assert!(out.next().is_none());
        gate.open();
    });
}

#[test]
fn len_counts_a_panicking_item_as_the_call_that_raises_it() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let f = |x: u32| {
            assert!(x != 1, "item 1 panics");
            x
        };
        let mut out = pool.map(0..3u32, f).chunk_size(3);
        assert_eq!(out.len(), 3);
        assert_eq!(out.next(), Some(0));
        assert_eq!(out.len(), 2, "one call raises, one returns 2");
        assert!(catch_unwind(AssertUnwindSafe(|| out.next())).is_err());
        assert_eq!(out.len(), 1);
        assert_eq!(out.next(), Some(2));
        assert_eq!(out.len(), 0);
        assert!(out.next().is_none());
    });
}

//! A map reuses its chunks' buffers: a chunk's emptied input buffer and the
//! values buffer of a chunk handed out in full are filled again by later
//! chunks. Whatever way the map ends (read to the end past caught panics,
//! dropped half read, a `fold` whose closure panics), every input item and
//! every value is dropped exactly once, and the values still line up with
//! their inputs.
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{DropCounter, Token, watchdog};
use corepool::Pool;

const ITEMS: usize = 5_000;

/// An input item and the value mapped from it both carry a counted token.
struct Item(usize, #[allow(dead_code)] Token);
struct Value(usize, #[allow(dead_code)] Token);

fn inputs(counter: &DropCounter) -> impl Iterator<Item = Item> + Send + 'static {
    let counter = counter.clone();
    (0..ITEMS).map(move |i| Item(i, counter.token()))
}

fn mapper(counter: &DropCounter) -> impl Fn(Item) -> Value + Send + Sync + 'static {
    let counter = counter.clone();
    move |Item(i, _token)| {
        if i % 613 == 5 {
            panic!("item {i} panics");
        }
        Value(i * 3, counter.token())
    }
}

/// Every chunk has run (or been cancelled) and every handle is gone.
fn settle(pool: Pool) {
    pool.shutdown();
    drop(pool);
}

#[test]
fn an_ordered_map_read_to_the_end_hands_out_every_value_once() {
    watchdog(120, || {
        let counter = DropCounter::new();
        let pool = Pool::builder().workers(2).build().unwrap();
        // Small chunks and a small window: buffers go round many times.
        let mut out = pool
            .map(inputs(&counter), mapper(&counter))
            .chunk_size(7)
            .window(3);
        for i in 0..ITEMS {
            match catch_unwind(AssertUnwindSafe(|| out.next())) {
                Ok(Some(Value(v, _))) => assert_eq!(v, i * 3, "input {i}"),
                Ok(None) => panic!("ended early, at input {i}"),
                Err(_) => assert_eq!(i % 613, 5, "input {i} re-raised a panic"),
            }
        }
        assert!(out.next().is_none());
        drop(out);
        settle(pool);
        assert_eq!(counter.created(), 2 * ITEMS - ITEMS.div_ceil(613));
        counter.assert_all_dropped_once();
    });
}

#[test]
fn an_adaptive_map_read_to_the_end_hands_out_every_value_once() {
    watchdog(120, || {
        let counter = DropCounter::new();
        let pool = Pool::builder().workers(2).build().unwrap();
        // Adaptive chunk sizes: buffers grow as chunks do.
        let values: Vec<Value> = pool
            .map(0..50_000usize, {
                let counter = counter.clone();
                move |i| Value(i * 7, counter.token())
            })
            .collect();
        assert_eq!(values.len(), 50_000);
        assert!(values.iter().enumerate().all(|(i, v)| v.0 == i * 7));
        drop(values);
        settle(pool);
        counter.assert_all_dropped_once();
    });
}

#[test]
fn a_map_dropped_half_read_drops_what_it_never_handed_out() {
    watchdog(120, || {
        for unordered in [false, true] {
            let counter = DropCounter::new();
            let pool = Pool::builder().workers(2).build().unwrap();
            let mut out: Box<dyn Iterator<Item = Value>> = if unordered {
                Box::new(
                    pool.map_unordered(inputs(&counter), mapper(&counter))
                        .chunk_size(5)
                        .window(4),
                )
            } else {
                Box::new(
                    pool.map(inputs(&counter), mapper(&counter))
                        .chunk_size(5)
                        .window(4),
                )
            };
            let mut read = 0;
            while read < ITEMS / 2 {
                if let Ok(Some(_)) = catch_unwind(AssertUnwindSafe(|| out.next())) {
                    read += 1;
                }
            }
            drop(out);
            settle(pool);
            assert!(counter.created() > ITEMS / 2, "unordered: {unordered}");
            counter.assert_all_dropped_once();
        }
    });
}

#[test]
fn a_fold_whose_closure_panics_drops_the_values_it_never_folded() {
    watchdog(120, || {
        let counter = DropCounter::new();
        let pool = Pool::builder().workers(2).build().unwrap();
        let out = pool
            .map(0..ITEMS, {
                let counter = counter.clone();
                move |i| Value(i, counter.token())
            })
            .chunk_size(11)
            .window(3);
        let folded = catch_unwind(AssertUnwindSafe(|| {
            out.fold(0usize, |n, Value(i, _)| {
                assert_eq!(i, n, "folded in order");
                if i == 2_345 {
                    panic!("fold stops at {i}");
                }
                n + 1
            })
        }));
        assert!(folded.is_err());
        settle(pool);
        assert!(counter.created() > 2_345);
        counter.assert_all_dropped_once();
    });
}

//! Property tests: `map` equals the sequential `Iterator::map`, and
//! `map_unordered` yields the same multiset, for random inputs, chunk sizes
//! and worker counts; and however a map with heap values and panicking
//! items is read (to the end, or dropped part way), its values line up with
//! their inputs and every one is dropped exactly once, across the chunk
//! buffers it reuses.
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{DropCounter, Token, quiet_panics_containing, watchdog};
use corepool::Pool;
use proptest::prelude::*;

/// A heap value whose drop is counted.
struct Counted(String, #[allow(dead_code)] Token);

/// The message of the items this file makes panic on purpose.
const ON_PURPOSE: &str = "panics on purpose";

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn map_equals_sequential_map(
        items in proptest::collection::vec(any::<u32>(), 0..600),
        chunk in proptest::option::of(1usize..64),
        window in 1usize..6,
        workers in 1usize..4,
    ) {
        let pool = Pool::builder().workers(workers).build().unwrap();
        let f = |x: u32| x.wrapping_mul(2_654_435_761).rotate_left(7);
        let expected: Vec<u32> = items.iter().copied().map(f).collect();
        let it = pool.map(items.clone(), f).window(window);
        let got: Vec<u32> = match chunk {
            Some(chunk) => it.chunk_size(chunk).collect(),
            None => it.collect(),
        };
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn map_unordered_yields_the_same_multiset(
        items in proptest::collection::vec(any::<u16>(), 0..600),
        chunk in 1usize..64,
        workers in 1usize..4,
    ) {
        let pool = Pool::builder().workers(workers).build().unwrap();
        let mut expected: Vec<u32> = items.iter().map(|&x| u32::from(x) * 3).collect();
        let mut got: Vec<u32> = pool.map_unordered(items, |x| u32::from(x) * 3).chunk_size(chunk).collect();
        expected.sort_unstable();
        got.sort_unstable();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn a_map_read_any_way_hands_out_each_value_once_in_order(
        len in 0usize..400,
        panic_every in proptest::option::of(3usize..40),
        chunk in proptest::option::of(1usize..16),
        window in 1usize..5,
        workers in 1usize..4,
        read in proptest::option::of(0usize..400),
    ) {
        quiet_panics_containing(ON_PURPOSE);
        watchdog(120, move || {
            let counter = DropCounter::new();
            let pool = Pool::builder().workers(workers).build().unwrap();
            let panics = move |i: usize| panic_every.is_some_and(|every| i % every == 1);
            let f = {
                let counter = counter.clone();
                move |i: usize| {
                    assert!(!panics(i), "item {i} {ON_PURPOSE}");
                    Counted(format!("v{i}"), counter.token())
                }
            };
            let map = pool.map(0..len, f).window(window);
            let mut map = match chunk {
                Some(chunk) => map.chunk_size(chunk),
                None => map,
            };
            let stop = read.map_or(len, |read| read.min(len));
            for i in 0..stop {
                match catch_unwind(AssertUnwindSafe(|| map.next())) {
                    Ok(Some(Counted(value, _))) => assert_eq!(value, format!("v{i}")),
                    Ok(None) => panic!("ended at {i} of {len}"),
                    Err(_) => assert!(panics(i), "input {i} raised a panic"),
                }
            }
            if stop == len {
                assert!(map.next().is_none());
            }
            drop(map);
            pool.shutdown();
            drop(pool);
            counter.assert_all_dropped_once();
        });
    }
}

//! A panicking item of a chunked map is re-raised at its own position, and a
//! caller that catches it and goes on iterating gets every later item, in
//! input order. Before the fix the rest of the panicking item's chunk was
//! skipped silently, so results no longer lined up with inputs.
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::watchdog;
use corepool::Pool;

fn f(x: u32) -> u32 {
    if x % 7 == 3 {
        panic!("item {x} panics");
    }
    x * 2
}

#[test]
fn ordered_map_lines_up_with_its_inputs_after_caught_panics() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let mut out = pool.map(0..40u32, f).chunk_size(3);
        for x in 0..40u32 {
            match catch_unwind(AssertUnwindSafe(|| out.next())) {
                Ok(Some(value)) => assert_eq!(value, f(x), "input {x}"),
                Ok(None) => panic!("ended early, at input {x}"),
                Err(_) => assert_eq!(x % 7, 3, "input {x} re-raised a panic"),
            }
        }
        assert!(out.next().is_none());
    });
}

#[test]
fn unordered_map_yields_every_other_item_after_caught_panics() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let mut out = pool.map_unordered(0..40u32, f).chunk_size(3);
        let mut values = Vec::new();
        let mut panics = 0;
        loop {
            match catch_unwind(AssertUnwindSafe(|| out.next())) {
                Ok(Some(value)) => values.push(value),
                Ok(None) => break,
                Err(_) => panics += 1,
            }
        }
        values.sort_unstable();
        let expected: Vec<u32> = (0..40).filter(|x| x % 7 != 3).map(|x| x * 2).collect();
        assert_eq!(values, expected);
        assert_eq!(panics, (0..40).filter(|x| x % 7 == 3).count());
    });
}

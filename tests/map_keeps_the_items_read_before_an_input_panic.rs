//! An input iterator that panics in the middle of a chunk: the panic
//! reaches the caller of `next` at once, and the items of that chunk read
//! before it are still mapped and yielded, in order, by the calls after a
//! caught panic, followed by the items after the panicking one. Before the
//! fix they were dropped with the chunk being built, silently.
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{quiet_panics_containing, unpinned_pool, watchdog};

/// 0..20 whose item `k` panics.
fn input_panicking_at(k: u32) -> impl Iterator<Item = u32> {
    (0..20u32).inspect(move |&i| {
        if i == k {
            panic!("input item {k} panics");
        }
    })
}

/// Every item but `k`, mapped.
fn expected(k: u32) -> Vec<u32> {
    (0..20u32).filter(|&i| i != k).map(|i| i * 3).collect()
}

/// Drives `next` to the end, catching panics: the values and how many
/// panics were raised.
fn drain_catching(mut next: impl FnMut() -> Option<u32>) -> (Vec<u32>, usize) {
    let (mut values, mut panics) = (Vec::new(), 0);
    loop {
        match catch_unwind(AssertUnwindSafe(&mut next)) {
            Ok(Some(value)) => values.push(value),
            Ok(None) => return (values, panics),
            Err(_) => {
                panics += 1;
                assert!(panics < 10, "the map keeps panicking");
            }
        }
    }
}

#[test]
fn ordered_map_yields_what_was_read_before_an_input_panic_in_order() {
    quiet_panics_containing("input item");
    watchdog(60, || {
        let pool = unpinned_pool(2);
        // Item 3 is inside the first chunk of 5; item 10 starts a chunk.
        for k in [3, 10, 12] {
            let mut out = pool.map(input_panicking_at(k), |x| x * 3).chunk_size(5);
            let (values, panics) = drain_catching(|| out.next());
            assert_eq!(panics, 1, "k = {k}");
            assert_eq!(values, expected(k), "k = {k}");
        }
    });
}

#[test]
fn unordered_map_yields_everything_read_before_an_input_panic() {
    quiet_panics_containing("input item");
    watchdog(60, || {
        let pool = unpinned_pool(2);
        for k in [3, 10, 12] {
            let mut out = pool
                .map_unordered(input_panicking_at(k), |x| x * 3)
                .chunk_size(5);
            let (mut values, panics) = drain_catching(|| out.next());
            values.sort_unstable();
            assert_eq!(panics, 1, "k = {k}");
            assert_eq!(values, expected(k), "k = {k}");
        }
    });
}

//! An input iterator that panics in the middle of a chunk: the panic
//! reaches the caller of `next` at once, and the items of that chunk read
//! before it are still mapped and yielded, in order, by the calls after a
//! caught panic, followed by the items after the panicking one. Before the
//! fix they were dropped with the chunk being built, silently.
mod common;

use common::{drain_catching, quiet_panics_containing, unpinned_pool, watchdog};
use corepool::Pool;

/// Item `i` of an input whose item `k` panics.
fn item(i: u32, k: u32) -> u32 {
    if i == k {
        panic!("input item {k} panics");
    }
    i
}

/// Every item of 0..20 but `k`, mapped.
fn expected(k: u32) -> Vec<u32> {
    (0..20u32).filter(|&i| i != k).map(|i| i * 3).collect()
}

/// Maps `input` (0..20, item `k` panics) in chunks of 5, in order or not,
/// and checks what comes out after the caught panic.
fn check(pool: &Pool, input: impl Iterator<Item = u32>, k: u32, ordered: bool) {
    let (values, panics) = if ordered {
        let mut out = pool.map(input, |x| x * 3).chunk_size(5);
        drain_catching(|| out.next())
    } else {
        let mut out = pool.map_unordered(input, |x| x * 3).chunk_size(5);
        let (mut values, panics) = drain_catching(|| out.next());
        values.sort_unstable();
        (values, panics)
    };
    assert_eq!(panics, 1, "k = {k}, ordered = {ordered}");
    assert_eq!(values, expected(k), "k = {k}, ordered = {ordered}");
}

/// Both kinds of input: a `map` over a range, which the map's `Vec::extend`
/// takes as `TrustedLen` (writing through a length guard), and one through
/// `inspect`, which it takes one item at a time. Item 3 is inside the first
/// chunk of 5, item 10 starts a chunk, item 12 is inside a later one.
fn check_both_inputs(ordered: bool) {
    let pool = unpinned_pool(2);
    for k in [3, 10, 12] {
        check(&pool, (0..20u32).map(move |i| item(i, k)), k, ordered);
        let untrusted = (0..20u32).inspect(move |&i| {
            item(i, k);
        });
        check(&pool, untrusted, k, ordered);
    }
}

#[test]
fn ordered_map_yields_what_was_read_before_an_input_panic_in_order() {
    quiet_panics_containing("input item");
    watchdog(60, || check_both_inputs(true));
}

#[test]
fn unordered_map_yields_everything_read_before_an_input_panic() {
    quiet_panics_containing("input item");
    watchdog(60, || check_both_inputs(false));
}

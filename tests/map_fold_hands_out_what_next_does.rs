//! `Map` and `MapUnordered` override `fold` (what `for_each`, `sum` and
//! `count` use) to hand a chunk's values out in one loop. Property tests: a
//! fold sees exactly what `next` would — the values in order up to the
//! first item whose closure panicked, then that item's panic — and a fold
//! started after some `next` calls sees the rest.
use std::panic::{self, AssertUnwindSafe};

use corepool::Pool;
use proptest::prelude::*;

fn f(x: u32) -> u64 {
    if x % 97 == 13 {
        panic!("item {x}");
    }
    u64::from(x).wrapping_mul(2_654_435_761)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn fold_stops_at_the_first_panic_with_every_value_before_it(
        items in proptest::collection::vec(0u32..1000, 0..400),
        chunk in proptest::option::of(1usize..40),
        skip in 0usize..50,
        workers in 1usize..4,
    ) {
        let pool = Pool::builder().workers(workers).build().unwrap();
        let mut map = pool.map(items.clone(), f);
        if let Some(chunk) = chunk {
            map = map.chunk_size(chunk);
        }
        // What the items yield in order, up to the first panic.
        let first_panic = items.iter().position(|x| x % 97 == 13);
        let clean = first_panic.unwrap_or(items.len());
        let skip = skip.min(clean);
        let expected: Vec<u64> = items[..clean].iter().map(|&x| f(x)).collect();

        let mut seen = Vec::new();
        for _ in 0..skip {
            seen.push(map.next().unwrap());
        }
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            map.for_each(|v| seen.push(v));
        }));
        prop_assert_eq!(&seen, &expected);
        match first_panic {
            None => prop_assert!(outcome.is_ok()),
            Some(at) => {
                let payload = outcome.expect_err("the fold reaches a panicking item");
                let message = payload.downcast_ref::<String>().cloned().unwrap_or_default();
                prop_assert_eq!(message, format!("item {}", items[at]));
            }
        }
    }

    #[test]
    fn unordered_fold_totals_what_next_totals(
        items in proptest::collection::vec(0u32..1000, 0..400),
        chunk in 1usize..40,
        skip in 0usize..50,
        workers in 1usize..4,
    ) {
        let pool = Pool::builder().workers(workers).build().unwrap();
        let g = |x: u32| u64::from(x) * 3;
        let expected: u64 = items.iter().map(|&x| g(x)).sum();
        let mut map = pool.map_unordered(items.clone(), g).chunk_size(chunk);
        let mut total = 0u64;
        let mut count = 0usize;
        for _ in 0..skip.min(items.len()) {
            total += map.next().unwrap();
            count += 1;
        }
        let (sum, n) = map.fold((0u64, 0usize), |(s, n), v| (s + v, n + 1));
        prop_assert_eq!(total + sum, expected);
        prop_assert_eq!(count + n, items.len());
    }
}

/// `sum` and `count`, which go through `fold`, equal the loop's.
#[test]
fn sum_and_count_through_fold_match_the_loop() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let n = 100_000u64;
    let sum: u64 = pool.map(0..n, |x| x * 2).sum();
    assert_eq!(sum, (0..n).map(|x| x * 2).sum::<u64>());
    assert_eq!(pool.map(0..n, |x| x + 1).count(), n as usize);
    assert_eq!(
        pool.map_unordered(0..n, |x| x % 7).sum::<u64>(),
        (0..n).map(|x| x % 7).sum::<u64>()
    );
}

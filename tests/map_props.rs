//! Property tests: `map` equals the sequential `Iterator::map`, and
//! `map_unordered` yields the same multiset, for random inputs, chunk sizes
//! and worker counts.
use corepool::Pool;
use proptest::prelude::*;

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
}

//! Property tests: every parallel sort gives std's order (the stable ones
//! exactly, equal keys in input order), on random inputs long enough to be
//! split and merged in parallel, inside pools of 1..=4 workers.
use corepool::Pool;
use corepool::prelude::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

    #[test]
    fn sorts_equal_std(
        items in prop_oneof![
            1 => proptest::collection::vec(any::<u32>(), 0..100),
            3 => proptest::collection::vec(0u32..1000, 0..20_000),
        ],
        workers in 1usize..=4,
        presorted in any::<bool>(),
    ) {
        let pool = Pool::builder().workers(workers).build().unwrap();
        let mut items = items;
        if presorted {
            // Two sorted halves, and runs: the merge's shortcuts.
            let mid = items.len() / 2;
            items[..mid].sort_unstable();
        }
        // Pairs (key, original index): stability is visible.
        let pairs: Vec<(u32, usize)> = items.iter().map(|&x| (x % 64, 0)).enumerate().map(|(i, (k, _))| (k, i)).collect();
        pool.install(|| {
            let mut expected = items.clone();
            expected.sort_unstable();
            let mut v = items.clone();
            v.par_sort();
            assert_eq!(v, expected);
            let mut v = items.clone();
            v.par_sort_unstable();
            assert_eq!(v, expected);
            let mut v = items.clone();
            v.par_sort_unstable_by(|a, b| b.cmp(a));
            assert!(v.iter().eq(expected.iter().rev()));

            let mut expected = pairs.clone();
            expected.sort_by_key(|p| p.0);
            let mut v = pairs.clone();
            v.par_sort_by_key(|p| p.0);
            assert_eq!(&v, &expected);
            let mut v = pairs.clone();
            v.par_sort_by(|a, b| a.0.cmp(&b.0));
            assert_eq!(&v, &expected);
            let mut v = pairs.clone();
            v.par_sort_unstable_by_key(|p| p.0);
            assert!(v.windows(2).all(|w| w[0].0 <= w[1].0));
            v.sort_unstable();
            let mut all = pairs.clone();
            all.sort_unstable();
            assert_eq!(v, all);
        });
    }
}

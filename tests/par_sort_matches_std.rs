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

/// Zero-sized items sort at once, as `std`'s sorts do, however many: the
/// unstable sort's pivot sample overflowed on `usize::MAX` of them (a
/// panic in a debug build) and walked all of them (an endless loop in a
/// release build). The comparator is never asked, as with `std`.
#[test]
fn zero_sized_items_sort_at_once_however_many() {
    use corepool::prelude::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let pool = corepool::Pool::builder().workers(2).build().unwrap();
    let asked = AtomicUsize::new(0);
    pool.install(|| {
        for len in [0, 1, 10_000, 1 << 26, usize::MAX] {
            let mut v = vec![(); len];
            v.par_sort_unstable();
            v.par_sort();
            v.par_sort_unstable_by(|a, b| {
                asked.fetch_add(1, Ordering::Relaxed);
                a.cmp(b)
            });
            v.par_sort_by(|a, b| {
                asked.fetch_add(1, Ordering::Relaxed);
                a.cmp(b)
            });
            assert_eq!(v.len(), len);
        }
    });
    assert_eq!(asked.load(Ordering::Relaxed), 0);
}

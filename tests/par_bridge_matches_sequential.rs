//! `par_bridge()` on any sequential iterator gives what the sequential
//! iterator gives (same items, same order), on the current pool (random
//! sizes 1..=4) or the default pool.
use corepool::Pool;
use corepool::prelude::*;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn par_bridge_matches_sequential(
        items in proptest::collection::vec(any::<u32>(), 0..2000),
        workers in 1usize..=4,
    ) {
        let pool = Pool::builder().workers(workers).build().unwrap();
        let seq: Vec<u64> = items.iter().filter(|x| *x % 3 != 0).map(|&x| u64::from(x) * 2).collect();
        let (got, on_pool) = pool.install(|| {
            let got: Vec<u64> = items.iter().filter(|x| *x % 3 != 0).par_bridge().map(|&x| u64::from(x) * 2).collect();
            let on_pool = items.iter().par_bridge().map(|_| Pool::current().map(|p| p.workers())).collect::<Vec<_>>();
            (got, on_pool)
        });
        prop_assert_eq!(&got, &seq);
        prop_assert!(on_pool.iter().all(|w| *w == Some(workers)));
        // Outside any pool: the default pool; `&mut` items too.
        let mut copy = items.clone();
        copy.iter_mut().par_bridge().for_each(|x| *x = x.wrapping_add(1));
        prop_assert_eq!(copy, items.iter().map(|x| x.wrapping_add(1)).collect::<Vec<_>>());
        prop_assert_eq!(items.iter().par_bridge().count(), items.len());
    }
}

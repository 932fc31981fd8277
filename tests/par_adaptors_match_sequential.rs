//! Property tests: every adaptor of `Par` gives what the same adaptor of the
//! sequential iterator gives, for random inputs, worker counts 1..=4 and
//! random minimum / maximum piece lengths.
use corepool::Pool;
use proptest::prelude::*;

fn pool(workers: usize) -> Pool {
    Pool::builder().workers(workers).build().unwrap()
}

fn items() -> impl Strategy<Value = Vec<u32>> {
    prop_oneof![
        1 => Just(vec![]),
        1 => any::<u32>().prop_map(|x| vec![x]),
        6 => proptest::collection::vec(any::<u32>(), 0..2000),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn unindexed_adaptors_equal_sequential(
        items in items(),
        workers in 1usize..=4,
        min_len in 0usize..40,
        max_len in prop_oneof![Just(usize::MAX), 1usize..200],
    ) {
        let pool = pool(workers);
        let par = || pool.par(&items).with_min_len(min_len).with_max_len(max_len);
        // filter, filter_map, flat_map_iter, flat_map, flatten, inspect, copied, cloned
        prop_assert_eq!(
            par().filter(|x| *x % 3 == 0).copied().collect::<Vec<_>>(),
            items.iter().filter(|x| *x % 3 == 0).copied().collect::<Vec<_>>()
        );
        prop_assert_eq!(
            par().filter_map(|&x| (x % 5 != 0).then_some(x / 5)).collect::<Vec<_>>(),
            items.iter().filter_map(|&x| (x % 5 != 0).then_some(x / 5)).collect::<Vec<_>>()
        );
        prop_assert_eq!(
            par().flat_map_iter(|&x| 0..x % 4).collect::<Vec<_>>(),
            items.iter().flat_map(|&x| 0..x % 4).collect::<Vec<_>>()
        );
        prop_assert_eq!(
            par().flat_map(|&x| vec![x; (x % 3) as usize]).collect::<Vec<_>>(),
            items.iter().flat_map(|&x| vec![x; (x % 3) as usize]).collect::<Vec<_>>()
        );
        let nested: Vec<Vec<u32>> = items.iter().map(|&x| vec![x; (x % 3) as usize]).collect();
        prop_assert_eq!(
            pool.par(nested.clone()).with_min_len(min_len).flatten().collect::<Vec<_>>(),
            nested.into_iter().flatten().collect::<Vec<_>>()
        );
        let seen = std::sync::atomic::AtomicUsize::new(0);
        let got: Vec<u32> = par().cloned().inspect(|_| {
            seen.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }).collect();
        prop_assert_eq!(&got, &items);
        prop_assert_eq!(seen.into_inner(), items.len());
        // map_init, map_with: one state per piece, results as map's.
        let got: Vec<u64> = par().map_init(|| 7u64, |s, &x| *s + u64::from(x)).collect();
        prop_assert_eq!(got, items.iter().map(|&x| 7 + u64::from(x)).collect::<Vec<_>>());
        let got: Vec<u64> = par().filter(|x| *x % 2 == 0).map_with(3u64, |s, &x| *s * u64::from(x)).collect();
        prop_assert_eq!(got, items.iter().filter(|x| *x % 2 == 0).map(|&x| 3 * u64::from(x)).collect::<Vec<_>>());
    }

    #[test]
    fn indexed_adaptors_equal_sequential(
        items in items(),
        other in items(),
        workers in 1usize..=4,
        min_len in 0usize..40,
        n in 0usize..2500,
        step in 1usize..20,
    ) {
        let pool = pool(workers);
        let par = || pool.par(&items).with_min_len(min_len).map(|&x| u64::from(x) * 3);
        let seq = || items.iter().map(|&x| u64::from(x) * 3);
        prop_assert_eq!(par().len(), items.len());
        prop_assert_eq!(
            par().zip(&other).map(|(a, &b)| a + u64::from(b)).collect::<Vec<_>>(),
            seq().zip(&other).map(|(a, &b)| a + u64::from(b)).collect::<Vec<_>>()
        );
        prop_assert_eq!(
            par().zip(pool.par(&other).copied()).collect::<Vec<_>>(),
            seq().zip(other.iter().copied()).collect::<Vec<_>>()
        );
        prop_assert_eq!(par().enumerate().collect::<Vec<_>>(), seq().enumerate().collect::<Vec<_>>());
        prop_assert_eq!(par().rev().collect::<Vec<_>>(), seq().rev().collect::<Vec<_>>());
        prop_assert_eq!(par().rev().enumerate().collect::<Vec<_>>(), seq().rev().enumerate().collect::<Vec<_>>());
        prop_assert_eq!(par().skip(n).collect::<Vec<_>>(), seq().skip(n).collect::<Vec<_>>());
        prop_assert_eq!(par().take(n).collect::<Vec<_>>(), seq().take(n).collect::<Vec<_>>());
        prop_assert_eq!(par().step_by(step).collect::<Vec<_>>(), seq().step_by(step).collect::<Vec<_>>());
        let other64: Vec<u64> = other.iter().map(|&x| u64::from(x)).collect();
        prop_assert_eq!(
            par().chain(pool.par(&other64).copied()).collect::<Vec<_>>(),
            seq().chain(other64.iter().copied()).collect::<Vec<_>>()
        );
        prop_assert_eq!(
            par().chunks(step).collect::<Vec<_>>(),
            seq().collect::<Vec<_>>().chunks(step).map(<[u64]>::to_vec).collect::<Vec<_>>()
        );
        // Owned items through the indexed adaptors: every one moved or dropped once.
        let strings: Vec<String> = items.iter().map(|x| x.to_string()).collect();
        prop_assert_eq!(
            pool.par(strings.clone()).skip(n / 2).take(n).rev().step_by(step).collect::<Vec<_>>(),
            strings.into_iter().skip(n / 2).take(n).rev().step_by(step).collect::<Vec<_>>()
        );
    }

    #[test]
    fn reductions_equal_sequential(
        items in items(),
        workers in 1usize..=4,
        min_len in 0usize..40,
    ) {
        let pool = pool(workers);
        let par = || pool.par(&items).with_min_len(min_len);
        prop_assert_eq!(par().count(), items.len());
        prop_assert_eq!(par().filter(|x| *x % 7 == 1).count(), items.iter().filter(|x| *x % 7 == 1).count());
        let small = || items.iter().map(|&x| u64::from(x % 3 + 1)).take(30);
        prop_assert_eq!(
            par().take(30).map(|&x| u64::from(x % 3 + 1)).product::<u64>(),
            small().product::<u64>()
        );
        // Keys with many ties: which of the equal items wins must match std.
        let key = |x: &&u32| **x % 16;
        prop_assert_eq!(par().min_by_key(key), items.iter().min_by_key(key));
        prop_assert_eq!(par().max_by_key(key), items.iter().max_by_key(key));
        let cmp = |a: &&u32, b: &&u32| (**a % 16).cmp(&(**b % 16));
        prop_assert_eq!(par().min_by(cmp).map(|x| x as *const u32), items.iter().min_by(cmp).map(|x| x as *const u32));
        prop_assert_eq!(par().max_by(cmp).map(|x| x as *const u32), items.iter().max_by(cmp).map(|x| x as *const u32));
        prop_assert_eq!(
            par().map(|&x| u64::from(x)).reduce_with(|a, b| a.wrapping_add(b)),
            items.iter().map(|&x| u64::from(x)).reduce(|a, b| a.wrapping_add(b))
        );
        prop_assert_eq!(
            par().fold_reduce_with(0u64, |a, &x| a + u64::from(x), |a, b| a + b),
            items.iter().map(|&x| u64::from(x)).sum::<u64>()
        );
        let total = std::sync::atomic::AtomicU64::new(0);
        par().for_each_init(|| 0u64, |n, &x| {
            *n += 1;
            total.fetch_add(u64::from(x), std::sync::atomic::Ordering::Relaxed);
        });
        prop_assert_eq!(total.into_inner(), items.iter().map(|&x| u64::from(x)).sum::<u64>());
        let (tx, rx) = std::sync::mpsc::channel();
        par().for_each_with(tx, |tx, &x| tx.send(x).unwrap());
        let mut got: Vec<u32> = rx.iter().collect();
        got.sort_unstable();
        let mut expected = items.clone();
        expected.sort_unstable();
        prop_assert_eq!(got, expected);
    }
}

//! Property tests: `collect` into every collection, `unzip` and `partition`
//! give what the sequential iterator gives; `Result` / `Option` collects
//! fail exactly when the sequential one does, with one of the errors.
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use corepool::Pool;
use proptest::prelude::*;

fn pool(workers: usize) -> Pool {
    Pool::builder().workers(workers).build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn collections_equal_sequential(
        items in proptest::collection::vec(0u32..500, 0..2000),
        workers in 1usize..=4,
        min_len in 0usize..40,
    ) {
        let pool = pool(workers);
        let par = || pool.par(&items).with_min_len(min_len).copied();
        let pairs = |x: u32| (x % 97, x);
        prop_assert_eq!(par().map(pairs).collect::<HashMap<_, _>>(), items.iter().copied().map(pairs).collect::<HashMap<_, _>>());
        prop_assert_eq!(par().map(pairs).collect::<BTreeMap<_, _>>(), items.iter().copied().map(pairs).collect::<BTreeMap<_, _>>());
        prop_assert_eq!(par().collect::<HashSet<_>>(), items.iter().copied().collect::<HashSet<_>>());
        prop_assert_eq!(par().collect::<BTreeSet<_>>(), items.iter().copied().collect::<BTreeSet<_>>());
        prop_assert_eq!(par().collect::<VecDeque<_>>(), items.iter().copied().collect::<VecDeque<_>>());
        let letter = |x: u32| char::from(b'a' + (x % 26) as u8);
        prop_assert_eq!(par().map(letter).collect::<String>(), items.iter().copied().map(letter).collect::<String>());
        prop_assert_eq!(par().map(|x| x.to_string()).collect::<String>(), items.iter().map(|x| x.to_string()).collect::<String>());
        // A Vec after a filter: per-piece Vecs appended in order.
        prop_assert_eq!(par().filter(|x| x % 2 == 1).collect::<Vec<_>>(), items.iter().copied().filter(|x| x % 2 == 1).collect::<Vec<_>>());
        let (a, b): (Vec<u32>, Vec<String>) = par().map(|x| (x, x.to_string())).unzip();
        let (sa, sb): (Vec<u32>, Vec<String>) = items.iter().map(|&x| (x, x.to_string())).unzip();
        prop_assert_eq!((a, b), (sa, sb));
        let (even, odd): (Vec<u32>, HashSet<u32>) = par().partition(|x| x % 2 == 0);
        let seven: Vec<u32> = items.iter().copied().filter(|x| x % 2 == 0).collect();
        let sodd: HashSet<u32> = items.iter().copied().filter(|x| x % 2 != 0).collect();
        prop_assert_eq!((even, odd), (seven, sodd));
    }

    #[test]
    fn result_and_option_collects_equal_sequential(
        items in proptest::collection::vec(0u32..500, 0..2000),
        workers in 1usize..=4,
        bad in prop_oneof![Just(u32::MAX), 0u32..500],
    ) {
        let pool = pool(workers);
        let check = |x: u32| if x == bad { Err(format!("bad {x}")) } else { Ok(x) };
        let got: Result<Vec<u32>, String> = pool.par(&items).map(|&x| check(x)).collect();
        let expected: Result<Vec<u32>, String> = items.iter().map(|&x| check(x)).collect();
        // Every error is the same here, so "one of them" is the sequential one.
        prop_assert_eq!(got, expected);
        let got: Option<BTreeSet<u32>> = pool.par(&items).map(|&x| (x != bad).then_some(x)).collect();
        let expected: Option<BTreeSet<u32>> = items.iter().map(|&x| (x != bad).then_some(x)).collect();
        prop_assert_eq!(got, expected);
        // With distinct errors, the one returned is one of the input's.
        let got: Result<Vec<u32>, u32> = pool.par(&items).map(|&x| if x % 50 == bad % 50 { Err(x) } else { Ok(x) }).collect();
        match got {
            Ok(v) => prop_assert!(v.iter().all(|x| x % 50 != bad % 50) && v.len() == items.len()),
            Err(e) => prop_assert!(e % 50 == bad % 50 && items.contains(&e)),
        }
    }
}

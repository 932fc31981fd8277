//! A panic in a closure anywhere in a chain of adaptors is re-raised from
//! the consuming method, and every owned item and every result already made
//! is dropped exactly once (random inputs, pool sizes 1..=4, random panic
//! points).
mod common;

use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{DropCounter, Token};
use corepool::Pool;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn every_item_and_result_is_dropped_once(
        len in 0usize..1500,
        workers in 1usize..=4,
        panic_at in 0usize..1600,
        chain in 0u8..7,
    ) {
        let pool = Pool::builder().workers(workers).build().unwrap();
        let counter = DropCounter::new();
        let items: Vec<(usize, Token)> = (0..len).map(|i| (i, counter.token())).collect();
        let more: Vec<(usize, Token)> = (len..len + 50).map(|i| (i, counter.token())).collect();
        let check = |i: usize| assert!(i != panic_at, "user panic at {i}");
        let results = DropCounter::new();
        let result = catch_unwind(AssertUnwindSafe(|| match chain {
            0 => drop(pool.par(items).filter(|(i, _)| i % 3 != 0).map(|(i, t)| { check(i); (t, results.token()) }).collect::<Vec<_>>()),
            1 => drop(pool.par(items).flat_map_iter(|(i, t)| { check(i); vec![(i, t)] }).map(|_| results.token()).collect::<Vec<_>>()),
            2 => drop(pool.par(items).rev().skip(3).chain(more).map(|(i, t)| { check(i); (t, results.token()) }).collect::<Vec<_>>()),
            3 => drop(pool.par(items).enumerate().map(|(i, (_, t))| { check(i); (i, (t, results.token())) }).collect::<HashMap<_, _>>()),
            4 => drop(pool.par(items).map(|(i, t)| { check(i); if i % 5 == 4 { Err(t) } else { Ok((t, results.token())) } }).collect::<Result<Vec<_>, _>>()),
            5 => drop(pool.par(items).fold(Vec::new, |mut acc, (i, t)| { check(i); acc.push(t); acc }).map(|acc| (acc, results.token())).collect::<Vec<_>>()),
            _ => drop(pool.par(items).chunks(7).map(|c| { c.iter().for_each(|(i, _)| check(*i)); (c, results.token()) }).collect::<Vec<_>>()),
        }));
        let reached = match chain {
            0 => Some(panic_at < len && panic_at % 3 != 0),
            // `rev().skip(3)` never visits the last three items.
            2 => Some(panic_at < len + 50 && !(panic_at < len && panic_at + 3 >= len)),
            // A `Result` collect may stop at an `Err` before the panic point.
            4 => None,
            _ => Some(panic_at < len),
        };
        if let Some(reached) = reached {
            prop_assert_eq!(result.is_err(), reached);
        }
        counter.assert_all_dropped_once();
        results.assert_all_dropped_once();
    }
}

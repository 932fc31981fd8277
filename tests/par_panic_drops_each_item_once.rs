//! A panic in a `Pool::par` closure comes out of the call, and every item
//! made or taken so far — results already written into the output `Vec`,
//! items of a `Vec` taken by value — is dropped exactly once; the output is
//! never seen. Panics are placed at random positions, several at once too.
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};

use common::{DropCounter, Token, quiet_panics_containing};
use corepool::Pool;
use proptest::prelude::*;

const PLANNED: &str = "planned panic at item";

fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .unwrap_or_default()
}

/// Where to panic: nowhere, or at one index, or at every index from one on.
#[derive(Debug, Clone, Copy)]
enum Plan {
    Never,
    At(usize),
    From(usize),
}

impl Plan {
    fn check(self, i: usize) {
        let hit = match self {
            Plan::Never => false,
            Plan::At(k) => i == k,
            Plan::From(k) => i >= k,
        };
        if hit {
            panic!("{PLANNED} {i}");
        }
    }

    fn panics_within(self, n: usize) -> bool {
        match self {
            Plan::Never => false,
            Plan::At(k) | Plan::From(k) => k < n,
        }
    }
}

fn plan(n: usize) -> impl Strategy<Value = Plan> {
    let n = n.max(1);
    prop_oneof![
        1 => Just(Plan::Never),
        4 => (0..n).prop_map(Plan::At),
        2 => (0..n).prop_map(Plan::From),
    ]
}

fn case() -> impl Strategy<Value = (usize, Plan, usize)> {
    (0usize..2000).prop_flat_map(|n| (Just(n), plan(n), 1usize..=4))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn collect_drops_written_results_once_when_a_closure_panics((n, plan, workers) in case()) {
        quiet_panics_containing(PLANNED);
        let pool = Pool::builder().workers(workers).build().unwrap();
        let results = DropCounter::new();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            pool.par(0..n).map(|i| { plan.check(i); results.token() }).collect::<Vec<Token>>()
        }));
        match outcome {
            Ok(v) => {
                prop_assert!(!plan.panics_within(n));
                prop_assert_eq!(v.len(), n);
                drop(v);
            }
            Err(payload) => {
                prop_assert!(plan.panics_within(n));
                prop_assert!(message(&*payload).starts_with(PLANNED));
            }
        }
        results.assert_all_dropped_once();
        if !plan.panics_within(n) {
            prop_assert_eq!(results.created(), n);
        }
    }

    #[test]
    fn a_vec_by_value_drops_every_item_once_when_a_closure_panics((n, plan, workers) in case()) {
        quiet_panics_containing(PLANNED);
        let pool = Pool::builder().workers(workers).build().unwrap();
        let inputs = DropCounter::new();
        let results = DropCounter::new();
        let items: Vec<Token> = (0..n).map(|_| inputs.token()).collect();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            pool.par(items)
                .zip(0..n)
                .map(|(input, i)| { plan.check(i); (input, results.token()) })
                .collect::<Vec<_>>()
        }));
        prop_assert_eq!(outcome.is_err(), plan.panics_within(n));
        drop(outcome);
        inputs.assert_all_dropped_once();
        results.assert_all_dropped_once();
        prop_assert_eq!(inputs.created(), n);
    }

    #[test]
    fn for_each_over_owned_items_drops_every_item_once((n, plan, workers) in case()) {
        quiet_panics_containing(PLANNED);
        let pool = Pool::builder().workers(workers).build().unwrap();
        let inputs = DropCounter::new();
        let items: Vec<(usize, Token)> = (0..n).map(|i| (i, inputs.token())).collect();
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            pool.par(items).for_each(|(i, token)| { plan.check(i); drop(token) })
        }));
        prop_assert_eq!(outcome.is_err(), plan.panics_within(n));
        inputs.assert_all_dropped_once();
    }
}

#[test]
fn zip_drops_the_longer_inputs_extra_items_once() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let inputs = DropCounter::new();
    let long: Vec<Token> = (0..1000).map(|_| inputs.token()).collect();
    let short = vec![1u8; 300];
    let kept: Vec<Token> = pool.par(long).zip(&short).map(|(t, _)| t).collect();
    assert_eq!(kept.len(), 300);
    assert_eq!(inputs.dropped(), 700);
    drop(kept);
    inputs.assert_all_dropped_once();
}

#[test]
fn the_pool_and_the_borrowed_data_are_fine_after_a_panic() {
    quiet_panics_containing(PLANNED);
    let pool = Pool::builder().workers(2).build().unwrap();
    let mut data = vec![0u32; 10_000];
    let outcome = catch_unwind(AssertUnwindSafe(|| {
        pool.par(&mut data).zip(0..10_000usize).for_each(|(x, i)| {
            *x += 1;
            Plan::At(5_000).check(i);
        })
    }));
    assert!(message(&*outcome.unwrap_err()).starts_with(PLANNED));
    // Every item the call reached was written once; the pool still works.
    assert!(data.iter().all(|&x| x <= 1));
    assert_eq!(data[5_000], 1);
    pool.par(&mut data).for_each(|x| *x = 7);
    assert!(data.iter().all(|&x| x == 7));
}

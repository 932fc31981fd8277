//! A comparator that panics partway through a parallel sort leaves the slice
//! a permutation of its input, and every element is dropped exactly once
//! (rayon's `sort-panic-safe` test, with drop counting).
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{DropCounter, Token};
use corepool::Pool;
use corepool::prelude::*;

/// An element: its value, and a token counting its drop.
struct Item {
    value: u32,
    _token: Token,
}

#[test]
fn a_panicking_comparator_leaves_a_permutation_and_drops_each_element_once() {
    let pool = Pool::builder().workers(3).build().unwrap();
    let len = 12_000usize;
    // Panics at several points: early (leaves), late (merges), never.
    for panic_at in [1usize, 100, 2_000, 15_000, 60_000, 120_000, usize::MAX] {
        for sort in 0..6 {
            let counter = DropCounter::new();
            let mut v: Vec<Item> = (0..len)
                .map(|i| Item {
                    value: (i as u32).wrapping_mul(2_654_435_761) % 10_000,
                    _token: counter.token(),
                })
                .collect();
            let mut before: Vec<u32> = v.iter().map(|x| x.value).collect();
            let compares = AtomicUsize::new(0);
            let cmp = |a: &Item, b: &Item| {
                if compares.fetch_add(1, Ordering::Relaxed) == panic_at {
                    panic!("comparator panics");
                }
                a.value.cmp(&b.value)
            };
            let result = pool.install(|| {
                catch_unwind(AssertUnwindSafe(|| match sort {
                    0 => v.par_sort_by(cmp),
                    1 => v.par_sort_unstable_by(cmp),
                    2 => v.par_sort_by_key(|x| {
                        if compares.fetch_add(1, Ordering::Relaxed) == panic_at {
                            panic!("key panics");
                        }
                        x.value
                    }),
                    3 => v.par_sort_unstable_by_key(|x| {
                        if compares.fetch_add(1, Ordering::Relaxed) == panic_at {
                            panic!("key panics");
                        }
                        x.value
                    }),
                    4 => corepool::join(|| v.par_sort_by(cmp), || ()).0,
                    _ => v.par_sort_unstable_by(|a, b| cmp(b, a)),
                }))
            });
            let mut after: Vec<u32> = v.iter().map(|x| x.value).collect();
            if result.is_ok() {
                assert!(after.windows(2).all(|w| w[0] <= w[1]) || sort == 5);
            }
            before.sort_unstable();
            after.sort_unstable();
            assert_eq!(
                before, after,
                "sort {sort}, panic at {panic_at}: not a permutation"
            );
            assert_eq!(
                counter.dropped(),
                0,
                "an element was dropped during the sort"
            );
            drop(v);
            counter.assert_all_dropped_once();
        }
    }
}

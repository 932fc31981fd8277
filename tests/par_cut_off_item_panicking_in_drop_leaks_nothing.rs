//! `take`, `skip` and `rev().take` over a `Vec` taken by value drop the
//! items they cut off before the walk. Where one of those items' `Drop`
//! panics, the panic comes out of the call and every other item, kept
//! ones included, is still dropped exactly once, as `std`'s and rayon's
//! iterators do (`take` leaked the kept items: 5 of 10, 500 of 1,000).
mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::quiet_panics_containing;
use corepool::Pool;

const MESSAGE: &str = "a cut-off item's drop panics";

/// An item that counts itself live and panics when the one marked is
/// dropped.
struct Item {
    value: usize,
    panics: bool,
    live: Arc<AtomicUsize>,
}

impl Drop for Item {
    fn drop(&mut self) {
        self.live.fetch_sub(1, Ordering::SeqCst);
        if self.panics {
            panic!("{MESSAGE}");
        }
    }
}

fn items(n: usize, panicking: usize, live: &Arc<AtomicUsize>) -> Vec<Item> {
    (0..n)
        .map(|value| {
            live.fetch_add(1, Ordering::SeqCst);
            Item {
                value,
                panics: value == panicking,
                live: Arc::clone(live),
            }
        })
        .collect()
}

/// A call over the items, giving a number.
type Run<'a> = dyn Fn(Vec<Item>) -> usize + 'a;

#[test]
fn every_item_is_dropped_once_when_a_cut_off_items_drop_panics() {
    quiet_panics_containing(MESSAGE);
    let pool = Pool::builder().workers(2).build().unwrap();
    for n in [10, 1000, 100_000] {
        let half = n / 2;
        let cases: [(&str, usize, &Run); 4] = [
            // The last item is cut off by `take`.
            ("take", n - 1, &|v| {
                pool.par(v).take(half).map(|i| i.value).sum()
            }),
            // The first item is cut off by `skip`.
            ("skip", 0, &|v| {
                pool.par(v).skip(half).map(|i| i.value).sum()
            }),
            // The first item is cut off by `rev().take`.
            ("rev take", 0, &|v| {
                pool.par(v).rev().take(half).map(|i| i.value).sum()
            }),
            // Cut at both ends.
            ("skip take", n - 1, &|v| {
                pool.par(v).skip(1).take(half).count()
            }),
        ];
        for (name, panicking, run) in cases {
            let live = Arc::new(AtomicUsize::new(0));
            let v = items(n, panicking, &live);
            let result = catch_unwind(AssertUnwindSafe(|| run(v)));
            assert!(
                result.is_err(),
                "{name}, {n} items: the drop's panic came out"
            );
            assert_eq!(
                live.load(Ordering::SeqCst),
                0,
                "{name}, {n} items: items left undropped"
            );
        }
    }
}

#[test]
fn cut_inputs_give_the_sequential_answers() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let live = Arc::new(AtomicUsize::new(0));
    let v = items(1000, usize::MAX, &live);
    let sum: usize = pool.par(v).skip(10).take(100).map(|i| i.value).sum();
    assert_eq!(sum, (10..110).sum::<usize>());
    assert_eq!(live.load(Ordering::SeqCst), 0);
}

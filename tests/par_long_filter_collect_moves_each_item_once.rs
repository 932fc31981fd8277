//! A `filter` + `collect` whose output is long enough (over 512 KiB) to be
//! concatenated by the workers in parallel: the result equals the
//! sequential one, in order, for `Vec`, `VecDeque` and `BTreeSet`, and
//! every item is dropped exactly once — none lost or duplicated by the
//! bitwise copy.

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use corepool::Pool;

/// An item that counts its drops in a shared counter.
#[derive(Debug)]
struct Counted {
    value: u64,
    drops: Arc<AtomicUsize>,
}

impl Drop for Counted {
    fn drop(&mut self) {
        self.drops.fetch_add(1, Relaxed);
    }
}

fn pool(workers: usize) -> Pool {
    Pool::builder()
        .pinning(corepool::Pinning::None)
        .workers(workers)
        .build()
        .expect("pool")
}

#[test]
fn long_filtered_vec_equals_sequential_and_drops_each_item_once() {
    // 300 Ki kept items of 16 bytes: 4.8 MiB, past the parallel threshold.
    let n: u64 = 600 * 1024;
    for workers in [1, 2, 3, 4] {
        let pool = pool(workers);
        let drops = Arc::new(AtomicUsize::new(0));
        let kept: Vec<Counted> = pool
            .par(0..n)
            .with_max_len(10_000)
            .filter(|x| x % 2 == 0)
            .map(|value| Counted {
                value,
                drops: Arc::clone(&drops),
            })
            .collect();
        assert_eq!(
            drops.load(Relaxed),
            0,
            "{workers} workers: nothing dropped while collecting"
        );
        assert_eq!(kept.len() as u64, n / 2, "{workers} workers");
        assert!(
            kept.iter()
                .map(|c| c.value)
                .eq((0..n).filter(|x| x % 2 == 0)),
            "{workers} workers: in input order"
        );
        drop(kept);
        assert_eq!(
            drops.load(Relaxed) as u64,
            n / 2,
            "{workers} workers: each dropped once"
        );
    }
}

#[test]
fn long_filtered_strings_into_other_collections_equal_sequential() {
    let pool = pool(2);
    let n = 200_000u64;
    let keep = |x: &u64| x % 3 != 1;
    let strings: Vec<String> = pool
        .par(0..n)
        .filter(keep)
        .map(|x| format!("{x:08}"))
        .collect();
    let expected: Vec<String> = (0..n).filter(keep).map(|x| format!("{x:08}")).collect();
    assert_eq!(strings, expected);
    let deque: VecDeque<String> = pool.par(0..n).filter(keep).map(|x| x.to_string()).collect();
    assert!(
        deque.iter().eq((0..n)
            .filter(keep)
            .map(|x| x.to_string())
            .collect::<Vec<_>>()
            .iter())
    );
    let set: BTreeSet<u64> = pool.par(0..n).filter(keep).collect();
    assert_eq!(set, (0..n).filter(keep).collect::<BTreeSet<u64>>());
}

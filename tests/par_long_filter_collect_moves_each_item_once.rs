//! A `filter` + `collect` whose output is long enough (over 512 KiB) to be
//! concatenated by the workers in parallel: the result equals the
//! sequential one, in order, for `Vec`, `VecDeque` and `BTreeSet`, and
//! every item is dropped exactly once — none lost or duplicated by the
//! bitwise copy.

mod common;

use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use common::watchdog;
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
    common::unpinned_pool(workers)
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

/// An item aligned past 8 bytes (and 128 bytes long): the slots the pieces
/// are copied into keep its alignment.
#[repr(align(64))]
#[derive(Debug, Clone, Copy, PartialEq)]
struct Wide(u64, [u64; 15]);

#[test]
fn long_concatenations_on_a_shut_down_pool_and_from_another_pool_keep_order() {
    // A hop between pools that never came back would hang: a watchdog.
    watchdog(120, || {
        // 150 Ki kept items of 128 bytes: 19 MiB, past the parallel threshold.
        let n: u64 = 300 * 1024;
        let keep = |x: &u64| x % 2 == 1;
        let wide = |x: u64| Wide(x, [x; 15]);
        let expected: Vec<Wide> = (0..n).filter(keep).map(wide).collect();
        let check = |got: &[Wide], what: &str| {
            assert!(got.iter().eq(expected.iter()), "{what}: in input order");
            assert!(
                got.iter().all(|w| (w as *const Wide).addr() % 64 == 0),
                "{what}: aligned"
            );
        };

        // From another pool's worker: the copy's `join` hops into `pool`.
        let other = pool(2);
        let pool = pool(3);
        let got: Vec<Wide> = other.install(|| pool.par(0..n).filter(keep).map(wide).collect());
        check(&got, "from another pool");
        // From inside the pool itself.
        let got: Vec<Wide> = pool.install(|| pool.par(0..n).filter(keep).map(wide).collect());
        check(&got, "inside the pool");

        // After a shutdown every piece, and the copy's `join`, runs on the
        // caller.
        pool.shutdown();
        let got: Vec<Wide> = pool.par(0..n).filter(keep).map(wide).collect();
        check(&got, "shut down");
        let got: VecDeque<Wide> = pool.par(0..n).filter(keep).map(wide).collect();
        assert!(got.iter().eq(expected.iter()), "shut down, into a VecDeque");
    });
}

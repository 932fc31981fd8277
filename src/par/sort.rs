//! The parallel sorts behind [`ParallelSliceMut`](super::ParallelSliceMut):
//! a merge sort forking on [`Pool::join`](crate::Pool::join).
//!
//! 1. The slice is halved by `join` down to pieces of [`leaf_len`] items,
//!    which are sorted sequentially by std's `sort_by` (stable) or
//!    `sort_unstable_by` (unstable).
//! 2. Two sorted neighbours `A` and `B` are merged in place. A long merge
//!    is split in two independent merges: the middle item of the longer run
//!    is located in the other by binary search (lower bound when it comes
//!    from `A`, upper bound when from `B`, so that equal items keep `A`
//!    first: stable), the two middle parts `A2 B1` are rotated into
//!    `B1 A2`, and `A1 B1` and `A2 B2` are merged by `join`. Only merges
//!    longer than a worker's share are split, so the rotations move each
//!    item about log2(workers) times.
//! 3. A short merge is std's stable `sort_by` on `A B`: it finds the two
//!    sorted runs and merges them in one pass.
//!
//! Panics: no `unsafe` here. Every comparison runs inside std's sorts or
//! `binary_search_by`, which leave the slice a permutation of its input
//! when the comparator panics; rotations run no user code; `join` lets both
//! halves finish before it re-raises a panic. So a panicking comparator
//! leaves the slice a permutation of its input and no item is dropped or
//! duplicated by the sort.

use std::cmp::Ordering;

use super::PoolRef;
use crate::pool::Pool;

/// Below this many items a piece is sorted, and a merge done, sequentially.
const SEQUENTIAL: usize = 4096;

/// How long the pieces sorted sequentially are, for `len` items on
/// `workers` workers: about eight per worker, but not below
/// [`SEQUENTIAL`].
fn leaf_len(len: usize, workers: usize) -> usize {
    (len / workers.saturating_mul(8).max(1)).max(SEQUENTIAL)
}

/// Sorts `v` by `compare` on `pool`; stable if `stable`.
pub(super) fn par_sort_by<T: Send, C>(pool: PoolRef<'_>, v: &mut [T], compare: &C, stable: bool)
where
    C: Fn(&T, &T) -> Ordering + Sync,
{
    if v.len() <= SEQUENTIAL {
        sort_leaf(v, compare, stable);
        return;
    }
    let pool: &Pool = &pool;
    let leaf = leaf_len(v.len(), pool.workers());
    let merge_split = (v.len() / pool.workers().max(1)).max(SEQUENTIAL);
    pool.install(|| {
        sort(
            pool,
            v,
            compare,
            &Lens {
                leaf,
                merge_split,
                stable,
            },
        )
    });
}

/// The thresholds of one sort.
struct Lens {
    leaf: usize,
    merge_split: usize,
    stable: bool,
}

fn sort_leaf<T, C: Fn(&T, &T) -> Ordering>(v: &mut [T], compare: &C, stable: bool) {
    if stable {
        v.sort_by(compare);
    } else {
        v.sort_unstable_by(compare);
    }
}

/// Step 1.
fn sort<T: Send, C>(pool: &Pool, v: &mut [T], compare: &C, lens: &Lens)
where
    C: Fn(&T, &T) -> Ordering + Sync,
{
    if v.len() <= lens.leaf {
        sort_leaf(v, compare, lens.stable);
        return;
    }
    let mid = v.len() / 2;
    let (a, b) = v.split_at_mut(mid);
    pool.join(
        || sort(pool, a, compare, lens),
        || sort(pool, b, compare, lens),
    );
    // Already in order (a common case: sorted input): nothing to merge.
    if compare(&v[mid - 1], &v[mid]) != Ordering::Greater {
        return;
    }
    merge(pool, v, mid, compare, lens);
}

/// Steps 2 and 3: merges the sorted runs `v[..mid]` and `v[mid..]`.
fn merge<T: Send, C>(pool: &Pool, v: &mut [T], mid: usize, compare: &C, lens: &Lens)
where
    C: Fn(&T, &T) -> Ordering + Sync,
{
    let (a_len, b_len) = (mid, v.len() - mid);
    if a_len == 0 || b_len == 0 {
        return;
    }
    if v.len() <= lens.merge_split {
        v.sort_by(compare);
        return;
    }
    // Cut A at `i` and B at `j` so that A[..i] and B[..j] go first.
    let (i, j) = if a_len >= b_len {
        let i = a_len / 2;
        let pivot = &v[i];
        // Lower bound: the B items strictly less than A's pivot.
        let j = v[mid..]
            .binary_search_by(|b| match compare(b, pivot) {
                Ordering::Less => Ordering::Less,
                _ => Ordering::Greater,
            })
            .unwrap_or_else(|e| e);
        (i, j)
    } else {
        let j = b_len / 2;
        let pivot = &v[mid + j];
        // Upper bound: the A items less than or equal to B's pivot.
        let i = v[..mid]
            .binary_search_by(|a| match compare(a, pivot) {
                Ordering::Greater => Ordering::Greater,
                _ => Ordering::Less,
            })
            .unwrap_or_else(|e| e);
        (i, j)
    };
    // A1 A2 B1 B2 → A1 B1 A2 B2.
    v[i..mid + j].rotate_left(mid - i);
    let (left, right) = v.split_at_mut(i + j);
    pool.join(
        || merge(pool, left, i, compare, lens),
        || merge(pool, right, a_len - i, compare, lens),
    );
}

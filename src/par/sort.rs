//! The parallel sorts behind [`ParallelSliceMut`](super::ParallelSliceMut),
//! forking on [`Pool::join`](crate::Pool::join).
//!
//! Unstable: a quicksort (`quicksort`): partitions forking on `join`, and
//! pieces sorted by std's `sort_unstable_by`. Stable: a merge sort, in
//! three steps.
//!
//! 1. The slice is halved by `join` down to pieces of [`leaf_len`] items,
//!    which are sorted sequentially by std's `sort_by`.
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
//! Panics: no `unsafe` here. Every comparison runs inside std's sorts,
//! `select_nth_unstable_by`, `binary_search_by`, or the unstable sort's
//! block partition, which moves items only by swapping them; all of these
//! leave the slice a permutation of its input when the comparator panics;
//! rotations run no user code; `join` lets both halves finish before it
//! re-raises a panic. So a panicking comparator
//! leaves the slice a permutation of its input and no item is dropped or
//! duplicated by the sort.

use std::cmp::Ordering;

use super::PoolRef;
use crate::pool::Pool;

/// Below this many items a piece is sorted, and a merge done, sequentially.
const SEQUENTIAL: usize = 4096;

/// How long the pieces sorted sequentially are, for `len` items on
/// `workers` workers: two per worker, but not below [`SEQUENTIAL`]. Each
/// halving of the pieces saves one merge pass over every item (std's sort
/// of a piece merges too, but faster, in cache); two per worker leaves a
/// piece to steal from a worker that falls behind. Eight per worker made
/// sorting 10 M `u64` 1.3× and 1 M strings 1.2× slower than two
/// (`par_ratio`, 2026-12-03).
const STABLE_PIECES_PER_WORKER: usize = 2;

fn leaf_len(len: usize, workers: usize) -> usize {
    (len / workers.saturating_mul(STABLE_PIECES_PER_WORKER).max(1)).max(SEQUENTIAL)
}

/// Sorts `v` by `compare` on `pool`; stable if `stable`.
pub(super) fn par_sort_by<T: Send, C>(pool: PoolRef<'_>, v: &mut [T], compare: &C, stable: bool)
where
    C: Fn(&T, &T) -> Ordering + Sync,
{
    // Zero-sized items: `std`'s sorts return at once (every order is the
    // same), and so does `sort_leaf`; the quicksort's sample arithmetic
    // overflowed on `usize::MAX` of them, and walked them all.
    if v.len() <= SEQUENTIAL || size_of::<T>() == 0 {
        sort_leaf(v, compare, stable);
        return;
    }
    let pool: &Pool = &pool;
    if !stable {
        let leaf = quick_leaf_len(v.len(), pool.workers());
        pool.install(|| quicksort(pool, v, compare, leaf));
        return;
    }
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

/// How long the pieces of an unstable sort are: about
/// [`QUICK_PIECES_PER_WORKER`] per worker, not below [`SEQUENTIAL`].
fn quick_leaf_len(len: usize, workers: usize) -> usize {
    (len / workers.saturating_mul(QUICK_PIECES_PER_WORKER).max(1)).max(SEQUENTIAL)
}

/// Pieces per worker of an unstable sort: many, so that a worker that
/// falls behind (its core shared with another process) is helped, as
/// rayon's fine-grained recursion does; each level of cutting is one
/// partition pass, which the sort of a piece would otherwise do itself.
const QUICK_PIECES_PER_WORKER: usize = 16;

/// How many items the pivot is the median of.
const PIVOT_SAMPLE: usize = 31;

/// The unstable sort, a parallel quicksort: partition `v` around the
/// median of a sample (`partition`), sort the two sides in parallel, down to
/// pieces of `leaf` items sorted by std's `sort_unstable_by`. A partition
/// that comes out lopsided (many equal items, or a sample that misled) is
/// redone at the exact median by std's `select_nth_unstable_by`, so the
/// recursion stays log2(pieces) levels deep.
fn quicksort<T: Send, C>(pool: &Pool, v: &mut [T], compare: &C, leaf: usize)
where
    C: Fn(&T, &T) -> Ordering + Sync,
{
    let len = v.len();
    if len <= leaf {
        v.sort_unstable_by(compare);
        return;
    }
    let mut mid = partition(v, compare);
    if mid.min(len - 1 - mid) < len / 8 {
        mid = len / 2;
        v.select_nth_unstable_by(mid, compare);
    }
    // v[..mid] <= v[mid] <= v[mid + 1..], and v[mid] is in its place.
    let (left, right) = v.split_at_mut(mid);
    let right = &mut right[1..];
    pool.join(
        || quicksort(pool, left, compare, leaf),
        || quicksort(pool, right, compare, leaf),
    );
}

/// Partitions `v` (at least [`PIVOT_SAMPLE`] items) around the median of
/// an evenly spread sample: returns `mid` with `v[..mid]` less than `v[mid]`
/// and `v[mid + 1..]` not less. Only swaps move items, so a panicking
/// comparator leaves `v` a permutation of its input.
fn partition<T, C>(v: &mut [T], compare: &C) -> usize
where
    C: Fn(&T, &T) -> Ordering,
{
    let len = v.len();
    // In `u128`: `(2k + 1) × len` does not fit a `usize` for the longest
    // slices of one-byte items.
    let mut sample: [usize; PIVOT_SAMPLE] = std::array::from_fn(|k| {
        ((2 * k + 1) as u128 * len as u128 / (2 * PIVOT_SAMPLE) as u128) as usize
    });
    sample.sort_unstable_by(|&a, &b| compare(&v[a], &v[b]));
    v.swap(0, sample[PIVOT_SAMPLE / 2]);
    let (pivot, rest) = v.split_first_mut().expect("v is not empty");
    let less = partition_blocks(rest, pivot, compare);
    // The pivot goes between: v[less] is the last item less than it.
    v.swap(0, less);
    less
}

/// Items compared per block by [`partition_blocks`] (offsets fit a `u8`).
const BLOCK: usize = 64;

/// Partitions `v` around `pivot`, returning how many items are less: the
/// block partition of BlockQuicksort (Edelkamp and Weiß), in safe code.
/// The first [`BLOCK`] items not yet placed on the left and the last
/// [`BLOCK`] on the right are compared without branching, the offsets of
/// the misplaced ones noted, and the misplaced pairs swapped. Unlike a
/// Lomuto pass, which swaps every item, only misplaced items move: for
/// strings, the write traffic of two workers partitioning side by side
/// halved and the unstable sort of 1 M strings went from 1.05–1.13× to
/// 1.00× rayon's time (`par_ratio`, 41 rounds, 2026-12-03); `u64` sorts
/// were unchanged. The middle left over (under two blocks, plus a block's
/// unplaced items) is finished by a branch-free Lomuto pass.
fn partition_blocks<T, C>(v: &mut [T], pivot: &T, compare: &C) -> usize
where
    C: Fn(&T, &T) -> Ordering,
{
    // v[..l] < pivot <= v[r..]; the blocks are v[l..l + BLOCK] and
    // v[r - BLOCK..r], their misplaced items at offsets_l[start_l..][..n_l]
    // (from l) and offsets_r[start_r..][..n_r] (back from r - 1).
    let (mut l, mut r) = (0, v.len());
    let (mut offsets_l, mut offsets_r) = ([0u8; BLOCK], [0u8; BLOCK]);
    let (mut start_l, mut n_l, mut start_r, mut n_r) = (0, 0, 0, 0);
    while r - l >= 2 * BLOCK {
        if n_l == 0 {
            start_l = 0;
            for i in 0..BLOCK {
                offsets_l[n_l] = i as u8;
                n_l += usize::from(compare(&v[l + i], pivot) != Ordering::Less);
            }
        }
        if n_r == 0 {
            start_r = 0;
            for i in 0..BLOCK {
                offsets_r[n_r] = i as u8;
                n_r += usize::from(compare(&v[r - 1 - i], pivot) == Ordering::Less);
            }
        }
        let pairs = n_l.min(n_r);
        for k in 0..pairs {
            v.swap(
                l + usize::from(offsets_l[start_l + k]),
                r - 1 - usize::from(offsets_r[start_r + k]),
            );
        }
        (n_l, n_r) = (n_l - pairs, n_r - pairs);
        (start_l, start_r) = (start_l + pairs, start_r + pairs);
        // A block with nothing misplaced left is done.
        if n_l == 0 {
            l += BLOCK;
        }
        if n_r == 0 {
            r -= BLOCK;
        }
    }
    // What is left, v[l..r], partially sorted blocks included: a Lomuto
    // pass (every item swapped, whichever side it goes to), from scratch.
    let middle = &mut v[l..r];
    let mut less = 0;
    for i in 0..middle.len() {
        let is_less = compare(&middle[i], pivot) == Ordering::Less;
        middle.swap(less, i);
        less += usize::from(is_less);
    }
    l + less
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

#[cfg(test)]
mod tests {
    use super::partition_blocks;

    #[test]
    fn block_partition_splits_at_the_pivot_and_keeps_every_item() {
        let mut state = 11u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        for len in [0, 1, 2, 63, 64, 127, 128, 129, 255, 256, 1000, 4097] {
            for range in [1u64, 2, 10, 1 << 40] {
                let input: Vec<u64> = (0..len).map(|_| next() % range).collect();
                for pivot in [0, range / 2, range] {
                    let mut v = input.clone();
                    let less = partition_blocks(&mut v, &pivot, &|a: &u64, b: &u64| a.cmp(b));
                    assert!(
                        v[..less].iter().all(|x| *x < pivot),
                        "len {len}, range {range}"
                    );
                    assert!(
                        v[less..].iter().all(|x| *x >= pivot),
                        "len {len}, range {range}"
                    );
                    let (mut got, mut want) = (v.clone(), input.clone());
                    got.sort_unstable();
                    want.sort_unstable();
                    assert_eq!(got, want, "a permutation of the input");
                }
            }
        }
        // Sorted and reversed inputs, whose blocks are all or none misplaced.
        for mut v in [
            (0..1000u64).collect::<Vec<_>>(),
            (0..1000u64).rev().collect(),
        ] {
            let less = partition_blocks(&mut v, &500, &|a: &u64, b: &u64| a.cmp(b));
            assert_eq!(less, 500);
            assert!(v[..500].iter().all(|x| *x < 500) && v[500..].iter().all(|x| *x >= 500));
        }
    }
}

//! Sorting on the pool two ways: several large random lists sorted in
//! parallel with `Pool::map`, and one list by a parallel merge sort built on
//! `Pool::join` (both the halves and the merges run in parallel); both checked against `sort_unstable` on one thread.
//!
//! Mirrors "Example 10: Parallel Sorting" of the `ProcessPoolExecutor`
//! tutorial (`executor.map(sort_list, lists)`); the merge sort is the
//! divide-and-conquer version that Python's process pools make awkward.
//! On two cores the merge sort does not beat `sort_unstable` on one thread:
//! it moves every number once per level, where `sort_unstable` sorts in
//! place; it is here to show `join` on borrowed slices, checked for
//! correctness.
//!
//! usage: `cargo run --release --example sort -- [LISTS] [LEN] [--seed S]`

#[path = "common/mod.rs"]
mod common;

use common::{Args, XorShift, grouped, secs, speedup, timed};
use corepool::Pool;

const USAGE: &str =
    "sort [LISTS] [LEN] [--seed S]   (LISTS lists of LEN numbers, default 8 × 2000000)";

/// Below this length a half is sorted by `sort_unstable`.
const SORT_BELOW: usize = 1 << 15;

/// Below this total length two runs are merged on one thread.
const MERGE_BELOW: usize = 1 << 16;

/// Sorts `data` with `buf` (same length) as scratch. The result ends in
/// `buf` when `into_buf`, else in `data`: each level sorts its halves into
/// the other slice and merges them back, so nothing is copied twice.
fn merge_sort(pool: &Pool, data: &mut [u64], buf: &mut [u64], into_buf: bool) {
    if data.len() <= SORT_BELOW {
        data.sort_unstable();
        if into_buf {
            buf.copy_from_slice(data);
        }
        return;
    }
    let mid = data.len() / 2;
    {
        let (left, right) = data.split_at_mut(mid);
        let (left_buf, right_buf) = buf.split_at_mut(mid);
        pool.join(
            || merge_sort(pool, left, left_buf, !into_buf),
            || merge_sort(pool, right, right_buf, !into_buf),
        );
    }
    let (from, to) = if into_buf { (data, buf) } else { (buf, data) };
    let (left, right) = from.split_at(mid);
    merge(pool, left, right, to);
}

/// Merges the sorted runs `a` and `b` into `out`, in parallel: the middle
/// element of the longer run splits both runs (binary search in the shorter
/// one), and the two halves are merged with `join`.
fn merge(pool: &Pool, a: &[u64], b: &[u64], out: &mut [u64]) {
    if a.len() < b.len() {
        return merge(pool, b, a, out);
    }
    if a.len() + b.len() <= MERGE_BELOW {
        let (mut i, mut j) = (0, 0);
        for slot in out.iter_mut() {
            if j == b.len() || (i < a.len() && a[i] <= b[j]) {
                *slot = a[i];
                i += 1;
            } else {
                *slot = b[j];
                j += 1;
            }
        }
        return;
    }
    let mid = a.len() / 2;
    let cut = b.partition_point(|&x| x < a[mid]);
    let (out_left, out_right) = out.split_at_mut(mid + cut);
    pool.join(
        || merge(pool, &a[..mid], &b[..cut], out_left),
        || merge(pool, &a[mid..], &b[cut..], out_right),
    );
}

fn random_list(len: usize, rng: &mut XorShift) -> Vec<u64> {
    (0..len).map(|_| rng.below(1_000_000_000)).collect()
}

fn main() {
    let mut args = Args::parse(USAGE);
    let seed: u64 = args.option("--seed", 7);
    let lists: usize = args.next_or("LISTS", 8);
    let len: usize = args.next_or("LEN", 2_000_000);
    args.check(lists >= 1, "LISTS must be at least 1");
    args.check(len <= 1 << 28, "LEN must be at most 2^28");
    args.finish();

    let pool = common::pool();
    common::banner(&pool);
    let mut rng = XorShift::new(seed);
    let inputs: Vec<Vec<u64>> = (0..lists).map(|_| random_list(len, &mut rng)).collect();

    // 1. Many lists at once: one list per map item.
    let (sorted, t_pool) = timed(|| {
        pool.map(inputs.clone(), |mut list| {
            list.sort_unstable();
            list
        })
        .collect::<Vec<_>>()
    });
    let (reference, t_one) = timed(|| {
        let mut lists = inputs.clone();
        lists.iter_mut().for_each(|l| l.sort_unstable());
        lists
    });
    let lists_ok = sorted == reference;
    println!("{lists} lists of {} numbers:", grouped(len as u64));
    for (i, list) in sorted.iter().enumerate().take(3) {
        println!("  list {i}, first 5: {:?}", &list[..list.len().min(5)]);
    }
    println!(
        "  map of sort_unstable on {} workers: {}",
        pool.workers(),
        secs(t_pool)
    );
    println!(
        "  sort_unstable, one list after another: {}  (speed-up {})",
        secs(t_one),
        speedup(t_one, t_pool)
    );
    println!(
        "  same as sort_unstable: {}",
        if lists_ok { "yes" } else { "NO" }
    );

    // 2. One long list: all the lists concatenated, merge-sorted with join.
    let mut long: Vec<u64> = inputs.concat();
    let mut expected = long.clone();
    let ((), t_merge) = timed(|| {
        let mut buf = vec![0; long.len()];
        merge_sort(&pool, &mut long, &mut buf, false);
    });
    let ((), t_std) = timed(|| expected.sort_unstable());
    let merge_ok = long == expected;
    println!("one list of {} numbers:", grouped(long.len() as u64));
    println!(
        "  merge sort on join, {} workers: {}",
        pool.workers(),
        secs(t_merge)
    );
    println!(
        "  sort_unstable on one thread: {}  (speed-up {})",
        secs(t_std),
        speedup(t_std, t_merge)
    );
    println!(
        "  same as sort_unstable: {}",
        if merge_ok { "yes" } else { "NO" }
    );
    if !lists_ok || !merge_ok {
        std::process::exit(1);
    }
}

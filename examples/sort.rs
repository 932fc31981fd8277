//! Sorting on the pool two ways: several large random lists sorted in
//! parallel with `Pool::map`, and one list by a parallel merge sort built on
//! `Pool::join`; both checked against `sort_unstable` on one thread.
//!
//! Mirrors "Example 10: Parallel Sorting" of the `ProcessPoolExecutor`
//! tutorial (`executor.map(sort_list, lists)`); the merge sort is the
//! divide-and-conquer version that Python's process pools make awkward.
//!
//! usage: `cargo run --release --example sort -- [LISTS] [LEN] [--seed S]`

#[path = "common/mod.rs"]
mod common;

use common::{Args, XorShift, grouped, secs, speedup, timed};
use corepool::Pool;

const USAGE: &str =
    "sort [LISTS] [LEN] [--seed S]   (LISTS lists of LEN numbers, default 8 × 2000000)";

/// Below this length the merge sort hands a half to `sort_unstable`.
const SEQUENTIAL_BELOW: usize = 1 << 14;

/// Sorts `data`, using `buf` (same length) as scratch: both halves are
/// sorted in parallel with `join`, then merged through `buf`.
fn merge_sort(pool: &Pool, data: &mut [u64], buf: &mut [u64]) {
    if data.len() <= SEQUENTIAL_BELOW {
        data.sort_unstable();
        return;
    }
    let mid = data.len() / 2;
    {
        let (left, right) = data.split_at_mut(mid);
        let (left_buf, right_buf) = buf.split_at_mut(mid);
        pool.join(
            || merge_sort(pool, left, left_buf),
            || merge_sort(pool, right, right_buf),
        );
    }
    buf.copy_from_slice(data);
    let (left, right) = buf.split_at(mid);
    let (mut i, mut j) = (0, 0);
    for slot in data.iter_mut() {
        if j == right.len() || (i < left.len() && left[i] <= right[j]) {
            *slot = left[i];
            i += 1;
        } else {
            *slot = right[j];
            j += 1;
        }
    }
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
        merge_sort(&pool, &mut long, &mut buf);
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

//! `chunk_size` above what a chunk can hold (`MAX_CLUSTER_CHUNK`) is
//! clamped: a range map with a fixed chunk of more than `u32::MAX` items,
//! sent to another rank or run on the root's own pool, gives its first
//! results instead of a failed allocation, a truncated length or a part
//! that panics outside the map's containment and hangs the job.
#![cfg(feature = "mpi")]

mod cluster_common;

use corepool::cluster::Cluster;

/// The watchdog's limit: a hang fails the test instead of CI.
const LIMIT: u64 = 30;

fn check(child: &str, expected: &str) {
    let job = cluster_common::child(2, child, LIMIT);
    assert!(
        !job.timed_out(),
        "{child}: still running after {LIMIT} s\n{}",
        job.all()
    );
    assert_eq!(job.code, Some(0), "{child}\n{}", job.all());
    assert!(
        job.stdout.contains(expected),
        "{child}: no {expected:?}\n{}",
        job.all()
    );
}

#[test]
fn a_chunk_of_more_than_u32_max_items_to_another_rank_is_clamped() {
    check("child_big_chunk", "root got [0, 2, 4]");
}

#[test]
fn a_chunk_of_usize_max_items_on_the_roots_pool_is_clamped() {
    check("child_huge_root_chunk", "root got [0, 2]");
}

#[test]
#[ignore = "a rank of the MPI job started by a_chunk_of_more_than_u32_max_items_to_another_rank_is_clamped"]
fn child_big_chunk() {
    if !cluster_common::is_child() {
        return;
    }
    let cluster = Cluster::init().expect("init");
    let n: u64 = (1 << 32) + 2;
    let out: Vec<u64> = cluster
        .map_range(0..n, |x| 2 * x)
        .chunk_size(n as usize)
        .root_works(false)
        .take(3)
        .map(|r| r.expect("a result"))
        .collect();
    if cluster.is_root() {
        println!("root got {out:?}");
    }
}

#[test]
#[ignore = "a rank of the MPI job started by a_chunk_of_usize_max_items_on_the_roots_pool_is_clamped"]
fn child_huge_root_chunk() {
    if !cluster_common::is_child() {
        return;
    }
    let cluster = Cluster::init().expect("init");
    let out: Vec<u64> = cluster
        .map_range(0..u64::MAX, |x| 2 * x)
        .chunk_size(usize::MAX)
        .take(2)
        .map(|r| r.expect("a result"))
        .collect();
    if cluster.is_root() {
        println!("root got {out:?}");
    }
}

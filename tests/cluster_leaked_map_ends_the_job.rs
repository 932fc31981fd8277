//! A map leaked on the root (`std::mem::forget` after it started), then
//! the root's `Cluster` dropped: the other ranks still serve that map, so
//! the root's drop stops the job with a message saying a map was leaked,
//! instead of waiting for their `BYE` forever.
#![cfg(feature = "mpi")]

mod cluster_common;

use corepool::cluster::Cluster;

/// The watchdog's limit: a hang fails the test instead of CI.
const LIMIT: u64 = 20;

fn check(np: usize, env: &[(&str, &str)]) {
    let job = cluster_common::aborted_child(np, "child_forget_map", LIMIT, env);
    let site = cluster_common::site_of(file!(), "// the leaked map");
    assert!(
        job.stderr.contains("leaked") && job.stderr.contains(&site),
        "np={np}: no word of the leaked map at {site}\n{}",
        job.all()
    );
}

#[test]
fn a_map_leaked_on_the_root_ends_the_job_when_the_cluster_is_dropped() {
    check(2, &[]);
    // The leader tree: 3 ranks, one group of 2 (leader 1, member 2).
    check(3, &[(corepool::cluster::ENV_GROUP, "2")]);
}

#[test]
#[ignore = "a rank of the MPI job started by a_map_leaked_on_the_root_ends_the_job_when_the_cluster_is_dropped"]
fn child_forget_map() {
    if !cluster_common::is_child() {
        return;
    }
    let cluster = Cluster::init().expect("init");
    let mut m = cluster
        .map_range(0..100, |x| 2 * x) // the leaked map
        .root_works(false)
        .window(1);
    let first = m.next();
    println!("rank {}: first {first:?}", cluster.rank());
    std::mem::forget(m);
}

//! A rank that finishes (drops its `Cluster`, returns from `main`) while
//! the others still make maps ends the job within 10 seconds, with a
//! message naming the rank that finished and the map it skipped (its call
//! site and its item and result types), instead of a silent hang. Either
//! way round: a rank other than the root finishing early, or the root.
#![cfg(feature = "mpi")]

mod cluster_common;

use corepool::cluster::Cluster;

/// The watchdog's limit: the bound.
const LIMIT: u64 = 10;

fn check(np: usize, child: &str, ranks: &[usize]) {
    check_env(np, child, ranks, &[]);
}

/// As `check`, with `env` (the leader tree's group size) for the ranks.
fn check_env(np: usize, child: &str, ranks: &[usize], env: &[(&str, &str)]) {
    let job = cluster_common::aborted_child(np, child, LIMIT, env);
    let site = cluster_common::site_of(file!(), "// the skipped map");
    let err = &job.stderr;
    assert!(
        err.contains("finished"),
        "np={np}: no word of a finished rank\n{}",
        job.all()
    );
    assert!(
        ranks.iter().any(|r| err.contains(&format!("rank {r} "))),
        "np={np}: the message names none of ranks {ranks:?}\n{}",
        job.all()
    );
    assert!(err.contains(&site), "np={np}: no {site}\n{}", job.all());
    assert!(
        err.contains("u64") && err.contains("alloc::string::String"),
        "np={np}: the item and result types are not named\n{}",
        job.all()
    );
}

#[test]
fn a_rank_that_finishes_before_a_map_ends_the_job_naming_it_and_the_map() {
    for np in [2, 3] {
        check(np, "child_last_rank_finishes", &[np - 1]);
    }
}

#[test]
fn a_root_that_finishes_before_a_map_ends_the_job_naming_the_map() {
    for np in [2, 3] {
        // The message names the first rank whose map reached the root.
        check(np, "child_root_finishes", &(1..np).collect::<Vec<_>>());
    }
}

/// In the leader tree: 5 ranks in groups of 2 (leaders 1 and 3), the last
/// rank a member; 4 ranks in groups of 2, the last rank a leader alone.
#[test]
fn in_the_tree_a_member_or_a_leader_that_finishes_early_ends_the_job() {
    let group = [(corepool::cluster::ENV_GROUP, "2")];
    check_env(5, "child_last_rank_finishes", &[4], &group);
    check_env(4, "child_last_rank_finishes", &[3], &group);
    check_env(5, "child_root_finishes", &[1, 2, 3, 4], &group);
}

fn the_skipped_map(cluster: &Cluster) -> usize {
    cluster
        .map_range(0..1000, |i| format!("{i}")) // the skipped map
        .count()
}

#[test]
#[ignore = "a rank of the MPI job started by a_rank_that_finishes_before_a_map_ends_the_job_naming_it_and_the_map"]
fn child_last_rank_finishes() {
    if !cluster_common::is_child() {
        return;
    }
    let cluster = Cluster::init().expect("init");
    // One map every rank makes, so the early finish comes after a map.
    let _ = cluster.map_range(0..100, |i| i + 1).count();
    if cluster.rank() + 1 == cluster.size() {
        drop(cluster);
        return;
    }
    let n = the_skipped_map(&cluster);
    println!(
        "rank {} saw {n} results without the last rank",
        cluster.rank()
    );
}

#[test]
#[ignore = "a rank of the MPI job started by a_root_that_finishes_before_a_map_ends_the_job_naming_the_map"]
fn child_root_finishes() {
    if !cluster_common::is_child() {
        return;
    }
    let cluster = Cluster::init().expect("init");
    let _ = cluster.map_range(0..100, |i| i + 1).count();
    if cluster.is_root() {
        drop(cluster);
        return;
    }
    let n = the_skipped_map(&cluster);
    println!("rank {} served {n} without the root", cluster.rank());
}

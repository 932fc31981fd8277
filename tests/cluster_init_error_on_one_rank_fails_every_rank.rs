//! An `init` error on one rank only (a bad `COREPOOL_WORKERS`, or a bad
//! `COREPOOL_CLUSTER_GROUP` where the root's is good) fails `init` on
//! every rank: that rank gets its own error, the others
//! `ClusterError::OtherRankFailed` naming it, and the job ends, instead of
//! the others going on into a map while the failed rank's `MPI_Finalize`
//! waits for them.
#![cfg(feature = "mpi")]

mod cluster_common;

use corepool::cluster::Cluster;

/// The watchdog's limit: a hang fails the test instead of CI.
const LIMIT: u64 = 20;

fn check(np: usize, child: &str, own_error: &str) {
    let job = cluster_common::child(np, child, LIMIT);
    assert!(
        !job.timed_out(),
        "np={np} {child}: still running after {LIMIT} s\n{}",
        job.all()
    );
    assert_eq!(job.code, Some(0), "np={np} {child}\n{}", job.all());
    let out = &job.stdout;
    assert!(
        out.contains(&format!("rank 1: init failed: {own_error}")),
        "np={np} {child}: rank 1's own error is not {own_error:?}\n{}",
        job.all()
    );
    for r in (0..np).filter(|&r| r != 1) {
        assert!(
            out.contains(&format!("rank {r}: init failed: rank 1 could not start")),
            "np={np} {child}: rank {r} did not learn of rank 1's failure\n{}",
            job.all()
        );
    }
}

#[test]
fn a_bad_worker_count_on_one_rank_fails_init_on_every_rank() {
    check(
        2,
        "child_bad_workers_on_rank_1",
        "cannot build this rank's pool",
    );
    check(
        3,
        "child_bad_workers_on_rank_1",
        "cannot build this rank's pool",
    );
}

#[test]
fn a_bad_group_size_on_one_rank_only_fails_init_on_every_rank() {
    check(
        2,
        "child_bad_group_on_rank_1",
        "COREPOOL_CLUSTER_GROUP=\"four\"",
    );
}

/// A bad group size on the root only: every rank's error shows the root's
/// value, which they all take, not their own.
#[test]
fn a_bad_group_size_on_the_root_is_what_every_rank_reports() {
    let job = cluster_common::child(2, "child_bad_group_on_rank_0", LIMIT);
    assert!(
        !job.timed_out(),
        "still running after {LIMIT} s\n{}",
        job.all()
    );
    assert_eq!(job.code, Some(0), "{}", job.all());
    for r in 0..2 {
        assert!(
            job.stdout.contains(&format!(
                "rank {r}: init failed: COREPOOL_CLUSTER_GROUP=\"four\""
            )),
            "rank {r} does not show the root's value\n{}",
            job.all()
        );
    }
}

/// This rank's number, from the launcher's environment (Open MPI, MPICH),
/// before `init`.
fn launcher_rank() -> Option<usize> {
    ["OMPI_COMM_WORLD_RANK", "PMI_RANK"]
        .iter()
        .find_map(|v| std::env::var(v).ok()?.parse().ok())
}

/// Sets `var` to `value` on rank 1 only, then runs `init` and prints what
/// it returned.
fn init_with_on_rank_1(var: &str, value: &str) {
    init_with_on(1, var, value);
}

/// Sets `var` to `value` on rank `only` alone, then runs `init` and prints
/// what it returned.
fn init_with_on(only: usize, var: &str, value: &str) {
    let rank = launcher_rank().expect("the launcher names the rank");
    if rank == only {
        // SAFETY: the test harness runs this child alone
        // (--test-threads=1) and nothing else reads the environment while
        // it is set: no pool or MPI thread exists yet.
        unsafe { std::env::set_var(var, value) };
    }
    match Cluster::init() {
        Ok(cluster) => {
            let n = cluster.map_range(0..10, |x| x).count();
            println!("rank {}: init succeeded, {n} results", cluster.rank());
        }
        Err(e) => println!("rank {rank}: init failed: {e}"),
    }
}

#[test]
#[ignore = "a rank of the MPI job started by a_bad_worker_count_on_one_rank_fails_init_on_every_rank"]
fn child_bad_workers_on_rank_1() {
    if !cluster_common::is_child() {
        return;
    }
    init_with_on_rank_1(corepool::ENV_WORKERS, "abc");
}

#[test]
#[ignore = "a rank of the MPI job started by a_bad_group_size_on_one_rank_only_fails_init_on_every_rank"]
fn child_bad_group_on_rank_1() {
    if !cluster_common::is_child() {
        return;
    }
    init_with_on_rank_1(corepool::cluster::ENV_GROUP, "four");
}

#[test]
#[ignore = "a rank of the MPI job started by a_bad_group_size_on_the_root_is_what_every_rank_reports"]
fn child_bad_group_on_rank_0() {
    if !cluster_common::is_child() {
        return;
    }
    init_with_on(0, corepool::cluster::ENV_GROUP, "four");
}

//! Ranks that make different maps end the job within 10 seconds with a
//! message naming the rank, both maps' call sites and their item and
//! result types (not hashes).
#![cfg(feature = "mpi")]

mod cluster_common;

use corepool::cluster::Cluster;

/// The watchdog's limit: the bound.
const LIMIT: u64 = 10;

#[test]
fn ranks_making_different_maps_end_the_job_naming_both_maps() {
    for np in [2, 3] {
        check(np, &[]);
    }
}

/// In the leader tree, 5 ranks in groups of 2: the last rank is a member,
/// caught by its leader (rank 3).
#[test]
fn in_the_tree_a_member_making_another_map_ends_the_job_naming_both_maps() {
    check(5, &[(corepool::cluster::ENV_GROUP, "2")]);
}

fn check(np: usize, env: &[(&str, &str)]) {
    {
        let job = cluster_common::aborted_child(np, "child_mismatch", LIMIT, env);
        let err = &job.stderr;
        let last = np - 1;
        let root_site = cluster_common::site_of(file!(), "// the root's map");
        let odd_site = cluster_common::site_of(file!(), "// the last rank's map");
        assert!(
            err.contains(&format!("rank {last} ")),
            "np={np}: rank {last} is not named\n{}",
            job.all()
        );
        for site in [&root_site, &odd_site] {
            assert!(err.contains(site), "np={np}: no {site}\n{}", job.all());
        }
        for ty in ["u64", "alloc::string::String", "usize", "(u64, u64)"] {
            assert!(
                err.contains(ty),
                "np={np}: type {ty} is not named\n{}",
                job.all()
            );
        }
        assert!(
            !err.contains("signature"),
            "np={np}: hashes instead of names\n{}",
            job.all()
        );
    }
}

#[test]
#[ignore = "a rank of the MPI job started by ranks_making_different_maps_end_the_job_naming_both_maps"]
fn child_mismatch() {
    if !cluster_common::is_child() {
        return;
    }
    let cluster = Cluster::init().expect("init");
    let n = if cluster.rank() + 1 == cluster.size() {
        let words = vec!["a".to_owned(), "bb".to_owned()];
        cluster.map(words, |w: String| w.len()).count() // the last rank's map
    } else {
        cluster.map_range(0..100, |i| (i, i * i)).count() // the root's map
    };
    println!(
        "rank {} saw {n} results from mismatched maps",
        cluster.rank()
    );
}

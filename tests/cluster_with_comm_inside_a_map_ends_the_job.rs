//! `with_comm` between two `next()` calls of a started map panics, and the
//! panic (on the thread that owns the cluster) ends the job with a message
//! naming the map, instead of a collective that waits forever for ranks
//! still serving that map.
#![cfg(feature = "mpi")]

mod cluster_common;

use corepool::cluster::Cluster;

/// The watchdog's limit: a hang fails the test instead of CI.
const LIMIT: u64 = 20;

#[test]
fn with_comm_between_two_nexts_of_a_map_ends_the_job() {
    let job = cluster_common::aborted_child(2, "child_barrier_mid_map", LIMIT, &[]);
    let site = cluster_common::site_of(file!(), "// the map under way");
    assert!(
        job.stderr.contains("with_comm called while") && job.stderr.contains(&site),
        "no word of with_comm inside the map at {site}\n{}",
        job.all()
    );
}

#[test]
#[ignore = "a rank of the MPI job started by with_comm_between_two_nexts_of_a_map_ends_the_job"]
fn child_barrier_mid_map() {
    if !cluster_common::is_child() {
        return;
    }
    use mpi::collective::CommunicatorCollectives;
    let cluster = Cluster::init().expect("init");
    let mut m = cluster.map_range(0..100, |x| 2 * x); // the map under way
    let first = m.next();
    println!("rank {}: first {first:?}", cluster.rank());
    cluster.with_comm(|c| c.barrier());
    println!("rank {}: past the barrier", cluster.rank());
    drop(m);
}

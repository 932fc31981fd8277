//! A panic in user code on the thread that owns the `Cluster` (here: the
//! root's consumer, between two results of a map) aborts the job with a
//! message naming the rank and where the panic happened, not "its
//! communication thread".
#![cfg(feature = "mpi")]

mod cluster_common;

use corepool::cluster::Cluster;

const LIMIT: u64 = 10;

#[test]
fn a_panic_in_the_consumer_is_reported_where_it_happened() {
    for np in [1, 2] {
        let job = cluster_common::aborted_child(np, "child_consumer_panics", LIMIT, &[]);
        let site = cluster_common::site_of(file!(), "// the consumer's panic");
        let line = job
            .stderr
            .lines()
            .find(|l| l.contains("corepool cluster: rank 0"))
            .unwrap_or_else(|| panic!("np={np}: no corepool line\n{}", job.all()));
        assert!(
            line.contains(&site) && line.contains("aborting the MPI job"),
            "np={np}: the line does not say where: {line}\n{}",
            job.all()
        );
        assert!(
            !job.stderr.contains("communication thread"),
            "np={np}: blamed on the communication thread\n{}",
            job.all()
        );
    }
}

#[test]
#[ignore = "a rank of the MPI job started by a_panic_in_the_consumer_is_reported_where_it_happened"]
fn child_consumer_panics() {
    if !cluster_common::is_child() {
        return;
    }
    let cluster = Cluster::init().expect("init");
    for r in cluster.map_range(0..100, |i| i) {
        let x = r.expect("no panic in the closure");
        if x == 50 {
            panic!("the consumer gives up at item 50"); // the consumer's panic
        }
    }
    println!("rank {} finished the map", cluster.rank());
}

//! A panic on the thread that owns the cluster after the program replaced
//! the panic hook `Cluster::init` installed (as a logging crate may) still
//! ends the job: the unwinding drops the map and the `Cluster`, which abort
//! the job with a message instead of returning into `MPI_Finalize`, which
//! would wait for the other ranks forever.
#![cfg(feature = "mpi")]

mod cluster_common;

use corepool::cluster::Cluster;

/// The watchdog's limit: a hang fails the test instead of CI.
const LIMIT: u64 = 20;

#[test]
fn a_panic_after_the_hook_is_replaced_ends_the_job() {
    for child in ["child_panic_in_a_map", "child_panic_after_maps"] {
        let job = cluster_common::aborted_child(2, child, LIMIT, &[]);
        assert!(
            job.stderr.contains("custom hook: ") && job.stderr.contains("is unwinding through"),
            "{child}: no word of the unwinding\n{}",
            job.all()
        );
    }
}

#[test]
#[ignore = "a rank of the MPI job started by a_panic_after_the_hook_is_replaced_ends_the_job"]
fn child_panic_in_a_map() {
    if !cluster_common::is_child() {
        return;
    }
    let cluster = Cluster::init().expect("init");
    std::panic::set_hook(Box::new(|info| eprintln!("custom hook: {info}")));
    let mut m = cluster.map_range(0..100, |x| 2 * x);
    let _ = m.next();
    if cluster.is_root() {
        panic!("a bug in the consumer");
    }
}

#[test]
#[ignore = "a rank of the MPI job started by a_panic_after_the_hook_is_replaced_ends_the_job"]
fn child_panic_after_maps() {
    if !cluster_common::is_child() {
        return;
    }
    let cluster = Cluster::init().expect("init");
    std::panic::set_hook(Box::new(|info| eprintln!("custom hook: {info}")));
    let _ = cluster.map_range(0..100, |x| 2 * x).count();
    if cluster.is_root() {
        panic!("a bug after the maps");
    }
}

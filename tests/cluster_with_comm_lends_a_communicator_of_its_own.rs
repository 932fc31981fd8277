//! `with_comm` lends a communicator apart from the maps': a receive from
//! any rank there, between two maps, gets the user's message, not a
//! faster rank's `READY` for the next map, and both maps end normally.
#![cfg(feature = "mpi")]

mod cluster_common;

use corepool::cluster::Cluster;

/// The watchdog's limit: a hang fails the test instead of CI.
const LIMIT: u64 = 20;

#[test]
fn a_receive_from_any_rank_on_the_lent_communicator_gets_the_users_message() {
    let job = cluster_common::child(3, "child_p2p_between_maps", LIMIT);
    assert!(
        !job.timed_out(),
        "still running after {LIMIT} s\n{}",
        job.all()
    );
    assert_eq!(job.code, Some(0), "{}", job.all());
    assert!(
        job.stdout.contains("root received [7] from rank 1"),
        "{}",
        job.all()
    );
    assert!(
        job.stdout.contains("rank 0: second map, 10 results"),
        "{}",
        job.all()
    );
}

#[test]
#[ignore = "a rank of the MPI job started by a_receive_from_any_rank_on_the_lent_communicator_gets_the_users_message"]
fn child_p2p_between_maps() {
    if !cluster_common::is_child() {
        return;
    }
    use mpi::point_to_point::{Destination, Source};
    use mpi::topology::Communicator;
    let cluster = Cluster::init().expect("init");
    let _ = cluster.map_range(0..10, |x| 2 * x).count();
    cluster.with_comm(|c| {
        if cluster.is_root() {
            let (msg, status) = c.any_process().receive_vec::<u8>();
            println!("root received {msg:?} from rank {}", status.source_rank());
        } else if cluster.rank() == 1 {
            c.process_at_rank(0).send(&[7u8][..]);
        }
        // Rank 2 goes straight on to the next map, whose READY races with
        // rank 1's message: on the lent communicator the root's receive
        // from any rank can only get rank 1's (on the maps' own, which
        // `with_comm` lent before, it took rank 2's READY whenever that came
        // first). Nothing here orders the ranks by time.
    });
    let n = cluster.map_range(0..10, |x| 3 * x).count();
    println!("rank {}: second map, {n} results", cluster.rank());
}

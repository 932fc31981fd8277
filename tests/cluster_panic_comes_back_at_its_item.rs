//! A panic in the closure on any rank comes back on the root at its item,
//! with the rank and the message; the map goes on and every rank exits 0.
#![cfg(feature = "mpi")]

mod cluster_common;

use corepool::cluster::Cluster;

#[test]
fn a_panic_on_any_rank_comes_back_at_its_item() {
    for np in [1, 2, 3] {
        let job = cluster_common::child(np, "child_panics", 60);
        assert!(!job.timed_out(), "np={np} hung\n{}", job.all());
        assert_eq!(job.code, Some(0), "np={np}\n{}", job.all());
        assert!(
            job.stdout.contains(&format!("panics ok on {np} ranks")),
            "np={np}\n{}",
            job.all()
        );
    }
}

#[test]
#[ignore = "a rank of the MPI job started by a_panic_on_any_rank_comes_back_at_its_item"]
fn child_panics() {
    if !cluster_common::is_child() {
        return;
    }
    let cluster = Cluster::init().expect("init");
    let size = cluster.size();
    // Twice: with the root working, then with the root only feeding, so
    // that with two ranks or more the panics come from another rank.
    for root_works in [true, false] {
        let results: Vec<_> = cluster
            .map_range(0..200, |i| {
                assert!(i % 10 != 3, "item {i} is unlucky");
                i * i
            })
            .root_works(root_works)
            .collect();
        if !cluster.is_root() {
            assert!(results.is_empty());
            continue;
        }
        assert_eq!(results.len(), 200);
        for (i, r) in results.into_iter().enumerate() {
            let i = i as u64;
            match r {
                Ok(v) => {
                    assert!(i % 10 != 3);
                    assert_eq!(v, i * i);
                }
                Err(err) => {
                    assert_eq!(i % 10, 3, "{err}");
                    assert!(err.is_panic());
                    assert_eq!(err.index(), Some(i));
                    assert_eq!(
                        err.panic_message(),
                        Some(format!("item {i} is unlucky").as_str())
                    );
                    let rank = err.rank().expect("a rank");
                    assert!(rank < size);
                    if !root_works && size > 1 {
                        assert_ne!(rank, 0, "the root does not work");
                    }
                    assert!(err.to_string().contains(&format!("on rank {rank}")));
                }
            }
        }
    }
    // The cluster still works after the panics.
    let sum: u64 = cluster.map_range(0..100, |i| i).map(|r| r.unwrap()).sum();
    if cluster.is_root() {
        assert_eq!(sum, 4950);
        println!("panics ok on {size} ranks");
    }
}

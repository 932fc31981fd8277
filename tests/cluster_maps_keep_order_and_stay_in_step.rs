//! The cluster maps' contract on 1, 2 and 3 ranks: ordered maps give every
//! result in input order, unordered maps every result once; items travel as
//! data or as index ranges; a map dropped early (even an endless one) stops
//! every rank, and many maps in a row stay in step.
#![cfg(feature = "mpi")]

mod cluster_common;

use corepool::cluster::Cluster;

#[test]
fn maps_keep_their_contract_on_one_two_and_three_ranks() {
    for np in [1, 2, 3] {
        let job = cluster_common::child(np, "child_maps", 120);
        assert!(!job.timed_out(), "np={np} hung\n{}", job.all());
        assert_eq!(job.code, Some(0), "np={np}\n{}", job.all());
        assert!(
            job.stdout.contains(&format!("maps ok on {np} ranks")),
            "np={np}\n{}",
            job.all()
        );
    }
}

#[test]
#[ignore = "a rank of the MPI job started by maps_keep_their_contract_on_one_two_and_three_ranks"]
fn child_maps() {
    if !cluster_common::is_child() {
        return;
    }
    let cluster = Cluster::init().expect("init");
    let root = cluster.is_root();
    let size = cluster.size();

    // Ordered, over an index range, adaptive chunks: input order.
    let squares: Vec<u64> = cluster
        .map_range(0..5000, |i| i * i)
        .collect::<Result<_, _>>()
        .unwrap();
    if root {
        assert_eq!(squares, (0..5000u64).map(|i| i * i).collect::<Vec<_>>());
    } else {
        assert!(squares.is_empty());
    }

    // Unordered, items as data (strings), tiny fixed chunks and window.
    let words: Vec<String> = (0..300).map(|i| format!("word-{i}")).collect();
    let mut lengths: Vec<(usize, String)> = cluster
        .map_unordered(words.clone(), |w: String| (w.len(), w.to_uppercase()))
        .chunk_size(1)
        .window(3)
        .collect::<Result<_, _>>()
        .unwrap();
    if root {
        lengths.sort_by(|a, b| a.1.cmp(&b.1));
        let mut want: Vec<(usize, String)> =
            words.iter().map(|w| (w.len(), w.to_uppercase())).collect();
        want.sort_by(|a, b| a.1.cmp(&b.1));
        assert_eq!(lengths, want);
    }

    // The root only feeds; uneven work (later items cost more).
    let total: u64 = cluster
        .map_range_unordered(0..400, |i| {
            (0..i * 50).fold(0u64, |a, x| a.wrapping_add(x)) % 7 + i
        })
        .root_works(false)
        .map(|r| r.unwrap())
        .sum();
    if root {
        let want: u64 = (0..400u64)
            .map(|i| (0..i * 50).fold(0u64, |a, x| a.wrapping_add(x)) % 7 + i)
            .sum();
        assert_eq!(total, want);
    }

    // An empty input.
    assert_eq!(cluster.map_range(5..5, |i| i).count(), 0);
    assert_eq!(cluster.map(Vec::<u8>::new(), |x: u8| x).count(), 0);

    // Dropped early: an endless input, 100 results taken, the rest stopped.
    let first: Vec<u64> = cluster
        .map(0u64.., |x: u64| x + 1)
        .take(100)
        .collect::<Result<_, _>>()
        .unwrap();
    if root {
        assert_eq!(first, (1..=100).collect::<Vec<_>>());
    }

    // Dropped without a single next(): every rank still takes part.
    drop(cluster.map_range(0..1000, |i| i));

    // size_hint on the root counts what is left.
    let mut map = cluster.map_range(0..10, |i| i);
    if root {
        assert_eq!(map.size_hint(), (10, Some(10)));
        assert_eq!(map.next().map(|r| r.unwrap()), Some(0));
        assert_eq!(map.size_hint(), (9, Some(9)));
    } else {
        assert_eq!(map.next().map(|r| r.unwrap()), None);
    }
    drop(map);

    // Many small maps in a row stay in step.
    for round in 0..50u64 {
        let sum: u64 = cluster
            .map_range(0..round, move |i| i + round)
            .map(|r| r.unwrap())
            .sum();
        if root {
            assert_eq!(sum, (0..round).map(|i| i + round).sum::<u64>());
        }
    }

    // The pool is an ordinary pool between maps.
    assert_eq!(cluster.pool().submit(|| 6 * 7).join().unwrap(), 42);
    if root {
        println!("maps ok on {size} ranks");
    }
}

//! The example behind BENCHMARKS.md's table of the root's load
//! (`examples/cluster_root_load.rs`): every item comes back (the example
//! checks) and the root prints its messages and busy time per second, on
//! 1 rank (nothing to send) and on 3 (the root only feeding).
#![cfg(feature = "mpi")]

mod cluster_common;

use cluster_common::example;

fn run(np: usize, args: &[&str]) -> String {
    let job = example(np, "cluster_root_load", args);
    assert!(
        !job.timed_out(),
        "{args:?} on {np} ranks hung\n{}",
        job.all()
    );
    assert_eq!(job.code, Some(0), "{args:?} on {np} ranks\n{}", job.all());
    job.stdout
}

#[test]
fn cluster_root_load_reports_the_roots_messages() {
    let one = run(1, &["2000", "--work-us", "1"]);
    assert!(one.contains("1 ranks, 2,000 items of 1 µs"), "{one}");
    assert!(one.contains("root: 0 messages"), "{one}");
    let three = run(3, &["3000", "--work-us", "10", "--feed-only"]);
    assert!(three.contains("3 ranks, 3,000 items of 10 µs"), "{three}");
    for want in ["messages (", "ms/s", "per message received"] {
        assert!(three.contains(want), "no {want:?} in {three}");
    }
    assert!(!three.contains("root: 0 messages"), "{three}");
    // The leader tree: the line says so and has the busiest leader's load.
    let exe = cluster_common::examples_dir().join("cluster_root_load");
    let args = ["2000", "--work-us", "10", "--feed-only"];
    let job = cluster_common::mpirun_env(
        5,
        &exe,
        &args,
        120,
        &[
            (corepool::cluster::ENV_GROUP, "2"),
            ("COREPOOL_WORKERS", "1"),
        ],
    );
    assert!(!job.timed_out(), "the tree hung\n{}", job.all());
    assert_eq!(job.code, Some(0), "{}", job.all());
    let tree = job.stdout;
    assert!(
        tree.contains("5 ranks (groups of 2), 2,000 items"),
        "{tree}"
    );
    assert!(tree.contains("busiest other rank: "), "{tree}");
}

//! `primes` across MPI ranks: counts (and optionally lists) the primes in a
//! range by trial division, over blocks of numbers with `Cluster::map_range`
//! (only each chunk's block numbers travel; each block's primes come back),
//! and compares the time with the same blocks on one thread of the root.
//!
//! Same arguments and output as `primes`, plus one line naming the ranks.
//! Run it with (as root, Open MPI also wants `OMPI_ALLOW_RUN_AS_ROOT=1
//! OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`):
//!
//! `cargo build --release --features mpi --example cluster_primes &&
//!  mpirun -np 2 --bind-to none target/release/examples/cluster_primes [LIMIT] [--from START] [--block B] [--list]`

#[path = "common/mod.rs"]
mod common;

use common::{Args, grouped, primes_in, secs, speedup, timed};
use corepool::cluster::Cluster;
use mpi::Rank;
use mpi::topology::Communicator;
use mpi::traits::Root;

const USAGE: &str = "cluster_primes [LIMIT] [--from START] [--block B] [--list]   (primes in START..LIMIT, default 0..10000000)";

/// Every rank's worker count, on the root (empty elsewhere).
fn workers_per_rank(cluster: &Cluster) -> Vec<u64> {
    let mine = cluster.pool().workers() as u64;
    cluster.with_comm(|comm| {
        let root = comm.process_at_rank(0 as Rank);
        if cluster.is_root() {
            let mut all = vec![0u64; cluster.size()];
            root.gather_into_root(&mine, &mut all[..]);
            all
        } else {
            root.gather_into(&mine);
            Vec::new()
        }
    })
}

fn main() {
    let mut args = Args::parse(USAGE);
    let list = args.flag("--list");
    let from: u64 = args.option("--from", 0);
    let block: u64 = args.option("--block", 10_000);
    let limit: u64 = args.next_or("LIMIT", 10_000_000);
    args.check(block > 0, "--block must be at least 1");
    args.check(from <= limit, "START must not exceed LIMIT");
    args.check(limit <= 1 << 62, "LIMIT is too large");
    args.finish();

    let cluster = Cluster::init().unwrap_or_else(|err| {
        eprintln!("error: cannot start the cluster: {err}");
        std::process::exit(1);
    });
    let workers = workers_per_rank(&cluster);
    let blocks = (limit - from).div_ceil(block);
    let bounds = move |k: u64| {
        let lo = from + k * block;
        (lo, (lo + block).min(limit))
    };

    if cluster.is_root() {
        common::banner(cluster.pool());
        println!(
            "cluster: {} ranks, workers per rank {workers:?} ({} in all)",
            cluster.size(),
            workers.iter().sum::<u64>()
        );
    }
    // The single thread runs first, while the other ranks wait (asleep) in
    // the map, so nothing else competes with it for the root's core.
    let (alone, t_one) = if cluster.is_root() {
        timed(|| {
            (0..blocks)
                .map(|k| primes_in(bounds(k)))
                .collect::<Vec<_>>()
        })
    } else {
        (Vec::new(), Default::default())
    };
    let (found, t_cluster) = timed(|| {
        cluster
            .map_range(0..blocks, move |k| primes_in(bounds(k)))
            .collect::<Result<Vec<_>, _>>()
    });
    let found = found.unwrap_or_else(|err| {
        eprintln!("error: {err}");
        std::process::exit(1);
    });
    if !cluster.is_root() {
        return;
    }
    if found != alone {
        eprintln!("error: the cluster and the single thread disagree");
        std::process::exit(1);
    }

    let count: usize = found.iter().map(Vec::len).sum();
    if list {
        for p in found.iter().flatten() {
            println!("{p}");
        }
    }
    println!(
        "{} primes in {}..{}",
        grouped(count as u64),
        grouped(from),
        grouped(limit)
    );
    println!(
        "{} ranks, {} workers: {}",
        cluster.size(),
        workers.iter().sum::<u64>(),
        secs(t_cluster)
    );
    println!(
        "1 thread:  {}  (speed-up {})",
        secs(t_one),
        speedup(t_one, t_cluster)
    );
}

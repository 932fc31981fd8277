//! What feeding the other ranks costs the root: runs one map of N items of
//! about W µs of work each (a spin) across the job, and prints, on the root,
//! the map's wall time and the root's protocol load over it: messages sent
//! and received per second and the time its protocol rounds were busy per
//! second (`Cluster::stats`), and per message received. Used for the
//! flat-root table in
//! BENCHMARKS.md.
//!
//! With `COREPOOL_CLUSTER_GROUP=g` (the leader-per-group tree, see
//! `Cluster::group_size`) the root feeds group leaders only; the line then
//! says so, and adds the busiest other rank's load (a leader's, in a tree).
//!
//! `cargo build --release --features mpi --example cluster_root_load &&
//!  COREPOOL_WORKERS=1 [COREPOOL_CLUSTER_GROUP=4] mpirun -np 8 --oversubscribe --bind-to none target/release/examples/cluster_root_load [N] [--work-us W] [--chunk C]`

#[path = "common/mod.rs"]
mod common;

use common::{Args, grouped};
use corepool::cluster::Cluster;
use mpi::collective::Root;
use mpi::topology::Communicator;
use std::time::{Duration, Instant};

const USAGE: &str = "cluster_root_load [N] [--work-us W] [--chunk C] [--sleep] [--feed-only]   (N items, default 200000; W µs each, default 20; C: fixed chunk size, 0 = adaptive; --sleep: the work sleeps instead of spinning, as ranks on other nodes would leave this one's cores free; --feed-only: root_works(false))";

fn spin(us: u64) -> u64 {
    let end = Instant::now() + Duration::from_micros(us);
    let mut n = 0u64;
    while Instant::now() < end {
        n = n.wrapping_add(1);
    }
    n
}

fn main() {
    let mut args = Args::parse(USAGE);
    let work: u64 = args.option("--work-us", 20);
    let chunk: usize = args.option("--chunk", 0);
    let sleep = args.flag("--sleep");
    let feed_only = args.flag("--feed-only");
    let n: u64 = args.next_or("N", 200_000);
    args.finish();

    let cluster = Cluster::init().unwrap_or_else(|err| {
        eprintln!("error: cannot start the cluster: {err}");
        std::process::exit(1);
    });
    let before = cluster.stats();
    let start = Instant::now();
    let map = cluster
        .map_range(0..n, move |x| {
            if sleep {
                std::thread::sleep(Duration::from_micros(work));
                x
            } else {
                spin(work).wrapping_add(x)
            }
        })
        .root_works(!feed_only);
    let map = if chunk > 0 {
        map.chunk_size(chunk)
    } else {
        map
    };
    let done = map.filter(Result::is_ok).count();
    let wall = start.elapsed();
    // Every rank's own load over the map, gathered on the root.
    let after = cluster.stats();
    let mine = [
        after.messages_sent + after.messages_received
            - before.messages_sent
            - before.messages_received,
        (after.busy - before.busy).as_nanos() as u64,
    ];
    let mut all = vec![
        0u64;
        if cluster.is_root() {
            2 * cluster.size()
        } else {
            0
        }
    ];
    cluster.with_comm(|comm| {
        let root = comm.process_at_rank(0);
        if cluster.is_root() {
            root.gather_into_root(&mine[..], &mut all[..]);
        } else {
            root.gather_into(&mine[..]);
        }
    });
    if !cluster.is_root() {
        return;
    }
    assert_eq!(done as u64, n, "every item came back");
    let sent = after.messages_sent - before.messages_sent;
    let received = after.messages_received - before.messages_received;
    let busy = after.busy - before.busy;
    let secs = wall.as_secs_f64();
    // Each chunk of another rank is one CHUNK out and one DONE back.
    let chunks = received.max(1);
    let layout = match cluster.group_size() {
        Some(g) => format!(" (groups of {g})"),
        None => String::new(),
    };
    // The busiest rank but the root: a leader, in a tree.
    let (other_msgs, other_busy) = all
        .chunks(2)
        .skip(1)
        .map(|c| (c[0], c[1]))
        .max_by_key(|&(_, busy)| busy)
        .unwrap_or((0, 0));
    println!(
        "{} ranks{layout}, {} items of {work} µs: {:.3} s; root: {} messages ({:.0}/s), busy {:.2} ms/s, {:.1} µs per message received; busiest other rank: {:.0} messages/s, busy {:.2} ms/s",
        cluster.size(),
        grouped(n),
        secs,
        grouped(sent + received),
        (sent + received) as f64 / secs,
        busy.as_secs_f64() * 1e3 / secs,
        busy.as_secs_f64() * 1e6 / chunks as f64,
        other_msgs as f64 / secs,
        other_busy as f64 / 1e6 / secs,
    );
}

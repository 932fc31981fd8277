//! A rank's communication thread does not spin while it waits: neither a
//! rank with nothing to do (the root is busy elsewhere) nor the root waiting
//! for a long chunk. Each measures its own thread's CPU time
//! (`getrusage(RUSAGE_THREAD)`) over the wait and prints it; the assertion
//! only tells sleeping from spinning (a spinning thread burns ~1000 ms per
//! second, the bound is 100). Also prints the root's CPU time per chunk.
#![cfg(feature = "mpi")]

mod cluster_common;

use std::time::{Duration, Instant};

use corepool::cluster::Cluster;

/// CPU time of the calling thread.
fn thread_cpu() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct it is given.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_THREAD, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// Milliseconds of CPU per second of wall time over `f`.
fn cpu_per_second(f: impl FnOnce()) -> f64 {
    let (cpu, wall) = (thread_cpu(), Instant::now());
    f();
    (thread_cpu() - cpu).as_secs_f64() * 1e3 / wall.elapsed().as_secs_f64()
}

#[test]
fn waiting_ranks_sleep_instead_of_spinning() {
    let job = cluster_common::child(2, "child_idle", 60);
    print!(
        "{}",
        job.stdout
            .lines()
            .filter(|l| l.contains("idle") || l.contains("root:"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    );
    assert!(!job.timed_out(), "hung\n{}", job.all());
    assert_eq!(job.code, Some(0), "{}", job.all());
    assert!(job.stdout.contains("idle ok"), "{}", job.all());
}

#[test]
#[ignore = "a rank of the MPI job started by waiting_ranks_sleep_instead_of_spinning"]
fn child_idle() {
    if !cluster_common::is_child() {
        return;
    }
    let cluster = Cluster::init().expect("init");
    assert_eq!(cluster.size(), 2, "run on two ranks");

    // Every rank must map with the same closure (the same type): one
    // closure, defined once, used on both branches.
    let ident = |i: u64| i;

    // 1. Rank 1 idles in the map while the root sleeps between two results
    //    (window 1: nothing more is handed out until the root takes one).
    if cluster.is_root() {
        let mut map = cluster
            .map_range(0..3, ident)
            .root_works(false)
            .window(1)
            .chunk_size(1);
        assert_eq!(map.next().unwrap().unwrap(), 0);
        std::thread::sleep(Duration::from_secs(2));
        assert_eq!(map.map(|r| r.unwrap()).sum::<u64>(), 3);
    } else {
        let ms = cpu_per_second(|| assert_eq!(cluster.map_range(0..3, ident).count(), 0));
        println!("idle rank's communication thread: {ms:.2} ms CPU per second");
        assert!(
            ms < 100.0,
            "an idle rank's communication thread spins: {ms:.1} ms/s"
        );
    }

    // 2. The root waits for one long item on rank 1.
    let long = |_: u64| {
        let until = Instant::now() + Duration::from_secs(2);
        let mut spins = 0u64;
        while Instant::now() < until {
            spins = spins.wrapping_add(1);
        }
        spins
    };
    if cluster.is_root() {
        let ms = cpu_per_second(|| {
            assert_eq!(cluster.map_range(0..1, long).root_works(false).count(), 1)
        });
        println!("idle root waiting for a chunk: {ms:.2} ms CPU per second");
        assert!(
            ms < 100.0,
            "the root's communication thread spins while it waits: {ms:.1} ms/s"
        );
    } else {
        assert_eq!(cluster.map_range(0..1, long).root_works(false).count(), 0);
    }

    // 3. What one chunk costs the root: one-item chunks of a trivial
    //    closure, all on rank 1, so the root only hands out and takes back.
    let n = 5000;
    let start = Instant::now();
    let cpu = thread_cpu();
    let before = cluster.stats();
    let count = cluster
        .map_range(0..n, ident)
        .root_works(false)
        .chunk_size(1)
        .count();
    if cluster.is_root() {
        assert_eq!(count, n as usize);
        let per = (thread_cpu() - cpu).as_secs_f64() * 1e6 / n as f64;
        let wall = start.elapsed().as_secs_f64() * 1e6 / n as f64;
        let after = cluster.stats();
        let parks = (after.parks - before.parks) as f64 / n as f64;
        let busy = (after.busy - before.busy).as_secs_f64() * 1e6 / n as f64;
        println!(
            "root: {busy:.1} µs busy per chunk; {per:.1} µs CPU and {wall:.1} µs wall per chunk \
             with waiting, {parks:.2} parks per chunk (one-item chunks, rank 1 works)"
        );
        println!("idle ok");
    }
}

//! `Pool::map_unordered`'s consumer, on a thread outside the pool with
//! every worker busy, runs a chunk itself only when it is the oldest in
//! flight and no worker has started it (`map.rs`, `help_with_chunk`). It
//! used to run any unstarted chunk: with the workers busy with the map's
//! own chunks, that put one thread more than there are workers on the map
//! (on primes below 2,000,000 in 200 items on 2 workers, the consumer spent
//! 37 ms of CPU a call running chunks, and the call took 2.7 % longer).
//! It still runs the map on its own when the workers are busy elsewhere.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::channel;
use std::thread::{self, ThreadId};

use common::{Gate, eventually, occupy_one_worker, watchdog};
use corepool::Pool;

/// The state letter of thread `tid` of this process (`R`, `S`, ...).
fn thread_state(tid: &str) -> Option<char> {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).ok()?;
    // The command name, in parentheses, may hold spaces: the state is the
    // first field after its closing parenthesis.
    stat.rsplit_once(')')?.1.trim_start().chars().next()
}

/// One worker, busy with item 0 until the consumer has gone to sleep:
/// items 1–3 wait behind it in the queue, and the consumer (which the
/// input holds back until item 0 has started, so that it sees the worker
/// busy) must wait for the worker rather than run them. Once item 0 is let
/// go, any thread may run the rest.
#[cfg(target_os = "linux")]
#[test]
fn the_consumer_leaves_newer_chunks_to_a_worker_busy_with_an_older_one() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let gate = Gate::new();
        let opened = Arc::new(AtomicBool::new(false));
        let all_read = Arc::new(AtomicBool::new(false));
        let (started_tx, started_rx) = channel::<()>();
        let (tid_tx, tid_rx) = channel::<String>();
        let (item_gate, item_opened, read) = (gate.clone(), opened.clone(), all_read.clone());
        let consumer = {
            let pool = pool.clone();
            thread::spawn(move || {
                let link = std::fs::read_link("/proc/thread-self").unwrap();
                let tid = link.file_name().unwrap().to_string_lossy().into_owned();
                tid_tx.send(tid).unwrap();
                // Item 1 is read only once item 0 runs on the worker.
                let input = (0..4u32).inspect(move |&i| {
                    if i == 1 {
                        started_rx.recv().unwrap();
                    }
                    if i == 3 {
                        read.store(true, Ordering::SeqCst);
                    }
                });
                pool.map_unordered(input, move |i| {
                    if i == 0 {
                        started_tx.send(()).unwrap();
                        item_gate.wait();
                    }
                    // Whether item 0 had been let go when this item started.
                    (i, item_opened.load(Ordering::SeqCst))
                })
                .chunk_size(1)
                .window(4)
                .collect::<Vec<(u32, bool)>>()
            })
        };
        let tid = tid_rx.recv().unwrap();
        // The whole input is in flight: the consumer's next sleep is its
        // wait for a chunk (running one, it would not sleep).
        eventually(|| all_read.load(Ordering::SeqCst));
        eventually(|| thread_state(&tid) == Some('S'));
        opened.store(true, Ordering::SeqCst);
        gate.open();
        let mut out = consumer.join().unwrap();
        out.sort_unstable();
        assert_eq!(
            out.iter().map(|&(i, _)| i).collect::<Vec<_>>(),
            [0, 1, 2, 3]
        );
        for &(i, after) in &out[1..] {
            assert!(after, "item {i} ran while item 0 held the only worker");
        }
    });
}

/// With the only worker busy with other work, the consumer runs the whole
/// map itself, oldest chunk first.
#[test]
fn the_consumer_runs_the_map_while_the_workers_are_busy_elsewhere() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (busy, release) = occupy_one_worker(&pool);
        let me = thread::current().id();
        let out: Vec<(u32, ThreadId)> = pool
            .map_unordered(0..100u32, |i| (i, thread::current().id()))
            .chunk_size(3)
            .collect();
        release.send(()).unwrap();
        busy.join().unwrap();
        assert_eq!(
            out.iter().map(|&(i, _)| i).collect::<Vec<_>>(),
            (0..100).collect::<Vec<_>>(),
            "oldest chunk first, in order"
        );
        assert!(out.iter().all(|&(_, thread)| thread == me));
    });
}

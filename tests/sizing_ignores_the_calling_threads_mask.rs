//! A pool built inside a task (on a worker pinned to one CPU), or on a thread
//! spawned from such a task (which inherits that one-CPU mask), is sized and
//! placed like one built on an unpinned thread: defaults follow the process's
//! affinity mask, not the calling thread's.
mod common;

use common::watchdog;
use corepool::topology::{Topology, current_thread_cpus, process_cpus};
use corepool::{Pinning, Pool};

/// What a default build sees from the thread it runs on.
#[derive(Debug, PartialEq)]
struct Seen {
    workers: usize,
    pinning: Pinning,
    cpus: Vec<Option<usize>>,
    topology: Topology,
    process: Vec<usize>,
}

fn seen_here() -> Seen {
    let pool = Pool::new().unwrap();
    let seen = Seen {
        workers: pool.workers(),
        pinning: pool.pinning().clone(),
        cpus: pool.stats().workers.iter().map(|w| w.cpu).collect(),
        topology: Topology::detect().unwrap(),
        process: process_cpus().unwrap(),
    };
    pool.shutdown();
    seen
}

/// A pool whose only worker is pinned to one CPU (where pinning exists).
fn one_pinned_worker() -> Pool {
    let cpu = process_cpus().unwrap()[0];
    Pool::builder()
        .pinning(Pinning::Cpus(vec![cpu]))
        .build()
        .unwrap()
}

#[test]
fn a_pool_built_inside_a_task_is_sized_like_one_built_outside() {
    watchdog(120, || {
        let outside = seen_here();
        let outer = one_pinned_worker();
        let (mask, inside) = outer
            .submit(|| (current_thread_cpus().unwrap(), seen_here()))
            .join()
            .unwrap();
        if corepool::topology::PINNING_SUPPORTED {
            assert_eq!(mask.len(), 1, "the task runs on a pinned worker");
        }
        assert_eq!(inside, outside);
        outer.shutdown();
    });
}

#[test]
fn a_pool_built_on_a_thread_spawned_from_a_task_is_sized_like_one_built_outside() {
    watchdog(120, || {
        let outside = seen_here();
        let outer = one_pinned_worker();
        let (mask, inside) = outer
            .submit(|| {
                std::thread::spawn(|| (current_thread_cpus().unwrap(), seen_here()))
                    .join()
                    .unwrap()
            })
            .join()
            .unwrap();
        if corepool::topology::PINNING_SUPPORTED {
            assert_eq!(mask.len(), 1, "the thread inherits the worker's pin");
        }
        assert_eq!(inside, outside);
        outer.shutdown();
    });
}

#[test]
fn unpinned_workers_built_inside_a_task_get_the_process_mask() {
    watchdog(120, || {
        let process = process_cpus().unwrap();
        let outer = one_pinned_worker();
        // Built inside the task, used from this (unpinned) thread, so no
        // worker of `outer` waits on the inner tasks.
        let inner = outer
            .submit(|| {
                Pool::builder()
                    .pinning(Pinning::None)
                    .workers(2)
                    .build()
                    .unwrap()
            })
            .join()
            .unwrap();
        let barrier = std::sync::Arc::new(std::sync::Barrier::new(2));
        // One task per worker, held at a barrier so each runs on its own.
        let tasks: Vec<_> = (0..2)
            .map(|_| {
                let barrier = barrier.clone();
                inner.submit(move || {
                    barrier.wait();
                    current_thread_cpus().unwrap()
                })
            })
            .collect();
        let masks: Vec<Vec<usize>> = tasks.into_iter().map(|t| t.join().unwrap()).collect();
        inner.shutdown();
        for mask in masks {
            assert_eq!(mask, process);
        }
        outer.shutdown();
    });
}

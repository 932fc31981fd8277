//! Where `Pool::par` runs its pieces: few items on the pool's workers, truly
//! in parallel (pieces wait for each other at a barrier); a longer call
//! starts on the calling thread and hands its rest to the workers once that
//! is worth it (sequential first), the pool named by `Pool::current` either
//! way (on a one-worker pool too, so that nested calls run inline); pieces forced by `with_max_len` on the workers; on the caller once
//! the pool has shut down.
mod common;

use std::sync::Barrier;

use common::watchdog;
use corepool::Pool;

#[test]
fn pieces_run_at_the_same_time_on_different_workers() {
    watchdog(60, || {
        for workers in [2, 3, 4] {
            let pool = Pool::builder().workers(workers).build().unwrap();
            // Every item blocks until all have arrived: this finishes only if
            // all run at once, one per worker.
            let barrier = Barrier::new(workers);
            let on: Vec<Option<usize>> = pool
                .par(0..workers)
                .map(|_| {
                    barrier.wait();
                    Pool::current_worker_index()
                })
                .collect();
            let mut on: Vec<usize> = on.into_iter().map(Option::unwrap).collect();
            on.sort_unstable();
            on.dedup();
            assert_eq!(on.len(), workers, "every item on its own worker");
        }
    });
}

#[test]
fn a_call_from_outside_runs_on_workers_or_starts_on_the_caller() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let caller = std::thread::current().id();
    let on: Vec<(Option<usize>, bool, bool)> = pool
        .par(0..10_000u32)
        .map(|_| {
            let current = Pool::current().expect("the pool is named everywhere");
            (
                Pool::current_worker_index(),
                std::thread::current().id() == caller,
                current.workers() == 2,
            )
        })
        .collect();
    // On a worker, or on the calling thread (the sequential start).
    assert!(on.iter().all(|&(w, here, named)| named
        && match w {
            Some(0 | 1) => !here,
            None => here,
            _ => false,
        }));
    // The calling thread runs a prefix: once handed over, the rest is on
    // the workers.
    let first_on_worker = on.iter().position(|&(w, _, _)| w.is_some());
    if let Some(first) = first_on_worker {
        assert!(on[..first].iter().all(|&(w, _, _)| w.is_none()));
    }
    // Pieces asked for with `with_max_len` all run on the workers.
    let pieces: Vec<Option<usize>> = pool
        .par(0..10_000u32)
        .with_max_len(1000)
        .map(|_| Pool::current_worker_index())
        .collect();
    assert!(pieces.iter().all(|w| matches!(w, Some(0 | 1))));
}

#[test]
fn a_one_worker_pool_runs_everything_on_its_worker_or_the_caller() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let on: Vec<Option<usize>> = pool
            .par(0..10_000u32)
            .map(|_| Pool::current_worker_index())
            .collect();
        assert!(on.iter().all(|w| matches!(w, None | Some(0))));
        let few: Vec<Option<usize>> = pool
            .par(0..64u32)
            .map(|_| Pool::current_worker_index())
            .collect();
        assert!(
            few.iter().all(|w| *w == Some(0)),
            "few items: on the worker"
        );
        let mut data = vec![1u64; 50_000];
        pool.par_chunks_mut(&mut data, 4096)
            .for_each(|c| c.iter_mut().for_each(|x| *x += 1));
        assert_eq!(pool.par(&data).sum::<u64>(), 100_000);
    });
}

#[test]
fn a_long_call_from_outside_a_one_worker_pool_hops_so_nested_calls_run_inline() {
    watchdog(60, || {
        // A long call from outside hops into the pool even with one worker:
        // its items' own pool calls (here a `join`) then run inline on that
        // worker. Walked wholly on the caller, each item's `join` was a call
        // from outside that hopped on its own (4,000 of them took ~1,000×
        // as long). 400 items of at least 5 µs are past a hop's worth on
        // any machine, and the walk hops after its first few items.
        let pool = Pool::builder().workers(1).build().unwrap();
        let on: Vec<(Option<usize>, Option<usize>)> = pool
            .par(0..400u32)
            .with_min_len(50)
            .map(|_| {
                common::busy_for(std::time::Duration::from_micros(5));
                let (inner, _) = pool.join(Pool::current_worker_index, || ());
                (Pool::current_worker_index(), inner)
            })
            .collect();
        assert_eq!(on.len(), 400);
        let inline = on
            .iter()
            .filter(|&&(item, inner)| item == Some(0) && inner == Some(0))
            .count();
        assert!(
            inline >= 200,
            "only {inline} of 400 items ran on the worker with their join inline: \
             the call did not hop"
        );
        // The first piece runs on the caller, before the walk's first look.
        assert_eq!(on[0].0, None, "the walk starts on the calling thread");
    });
}

#[test]
fn after_shutdown_par_runs_on_the_caller() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        pool.shutdown();
        let on: Vec<Option<usize>> = pool
            .par(0..1000u32)
            .map(|_| Pool::current_worker_index())
            .collect();
        assert_eq!(on.len(), 1000);
        assert!(on.iter().all(Option::is_none));
        assert_eq!(pool.par(0..1000u64).sum::<u64>(), 499_500);
    });
}

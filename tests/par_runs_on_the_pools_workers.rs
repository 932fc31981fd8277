//! Where `Pool::par` runs its pieces: on the pool's workers, truly in
//! parallel (pieces wait for each other at a barrier), with the call from
//! outside hopping in; on the caller once the pool has shut down.
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
fn a_call_from_outside_runs_on_workers() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let on: Vec<Option<usize>> = pool
        .par(0..10_000u32)
        .map(|_| Pool::current_worker_index())
        .collect();
    assert!(on.iter().all(|w| matches!(w, Some(0 | 1))));
}

#[test]
fn a_one_worker_pool_runs_everything_on_its_worker() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let on: Vec<Option<usize>> = pool
            .par(0..10_000u32)
            .map(|_| Pool::current_worker_index())
            .collect();
        assert!(on.iter().all(|w| *w == Some(0)));
        let mut data = vec![1u64; 50_000];
        pool.par_chunks_mut(&mut data, 4096)
            .for_each(|c| c.iter_mut().for_each(|x| *x += 1));
        assert_eq!(pool.par(&data).sum::<u64>(), 100_000);
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

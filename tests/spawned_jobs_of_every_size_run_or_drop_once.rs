//! Spawned jobs live in recycled blocks when they fit one (`src/slots.rs`)
//! and in boxes when they do not: whatever their size and alignment, and
//! whether they run or are dropped unrun, each closure runs at most once and
//! everything it captured is dropped exactly once, round after round while
//! the blocks go from worker to worker.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use common::{DropCounter, Gate, watchdog};
use corepool::Pool;

/// A payload of `N` words that the job sums, so that a job that ran on a
/// block someone overwrote would add the wrong amount.
#[derive(Clone, Copy)]
struct Words<const N: usize>([u64; N]);

/// A payload aligned past the blocks' 16 bytes: always boxed.
#[derive(Clone, Copy)]
#[repr(align(64))]
struct Aligned(u64);

const JOBS: usize = 3_000;
const ROUNDS: usize = 4;

/// Spawns `JOBS` jobs carrying `payload(i)` in a scope on a worker, `ROUNDS`
/// times, and checks the sums, the runs and the drops.
fn spawn_rounds<P: Send + Copy + 'static>(
    pool: &Pool,
    payload: impl Fn(u64) -> P + Sync,
    value: impl Fn(&P) -> u64 + Sync + Send + Copy,
) {
    let drops = DropCounter::new();
    let runs = AtomicUsize::new(0);
    let sum = AtomicU64::new(0);
    let mut expected = 0;
    for round in 0..ROUNDS {
        pool.install(|| {
            pool.scope(|s| {
                for i in 0..JOBS {
                    let p = payload((round * JOBS + i) as u64);
                    let token = drops.token();
                    let (runs, sum) = (&runs, &sum);
                    s.spawn(move |_| {
                        let _token = token;
                        runs.fetch_add(1, Ordering::Relaxed);
                        sum.fetch_add(value(&p), Ordering::Relaxed);
                    });
                }
            })
        });
        expected += (0..JOBS)
            .map(|i| value(&payload((round * JOBS + i) as u64)))
            .sum::<u64>();
    }
    assert_eq!(runs.load(Ordering::Relaxed), ROUNDS * JOBS);
    assert_eq!(sum.load(Ordering::Relaxed), expected);
    drops.assert_all_dropped_once();
}

fn words<const N: usize>(pool: &Pool) {
    spawn_rounds(
        pool,
        |x| Words::<N>(std::array::from_fn(|k| x * 31 + k as u64)),
        |w| w.0.iter().sum(),
    );
}

#[test]
fn spawned_jobs_of_every_size_run_once_and_drop_once() {
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        // From an empty payload to well past a block's 64 bytes, around the
        // largest that fits (the job's header, the scope's bookkeeping, the
        // token and the captured references share the block).
        words::<0>(&pool);
        words::<1>(&pool);
        words::<2>(&pool);
        words::<3>(&pool);
        words::<4>(&pool);
        words::<5>(&pool);
        words::<8>(&pool);
        words::<16>(&pool);
        words::<40>(&pool);
        spawn_rounds(&pool, Aligned, |a| a.0);
    });
}

#[test]
fn pool_spawns_from_a_worker_dropped_unrun_by_shutdown_now_drop_once() {
    watchdog(120, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let drops = DropCounter::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let gate = Gate::new();
        let (spawned_tx, spawned) = std::sync::mpsc::channel();
        {
            let (pool2, drops, runs, gate) =
                (pool.clone(), drops.clone(), runs.clone(), gate.clone());
            pool.spawn(move || {
                // On the only worker: these go to its deque, in its blocks.
                for i in 0..JOBS {
                    let token = drops.token();
                    let runs = runs.clone();
                    let payload = Words::<6>([i as u64; 6]);
                    pool2.spawn(move || {
                        let _token = token;
                        std::hint::black_box(payload);
                        runs.fetch_add(1, Ordering::Relaxed);
                    });
                }
                spawned_tx.send(()).unwrap();
                gate.wait();
            });
        }
        spawned.recv().unwrap();
        let stopper = {
            let pool = pool.clone();
            std::thread::spawn(move || pool.shutdown_now())
        };
        while !pool.is_shutdown() {
            std::thread::yield_now();
        }
        gate.open();
        let cancelled = stopper.join().unwrap();
        assert!(cancelled <= JOBS);
        assert!(runs.load(Ordering::Relaxed) <= JOBS);
        drop(pool);
        drops.assert_all_dropped_once();
        assert_eq!(drops.created(), JOBS);
    });
}

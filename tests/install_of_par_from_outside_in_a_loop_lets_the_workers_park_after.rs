//! An `install` from outside whose closure's `par` call shared its work
//! lets every idle worker linger after it (`sleep.rs`, step 6,
//! `Sleep::install_returned`). The window is a hint that closes on its own:
//! once a loop of `install(|| pool.par(..))` calls stops, every worker
//! parks again, and a pool that only receives plain installs parks too.
//! No timing is asserted: the watchdog fails a test whose workers never
//! park.
mod common;

use std::sync::{Arc, Barrier};

use common::{every_worker_parks_after, parks_while_all_are_awake, watchdog};
use corepool::Pool;

const WORKERS: usize = 2;

fn install_par_loop(pool: &Pool, v: &mut [u64], calls: usize) {
    for _ in 0..calls {
        pool.install(|| pool.par(&mut *v).for_each(|x| *x = x.wrapping_mul(3) ^ 1));
    }
}

#[test]
fn workers_park_after_a_loop_of_installs_of_par_calls() {
    watchdog(60, || {
        let pool = Pool::builder().workers(WORKERS).build().unwrap();
        let mut v = vec![1u64; 1 << 20];
        install_par_loop(&pool, &mut v, 200);
        let before = parks_while_all_are_awake(&pool, WORKERS);
        every_worker_parks_after(&pool, &before);
    });
}

/// The last call's closure ends with both workers awake (the counts are
/// read there), right after its `par` call opened the window: the caller
/// hears the end only after `install_returned` ran, and the workers must
/// still park.
#[test]
fn workers_park_after_the_window_an_install_opened_on_its_way_out() {
    watchdog(60, || {
        let pool = Pool::builder().workers(WORKERS).build().unwrap();
        let mut v = vec![1u64; 1 << 20];
        install_par_loop(&pool, &mut v, 50);
        let both = Barrier::new(2);
        let before = pool.install(|| {
            pool.par(&mut *v).for_each(|x| *x = x.wrapping_mul(3) ^ 1);
            let (before, ()) = pool.join(
                || {
                    both.wait();
                    let before: Vec<u64> = pool
                        .stats()
                        .workers
                        .iter()
                        .map(|w| w.times_parked)
                        .collect();
                    both.wait();
                    before
                },
                || {
                    both.wait();
                    both.wait();
                },
            );
            before
        });
        every_worker_parks_after(&pool, &before);
    });
}

#[test]
fn workers_park_after_a_loop_of_plain_installs() {
    watchdog(60, || {
        let pool = Pool::builder().workers(WORKERS).build().unwrap();
        let mut total = 0u64;
        for i in 0..20_000u64 {
            total = total.wrapping_add(pool.install(|| i * 3));
        }
        assert_eq!(total, (0..20_000u64).map(|i| i * 3).sum::<u64>());
        let before = parks_while_all_are_awake(&pool, WORKERS);
        every_worker_parks_after(&pool, &before);
    });
}

/// Several threads outside the pool run loops of `install(|| par)` at
/// once; after they all stop, every worker parks.
#[test]
fn workers_park_after_concurrent_install_loops_from_outside() {
    watchdog(60, || {
        let pool = Arc::new(Pool::builder().workers(WORKERS).build().unwrap());
        let threads: Vec<_> = (0..3)
            .map(|_| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    let mut v = vec![1u64; 1 << 18];
                    install_par_loop(&pool, &mut v, 100);
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let before = parks_while_all_are_awake(&pool, WORKERS);
        every_worker_parks_after(&pool, &before);
    });
}

//! `Pool::par` nests: inside another `par`, inside a task, a `join`, a
//! scope, `install`, from a worker of another pool — on 1 to 4 workers, with
//! no deadlock (a watchdog aborts a hang).
mod common;

use common::watchdog;
use corepool::Pool;

/// A par of pars: each row summed by an inner par.
fn nested_sums(pool: &Pool, rows: usize, cols: u64) -> Vec<u64> {
    pool.par(0..rows)
        .map(|r| pool.par(0..cols).map(|c| c * r as u64).sum::<u64>())
        .collect()
}

fn expected_sums(rows: usize, cols: u64) -> Vec<u64> {
    (0..rows)
        .map(|r| (0..cols).map(|c| c * r as u64).sum())
        .collect()
}

#[test]
fn par_inside_par_on_one_to_four_workers() {
    watchdog(60, || {
        for workers in 1..=4 {
            let pool = Pool::builder().workers(workers).build().unwrap();
            assert_eq!(nested_sums(&pool, 200, 300), expected_sums(200, 300));
            // Three levels, &mut at the top.
            let mut grid = vec![vec![0u64; 50]; 40];
            pool.par(&mut grid).for_each(|row| {
                pool.par(&mut *row).zip(0..50u64).for_each(|(cell, c)| {
                    *cell = pool.par(0..c).sum::<u64>();
                })
            });
            assert!(grid.iter().all(|row| row[10] == 45));
        }
    });
}

#[test]
fn par_inside_a_task_a_join_a_scope_and_install() {
    watchdog(60, || {
        for workers in 1..=3 {
            let pool = Pool::builder().workers(workers).build().unwrap();
            let inner = pool.clone();
            let from_task = pool.submit(move || nested_sums(&inner, 50, 100));
            assert_eq!(from_task.join().unwrap(), expected_sums(50, 100));

            let (a, b) = pool.join(
                || pool.par(0..1000u64).sum::<u64>(),
                || pool.par(0..2000u64).sum::<u64>(),
            );
            assert_eq!((a, b), (499_500, 1_999_000));

            let mut halves = [vec![1u32; 500], vec![2u32; 500]];
            pool.scope(|s| {
                for half in halves.iter_mut() {
                    let pool = &pool;
                    let _ = s.submit(move || pool.par(half).for_each(|x| *x *= 10));
                }
            });
            assert!(halves[0].iter().all(|&x| x == 10) && halves[1].iter().all(|&x| x == 20));

            let installed = pool.install(|| nested_sums(&pool, 30, 30));
            assert_eq!(installed, expected_sums(30, 30));
        }
    });
}

#[test]
fn par_on_one_pool_from_a_worker_of_another() {
    watchdog(60, || {
        let outer = Pool::builder().workers(2).build().unwrap();
        let inner = Pool::builder().workers(2).build().unwrap();
        let tasks: Vec<_> = (0..8u64)
            .map(|k| {
                let inner = inner.clone();
                outer.submit(move || inner.par(0..10_000u64).map(|x| x * k).sum::<u64>())
            })
            .collect();
        for (k, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.join().unwrap(), 49_995_000 * k as u64);
        }
    });
}

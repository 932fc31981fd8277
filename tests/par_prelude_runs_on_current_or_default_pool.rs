//! `use corepool::prelude::*` gives rayon's entry points with no pool in
//! sight: they run on the current pool (inside `install`, a task, a `join`)
//! and otherwise on the default pool.
use corepool::Pool;
use corepool::prelude::*;

/// How many workers the pool running each item has (None: not on a pool).
fn pools_seen(items: Vec<u32>) -> Vec<Option<usize>> {
    items
        .into_par_iter()
        .map(|_| Pool::current().map(|p| p.workers()))
        .collect()
}

#[test]
fn entry_points_use_the_current_pool_else_the_default_pool() {
    // This test binary's default pool: 2 workers; the other pool: 3.
    corepool::set_default_pool(Pool::builder().workers(2).build().unwrap())
        .unwrap_or_else(|_| panic!("a default pool existed already"));
    let three = Pool::builder().workers(3).build().unwrap();
    let items: Vec<u32> = (0..5000).collect();

    // Outside any pool: the default pool.
    assert!(pools_seen(items.clone()).iter().all(|w| *w == Some(2)));
    // Inside install, a task and a join of the other pool: that pool.
    assert!(
        three
            .install(|| pools_seen(items.clone()))
            .iter()
            .all(|w| *w == Some(3))
    );
    let from_task = three.submit({
        let items = items.clone();
        move || pools_seen(items)
    });
    assert!(from_task.join().unwrap().iter().all(|w| *w == Some(3)));
    let (a, _) = three.join(|| pools_seen(items.clone()), || ());
    assert!(a.iter().all(|w| *w == Some(3)));

    // Every entry point, with the results of the sequential iterator.
    let mut v: Vec<u64> = (0..10_000).rev().collect();
    assert_eq!(v.par_iter().sum::<u64>(), v.iter().sum::<u64>());
    v.par_iter_mut().for_each(|x| *x += 1);
    assert_eq!(v[0], 10_000);
    assert_eq!(v.par_chunks(7).map(|c| c.len()).sum::<usize>(), 10_000);
    v.par_chunks_mut(7).for_each(|c| c[0] = 0);
    assert_eq!(
        v.iter().filter(|x| **x == 0).count(),
        10_000usize.div_ceil(7)
    );
    v.par_sort_unstable();
    assert!(v.windows(2).all(|w| w[0] <= w[1]));
    let arr = [1u8, 2, 3];
    assert_eq!(arr.par_iter().map(|&x| u32::from(x)).sum::<u32>(), 6);
    assert_eq!((&arr[..]).into_par_iter().count(), 3);
    assert_eq!((0..=10u8).into_par_iter().map(u32::from).sum::<u32>(), 55);
    let a: Vec<i32> = vec![1, 2, 3];
    let b: Vec<i32> = vec![10, 20, 30];
    let zipped: Vec<i32> = a.par_iter().zip(b.par_iter()).map(|(x, y)| x * y).collect();
    assert_eq!(zipped, [10, 40, 90]);
}

//! `with_min_len(m)` holds for `fold` and `fold_reduce`: every piece that
//! starts from `init()` holds at least `m` items (unless the whole input is
//! shorter).
use corepool::Pool;

/// Folds `len` items with minimum piece length `min_len` and returns the
/// length of every piece (one entry per `init()`).
fn piece_lengths(pool: &Pool, len: usize, min_len: usize) -> Vec<usize> {
    pool.par(0..len).with_min_len(min_len).fold_reduce(
        || vec![0usize],
        |mut acc, _| {
            *acc.last_mut().unwrap() += 1;
            acc
        },
        |mut a, b| {
            a.extend(b);
            a
        },
    )
}

#[test]
fn every_fold_piece_is_at_least_min_len_long() {
    for workers in 1..=4 {
        let pool = Pool::builder().workers(workers).build().unwrap();
        for (len, min_len) in [(1000, 300), (500, 300), (10_000, 1_001), (999, 100), (7, 3)] {
            let pieces = piece_lengths(&pool, len, min_len);
            assert_eq!(pieces.iter().sum::<usize>(), len, "every item once");
            assert!(
                pieces.iter().all(|&p| p >= min_len),
                "{workers} workers, {len} items, min {min_len}: pieces {pieces:?}"
            );
            // rayon's `fold`: one accumulator per piece, each as long.
            let accs: Vec<usize> = pool
                .par(0..len)
                .with_min_len(min_len)
                .fold(|| 0usize, |n, _| n + 1)
                .collect();
            assert_eq!(accs.iter().sum::<usize>(), len, "every item once");
            assert!(
                accs.iter().all(|&p| p >= min_len),
                "{workers} workers, {len} items, min {min_len}: accumulators {accs:?}"
            );
        }
    }
}

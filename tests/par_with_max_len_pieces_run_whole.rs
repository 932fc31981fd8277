//! `with_max_len` chooses the pieces' size: where it cuts an input longer
//! than its bound, each piece runs whole, one `fold` accumulator per piece
//! of more than half the bound, as rayon's pieces do. (They were once
//! walked in eight steps each, an accumulator a step: pieces of one item
//! under `with_max_len(10)`.) One worker, so that no piece is stolen (a
//! stolen piece may be split again, below the bound, as in rayon), and
//! bounds that cut finer than the splitter's budget of 8 splits a worker
//! would (a looser bound leaves the budget's own pieces).
use corepool::Pool;

#[test]
fn each_piece_under_a_max_len_is_one_accumulator_of_more_than_half_the_bound() {
    let pool = Pool::builder().workers(1).build().unwrap();
    for (n, max_len) in [(1_000usize, 10usize), (1_000, 100), (777, 50), (5_000, 64)] {
        let pieces: Vec<usize> = pool
            .par(0..n)
            .with_max_len(max_len)
            .fold(|| 0usize, |k, _| k + 1)
            .collect();
        assert_eq!(pieces.iter().sum::<usize>(), n, "n {n}, max_len {max_len}");
        assert!(
            pieces.iter().all(|&k| k <= max_len && k >= max_len / 2),
            "n {n}, max_len {max_len}: pieces {pieces:?}"
        );
        // The same from a worker of the pool (inside `install`).
        let inside: Vec<usize> = pool.install(|| {
            pool.par(0..n)
                .with_max_len(max_len)
                .fold(|| 0usize, |k, _| k + 1)
                .collect()
        });
        assert_eq!(inside, pieces, "n {n}, max_len {max_len}");
    }
}

#[test]
fn an_input_within_its_max_len_starts_on_the_calling_thread_as_without_one() {
    // A bound the input is within changes nothing: the call starts as a
    // sequential walk on the caller (outside the pool: no worker index),
    // where a bound that cuts hands every piece to the pool at once.
    let pool = Pool::builder().workers(1).build().unwrap();
    let n = 10_000usize;
    let on = |max_len: usize| -> Vec<Option<usize>> {
        pool.par(0..n)
            .with_max_len(max_len)
            .map(|_| Pool::current_worker_index())
            .collect()
    };
    assert_eq!(
        on(n)[0],
        None,
        "within the bound: the caller's thread first"
    );
    assert_eq!(
        on(usize::MAX)[0],
        None,
        "no bound: the caller's thread first"
    );
    assert!(
        on(n / 2).iter().all(|w| *w == Some(0)),
        "a cutting bound: all on the worker"
    );
}

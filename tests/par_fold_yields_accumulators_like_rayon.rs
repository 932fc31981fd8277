//! rayon's `fold(identity, op)` and `fold_with(init, op)`: a parallel
//! iterator of per-piece accumulators, in input order, that ports unchanged
//! (`.reduce`, `.reduce_with`, `.sum`, `.collect`, `.for_each`, `.count`,
//! `.min`, `.max` after it), one accumulator per piece of at least
//! `with_min_len` items, checked against the sequential result for random
//! inputs, pool sizes 1..=4 and piece lengths.
use corepool::Pool;
use corepool::prelude::*;
use proptest::prelude::*;

fn pool(workers: usize) -> Pool {
    Pool::builder().workers(workers).build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn fold_accumulators_match_sequential(
        items in proptest::collection::vec(any::<u32>(), 0..3000),
        workers in 1usize..=4,
        min_len in 0usize..300,
        max_len in prop_oneof![Just(usize::MAX), 1usize..500],
    ) {
        let pool = pool(workers);
        let par = || pool.par(&items).with_min_len(min_len).with_max_len(max_len);
        let total: u64 = items.iter().map(|&x| u64::from(x)).sum();

        // The accumulators, in order: each a run of the input.
        let runs: Vec<Vec<u32>> = par().fold(Vec::new, |mut v, &x| { v.push(x); v }).collect();
        prop_assert!(!runs.is_empty(), "at least one accumulator");
        prop_assert_eq!(runs.concat(), items.clone());
        if items.len() >= min_len.max(1) {
            prop_assert!(runs.iter().all(|r| r.len() >= min_len), "pieces {:?}", runs.iter().map(Vec::len).collect::<Vec<_>>());
        }
        // How the input is cut varies from run to run; the count is of pieces.
        let count = par().fold(|| 0usize, |n, _| n + 1).count();
        prop_assert!(count >= 1 && count <= (items.len() / min_len.max(1)).max(1), "{} pieces", count);

        // Reductions after fold, as rayon code writes them.
        let sum: u64 = par().fold(|| 0u64, |a, &x| a + u64::from(x)).sum();
        prop_assert_eq!(sum, total);
        let sum = par().fold(|| 0u64, |a, &x| a + u64::from(x)).reduce(|| 0, |a, b| a + b);
        prop_assert_eq!(sum, total);
        let sum = par().fold_with(0u64, |a, &x| a + u64::from(x)).reduce_with(|a, b| a + b);
        prop_assert_eq!(sum, Some(total));
        let max = par().fold(|| None, |m: Option<u32>, &x| Some(m.map_or(x, |m| m.max(x)))).max().flatten();
        prop_assert_eq!(max, items.iter().copied().max());
        let min = par().fold_with(u32::MAX, |m, &x| m.min(x)).min();
        prop_assert_eq!(min, Some(items.iter().copied().min().unwrap_or(u32::MAX)));
        let seen = std::sync::atomic::AtomicU64::new(0);
        par().fold(|| 0u64, |a, &x| a + u64::from(x)).for_each(|a| {
            seen.fetch_add(a, std::sync::atomic::Ordering::Relaxed);
        });
        prop_assert_eq!(seen.into_inner(), total);

        // fold_reduce: the old three-argument form, one step.
        let got = par().fold_reduce(Vec::new, |mut v, &x| { v.push(x); v }, |mut a, b| { a.extend(b); a });
        prop_assert_eq!(got, items.clone());
    }
}

#[test]
fn fold_ports_from_rayon_with_the_prelude() {
    // rayon's docs example for `fold`, unchanged but for the import.
    let bytes = 0..22_u8;
    let sum = bytes
        .into_par_iter()
        .fold(|| 0_u32, |a: u32, b: u8| a + (b as u32))
        .sum::<u32>();
    assert_eq!(sum, (0..22).sum()); // compare to sequential

    // rayon's docs example for `fold_with`.
    let bytes = 0..22_u8;
    let sum = bytes
        .into_par_iter()
        .fold_with(0_u32, |a: u32, b: u8| a + (b as u32))
        .sum::<u32>();
    assert_eq!(sum, (0..22).sum()); // compare to sequential

    // An empty input still yields one accumulator, as rayon's does.
    let accs: Vec<u32> = (0..0u32).into_par_iter().fold(|| 7, |a, x| a + x).collect();
    assert_eq!(accs, [7]);
}

#[test]
fn fold_with_needs_only_send_like_rayon() {
    // A `Send` but not `Sync` accumulator (a `Cell`), as rayon allows.
    let n: u32 = (0..1000u32)
        .into_par_iter()
        .fold_with(std::cell::Cell::new(0u32), |c, x| {
            c.set(c.get() + x);
            c
        })
        .map(std::cell::Cell::into_inner)
        .sum();
    assert_eq!(n, 499_500);
}

//! Property tests: every `Pool::par` operation gives what the sequential
//! iterator gives, for random inputs (lengths 0 and 1 included), worker
//! counts 1..=4 and minimum piece lengths.
use corepool::Pool;
use proptest::prelude::*;

fn pool(workers: usize) -> Pool {
    Pool::builder().workers(workers).build().unwrap()
}

fn f(x: u32) -> u64 {
    u64::from(x.wrapping_mul(2_654_435_761).rotate_left(7))
}

/// Lengths 0 and 1 often, then anything up to a few thousand.
fn items() -> impl Strategy<Value = Vec<u32>> {
    prop_oneof![
        1 => Just(vec![]),
        1 => any::<u32>().prop_map(|x| vec![x]),
        6 => proptest::collection::vec(any::<u32>(), 0..3000),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn map_collect_equals_sequential(
        items in items(),
        workers in 1usize..=4,
        min_len in 0usize..40,
    ) {
        let pool = pool(workers);
        let expected: Vec<u64> = items.iter().copied().map(f).collect();
        let got: Vec<u64> = pool.par(&items).with_min_len(min_len).map(|&x| f(x)).collect();
        prop_assert_eq!(&got, &expected);
        // Chained maps, a Vec by value, owned items that need dropping.
        let strings: Vec<String> = items.iter().map(|x| x.to_string()).collect();
        let got: Vec<usize> = pool.par(strings.clone()).map(|s| s + "!").map(|s| s.len()).collect();
        let expected: Vec<usize> = strings.into_iter().map(|s| s.len() + 1).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn ranges_of_every_width_equal_sequential(
        start in -3000i64..3000,
        len in prop_oneof![Just(0usize), Just(1usize), 0usize..5000],
        workers in 1usize..=4,
    ) {
        let pool = pool(workers);
        let end = start + len as i64;
        let expected: Vec<i64> = (start..end).map(|x| x * 3).collect();
        prop_assert_eq!(pool.par(start..end).map(|x| x * 3).collect::<Vec<_>>(), expected);
        let got: Vec<i64> = pool.par(start as i32..end as i32).map(|x| i64::from(x) * 3).collect();
        prop_assert_eq!(got, (start..end).map(|x| x * 3).collect::<Vec<_>>());
        let (ustart, uend) = (start.unsigned_abs(), start.unsigned_abs() + len as u64);
        prop_assert_eq!(pool.par(ustart..uend).sum::<u64>(), (ustart..uend).sum::<u64>());
        prop_assert_eq!(
            pool.par(ustart as u32..uend as u32).map(u64::from).sum::<u64>(),
            (ustart..uend).sum::<u64>()
        );
        prop_assert_eq!(
            pool.par(ustart as usize..uend as usize).collect::<Vec<_>>(),
            (ustart as usize..uend as usize).collect::<Vec<_>>()
        );
        // Narrow types over their whole span.
        prop_assert_eq!(pool.par(i8::MIN..i8::MAX).map(i64::from).sum::<i64>(), (-128i64..127).sum::<i64>());
        prop_assert_eq!(pool.par(0..u16::MAX).map(u64::from).sum::<u64>(), (0..u64::from(u16::MAX)).sum::<u64>());
        // Empty when start is past end.
        prop_assert_eq!(pool.par(end..start).collect::<Vec<_>>(), Vec::<i64>::new());
    }

    #[test]
    fn for_each_on_a_mut_slice_equals_sequential(items in items(), workers in 1usize..=4) {
        let pool = pool(workers);
        let mut got = items.clone();
        pool.par(&mut got).for_each(|x| *x = x.wrapping_mul(3) ^ 5);
        let expected: Vec<u32> = items.iter().map(|x| x.wrapping_mul(3) ^ 5).collect();
        prop_assert_eq!(got, expected);
    }

    #[test]
    fn chunks_equal_sequential_chunks(
        items in items(),
        size in 1usize..300,
        workers in 1usize..=4,
    ) {
        let pool = pool(workers);
        let mut got = items.clone();
        pool.par_chunks_mut(&mut got, size).for_each(|chunk| {
            chunk.reverse();
            chunk[0] = chunk[0].wrapping_add(1);
        });
        let mut expected = items.clone();
        for chunk in expected.chunks_mut(size) {
            chunk.reverse();
            chunk[0] = chunk[0].wrapping_add(1);
        }
        prop_assert_eq!(got, expected);
        let sums: Vec<u64> = pool.par_chunks(&items, size).map(|c| c.iter().copied().map(f).sum()).collect();
        let expected: Vec<u64> = items.chunks(size).map(|c| c.iter().copied().map(f).sum()).collect();
        prop_assert_eq!(sums, expected);
    }

    #[test]
    fn zip_equals_sequential_zip(
        a in items(),
        b in items(),
        workers in 1usize..=4,
    ) {
        let pool = pool(workers);
        let expected: u64 = a.iter().zip(&b).map(|(&x, &y)| u64::from(x) * u64::from(y) % 1_000_003).sum();
        let got: u64 = pool.par(&a).zip(&b).map(|(&x, &y)| u64::from(x) * u64::from(y) % 1_000_003).sum();
        prop_assert_eq!(got, expected);
        // &mut with & (write one from the other), a Vec by value with a range.
        let mut out = vec![0u64; a.len()];
        pool.par(&mut out).zip(&b).for_each(|(o, &y)| *o = f(y));
        let expected: Vec<u64> = a.iter().zip(&b).map(|(_, &y)| f(y)).chain(std::iter::repeat(0)).take(a.len()).collect();
        prop_assert_eq!(out, expected);
        let pairs: Vec<(u32, usize)> = pool.par(a.clone()).zip(0..b.len()).collect();
        prop_assert_eq!(pairs, a.iter().copied().zip(0..b.len()).collect::<Vec<_>>());
    }

    #[test]
    fn reductions_equal_sequential(items in items(), workers in 1usize..=4) {
        let pool = pool(workers);
        let seq = || items.iter().copied().map(f);
        prop_assert_eq!(pool.par(&items).map(|&x| f(x)).sum::<u64>(), seq().sum::<u64>());
        prop_assert_eq!(
            pool.par(&items).map(|&x| f(x)).reduce(|| 0, |a, b| a ^ b),
            seq().fold(0, |a, b| a ^ b)
        );
        // fold to another type: (count, max, a Vec of the items in order).
        let (count, max, all) = pool.par(&items).fold_reduce(
            || (0usize, 0u32, Vec::new()),
            |(n, m, mut v), &x| { v.push(x); (n + 1, m.max(x), v) },
            |(n1, m1, mut v1), (n2, m2, v2)| { v1.extend(v2); (n1 + n2, m1.max(m2), v1) },
        );
        prop_assert_eq!(count, items.len());
        prop_assert_eq!(max, items.iter().copied().max().unwrap_or(0));
        prop_assert_eq!(&all, &items);
        prop_assert_eq!(pool.par(&items).min(), items.iter().min());
        prop_assert_eq!(pool.par(&items).max(), items.iter().max());
        // Ties: min keeps the first of equal items, max the last (by index).
        let with_index: Vec<(u32, usize)> = items.iter().enumerate().map(|(i, &x)| (x % 7, i)).collect();
        let by_key_min = pool.par(&with_index).map(|&(k, i)| Tie(k, i)).min().map(|t| t.1);
        let seq_min = with_index.iter().map(|&(k, i)| Tie(k, i)).min().map(|t| t.1);
        prop_assert_eq!(by_key_min, seq_min);
        let by_key_max = pool.par(&with_index).map(|&(k, i)| Tie(k, i)).max().map(|t| t.1);
        let seq_max = with_index.iter().map(|&(k, i)| Tie(k, i)).max().map(|t| t.1);
        prop_assert_eq!(by_key_max, seq_max);
    }
}

/// Ordered by the first field only, so that equal items can be told apart.
#[derive(Debug, Clone, Copy)]
struct Tie(u32, usize);

impl PartialEq for Tie {
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}
impl Eq for Tie {}
impl PartialOrd for Tie {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Tie {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.cmp(&other.0)
    }
}

#[test]
fn zero_sized_items_and_results() {
    let pool = pool(2);
    let units: Vec<()> = pool.par(0..100_000u32).map(|_| ()).collect();
    assert_eq!(units.len(), 100_000);
    let back: Vec<u8> = pool.par(units).map(|()| 1u8).collect();
    assert_eq!(back.len(), 100_000);
    assert!(back.iter().all(|&b| b == 1));
}

#[test]
fn a_min_len_longer_than_the_input_makes_one_piece() {
    let pool = pool(4);
    let on: Vec<Option<usize>> = pool
        .par(0..1000u32)
        .with_min_len(501)
        .map(|_| Pool::current_worker_index())
        .collect();
    // Too short to split: one piece, on the calling thread.
    assert!(on.iter().all(Option::is_none));
}

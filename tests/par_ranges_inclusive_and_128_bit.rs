//! Inclusive ranges of every integer type and 128-bit ranges split like the
//! others and give the sequential items, up to the type's extremes.
use corepool::Pool;
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn wide_and_inclusive_ranges_equal_sequential(
        start in any::<i64>(),
        len in prop_oneof![Just(0u64), Just(1u64), 0u64..5000],
        workers in 1usize..=4,
    ) {
        let pool = Pool::builder().workers(workers).build().unwrap();
        let s = i128::from(start);
        let e = s + i128::from(len);
        prop_assert_eq!(pool.par(s..e).collect::<Vec<_>>(), (s..e).collect::<Vec<_>>());
        prop_assert_eq!(pool.par(s..=e).collect::<Vec<_>>(), (s..=e).collect::<Vec<_>>());
        let u = start.unsigned_abs() as u128 * 1_000_000_007;
        prop_assert_eq!(pool.par(u..u + u128::from(len)).rev().collect::<Vec<_>>(), (u..u + u128::from(len)).rev().collect::<Vec<_>>());
        let end64 = start.saturating_add(len as i64);
        prop_assert_eq!(pool.par(start..=end64).map(i128::from).sum::<i128>(), (start..=end64).map(i128::from).sum::<i128>());
        let b = (start as u8)..=((start as u8).saturating_add(len as u8));
        prop_assert_eq!(pool.par(b.clone()).collect::<Vec<_>>(), b.collect::<Vec<_>>());
    }
}

#[test]
fn inclusive_ranges_reach_the_types_maximum() {
    let pool = Pool::builder().workers(2).build().unwrap();
    assert_eq!(pool.par(0..=u8::MAX).count(), 256);
    assert_eq!(
        pool.par(i8::MIN..=i8::MAX).map(i32::from).sum::<i32>(),
        -128
    );
    assert_eq!(pool.par(u64::MAX - 9..=u64::MAX).max(), Some(u64::MAX));
    assert_eq!(pool.par(u128::MAX - 9..u128::MAX).count(), 9);
    assert_eq!(
        pool.par(i128::MAX - 3..=i128::MAX).collect::<Vec<_>>(),
        (i128::MAX - 3..=i128::MAX).collect::<Vec<_>>()
    );
    #[allow(clippy::reversed_empty_ranges)]
    let empty = 5..=4u32;
    assert_eq!(pool.par(empty).count(), 0);
}

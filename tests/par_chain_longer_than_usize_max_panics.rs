//! A `chain` whose two lengths add up past `usize::MAX` panics with a
//! message saying so (as rayon's does) instead of wrapping to a short
//! length: in release builds it reported a length of 1 and `collect` gave
//! one item, while `for_each` walked thousands. Up to `usize::MAX` it works.
use corepool::Pool;
use std::panic::{AssertUnwindSafe, catch_unwind};

fn panic_message(payload: Box<dyn std::any::Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(text) => *text,
        Err(payload) => payload
            .downcast::<&str>()
            .map(|text| text.to_string())
            .unwrap_or_default(),
    }
}

#[test]
fn a_chain_longer_than_usize_max_panics_naming_both_lengths() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let result = catch_unwind(AssertUnwindSafe(|| {
        pool.par(0..usize::MAX)
            .chain(0..2usize)
            .take(3)
            .collect::<Vec<usize>>()
    }));
    let message = panic_message(result.expect_err("an overlong chain must panic"));
    assert!(
        message.contains("longer than usize::MAX") && message.contains(&usize::MAX.to_string()),
        "{message}"
    );
    // The other way round, after a map, as the second reader wrote it.
    let mut data = vec![0u8; 8];
    let result = catch_unwind(AssertUnwindSafe(|| {
        pool.par(&mut data)
            .map(|_| 0usize)
            .chain(0..usize::MAX)
            .take(10)
            .count()
    }));
    assert!(result.is_err(), "8 + usize::MAX items must panic");
}

#[test]
fn a_chain_of_exactly_usize_max_items_works() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let whole = pool.par(0..usize::MAX - 1).chain(7..8usize);
    assert_eq!(whole.len(), usize::MAX);
    let first: Vec<usize> = pool
        .par(0..usize::MAX - 1)
        .chain(7..8usize)
        .take(3)
        .collect();
    assert_eq!(first, [0, 1, 2]);
    let last: Vec<usize> = pool
        .par(0..usize::MAX - 1)
        .chain(7..8usize)
        .skip(usize::MAX - 2)
        .collect();
    assert_eq!(last, [usize::MAX - 2, 7]);
}

//! A `collect` whose output is 32 MiB or more gets huge-page advice or is
//! prefaulted a block at a time by its writers (`util.rs`,
//! `prepare_output`): every item must still land in its place, through
//! both ways a `par` call collects (in place for an indexed input, and by
//! concatenating pieces after a `filter`).
mod common;

use common::watchdog;
use corepool::Pool;

#[test]
fn a_large_collect_in_place_has_every_item_in_order() {
    watchdog(300, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        // 5,000,000 u64: 40 MB, over the 32 MiB line.
        let n = 5_000_000u64;
        let out: Vec<u64> = pool.par(0..n).map(|x| x * 3 + 1).collect();
        assert_eq!(out.len() as u64, n);
        assert!(out.iter().enumerate().all(|(i, &x)| x == i as u64 * 3 + 1));
    });
}

#[test]
fn a_large_collect_of_pieces_has_every_item_in_order() {
    watchdog(300, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        // Three in four of 6,000,000 kept: 4,500,000 u64, 36 MB.
        let out: Vec<u64> = pool
            .par(0..6_000_000u64)
            .filter(|x| x % 4 != 0)
            .map(|x| x ^ 0x5555)
            .collect();
        let expected: Vec<u64> = (0..6_000_000u64)
            .filter(|x| x % 4 != 0)
            .map(|x| x ^ 0x5555)
            .collect();
        assert_eq!(out.len(), 4_500_000);
        assert!(out == expected, "the pieces were put together out of place");
    });
}

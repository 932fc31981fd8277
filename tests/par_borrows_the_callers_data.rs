//! `Pool::par` borrows non-`'static` data — shared and `&mut`, inputs and
//! closure captures — without a `scope`, and the data is the caller's again
//! when the call returns.
use std::collections::HashMap;

use corepool::Pool;

/// A view with a lifetime, as user code passes around.
struct Board<'a> {
    cells: &'a mut [u8],
    width: usize,
}

fn blur_rows(pool: &Pool, board: Board<'_>, weights: &HashMap<u8, u8>) {
    let width = board.width;
    pool.par_chunks_mut(board.cells, width).for_each(|row| {
        for cell in row.iter_mut() {
            *cell = weights.get(cell).copied().unwrap_or(*cell);
        }
    });
}

#[test]
fn mut_slices_and_captured_references_are_borrowed() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let weights: HashMap<u8, u8> = (0..10).map(|k| (k, k * 2)).collect();
    let mut cells: Vec<u8> = (0..10_000).map(|i| (i % 12) as u8).collect();
    let before = cells.clone();
    blur_rows(
        &pool,
        Board {
            cells: &mut cells,
            width: 100,
        },
        &weights,
    );
    let expected: Vec<u8> = before
        .iter()
        .map(|c| weights.get(c).copied().unwrap_or(*c))
        .collect();
    assert_eq!(cells, expected);
}

#[test]
fn results_may_borrow_from_the_input() {
    let pool = Pool::builder().workers(2).build().unwrap();
    let words: Vec<String> = (0..5000).map(|i| format!("word{i}")).collect();
    let tails: Vec<&str> = pool.par(&words).map(|w| &w[4..]).collect();
    assert_eq!(tails[4321], "4321");
    let longest: Option<&String> = pool.par(&words).max();
    assert_eq!(longest.map(String::as_str), Some("word999"));
}

#[test]
fn a_stack_array_and_a_local_accumulator_target() {
    let pool = Pool::builder().workers(3).build().unwrap();
    let mut grid = [[0u32; 64]; 64];
    let scale = 3u32; // a local borrowed by the closure
    pool.par(&mut grid)
        .zip(0..64u32)
        .for_each(|(row, i)| row.iter_mut().for_each(|c| *c = i * scale));
    assert_eq!(grid[10][5], 30);
    let total: u32 = pool.par(&grid).map(|row| row.iter().sum::<u32>()).sum();
    assert_eq!(total, (0..64).map(|i| i * 3 * 64).sum::<u32>());
}

//! Multiplies two n×n matrices with one task per row of the result, in a
//! `Pool::scope` so the tasks borrow the matrices and write their row in
//! place, and checks the answer against the sequential product.
//!
//! Mirrors "Example 8: Matrix Multiplication" of the `ProcessPoolExecutor`
//! tutorial (`executor.map(lambda row: multiply_row(row, matrix_b), matrix_a)`),
//! without copying the matrices to each task.
//! The matrices hold small random integers as `f64`, so every sum is exact
//! and the grand total can be checked independently.
//!
//! usage: `cargo run --release --example matrix_rows -- [N] [--seed S]`

#[path = "common/mod.rs"]
mod common;

use common::{Args, XorShift, grouped, secs, speedup, timed};
use corepool::Pool;

const USAGE: &str = "matrix_rows [N] [--seed S]   (N×N matrices, default 1024)";

/// A square matrix, row-major.
#[derive(Debug, PartialEq)]
struct Matrix {
    n: usize,
    cells: Vec<f64>,
}

impl Matrix {
    /// Entries drawn from `0..10`.
    fn random(n: usize, rng: &mut XorShift) -> Matrix {
        let cells = (0..n * n).map(|_| rng.below(10) as f64).collect();
        Matrix { n, cells }
    }

    fn row(&self, i: usize) -> &[f64] {
        &self.cells[i * self.n..(i + 1) * self.n]
    }
}

/// Row `i` of `a × b` into `out`, in i-k-j order: it streams through `b`
/// row by row, which the compiler vectorises.
fn product_row(a: &Matrix, b: &Matrix, i: usize, out: &mut [f64]) {
    out.fill(0.0);
    for (k, &aik) in a.row(i).iter().enumerate() {
        for (o, &bkj) in out.iter_mut().zip(b.row(k)) {
            *o += aik * bkj;
        }
    }
}

/// `a × b` with one task per row on `pool`.
fn parallel_product(pool: &Pool, a: &Matrix, b: &Matrix) -> Matrix {
    let mut c = Matrix {
        n: a.n,
        cells: vec![0.0; a.n * a.n],
    };
    pool.scope(|s| {
        for (i, row) in c.cells.chunks_mut(a.n).enumerate() {
            // The handle is dropped: the scope waits for every task anyway.
            let _ = s.submit(move || product_row(a, b, i, row));
        }
    });
    c
}

/// `a × b` on the calling thread.
fn sequential_product(a: &Matrix, b: &Matrix) -> Matrix {
    let mut c = Matrix {
        n: a.n,
        cells: vec![0.0; a.n * a.n],
    };
    for (i, row) in c.cells.chunks_mut(a.n).enumerate() {
        product_row(a, b, i, row);
    }
    c
}

fn main() {
    let mut args = Args::parse(USAGE);
    let seed: u64 = args.option("--seed", 42);
    let n: usize = args.next_or("N", 1024);
    args.check((1..=16_384).contains(&n), "N must be in 1..=16384");
    args.finish();

    let pool = common::pool();
    common::banner(&pool);
    let mut rng = XorShift::new(seed);
    let a = Matrix::random(n, &mut rng);
    let b = Matrix::random(n, &mut rng);

    let (parallel, t_pool) = timed(|| parallel_product(&pool, &a, &b));
    let (sequential, t_one) = timed(|| sequential_product(&a, &b));

    // The sum of all entries of A×B is Σ_k (column k of A summed) × (row k
    // of B summed): an O(n²) check that does not multiply anything.
    let expected: f64 = (0..n)
        .map(|k| (0..n).map(|i| a.row(i)[k]).sum::<f64>() * b.row(k).iter().sum::<f64>())
        .sum();
    let total: f64 = parallel.cells.iter().sum();

    println!("{n}×{n} times {n}×{n}, one task per row");
    println!("sum of all entries: {}", grouped(total as u64));
    println!(
        "trace: {}",
        grouped((0..n).map(|i| parallel.row(i)[i]).sum::<f64>() as u64)
    );
    let same = parallel == sequential;
    println!(
        "equal to the sequential product: {}",
        if same { "yes" } else { "NO" }
    );
    println!(
        "sum matches the column-sum × row-sum check: {}",
        if total == expected { "yes" } else { "NO" }
    );
    println!("{} workers: {}", pool.workers(), secs(t_pool));
    println!(
        "1 thread:  {}  (speed-up {})",
        secs(t_one),
        speedup(t_one, t_pool)
    );
    if !same || total != expected {
        std::process::exit(1);
    }
}

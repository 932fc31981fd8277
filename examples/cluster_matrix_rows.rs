//! `matrix_rows` across MPI ranks: multiplies two n×n matrices with one item
//! per row of the result, with `Cluster::map_range`. Every rank builds the
//! same two matrices from the seed, so only row numbers travel out and only
//! finished rows travel back; the root assembles the product and checks it
//! against the sequential product.
//!
//! Same arguments and output as `matrix_rows`, plus one line naming the
//! ranks. Run it with (as root, Open MPI also wants
//! `OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`):
//!
//! `cargo build --release --features mpi --example cluster_matrix_rows &&
//!  mpirun -np 2 --bind-to none target/release/examples/cluster_matrix_rows [N] [--seed S]`

#[path = "common/mod.rs"]
mod common;

use std::sync::Arc;

use common::{Args, XorShift, grouped, secs, speedup, timed};
use corepool::cluster::Cluster;

const USAGE: &str = "cluster_matrix_rows [N] [--seed S]   (N×N matrices, default 1024)";

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

/// Row `i` of `a × b`, in i-k-j order (it streams through `b` row by row).
fn product_row(a: &Matrix, b: &Matrix, i: usize) -> Vec<f64> {
    let mut out = vec![0.0; a.n];
    for (k, &aik) in a.row(i).iter().enumerate() {
        for (o, &bkj) in out.iter_mut().zip(b.row(k)) {
            *o += aik * bkj;
        }
    }
    out
}

fn main() {
    let mut args = Args::parse(USAGE);
    let seed: u64 = args.option("--seed", 42);
    let n: usize = args.next_or("N", 1024);
    args.check((1..=16_384).contains(&n), "N must be in 1..=16384");
    args.finish();

    let cluster = Cluster::init().unwrap_or_else(|err| {
        eprintln!("error: cannot start the cluster: {err}");
        std::process::exit(1);
    });
    // Every rank draws the same matrices from the same seed.
    let mut rng = XorShift::new(seed);
    let a = Arc::new(Matrix::random(n, &mut rng));
    let b = Arc::new(Matrix::random(n, &mut rng));

    // The sequential product first, while the other ranks wait (asleep) in
    // the map.
    let (sequential, t_one) = if cluster.is_root() {
        timed(|| {
            let cells = (0..n).flat_map(|i| product_row(&a, &b, i)).collect();
            Matrix { n, cells }
        })
    } else {
        (
            Matrix {
                n,
                cells: Vec::new(),
            },
            Default::default(),
        )
    };
    let (a2, b2) = (a.clone(), b.clone());
    let (rows, t_cluster) = timed(|| {
        cluster
            .map_range(0..n as u64, move |i| product_row(&a2, &b2, i as usize))
            .collect::<Result<Vec<Vec<f64>>, _>>()
    });
    let rows = rows.unwrap_or_else(|err| {
        eprintln!("error: {err}");
        std::process::exit(1);
    });
    if !cluster.is_root() {
        return;
    }
    let parallel = Matrix {
        n,
        cells: rows.into_iter().flatten().collect(),
    };

    // The sum of all entries of A×B is Σ_k (column k of A summed) × (row k
    // of B summed): an O(n²) check that does not multiply anything.
    let expected: f64 = (0..n)
        .map(|k| (0..n).map(|i| a.row(i)[k]).sum::<f64>() * b.row(k).iter().sum::<f64>())
        .sum();
    let total: f64 = parallel.cells.iter().sum();

    common::banner(cluster.pool());
    println!("cluster: {} ranks", cluster.size());
    println!("{n}×{n} times {n}×{n}, one item per row");
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
    println!(
        "{} ranks, {} workers on the root: {}",
        cluster.size(),
        cluster.pool().workers(),
        secs(t_cluster)
    );
    println!(
        "1 thread:  {}  (speed-up {})",
        secs(t_one),
        speedup(t_one, t_cluster)
    );
    if !same || total != expected {
        std::process::exit(1);
    }
}

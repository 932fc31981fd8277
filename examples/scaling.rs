//! The same CPU-bound job on pools of 1, 2, … workers, up to one per
//! physical core, printed as a table of time, speed-up and efficiency.
//!
//! Mirrors "Example 6: Controlling max_workers" of the `ProcessPoolExecutor`
//! tutorial (the same work with `max_workers=1` and `3`, timed). The job is a
//! Mandelbrot set on a SIZE×SIZE grid, one row per `map` item: rows near the
//! middle cost far more than rows near the edges, which is what work
//! stealing is for.
//!
//! usage: `cargo run --release --example scaling -- [SIZE] [--max-workers W]`

#[path = "common/mod.rs"]
mod common;

use common::{Args, grouped, secs, timed};

const USAGE: &str =
    "scaling [SIZE] [--max-workers W]   (Mandelbrot on SIZE×SIZE, default 1200; W: physical cores)";

const MAX_ITER: u32 = 500;

/// How many points of grid row `y` stay bounded for `MAX_ITER` iterations.
fn row_inside(y: usize, size: usize) -> u64 {
    let ci = -1.5 + 3.0 * y as f64 / size as f64;
    (0..size)
        .filter(|&x| {
            let cr = -2.0 + 3.0 * x as f64 / size as f64;
            let (mut zr, mut zi) = (0.0f64, 0.0f64);
            for _ in 0..MAX_ITER {
                let (zr2, zi2) = (zr * zr, zi * zi);
                if zr2 + zi2 > 4.0 {
                    return false;
                }
                zi = 2.0 * zr * zi + ci;
                zr = zr2 - zi2 + cr;
            }
            true
        })
        .count() as u64
}

fn main() {
    let mut args = Args::parse(USAGE);
    let max_workers: usize = args.option("--max-workers", 0);
    let size: usize = args.next_or("SIZE", 1200);
    args.check((1..=100_000).contains(&size), "SIZE must be in 1..=100000");
    args.finish();

    // The default pool has one worker per physical core (or COREPOOL_WORKERS).
    let cores = common::pool().workers();
    let max_workers = if max_workers == 0 { cores } else { max_workers };
    println!(
        "Mandelbrot set on a {size}×{size} grid, {MAX_ITER} iterations; {cores} physical cores"
    );
    println!(
        "{:>7}  {:>10}  {:>8}  {:>10}",
        "workers", "time", "speed-up", "efficiency"
    );

    let mut base = None;
    let mut answer = None;
    for workers in 1..=max_workers {
        let pool = common::pool_of(workers);
        let (inside, took) = timed(|| pool.map(0..size, move |y| row_inside(y, size)).sum::<u64>());
        let base = *base.get_or_insert(took);
        let ratio = base.as_secs_f64() / took.as_secs_f64().max(1e-9);
        println!(
            "{workers:>7}  {:>10}  {:>7.2}x  {:>9.0}%",
            secs(took),
            ratio,
            100.0 * ratio / workers as f64
        );
        if *answer.get_or_insert(inside) != inside {
            eprintln!("error: {workers} workers found {inside} points, 1 worker {answer:?}");
            std::process::exit(1);
        }
    }
    if let Some(inside) = answer {
        println!(
            "every pool found the same {} points inside the set",
            grouped(inside)
        );
    }
}

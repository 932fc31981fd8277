//! Tasks that return `Err` and tasks that panic, each reported on its own
//! line while the others finish; the pool keeps working afterwards.
//!
//! Mirrors "Example 3: Handling Exceptions" of the `ProcessPoolExecutor`
//! tutorial (`risky_computation` raising `ValueError` for 0, caught around
//! `future.result()`). In Rust the expected failure is an `Err` value; a bug
//! is a panic, which corepool catches at the task boundary and hands back as
//! a `TaskError` from `join`.
//!
//! usage: `cargo run --release --example errors -- [X...]`

#[path = "common/mod.rs"]
mod common;

use common::{Args, secs, timed};

const USAGE: &str = "errors [X...]   (computes 100 / X for each X, default 2 0 5 -1 4)";

/// 100 / x: an `Err` for 0 (expected bad input), a panic for a negative x
/// (a broken precondition).
fn risky_computation(x: i64) -> Result<f64, String> {
    if x == 0 {
        return Err("cannot divide by zero".to_string());
    }
    assert!(x > 0, "negative input {x}");
    Ok(100.0 / x as f64)
}

fn main() {
    let mut args = Args::parse(USAGE);
    let inputs: Vec<i64> = args.rest_or("X", vec![2, 0, 5, -1, 4]);
    args.finish();

    // The default hook would print each caught panic to stderr with a
    // backtrace hint; the report below says everything.
    std::panic::set_hook(Box::new(|_| {}));

    let pool = common::pool();
    common::banner(&pool);
    let ((ok, errors, panics), took) = timed(|| {
        let tasks: Vec<_> = inputs
            .iter()
            .map(|&x| (x, pool.submit(move || risky_computation(x))))
            .collect();
        let (mut ok, mut errors, mut panics) = (0, 0, 0);
        for (x, task) in tasks {
            match task.join() {
                Ok(Ok(value)) => {
                    ok += 1;
                    println!("x = {x:>3}: result {value}");
                }
                Ok(Err(why)) => {
                    errors += 1;
                    println!("x = {x:>3}: error: {why}");
                }
                Err(failure) => {
                    panics += 1;
                    let message = failure.panic_message().unwrap_or("(no message)");
                    println!("x = {x:>3}: task panicked: {message}");
                }
            }
        }
        (ok, errors, panics)
    });

    let after = pool.submit(|| 6 * 7).join();
    println!(
        "{ok} ok, {errors} errors, {panics} panics in {}",
        secs(took)
    );
    println!(
        "the pool still works: 6 * 7 = {}",
        after.map_or_else(|e| e.to_string(), |v| v.to_string())
    );
}

//! Runs the bench member's examples (the ones that need big integers, a
//! progress bar or rayon) with small arguments against known answers, and
//! checks that a bad argument is a usage error. `.ci/run` runs this with
//! `cargo test -p corepool-bench --test examples`; the main package's
//! `cargo test` does not build these crates.
#[path = "../../tests/examples_common/mod.rs"]
mod examples_common;

use examples_common::{PACKAGE, bad_arguments_are_usage_errors, expect};

fn setup() {
    let _ = PACKAGE.set("corepool-bench");
}

#[test]
fn factorial_of_1000_has_2568_digits() {
    setup();
    expect(
        "factorial",
        &["1000"],
        &[
            "1000! has 2,568 digits",
            "first digits: 40238726007709377354...",
            "followed by 249 zeros",
            "results match the sequential product; the digits check out",
            "speed-up",
            "whole job (product + digits):",
        ],
    );
    expect("factorial", &["0"], &["0! has 1 digits"]);
}

#[test]
fn factorial_split_across_workers_gives_the_same_digits() {
    setup();
    // `--split 1` splits every multiplication and conversion that has
    // workers to spare, so the split paths run on small numbers; the low
    // half of 13! and of 41! starts with a zero (the padding path).
    for n in ["3", "13", "41", "1000"] {
        expect("factorial", &[n, "--split", "1"], &["digits check out"]);
    }
    expect(
        "factorial",
        &["1000", "--split", "1", "--leaves", "4"],
        &[
            "1000! has 2,568 digits",
            "first digits: 40238726007709377354...",
            "...77939410970027753472 followed by 249 zeros",
            "4 leaves",
            "results match the sequential product; the digits check out",
        ],
    );
}

#[test]
fn progress_finds_the_longest_collatz_chain() {
    setup();
    expect(
        "progress",
        &["100000"],
        &["starts at 77,031 and has 351 terms", "99,999 chains"],
    );
}

#[test]
fn submit_million_joins_every_task_and_compares_with_rayon() {
    setup();
    expect(
        "submit_million",
        &["3000", "1000"],
        &[
            "3,000 tiny tasks submitted from outside and joined, in batches of 1,000",
            "corepool submit + join:",
            "rayon spawn + latch:",
        ],
    );
}

#[test]
fn demos_ratio_runs_every_demo_on_both_libraries_and_checks_the_results() {
    setup();
    // One round on test-sized inputs: a smoke run (no times are checked);
    // the example itself asserts that every result equals rayon's.
    let stdout = expect(
        "demos_ratio",
        &["1", "--small"],
        &[
            "rayon-demo's demos, 1 rounds, 2 workers each, median ms (--small inputs)",
            "| increment-all ×5 ",
            "| join-recursively ×1 ",
            "| quicksort ",
            "| mergesort ",
            "| matmul-strassen ",
            "| matmulz ",
            "| life-par-iter ",
            "| life-par-bridge ",
            "| nbody-par-iter ",
            "| nbody-par-reduce ",
            "| sieve-chunks ",
            "| sieve-parallel ",
            "| tsp-dj10-threshold-4 ",
            "| tsp-dj10-threshold-6 ",
            "every result matched rayon's",
        ],
    );
    // The table's header and its 18 rows.
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("| ")).count(),
        1 + 18
    );
    // The filter keeps only the rows whose name contains it: the header,
    // quicksort and mergesort.
    let stdout = expect("demos_ratio", &["1", "sort", "--small"], &["| quicksort "]);
    assert_eq!(
        stdout.lines().filter(|l| l.starts_with("| ")).count(),
        1 + 2
    );
}

#[test]
fn a_bad_argument_is_a_usage_error_with_exit_code_2() {
    setup();
    bad_arguments_are_usage_errors(&["factorial", "progress", "submit_million", "demos_ratio"]);
}

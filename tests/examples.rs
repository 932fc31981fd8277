//! Runs every example in `examples/` with small arguments and checks its
//! output against known answers, and that a bad argument gives exit code 2
//! and a one-line usage error. (The three examples that need heavy crates
//! live in the `bench/` member and are checked by `bench/tests/examples.rs`,
//! which `.ci/run` runs: `cargo test` stays quick.)
mod examples_common;

use examples_common::{PACKAGE, bad_arguments_are_usage_errors, expect};

const EXAMPLES: [&str; 8] = [
    "primes",
    "matrix_rows",
    "scientists",
    "squares",
    "errors",
    "as_completed",
    "scaling",
    "sort",
];

fn setup() {
    let _ = PACKAGE.set("corepool");
}

#[test]
fn primes_below_a_million_are_78498() {
    setup();
    expect(
        "primes",
        &["1000000"],
        &["78,498 primes in 0..1,000,000", "speed-up"],
    );
    let listed = expect("primes", &["--list", "30"], &["10 primes in 0..30"]);
    let numbers: Vec<&str> = listed
        .lines()
        .filter(|l| l.chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(
        numbers,
        ["2", "3", "5", "7", "11", "13", "17", "19", "23", "29"]
    );
    expect(
        "primes",
        &["200", "--from", "100"],
        &["21 primes in 100..200"],
    );
}

#[test]
fn matrix_rows_match_the_sequential_product() {
    setup();
    expect(
        "matrix_rows",
        &["64"],
        &[
            "sum of all entries: 5,356,380",
            "equal to the sequential product: yes",
            "sum matches the column-sum × row-sum check: yes",
            "speed-up",
        ],
    );
}

#[test]
fn scientists_ages_match_the_tutorial() {
    setup();
    let out = expect("scientists", &[], &["7 records mapped"]);
    let table: Vec<(String, u32)> = out
        .lines()
        .filter_map(|l| {
            let (name, age) = l.rsplit_once(' ')?;
            Some((name.trim().to_string(), age.parse().ok()?))
        })
        .collect();
    let want = [
        ("Ada Lovelace", 202),
        ("Emmy Noether", 135),
        ("Marie Curie", 150),
        ("Tu Youyou", 87),
        ("Ada Yonath", 78),
        ("Vera Rubin", 89),
        ("Sally Ride", 66),
    ];
    let want: Vec<(String, u32)> = want.iter().map(|&(n, a)| (n.to_string(), a)).collect();
    assert_eq!(table, want, "in input order, as Pool.map keeps it");
    expect(
        "scientists",
        &["2025"],
        &["Ada Lovelace    210", "Sally Ride       74"],
    );
}

#[test]
fn squares_and_cubes_match_the_closed_forms() {
    setup();
    expect(
        "squares",
        &["10000", "4"],
        &[
            "sum of squares: 333,283,335,000",
            "sum of cubes:   2,499,500,025,000,000",
            "agree: yes",
            "8 tasks",
        ],
    );
}

#[test]
fn errors_are_reported_one_by_one() {
    setup();
    expect(
        "errors",
        &[],
        &[
            "x =   2: result 50",
            "x =   0: error: cannot divide by zero",
            "x =   5: result 20",
            "x =  -1: task panicked: negative input -1",
            "x =   4: result 25",
            "3 ok, 1 errors, 1 panics",
            "the pool still works: 6 * 7 = 42",
        ],
    );
}

#[test]
fn as_completed_reports_every_fibonacci_number() {
    setup();
    expect(
        "as_completed",
        &["25", "10", "20", "--deadline", "600"],
        &["fib(25) = 75,025", "fib(10) = 55", "fib(20) = 6,765"],
    );
}

#[test]
fn as_completed_stops_at_the_deadline() {
    setup();
    let out = expect(
        "as_completed",
        &["15", "70", "--deadline", "0.3"],
        &[
            "fib(15) = 610",
            "deadline passed: timed out with 1 of 2 tasks unfinished",
        ],
    );
    assert!(
        out.contains("fib(70) stopped while running")
            || out.contains("fib(70) cancelled before it started"),
        "{out}"
    );
}

#[test]
fn scaling_gets_the_same_answer_with_every_worker_count() {
    setup();
    let out = expect(
        "scaling",
        &["100"],
        &[
            "every pool found the same 1,712 points inside the set",
            "speed-up",
        ],
    );
    let rows = out
        .lines()
        .filter(|l| l.trim_start().starts_with(|c: char| c.is_ascii_digit()))
        .count();
    assert!(rows >= 1, "no table rows:\n{out}");
}

#[test]
fn sort_agrees_with_sort_unstable() {
    setup();
    let out = expect(
        "sort",
        &["3", "10000"],
        &["3 lists of 10,000 numbers", "one list of 30,000 numbers"],
    );
    assert_eq!(
        out.matches("same as sort_unstable: yes").count(),
        2,
        "{out}"
    );
}

#[test]
fn a_bad_argument_is_a_usage_error_with_exit_code_2() {
    setup();
    bad_arguments_are_usage_errors(&EXAMPLES);
}

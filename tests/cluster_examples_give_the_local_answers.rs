//! The cluster examples give the same answers as their local versions
//! (`primes`, `matrix_rows`) on 1, 2 and 3 ranks, with the same output
//! lines, and exit 2 with a usage line on a bad argument.
#![cfg(feature = "mpi")]

mod cluster_common;

use cluster_common::example;

fn expect(np: usize, name: &str, args: &[&str], lines: &[&str]) -> String {
    let job = example(np, name, args);
    assert!(
        !job.timed_out(),
        "{name} {args:?} on {np} ranks hung\n{}",
        job.all()
    );
    assert_eq!(
        job.code,
        Some(0),
        "{name} {args:?} on {np} ranks\n{}",
        job.all()
    );
    for want in lines {
        assert!(
            job.stdout.contains(want),
            "{name} {args:?} on {np} ranks did not print {want:?}\n{}",
            job.all()
        );
    }
    assert!(job.stdout.contains(&format!("{np} ranks")), "{}", job.all());
    job.stdout
}

#[test]
fn cluster_primes_counts_what_primes_counts() {
    for np in [1, 2, 3] {
        expect(
            np,
            "cluster_primes",
            &["1000000"],
            &["78,498 primes in 0..1,000,000", "speed-up"],
        );
    }
    let listed = expect(
        2,
        "cluster_primes",
        &["--list", "30", "--block", "7"],
        &["10 primes in 0..30"],
    );
    let numbers: Vec<&str> = listed
        .lines()
        .filter(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(
        numbers,
        ["2", "3", "5", "7", "11", "13", "17", "19", "23", "29"]
    );
    expect(
        3,
        "cluster_primes",
        &["200", "--from", "100", "--block", "3"],
        &["21 primes in 100..200"],
    );
}

#[test]
fn cluster_matrix_rows_matches_the_sequential_product() {
    for np in [1, 2, 3] {
        expect(
            np,
            "cluster_matrix_rows",
            &["64"],
            &[
                "sum of all entries: 5,356,380",
                "equal to the sequential product: yes",
                "sum matches the column-sum × row-sum check: yes",
                "speed-up",
            ],
        );
    }
}

#[test]
fn a_bad_argument_is_a_usage_error_on_every_rank() {
    let job = example(2, "cluster_primes", &["--block", "0"]);
    assert!(!job.timed_out(), "{}", job.all());
    assert_ne!(job.code, Some(0), "{}", job.all());
    assert!(
        job.stderr
            .contains("error: --block must be at least 1; usage: cluster_primes"),
        "{}",
        job.all()
    );
}

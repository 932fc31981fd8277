//! Runs every example in `examples/` with small arguments and checks its
//! output against known answers, and that a bad argument gives exit code 2
//! and a one-line usage error.
//!
//! The examples are built once (`cargo build --workspace --examples`, in the profile
//! these tests run in) and run as plain processes, each killed if it takes
//! longer than `LIMIT`.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// No example run may take longer than this, even in debug on a loaded
/// machine; a hung one fails its test instead of the whole CI run.
const LIMIT: Duration = Duration::from_secs(120);

const EXAMPLES: [&str; 11] = [
    "factorial",
    "primes",
    "matrix_rows",
    "scientists",
    "squares",
    "errors",
    "as_completed",
    "scaling",
    "sort",
    "progress",
    "submit_million",
];

/// `target/<profile>/examples`, with every example built.
fn examples_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "--workspace", "--examples"]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build");
        assert!(
            status.success(),
            "cargo build --workspace --examples failed"
        );
        // This test binary is target/<profile>/deps/examples-<hash>.
        let exe = std::env::current_exe().expect("the test binary's path");
        let profile_dir = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target/<profile>");
        profile_dir.join("examples")
    })
}

/// What one run printed.
struct Output {
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

/// Runs example `name` with `args`, killing it after `LIMIT`.
fn run(name: &str, args: &[&str]) -> Output {
    let path = examples_dir().join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    let mut child = Command::new(&path)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", path.display()));
    let mut out_pipe = child.stdout.take().expect("piped stdout");
    let mut err_pipe = child.stderr.take().expect("piped stderr");
    let out = thread::spawn(move || {
        let mut s = String::new();
        out_pipe.read_to_string(&mut s).map(|_| s)
    });
    let err = thread::spawn(move || {
        let mut s = String::new();
        err_pipe.read_to_string(&mut s).map(|_| s)
    });
    let deadline = Instant::now() + LIMIT;
    let status = loop {
        if let Some(status) = child.try_wait().expect("poll the example") {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{name} {args:?} ran longer than {LIMIT:?} and was killed");
        }
        // Polling a child process; not synchronisation between threads.
        thread::sleep(Duration::from_millis(10));
    };
    Output {
        code: status.code(),
        stdout: out.join().expect("stdout reader").expect("utf-8 stdout"),
        stderr: err.join().expect("stderr reader").expect("utf-8 stderr"),
    }
}

/// Runs `name` and asserts that it succeeded and printed every line of
/// `expected` (each one somewhere in stdout, as a whole line or a part).
fn expect(name: &str, args: &[&str], expected: &[&str]) -> String {
    let output = run(name, args);
    assert_eq!(
        output.code,
        Some(0),
        "{name} {args:?} failed\nstdout:\n{}\nstderr:\n{}",
        output.stdout,
        output.stderr
    );
    for want in expected {
        assert!(
            output.stdout.contains(want),
            "{name} {args:?} did not print {want:?}; it printed:\n{}",
            output.stdout
        );
    }
    assert!(
        output.stdout.contains("workers"),
        "{name} does not say how many workers it used:\n{}",
        output.stdout
    );
    output.stdout
}

#[test]
fn factorial_of_1000_has_2568_digits() {
    expect(
        "factorial",
        &["1000"],
        &[
            "1000! has 2,568 digits",
            "first digits: 40238726007709377354...",
            "followed by 249 zeros",
            "results match the sequential product",
            "speed-up",
        ],
    );
    expect("factorial", &["0"], &["0! has 1 digits"]);
}

#[test]
fn primes_below_a_million_are_78498() {
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
    expect(
        "as_completed",
        &["25", "10", "20", "--deadline", "600"],
        &["fib(25) = 75,025", "fib(10) = 55", "fib(20) = 6,765"],
    );
}

#[test]
fn as_completed_stops_at_the_deadline() {
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
fn progress_finds_the_longest_collatz_chain() {
    expect(
        "progress",
        &["100000"],
        &["starts at 77,031 and has 351 terms", "99,999 chains"],
    );
}

#[test]
fn submit_million_joins_every_task_and_compares_with_rayon() {
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
fn a_bad_argument_is_a_usage_error_with_exit_code_2() {
    for name in EXAMPLES {
        for bad in ["--bogus", "not-a-number"] {
            let output = run(name, &[bad]);
            let stderr = &output.stderr;
            assert_eq!(output.code, Some(2), "{name} {bad}: {stderr}");
            assert_eq!(stderr.lines().count(), 1, "{name} {bad}: {stderr}");
            assert!(
                stderr.starts_with("error: ") && stderr.contains(&format!("usage: {name} ")),
                "{name} {bad}: {stderr}"
            );
            assert!(
                output.stdout.is_empty(),
                "{name} {bad} printed before failing"
            );
        }
    }
}

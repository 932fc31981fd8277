//! Runs a package's examples as plain processes and checks their output:
//! shared by `tests/examples.rs` (the main package's examples) and
//! `bench/tests/examples.rs` (the examples that need heavy crates).
//!
//! The examples are built once per test binary (`cargo build -p PACKAGE
//! --examples`, in the profile the tests run in), each run is killed if it
//! takes longer than `LIMIT`.
#![allow(dead_code)]

use std::io::Read;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::thread;
use std::time::{Duration, Instant};

/// No example run may take longer than this, even in debug on a loaded
/// machine; a hung one fails its test instead of the whole CI run.
const LIMIT: Duration = Duration::from_secs(120);

/// The package whose examples `run` starts; set once per test binary.
pub static PACKAGE: OnceLock<&'static str> = OnceLock::new();

/// `<target>/<profile>/examples`, with every example of [`PACKAGE`] built.
fn examples_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let package = PACKAGE.get().expect("examples_common::PACKAGE set");
        let mut build = Command::new(env!("CARGO"));
        build.args(["build", "--quiet", "-p", package, "--examples"]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build");
        assert!(
            status.success(),
            "cargo build -p {package} --examples failed"
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
pub struct Output {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

/// Runs example `name` with `args`, killing it after `LIMIT`.
pub fn run(name: &str, args: &[&str]) -> Output {
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
pub fn expect(name: &str, args: &[&str], expected: &[&str]) -> String {
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

/// Each of `names`, given a bad argument, prints a one-line usage error and
/// exits with code 2, printing nothing on stdout.
pub fn bad_arguments_are_usage_errors(names: &[&str]) {
    for name in names {
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

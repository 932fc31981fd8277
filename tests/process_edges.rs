//! The process pool at its edges: a big result type with a compact
//! encoding in a map's batch, `init` called again from inside a task, an
//! input iterator (or an argument's `Serialize`) that panics in the middle
//! of a batch, and a program that ignores `SIGCHLD`.
//!
//! As in `tests/process.rs`, the pool re-executes this binary as its
//! workers, so it has its own `main` (`harness = false`): `init()` first,
//! then every test under a watchdog, one line per test and `N passed, M
//! failed`; an argument runs only the tests whose names contain it. The
//! cases that change process-wide state (an address-space limit, the
//! disposition of `SIGCHLD`) run in a child process of this binary
//! (`ENV_CASE`), which the test waits for with a timeout.

mod common;

use std::time::Duration;

use common::{drain_catching, quiet_panics_containing, watchdog};
use corepool::Pinning;
use corepool::process::{self, ErrorKind, ProcessBuildError, ProcessPool};
use serde::{Deserialize, Serialize, Serializer};

// ---- task functions (they run in the worker processes) ----

fn double(x: u64) -> u64 {
    2 * x
}

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn abort(_: ()) -> u8 {
    std::process::abort()
}

/// 256 KiB, encoded as 32 KiB of zero varints.
type Quarter = [[[u64; 32]; 32]; 32];

fn quarter(_: u8) -> Quarter {
    [[[0; 32]; 32]; 32]
}

/// A library that calls `init()` "to be safe", inside a task.
fn calls_init(x: u8) -> u8 {
    process::init();
    x + 1
}

/// An argument whose `Serialize` panics (in the parent, where the map
/// encodes it) for the value 3.
#[derive(Debug, Deserialize)]
struct PanicsOnThree(u64);

impl Serialize for PanicsOnThree {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == 3 {
            panic!("PanicsOnThree refuses to encode 3 (on purpose)");
        }
        self.0.serialize(s)
    }
}

fn double_it(x: PanicsOnThree) -> u64 {
    2 * x.0
}

fn pool(workers: usize) -> ProcessPool {
    ProcessPool::builder()
        .workers(workers)
        .pinning(Pinning::None)
        .build()
        .expect("build a process pool")
}

/// Input 0..10 whose item 3 panics: in the middle of a batch of 5.
fn input_panicking_at_3() -> impl Iterator<Item = u64> {
    (0..10u64).inspect(|&i| {
        if i == 3 {
            panic!("input item 3 panics (on purpose)");
        }
    })
}

/// What both maps must yield from `input_panicking_at_3` doubled: every
/// item read before the panic, then every item after it.
fn expected_after_a_caught_panic() -> Vec<u64> {
    (0..10u64).filter(|&i| i != 3).map(|i| 2 * i).collect()
}

// ---- the tests ----

/// A map's batch reply of big results with a compact encoding (256 KiB
/// values, 32 KiB on the wire): the parent used to reserve room for one
/// value per 5 reply bytes, 13 GiB for 8 such results, and abort. Run in a
/// child under an 8 GiB address-space limit (so the old reservation fails
/// whatever the machine's memory); checks that all 8 results arrive.
fn a_batch_of_big_results_with_a_compact_encoding_reserves_little() {
    // 16 MiB stacks for the child's threads (std's default for new threads
    // is 2 MiB): an unoptimised build copies each 256 KiB value several
    // times on the stacks of the threads that decode and move it, which is
    // not what this test is about.
    let out = run_case("big_results", &[("RUST_MIN_STACK", "16777216")]);
    assert!(out.contains("big_results: 8 of 8 ok"), "{out}");
}

fn case_big_results() {
    let limit = libc::rlimit {
        rlim_cur: 8 << 30,
        rlim_max: 8 << 30,
    };
    // SAFETY: `limit` is a valid rlimit that lives for the call.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) };
    assert_eq!(set, 0, "setrlimit: {}", std::io::Error::last_os_error());
    let pool = pool(1);
    let ok = pool
        .map(quarter, 0..8u8)
        .chunk_size(8)
        .filter(|r| matches!(r, Ok(q) if q.iter().flatten().flatten().all(|&x| x == 0)))
        .count();
    println!("big_results: {ok} of 8 ok");
}

/// `init()` called from inside a task returns at once (the worker is
/// serving already): the task's result arrives, and the same worker serves
/// the next task. It used to serve a second time on the same socket and
/// wait for a handshake that never came (the task then timed out).
fn init_called_inside_a_task_returns_at_once() {
    let pool = pool(1);
    let before = pool.submit(pid, ()).join().unwrap();
    let r = pool
        .submit_timeout(calls_init, 6, Duration::from_secs(30))
        .join();
    assert_eq!(r.map_err(|e| e.kind().clone()), Ok(7));
    assert_eq!(pool.submit(pid, ()).join().unwrap(), before, "same worker");
}

/// An input iterator that panics at item 3 of a batch of 5 (ordered map):
/// the panic reaches the caller, and a caller that catches it and goes on
/// gets 0, 1 and 2 (read before the panic, sent as a shorter batch), then
/// the items after the panicking one, in order. They used to be lost.
fn process_map_keeps_the_items_read_before_an_input_panic() {
    let pool = pool(1);
    let mut map = pool.map(double, input_panicking_at_3()).chunk_size(5);
    let (values, panics) = drain_catching(|| map.next().map(Result::unwrap));
    assert_eq!(panics, 1);
    assert_eq!(values, expected_after_a_caught_panic());
}

/// The same for `map_unordered`: every item but the panicking one.
fn process_map_unordered_keeps_the_items_read_before_an_input_panic() {
    let pool = pool(2);
    let mut map = pool
        .map_unordered(double, input_panicking_at_3())
        .chunk_size(5);
    let (mut values, panics) = drain_catching(|| map.next().map(Result::unwrap));
    values.sort_unstable();
    assert_eq!(panics, 1);
    assert_eq!(values, expected_after_a_caught_panic());
}

/// An argument whose `Serialize` panics (in the parent, while the batch is
/// encoded): the items before it in the batch are not lost either.
fn process_map_keeps_the_items_before_an_argument_whose_encoding_panics() {
    let pool = pool(1);
    let input = (0..10u64).map(PanicsOnThree);
    let mut map = pool.map(double_it, input).chunk_size(5);
    let (values, panics) = drain_catching(|| map.next().map(Result::unwrap));
    assert_eq!(panics, 1);
    assert_eq!(values, expected_after_a_caught_panic());
}

/// With `SIGCHLD` ignored the kernel reaps the workers, so the pool could
/// not tell how one ended, and a kill could reach a reused process id:
/// building a pool then fails with an error that says so (it used to
/// build, and a crash came back as a protocol error).
fn a_pool_refuses_to_start_workers_while_sigchld_is_ignored() {
    let out = run_case("sigchld_before_build", &[]);
    assert!(out.contains("sigchld_before_build: refused"), "{out}");
}

fn case_sigchld_before_build() {
    // SAFETY: sets a disposition; no handler runs.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    let err = ProcessPool::builder()
        .workers(2)
        .pinning(Pinning::None)
        .build()
        .expect_err("a pool built while SIGCHLD is ignored");
    let ProcessBuildError::Worker { reason, .. } = &err else {
        panic!("not a worker error: {err:?}");
    };
    assert!(reason.contains("SIGCHLD"), "{err}");
    println!("sigchld_before_build: refused: {err}");
}

/// `SIGCHLD` ignored after the workers started: a crash ends its task with
/// [`ErrorKind::StatusTaken`] (the status is gone, not a protocol error),
/// and the next task fails with a spawn error naming `SIGCHLD` instead of
/// running on a worker the pool cannot reap.
fn a_crash_whose_status_the_kernel_took_is_a_typed_error() {
    let out = run_case("sigchld_after_build", &[]);
    assert!(out.contains("sigchld_after_build: typed"), "{out}");
}

fn case_sigchld_after_build() {
    let pool = pool(2);
    // SAFETY: sets a disposition; no handler runs.
    unsafe { libc::signal(libc::SIGCHLD, libc::SIG_IGN) };
    let err = pool.submit(abort, ()).join().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::StatusTaken { .. }),
        "crash: {err}"
    );
    assert!(err.is_crash(), "{err}");
    // The other worker still serves; a replacement for the dead one
    // cannot start. Two tasks: at least one needs a new worker.
    let tasks: Vec<_> = (0..2).map(|_| pool.submit(abort, ())).collect();
    let kinds: Vec<ErrorKind> = tasks
        .into_iter()
        .map(|t| t.join().unwrap_err().kind().clone())
        .collect();
    assert!(
        kinds
            .iter()
            .any(|k| matches!(k, ErrorKind::Spawn(why) if why.contains("SIGCHLD"))),
        "{kinds:?}"
    );
    println!("sigchld_after_build: typed: {err}");
}

// ---- the runner ----

/// The environment variable that makes this binary run one case (in a
/// child process) instead of the tests.
const ENV_CASE: &str = "COREPOOL_TEST_PROCESS_EDGE_CASE";

const CASES: &[(&str, fn())] = &[
    ("big_results", case_big_results),
    ("sigchld_before_build", case_sigchld_before_build),
    ("sigchld_after_build", case_sigchld_after_build),
];

/// Runs case `name` in a child process of this binary, with the
/// environment variables `vars` set, and returns its standard output;
/// fails if it does not exit 0 within 60 s (then it is killed).
fn run_case(name: &str, vars: &[(&str, &str)]) -> String {
    let Some(output) = common::run_case(ENV_CASE, name, 60, vars) else {
        panic!("case {name} still running after 60 s: hang?");
    };
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "case {name}: {:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    stdout
}

const TESTS: &[(&str, fn())] = &[
    (
        "a_batch_of_big_results_with_a_compact_encoding_reserves_little",
        a_batch_of_big_results_with_a_compact_encoding_reserves_little,
    ),
    (
        "init_called_inside_a_task_returns_at_once",
        init_called_inside_a_task_returns_at_once,
    ),
    (
        "process_map_keeps_the_items_read_before_an_input_panic",
        process_map_keeps_the_items_read_before_an_input_panic,
    ),
    (
        "process_map_unordered_keeps_the_items_read_before_an_input_panic",
        process_map_unordered_keeps_the_items_read_before_an_input_panic,
    ),
    (
        "process_map_keeps_the_items_before_an_argument_whose_encoding_panics",
        process_map_keeps_the_items_before_an_argument_whose_encoding_panics,
    ),
    (
        "a_pool_refuses_to_start_workers_while_sigchld_is_ignored",
        a_pool_refuses_to_start_workers_while_sigchld_is_ignored,
    ),
    (
        "a_crash_whose_status_the_kernel_took_is_a_typed_error",
        a_crash_whose_status_the_kernel_took_is_a_typed_error,
    ),
];

fn main() {
    process::init();
    if let Ok(name) = std::env::var(ENV_CASE) {
        let Some((_, case)) = CASES.iter().find(|(n, _)| *n == name) else {
            eprintln!("no case {name:?}");
            std::process::exit(3);
        };
        watchdog(50, case);
        std::process::exit(0);
    }
    quiet_panics_containing("(on purpose)");
    common::run_tests(TESTS, 120);
}

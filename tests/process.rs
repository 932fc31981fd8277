//! The process pool's behaviours, one function each: crashes (SIGSEGV,
//! abort, exit), timeouts, cancelling a running task, recycling, codec
//! errors, panics, shutdown, pinning, and a random-crash stress against a
//! model.
//!
//! A process pool re-executes this binary as its workers, so the binary has
//! its own `main` (`harness = false` in Cargo.toml): it calls
//! `corepool::process::init()` first, then runs every test under a
//! watchdog, prints one line per test and `N passed, M failed`, and exits
//! non-zero on a failure. An argument runs only the tests whose names
//! contain it.

mod common;

use std::collections::HashSet;
use std::ffi::CString;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{eventually, watchdog};
use corepool::process::{self, ErrorKind, ProcessError, ProcessPool};
use corepool::{Pinning, WaitFor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

// ---- task functions (they run in the worker processes) ----

fn pid(_: ()) -> u32 {
    std::process::id()
}

fn double(x: u64) -> u64 {
    x * 2
}

/// Crashes with SIGSEGV: a C function given a null pointer.
fn segfault(x: u64) -> u64 {
    // SAFETY: none; this is the deliberate crash the test is about (strlen
    // reads address 0, which is never mapped).
    let n = unsafe { libc::strlen(std::hint::black_box(std::ptr::null())) };
    x + n as u64
}

fn abort(_: u64) -> u64 {
    std::process::abort()
}

fn exit3(_: u64) -> u64 {
    std::process::exit(3)
}

fn hang(_: ()) {
    loop {
        std::thread::park();
    }
}

fn panics(x: u32) -> u32 {
    panic!("no good: {x}")
}

/// Blocks until the test writes to the FIFO at `path`, then returns the pid.
fn wait_for_gate(path: String) -> u32 {
    let mut byte = [0u8];
    let mut file = std::fs::File::open(path).expect("open the gate");
    std::io::Read::read_exact(&mut file, &mut byte).expect("read the gate");
    std::process::id()
}

fn affinity(_: ()) -> Vec<usize> {
    corepool::topology::current_thread_cpus().unwrap()
}

fn allocate(bytes: usize) -> usize {
    let v = vec![1u8; bytes];
    std::hint::black_box(&v).len()
}

/// ~5% of inputs crash (alternately abort and SIGSEGV), the rest square.
fn sometimes_crash(x: u64) -> u64 {
    match crash_kind(x) {
        Some(true) => abort(x),
        Some(false) => segfault(x),
        None => x * x,
    }
}

fn crash_kind(x: u64) -> Option<bool> {
    let h = x.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32;
    (h % 20 == 0).then_some(h % 40 == 0)
}

/// A value whose decoding always fails.
#[derive(Debug, Serialize)]
struct Undecodable(u8);

impl<'de> Deserialize<'de> for Undecodable {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        Err(serde::de::Error::custom("Undecodable never decodes"))
    }
}

/// A value whose encoding always fails.
#[derive(Debug, Deserialize)]
struct Unencodable(u8);

impl Serialize for Unencodable {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        Err(serde::ser::Error::custom("Unencodable never encodes"))
    }
}

fn takes_undecodable(x: Undecodable) -> u8 {
    x.0
}

fn gives_unencodable(x: u8) -> Unencodable {
    Unencodable(x)
}

fn gives_undecodable(x: u8) -> Undecodable {
    Undecodable(x)
}

fn takes_unencodable(x: Unencodable) -> u8 {
    x.0
}

// ---- helpers ----

fn pool(workers: usize) -> ProcessPool {
    ProcessPool::builder()
        .workers(workers)
        .build()
        .expect("build a process pool")
}

/// A named pipe: a task blocks opening and reading it until the test opens
/// it for writing.
struct Gate(PathBuf);

impl Gate {
    fn new() -> Gate {
        static N: AtomicUsize = AtomicUsize::new(0);
        let path = std::env::temp_dir().join(format!(
            "corepool-process-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let c = CString::new(path.to_str().unwrap()).unwrap();
        // SAFETY: `c` is a valid C string that lives for the call.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
        Gate(path)
    }

    fn path(&self) -> String {
        self.0.to_str().unwrap().to_owned()
    }

    fn open(&self) {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(&self.0)
            .unwrap();
        f.write_all(b"x").unwrap();
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

// ---- tests ----

fn a_task_runs_in_another_process_and_returns_its_value() {
    let pool = pool(2);
    assert_eq!(pool.submit(double, 21).join().unwrap(), 42);
    let child = pool.submit(pid, ()).join().unwrap();
    assert_ne!(child, std::process::id());
    assert!(pool.worker_pids().contains(&Some(child)));
    let closure = pool.submit(|s: String| s.len(), "four".to_owned());
    assert_eq!(closure.join().unwrap(), 4);
}

fn a_segfault_is_sigsegv_and_the_worker_is_replaced() {
    let pool = pool(1);
    let before = pool.submit(pid, ()).join().unwrap();
    let err = pool.submit(segfault, 1).join().unwrap_err();
    assert!(err.is_crash(), "{err}");
    assert_eq!(err.signal(), Some(libc::SIGSEGV), "{err}");
    assert!(err.to_string().contains("SIGSEGV"), "{err}");
    let after = pool.submit(pid, ()).join().unwrap();
    assert_ne!(before, after, "a new worker process");
    assert_eq!(pool.submit(double, 5).join().unwrap(), 10);
}

fn abort_is_sigabrt() {
    let pool = pool(1);
    let err = pool.submit(abort, 0).join().unwrap_err();
    assert_eq!(err.signal(), Some(libc::SIGABRT), "{err}");
    assert_eq!(err.exit_code(), None);
    assert_eq!(pool.submit(double, 1).join().unwrap(), 2);
}

fn exit_3_is_exit_code_3() {
    let pool = pool(1);
    let err = pool.submit(exit3, 0).join().unwrap_err();
    assert!(err.is_crash());
    assert_eq!(err.exit_code(), Some(3), "{err}");
    assert_eq!(err.signal(), None);
    assert_eq!(pool.submit(double, 2).join().unwrap(), 4);
}

fn a_hung_task_times_out_and_its_worker_is_killed() {
    let pool = pool(1);
    let before = pool.submit(pid, ()).join().unwrap();
    let err = pool
        .submit_timeout(hang, (), Duration::from_millis(100))
        .join()
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(!err.is_crash());
    assert_eq!(*err.kind(), ErrorKind::Timeout(Duration::from_millis(100)));
    // The old process is gone (reaped), a new one serves.
    let after = pool.submit(pid, ()).join().unwrap();
    assert_ne!(before, after);
    // SAFETY: signal 0 only checks that the pid exists.
    assert_eq!(
        unsafe { libc::kill(before as i32, 0) },
        -1,
        "the hung worker was killed"
    );
}

fn a_pool_timeout_applies_to_every_task() {
    let pool = ProcessPool::builder()
        .workers(1)
        .timeout(Duration::from_millis(50))
        .build()
        .unwrap();
    assert!(pool.submit(hang, ()).join().unwrap_err().is_timeout());
    assert_eq!(pool.submit(double, 3).join().unwrap(), 6);
}

fn cancel_while_running_kills_the_worker() {
    let pool = pool(1);
    let before = pool.submit(pid, ()).join().unwrap();
    let task = pool.submit(hang, ());
    eventually(|| task.is_running());
    assert!(task.cancel());
    assert!(!task.cancel(), "cancelling twice");
    assert!(task.join().unwrap_err().is_cancelled());
    let after = pool.submit(pid, ()).join().unwrap();
    assert_ne!(before, after, "the running worker was killed and replaced");
}

fn cancel_while_queued_never_runs() {
    let pool = pool(1);
    let gate = Gate::new();
    let blocker = pool.submit(wait_for_gate, gate.path());
    let queued = pool.submit(double, 1);
    assert!(queued.cancel());
    gate.open();
    blocker.join().unwrap();
    assert!(queued.join().unwrap_err().is_cancelled());
}

fn a_worker_is_recycled_after_n_tasks() {
    let pool = ProcessPool::builder()
        .workers(1)
        .tasks_per_child(3)
        .build()
        .unwrap();
    let pids: Vec<u32> = (0..9)
        .map(|_| pool.submit(pid, ()).join().unwrap())
        .collect();
    for group in pids.chunks(3) {
        assert!(group.iter().all(|&p| p == group[0]), "{pids:?}");
    }
    let distinct: HashSet<u32> = pids.iter().copied().collect();
    assert_eq!(distinct.len(), 3, "{pids:?}");
}

fn bad_arguments_and_results_are_codec_errors_naming_the_task() {
    let pool = pool(1);
    let err = pool
        .submit(takes_undecodable, Undecodable(1))
        .join()
        .unwrap_err();
    // postcard keeps the kind of a serde error, not its custom message.
    assert!(matches!(err.kind(), ErrorKind::DecodeArgument(_)), "{err}");
    assert!(err.is_codec());
    assert!(err.to_string().contains("Undecodable"), "{err}");
    assert!(
        err.to_string().contains(&format!("task {}", err.task_id())),
        "{err}"
    );

    let err = pool.submit(gives_unencodable, 2).join().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::EncodeResult(_)), "{err}");

    let err = pool.submit(gives_undecodable, 3).join().unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::DecodeResult(_)), "{err}");

    let err = pool
        .submit(takes_unencodable, Unencodable(4))
        .join()
        .unwrap_err();
    assert!(matches!(err.kind(), ErrorKind::EncodeArgument(_)), "{err}");
    // None of that hurt the worker.
    assert_eq!(pool.submit(double, 4).join().unwrap(), 8);
}

fn a_panic_is_reported_and_the_worker_survives() {
    let pool = pool(1);
    let before = pool.submit(pid, ()).join().unwrap();
    let err = pool.submit(panics, 7).join().unwrap_err();
    assert!(err.is_panic());
    assert_eq!(err.panic_message(), Some("no good: 7"));
    assert_eq!(pool.submit(pid, ()).join().unwrap(), before, "same worker");
}

fn shutdown_runs_what_is_queued_then_refuses() {
    let pool = pool(2);
    let tasks: Vec<_> = (0..20).map(|i| pool.submit(double, i)).collect();
    pool.shutdown();
    assert!(pool.is_shutdown());
    for (i, task) in tasks.into_iter().enumerate() {
        assert_eq!(task.join().unwrap(), 2 * i as u64);
    }
    assert!(pool.submit(double, 1).join().unwrap_err().is_shutdown());
    pool.shutdown(); // twice is harmless
    assert!(
        pool.worker_pids().iter().all(Option::is_none),
        "workers reaped"
    );
}

fn shutdown_now_cancels_the_queued_and_waits_for_the_running() {
    let pool = pool(1);
    let gate = Gate::new();
    let running = pool.submit(wait_for_gate, gate.path());
    eventually(|| running.is_running());
    let queued: Vec<_> = (0..5).map(|i| pool.submit(double, i)).collect();
    let closer = {
        let pool = pool.clone();
        std::thread::spawn(move || pool.shutdown_now())
    };
    eventually(|| queued.iter().all(|t| t.is_finished()));
    gate.open();
    assert_eq!(closer.join().unwrap(), 5);
    assert!(running.join().is_ok(), "the running task finished");
    for task in queued {
        assert!(task.join().unwrap_err().is_cancelled());
    }
}

fn terminate_kills_the_running_tasks() {
    let pool = pool(2);
    let tasks: Vec<_> = (0..2).map(|_| pool.submit(hang, ())).collect();
    eventually(|| tasks.iter().all(|t| t.is_running()));
    assert_eq!(pool.terminate(), 2);
    for task in tasks {
        assert!(task.join().unwrap_err().is_cancelled());
    }
}

fn map_keeps_input_order_and_reports_a_crash_in_place() {
    let pool = pool(2);
    let out: Vec<Result<u64, ProcessError>> = pool.map(sometimes_crash, 0..200u64).collect();
    assert_eq!(out.len(), 200);
    for (x, r) in (0..200u64).zip(out) {
        match crash_kind(x) {
            None => assert_eq!(r.unwrap(), x * x),
            Some(_) => assert!(r.unwrap_err().is_crash()),
        }
    }
    let mut unordered: Vec<u64> = pool
        .map_unordered(double, 0..50u64)
        .map(Result::unwrap)
        .collect();
    unordered.sort_unstable();
    assert_eq!(unordered, (0..50).map(|x| 2 * x).collect::<Vec<_>>());
    assert_eq!(
        pool.map(double, vec![1, 2, 3]).len(),
        3,
        "ExactSizeIterator"
    );
}

fn as_completed_and_wait_see_every_task() {
    let pool = pool(2);
    let tasks: Vec<_> = (0..10u64).map(|i| pool.submit(double, i)).collect();
    let mut seen: Vec<(usize, u64)> = process::as_completed(tasks)
        .map(|(i, r)| (i, r.unwrap()))
        .collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..10).map(|i| (i, 2 * i as u64)).collect::<Vec<_>>());

    let tasks = vec![pool.submit(double, 1), pool.submit(abort, 2)];
    let waited = process::wait(&tasks, WaitFor::FirstPanic, None);
    assert!(waited.done.contains(&1), "{waited:?}");
    let waited = process::wait(&tasks, WaitFor::AllCompleted, Some(Duration::from_secs(60)));
    assert_eq!(waited.done, [0, 1]);

    let hung = vec![pool.submit(hang, ())];
    let waited = process::wait(
        &hung,
        WaitFor::FirstCompleted,
        Some(Duration::from_millis(20)),
    );
    assert_eq!(waited.pending, [0]);
    hung[0].cancel();
}

fn workers_are_pinned_one_per_core_or_not_at_all() {
    let pool = pool(1);
    match pool.cpus()[0] {
        Some(cpu) => assert_eq!(pool.submit(affinity, ()).join().unwrap(), [cpu]),
        None => assert_eq!(pool.pinning(), &Pinning::None),
    }
    let free = ProcessPool::builder()
        .workers(1)
        .pinning(Pinning::None)
        .build()
        .unwrap();
    assert_eq!(free.cpus(), [None]);
    assert_eq!(
        free.submit(affinity, ()).join().unwrap(),
        corepool::topology::current_thread_cpus().unwrap()
    );
}

fn a_memory_limit_turns_a_huge_allocation_into_a_crash() {
    let pool = ProcessPool::builder()
        .workers(1)
        .memory_limit(512 << 20)
        .build()
        .unwrap();
    assert_eq!(pool.submit(allocate, 1 << 20).join().unwrap(), 1 << 20);
    let err = pool.submit(allocate, 4 << 30).join().unwrap_err();
    assert_eq!(err.signal(), Some(libc::SIGABRT), "{err}");
    assert_eq!(pool.submit(allocate, 1 << 20).join().unwrap(), 1 << 20);
}

fn bad_settings_are_build_errors() {
    let err = ProcessPool::builder().workers(0).build().unwrap_err();
    assert!(matches!(
        err,
        process::ProcessBuildError::Settings(corepool::BuildError::ZeroWorkers)
    ));
    let err = ProcessPool::builder()
        .pinning(Pinning::Cpus(vec![usize::MAX / 2]))
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("affinity mask"), "{err}");
}

/// 600 tasks on 2 workers; about 5% crash (abort or SIGSEGV) and about 5%
/// more are cancelled at random moments. The model: a task not cancelled
/// finishes with x² or crashes exactly when its input is a crashing one; a
/// cancelled one ends cancelled, or as the model says if it ended first.
/// `as_completed` yields each index exactly once; nothing is lost.
fn random_crashes_lose_no_task() {
    let pool = pool(2);
    let n = 600u64;
    let mut rng = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let tasks: Vec<_> = (0..n).map(|x| pool.submit(sometimes_crash, x)).collect();
    let mut cancelled = HashSet::new();
    for _ in 0..n / 20 {
        let i = (next() % n) as usize;
        if tasks[i].cancel() {
            cancelled.insert(i);
        }
    }
    let mut seen = HashSet::new();
    let (mut ok, mut crashed) = (0, 0);
    for (i, result) in process::as_completed(tasks) {
        assert!(seen.insert(i), "task {i} reported twice");
        let x = i as u64;
        match result {
            Ok(v) => {
                assert!(
                    !cancelled.contains(&i),
                    "task {i} was cancelled but finished"
                );
                assert_eq!(crash_kind(x), None, "task {i} should have crashed");
                assert_eq!(v, x * x);
                ok += 1;
            }
            Err(e) if e.is_cancelled() => assert!(cancelled.contains(&i), "task {i}: {e}"),
            Err(e) => {
                assert!(!cancelled.contains(&i), "task {i}: {e}");
                assert!(e.is_crash() && crash_kind(x).is_some(), "task {i}: {e}");
                crashed += 1;
            }
        }
    }
    assert_eq!(seen.len() as u64, n, "every task reported");
    assert_eq!(ok + crashed + cancelled.len() as u64, n);
    assert!(crashed > 0, "the stress crashed nothing");
}

// ---- the runner ----

const TESTS: &[(&str, fn())] = &[
    (
        "a_task_runs_in_another_process_and_returns_its_value",
        a_task_runs_in_another_process_and_returns_its_value,
    ),
    (
        "a_segfault_is_sigsegv_and_the_worker_is_replaced",
        a_segfault_is_sigsegv_and_the_worker_is_replaced,
    ),
    ("abort_is_sigabrt", abort_is_sigabrt),
    ("exit_3_is_exit_code_3", exit_3_is_exit_code_3),
    (
        "a_hung_task_times_out_and_its_worker_is_killed",
        a_hung_task_times_out_and_its_worker_is_killed,
    ),
    (
        "a_pool_timeout_applies_to_every_task",
        a_pool_timeout_applies_to_every_task,
    ),
    (
        "cancel_while_running_kills_the_worker",
        cancel_while_running_kills_the_worker,
    ),
    (
        "cancel_while_queued_never_runs",
        cancel_while_queued_never_runs,
    ),
    (
        "a_worker_is_recycled_after_n_tasks",
        a_worker_is_recycled_after_n_tasks,
    ),
    (
        "bad_arguments_and_results_are_codec_errors_naming_the_task",
        bad_arguments_and_results_are_codec_errors_naming_the_task,
    ),
    (
        "a_panic_is_reported_and_the_worker_survives",
        a_panic_is_reported_and_the_worker_survives,
    ),
    (
        "shutdown_runs_what_is_queued_then_refuses",
        shutdown_runs_what_is_queued_then_refuses,
    ),
    (
        "shutdown_now_cancels_the_queued_and_waits_for_the_running",
        shutdown_now_cancels_the_queued_and_waits_for_the_running,
    ),
    (
        "terminate_kills_the_running_tasks",
        terminate_kills_the_running_tasks,
    ),
    (
        "map_keeps_input_order_and_reports_a_crash_in_place",
        map_keeps_input_order_and_reports_a_crash_in_place,
    ),
    (
        "as_completed_and_wait_see_every_task",
        as_completed_and_wait_see_every_task,
    ),
    (
        "workers_are_pinned_one_per_core_or_not_at_all",
        workers_are_pinned_one_per_core_or_not_at_all,
    ),
    (
        "a_memory_limit_turns_a_huge_allocation_into_a_crash",
        a_memory_limit_turns_a_huge_allocation_into_a_crash,
    ),
    (
        "bad_settings_are_build_errors",
        bad_settings_are_build_errors,
    ),
    ("random_crashes_lose_no_task", random_crashes_lose_no_task),
];

fn main() {
    process::init();
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let (mut passed, mut failed) = (0, 0);
    for &(name, test) in TESTS {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let outcome = catch_unwind(AssertUnwindSafe(|| watchdog(120, test)));
        match outcome {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if passed + failed == 0 {
        eprintln!("no test matches {filter:?}");
        std::process::exit(1);
    }
    if failed > 0 {
        std::process::exit(1);
    }
}

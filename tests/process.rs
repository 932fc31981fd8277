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
//! contain it; `--ignored` runs the ignored (full-size) tests instead.

mod common;

use std::collections::HashSet;
use std::ffi::CString;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::eventually;
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

fn add_one(x: u64) -> u64 {
    x + 1
}

/// This process's name as `ps`, `top` and `pgrep` show it.
fn comm(_: ()) -> String {
    std::fs::read_to_string("/proc/self/comm")
        .unwrap()
        .trim_end()
        .to_owned()
}

fn length(v: Vec<u8>) -> usize {
    v.len()
}

fn zeros(n: u64) -> Vec<u8> {
    vec![0; n as usize]
}

/// Whether this process is a pool's worker (its marker variable is set).
fn in_worker() -> bool {
    std::env::var_os(process::ENV_WORKER).is_some()
}

/// A value whose `Deserialize` panics (its `Serialize` is fine).
#[derive(Debug)]
struct PanicsOnDecode;

impl Serialize for PanicsOnDecode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_unit()
    }
}

impl<'de> Deserialize<'de> for PanicsOnDecode {
    fn deserialize<D: Deserializer<'de>>(_: D) -> Result<Self, D::Error> {
        panic!("PanicsOnDecode refuses to decode")
    }
}

/// A value whose `Serialize` panics (its `Deserialize` is fine).
#[derive(Debug)]
struct PanicsOnEncode;

impl Serialize for PanicsOnEncode {
    fn serialize<S: Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
        panic!("PanicsOnEncode refuses to encode")
    }
}

impl<'de> Deserialize<'de> for PanicsOnEncode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        <()>::deserialize(d).map(|()| PanicsOnEncode)
    }
}

/// A value whose `Drop` panics in a worker process (`in_worker: true`) or
/// in the parent (`in_worker: false`), and nowhere else.
#[derive(Debug, Serialize, Deserialize)]
struct DropBomb {
    in_worker: bool,
}

impl Drop for DropBomb {
    fn drop(&mut self) {
        if self.in_worker == in_worker() {
            panic!("DropBomb went off");
        }
    }
}

fn takes_panics_on_decode(_: PanicsOnDecode) -> u8 {
    1
}

fn gives_panics_on_decode(_: u8) -> PanicsOnDecode {
    PanicsOnDecode
}

fn gives_panics_on_encode(_: u8) -> PanicsOnEncode {
    PanicsOnEncode
}

/// Panics with a message of `n` bytes.
fn long_panic(n: u64) -> u8 {
    panic!("{}", "x".repeat(n as usize))
}

fn gives_drop_bomb(in_worker: bool) -> DropBomb {
    DropBomb { in_worker }
}

/// Waits for the test to open the FIFO at `path`, then gives a `DropBomb`
/// that goes off in the parent.
fn gated_parent_drop_bomb(path: String) -> DropBomb {
    wait_for_gate(path);
    DropBomb { in_worker: false }
}

/// Aborts on 13 and hangs on 21; triples every other input.
fn triple_but_13_aborts_and_21_hangs(x: u64) -> u64 {
    match x {
        13 => std::process::abort(),
        21 => loop {
            std::thread::park();
        },
        _ => 3 * x,
    }
}

/// The value the pool's initializer stored in this worker (0: none ran).
static REMEMBERED: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// An initializer: appends `r` to the file at `path` and stores `value`;
/// once the file says `fail`, appends `x` and panics instead.
fn remember((path, value): (String, u32)) {
    use std::io::Write;
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .unwrap();
    if text.contains("fail") {
        file.write_all(b"x").unwrap();
        panic!("initializer refused");
    }
    file.write_all(b"r").unwrap();
    REMEMBERED.store(value, Ordering::Relaxed);
}

fn remembered(_: ()) -> u32 {
    REMEMBERED.load(Ordering::Relaxed)
}

fn refuse(why: String) {
    panic!("{why}")
}

/// An initializer that waits at the gate at `path` (every new worker).
fn init_at_gate(path: String) {
    wait_for_gate(path);
}

/// Where [`mark_ran`] leaves its mark, for the test process `parent`.
fn ran_mark(parent: u32) -> PathBuf {
    std::env::temp_dir().join(format!("corepool-ran-{parent}"))
}

/// Leaves a mark (the task ran). Its argument is `()`, whose encoding is
/// empty: a call sent with its argument cleared (a cancelled task's) still
/// decodes, so a wrongly sent call runs.
fn mark_ran(_: ()) -> u32 {
    // SAFETY: `getppid` takes nothing and cannot fail.
    let parent = unsafe { libc::getppid() } as u32;
    std::fs::write(ran_mark(parent), "ran").expect("write the mark");
    std::process::id()
}

/// Waits until our child `pid` has exited, without reaping it (the pool's
/// supervisor reaps its own workers).
fn wait_exited_unreaped(pid: u32) {
    // SAFETY: a zeroed `siginfo_t` is a valid value to be written over;
    // `waitid` writes one through the pointer to this live local.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    loop {
        // SAFETY: plain numbers and the pointer above.
        let rc = unsafe {
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            return;
        }
        let err = std::io::Error::last_os_error();
        assert_eq!(err.kind(), std::io::ErrorKind::Interrupted, "waitid: {err}");
    }
}

/// The second reader's cancel-during-respawn hang: the worker dies while
/// idle, so the next task's send fails and the supervisor starts another
/// worker; a `cancel` while that worker starts (here: while its initializer
/// waits at a gate) found no process to kill, and the cancelled task was
/// then sent to the new worker and ran (a hung one was never killed, and
/// `terminate` never returned). Now nothing is sent, and the new worker
/// serves the next task.
fn a_cancel_while_a_dead_worker_is_replaced_sends_nothing() {
    let gate = Gate::new();
    // The first worker's initializer waits at the gate too, inside `build`.
    let opener = {
        let path = gate.0.clone();
        std::thread::spawn(move || {
            let mut file = std::fs::OpenOptions::new().write(true).open(path).unwrap();
            std::io::Write::write_all(&mut file, b"x").unwrap();
        })
    };
    let pool = ProcessPool::builder()
        .workers(1)
        .initializer(init_at_gate, gate.path())
        .build()
        .unwrap();
    opener.join().unwrap();
    let old = pool.worker_pids()[0].expect("a live worker");
    // SAFETY: plain numbers; `old` is our unreaped child (its supervisor
    // is idle, so it reaps nothing until the next send).
    assert_eq!(unsafe { libc::kill(old as libc::pid_t, libc::SIGKILL) }, 0);
    wait_exited_unreaped(old);
    let mark = ran_mark(std::process::id());
    let _ = std::fs::remove_file(&mark);
    let task = pool.submit(mark_ran, ());
    // Opening the gate for writing returns once the new worker's
    // initializer has opened it: the supervisor is starting that worker.
    let mut gate_file = std::fs::OpenOptions::new()
        .write(true)
        .open(&gate.0)
        .unwrap();
    assert!(task.cancel(), "the task had not ended");
    std::io::Write::write_all(&mut gate_file, b"x").unwrap();
    drop(gate_file);
    assert!(task.join().unwrap_err().is_cancelled());
    // The new worker serves the next task (the same gate for its own start
    // is not needed: it has started).
    let new = pool.submit(pid, ()).join().unwrap();
    assert_ne!(new, old, "a new worker serves on");
    pool.shutdown();
    let ran = mark.exists();
    let _ = std::fs::remove_file(&mark);
    assert!(!ran, "the cancelled task ran");
}

/// Waits until our child `pid` has stopped (SIGSTOP), without reaping it.
fn wait_stopped(pid: u32) {
    // SAFETY: as in `wait_exited_unreaped`.
    let mut info: libc::siginfo_t = unsafe { std::mem::zeroed() };
    // SAFETY: plain numbers and the pointer above.
    while unsafe {
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WSTOPPED | libc::WNOWAIT,
        )
    } != 0
    {
        let err = std::io::Error::last_os_error();
        assert_eq!(err.kind(), std::io::ErrorKind::Interrupted, "waitid: {err}");
    }
}

/// A task's timeout bounds the send of its call too: a worker that stops
/// reading (here: stopped with SIGSTOP) before a call bigger than the
/// socket's buffer times the task out and is replaced. (The send blocked
/// forever: the timeout counted only from the end of the send.)
fn a_timeout_bounds_the_send_to_a_stopped_worker() {
    let pool = pool(1);
    let stopped = pool.worker_pids()[0].expect("a live worker");
    // SAFETY: plain numbers; `stopped` is our unreaped child.
    assert_eq!(
        unsafe { libc::kill(stopped as libc::pid_t, libc::SIGSTOP) },
        0
    );
    wait_stopped(stopped);
    let err = pool
        .submit_timeout(length, vec![1u8; 16 << 20], Duration::from_millis(300))
        .join()
        .unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert_eq!(
        pool.submit(length, vec![1u8; 16 << 20]).join().unwrap(),
        16 << 20
    );
    assert_ne!(
        pool.worker_pids()[0],
        Some(stopped),
        "the stopped worker was replaced"
    );
}

static HELD_POOL: std::sync::Mutex<Option<ProcessPool>> = std::sync::Mutex::new(None);

/// A result whose `Deserialize` (on a supervisor thread, in the parent)
/// drops the last clone of the pool, held in [`HELD_POOL`].
#[derive(Debug)]
struct DropsThePool(u8);

impl<'de> Deserialize<'de> for DropsThePool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u8::deserialize(d)?;
        if !in_worker() {
            drop(HELD_POOL.lock().unwrap().take());
        }
        Ok(DropsThePool(v))
    }
}

impl Serialize for DropsThePool {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

fn gives_drops_the_pool(x: u8) -> DropsThePool {
    DropsThePool(x)
}

/// The last clone of a pool dropped on its own supervisor (in a result's
/// `Deserialize`): the shutdown it starts does not join or wait for that
/// thread, and the result arrives (it was a panic: `close` joined its own
/// thread and failed with EDEADLK, leaving the others unjoined).
fn the_last_clone_dropped_on_a_supervisor_shuts_the_pool_down() {
    let task = {
        let mut held = HELD_POOL.lock().unwrap();
        let pool = held.insert(pool(2));
        // The decode waits for this lock, so the pool is in place first.
        pool.submit(gives_drops_the_pool, 5)
    };
    assert_eq!(task.join().unwrap().0, 5);
    assert!(HELD_POOL.lock().unwrap().is_none(), "dropped by the decode");
}

/// 256 KiB (serde's arrays go up to 32 elements).
type Quarter = [[[u64; 32]; 32]; 32];

/// 1 MiB, built and decoded on the stack (serde builds a value there).
#[derive(Serialize, Deserialize)]
struct OneMiB {
    a: Quarter,
    b: Quarter,
    c: Quarter,
    d: Quarter,
}

/// Boxed, so that only the supervisor that decodes it (and the worker that
/// builds it) holds it on a stack, not the test's thread.
fn one_mib(seed: u64) -> Box<OneMiB> {
    let mut big = Box::new(OneMiB {
        a: [[[0; 32]; 32]; 32],
        b: [[[0; 32]; 32]; 32],
        c: [[[0; 32]; 32]; 32],
        d: [[[0; 32]; 32]; 32],
    });
    big.a[0][0][0] = seed + 1;
    big.d[31][31][31] = seed;
    big
}

/// A result of 1 MiB, which the worker builds on its main thread's stack,
/// is decoded in the parent: supervisors get a stack like that one's (on
/// the default 2 MiB of a thread it overflowed and aborted the parent).
fn a_result_of_one_mib_on_the_stack_is_decoded() {
    let pool = pool(1);
    let big = pool.submit(one_mib, 41).join().unwrap();
    assert_eq!((big.d[31][31][31], big.a[0][0][0]), (41, 42));
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

// ---- batch attacks (second reader) ----

/// A result of `n` bytes whose `Drop` panics in the worker.
#[derive(Debug, Serialize, Deserialize)]
struct BigBomb(Vec<u8>);

impl Drop for BigBomb {
    fn drop(&mut self) {
        if in_worker() {
            panic!("BigBomb of {} went off", self.0.len());
        }
    }
}

fn gives_big_bomb(n: u64) -> BigBomb {
    BigBomb(vec![7; n as usize])
}

/// A result whose `Drop` panics in the parent when armed.
#[derive(Debug, Serialize, Deserialize)]
struct ParentBomb(bool);

impl Drop for ParentBomb {
    fn drop(&mut self) {
        if self.0 && !in_worker() {
            panic!("ParentBomb went off");
        }
    }
}

/// Gives `ParentBomb(armed)`; with paths, first says it started (writing
/// to the first FIFO) and then waits for the second to open.
fn parent_bomb_after_gates(arg: (bool, Option<(String, String)>)) -> ParentBomb {
    if let Some((started, gate)) = arg.1 {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(started)
            .expect("open the start signal");
        f.write_all(b"s").expect("signal the start");
        drop(f);
        wait_for_gate(gate);
    }
    ParentBomb(arg.0)
}

/// An argument whose `Deserialize` panics in the worker for 5.
#[derive(Debug, Serialize)]
struct NoFive(u32);

impl<'de> Deserialize<'de> for NoFive {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let x = u32::deserialize(d)?;
        assert!(x != 5 || !in_worker(), "NoFive refuses 5");
        Ok(NoFive(x))
    }
}

/// A result whose `Serialize` panics for 6.
#[derive(Debug, Deserialize)]
struct NoSix(u32);

impl Serialize for NoSix {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        assert!(self.0 != 6, "NoSix refuses 6");
        self.0.serialize(s)
    }
}

fn no_five_no_six(x: NoFive) -> NoSix {
    NoSix(x.0)
}

/// Panics on the first and last item of each batch of 4; aborts on 11.
fn edges_panic_and_11_aborts(x: u32) -> u32 {
    if x == 11 {
        std::process::abort();
    }
    assert!(x % 4 != 0 && x % 4 != 3, "edge {x}");
    x + 100
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
    // The pool still serves, on a fresh worker process. A timeout of its
    // own overrides the pool's 50 ms, which a loaded machine could spend
    // before the new process answers.
    let served = pool.submit_timeout(double, 3, Duration::from_secs(60));
    assert_eq!(served.join().unwrap(), 6);
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
    // try_submit says so at once, and gives the argument back.
    assert_eq!(pool.try_submit(double, 9).unwrap_err().into_inner(), 9);
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

fn map_batches_ten_thousand_tiny_items_in_order() {
    let pool = pool(2);
    let first = pool.submit(double, 0).id();
    let out: Vec<u64> = pool.map(double, 0..10_000u64).map(Result::unwrap).collect();
    assert_eq!(out, (0..10_000).map(|x| 2 * x).collect::<Vec<u64>>());
    let mut unordered: Vec<u64> = pool
        .map_unordered(double, 0..10_000u64)
        .map(Result::unwrap)
        .collect();
    unordered.sort_unstable();
    assert_eq!(unordered, out);
    // Every task takes an id: 20,000 items went in far fewer tasks (one
    // per item before batching). Batches start at one item and double per
    // finished batch while items stay cheap; this bound only needs an
    // average of four items per task.
    let tasks = pool.submit(double, 0).id() - first - 1;
    assert!(tasks < 5_000, "{tasks} tasks for 20,000 items");
}

/// Where a `Fragile` result was decoded in the parent: the threads.
static DECODED_ON: std::sync::Mutex<Vec<std::thread::ThreadId>> = std::sync::Mutex::new(Vec::new());

/// A result whose `Deserialize` notes its thread and panics for values
/// ending in 3.
#[derive(Debug, Serialize)]
struct Fragile(u64);

impl<'de> Deserialize<'de> for Fragile {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        DECODED_ON.lock().unwrap().push(std::thread::current().id());
        let x = u64::deserialize(d)?;
        assert!(x % 10 != 3, "Fragile refuses {x}");
        Ok(Fragile(x))
    }
}

/// Panics for inputs ending in 7, else gives a `Fragile`.
fn fragile(x: u64) -> Fragile {
    assert!(x % 10 != 7, "fragile refuses {x}");
    Fragile(x)
}

/// Issue 20, item A: a batch's results are decoded where its reply is read
/// (a supervisor thread), not on the thread that iterates the map, which
/// only encodes the next batches; a panic in one item's function or in one
/// result's `Deserialize` fails that item alone, mid-batch.
fn a_batch_decodes_off_the_callers_thread_and_contains_each_items_panics() {
    let pool = pool(2);
    DECODED_ON.lock().unwrap().clear();
    let n = 2_000u64;
    let out: Vec<Result<Fragile, ProcessError>> = pool.map(fragile, 0..n).chunk_size(100).collect();
    assert_eq!(out.len(), n as usize);
    for (x, r) in (0..n).zip(out) {
        match x % 10 {
            7 => {
                let e = r.unwrap_err();
                assert!(e.is_panic(), "{x}: {e}");
                assert_eq!(
                    e.panic_message(),
                    Some(format!("fragile refuses {x}").as_str())
                );
            }
            3 => {
                let e = r.unwrap_err();
                assert!(e.is_panic(), "{x}: {e}");
                let message = e.panic_message().unwrap();
                assert!(message.contains("decoding the result panicked"), "{x}: {e}");
                assert!(
                    message.contains(&format!("Fragile refuses {x}")),
                    "{x}: {e}"
                );
            }
            _ => assert_eq!(r.unwrap().0, x),
        }
    }
    let threads = std::mem::take(&mut *DECODED_ON.lock().unwrap());
    // Every item but the 200 whose function panicked was decoded once.
    assert_eq!(threads.len(), (n - n / 10) as usize);
    let me = std::thread::current().id();
    assert!(
        threads.iter().all(|t| *t != me),
        "{} results decoded on the map's own thread",
        threads.iter().filter(|t| **t == me).count()
    );
}

/// A result too big for what is left of its batch's reply, whose `Drop`
/// then panics in the worker: a panic of that item alone, in its batch
/// (the batch's reply stays well formed: no item runs twice).
fn batch_result_over_the_room_whose_drop_panics_stays_in_its_batch() {
    let pool = pool_with_frame_limit(4096);
    let sizes = [10u64, 10, 5000, 10];
    let errors: Vec<ProcessError> = pool
        .map(gives_big_bomb, sizes)
        .chunk_size(4)
        .map(Result::unwrap_err)
        .collect();
    assert_eq!(errors.len(), 4);
    for (n, e) in sizes.iter().zip(&errors) {
        assert!(e.is_panic(), "{n}: {e}");
        let message = e.panic_message().unwrap();
        assert!(message.contains(&format!("BigBomb of {n} went off")), "{e}");
    }
    assert!(
        errors[2]
            .panic_message()
            .unwrap()
            .contains("dropping the result"),
        "{}",
        errors[2]
    );
    let ids: HashSet<u64> = errors.iter().map(ProcessError::task_id).collect();
    assert_eq!(ids.len(), 1, "one batch, not retried: {errors:?}");
    assert_eq!(pool.submit(add_one, 1).join().unwrap(), 2);
}

/// A detached batch (its map dropped while it runs) whose results' `Drop`
/// panics in the parent: the supervisor drops them all, containing each
/// panic; the process lives, the pool serves on and shuts down.
fn a_detached_batch_of_results_whose_drops_panic_does_not_abort() {
    let pool = pool(2);
    let (started, gate) = (Gate::new(), Gate::new());
    let mut items = vec![(false, None); 4];
    items.push((true, Some((started.path(), gate.path()))));
    items.extend(vec![(true, None); 3]);
    let mut map = pool.map(parent_bomb_after_gates, items).chunk_size(4);
    assert!(!map.next().unwrap().unwrap().0);
    // The second batch is running once its worker says so.
    let mut byte = [0u8];
    let mut f = std::fs::File::open(started.path()).unwrap();
    std::io::Read::read_exact(&mut f, &mut byte).unwrap();
    drop(map);
    gate.open();
    for x in 0..4 {
        assert_eq!(join_within(pool.submit(add_one, x)).unwrap(), x + 1);
    }
    pool.shutdown();
}

/// Panics in the worker's codec and at a batch's edges, a crash mid-batch,
/// empty input and items over the 48 KiB batch cap: every item's outcome in
/// order, and the pool serves on.
fn batch_edges_codec_panics_crashes_empty_and_big_items() {
    let pool = pool(2);
    let out: Vec<_> = pool
        .map(no_five_no_six, (0..12).map(NoFive))
        .chunk_size(4)
        .collect();
    assert_eq!(out.len(), 12);
    for (x, r) in (0u32..).zip(out) {
        match x {
            5 => assert!(
                r.unwrap_err().panic_message().unwrap().contains("NoFive"),
                "{x}"
            ),
            6 => assert!(
                r.unwrap_err().panic_message().unwrap().contains("NoSix"),
                "{x}"
            ),
            _ => assert_eq!(r.unwrap().0, x),
        }
    }
    for chunk in [4, 0] {
        let out: Vec<_> = pool
            .map(edges_panic_and_11_aborts, 0..16u32)
            .chunk_size(chunk)
            .collect();
        assert_eq!(out.len(), 16);
        for (x, r) in (0u32..).zip(out) {
            match x {
                11 => assert_eq!(r.unwrap_err().signal(), Some(libc::SIGABRT)),
                _ if x % 4 == 0 || x % 4 == 3 => {
                    assert_eq!(
                        r.unwrap_err().panic_message(),
                        Some(format!("edge {x}").as_str())
                    )
                }
                _ => assert_eq!(r.unwrap(), x + 100),
            }
        }
    }
    assert_eq!(pool.map(double, Vec::<u64>::new()).count(), 0);
    assert_eq!(pool.map_unordered(double, Vec::<u64>::new()).count(), 0);
    let sizes: Vec<usize> = (0..40)
        .map(|i| if i % 3 == 0 { 60_000 + i } else { i })
        .collect();
    let got: Vec<usize> = pool
        .map(length, sizes.iter().map(|&n| vec![1u8; n]))
        .map(Result::unwrap)
        .collect();
    assert_eq!(got, sizes);
    let mut got: Vec<usize> = pool
        .map_unordered(length, sizes.iter().map(|&n| vec![1u8; n]))
        .map(Result::unwrap)
        .collect();
    got.sort_unstable();
    let mut want = sizes.clone();
    want.sort_unstable();
    assert_eq!(got, want);
    // Over the frame limit, adaptive batches: a typed error in place.
    let small = pool_with_frame_limit(4096);
    let sizes = [10usize, 10, 5000, 10, 70_000, 10];
    let out: Vec<_> = small.map(length, sizes.map(|n| vec![1u8; n])).collect();
    for (n, r) in sizes.iter().zip(out) {
        match n {
            10 => assert_eq!(r.unwrap(), 10),
            _ => {
                let e = r.unwrap_err();
                assert!(
                    matches!(e.kind(), ErrorKind::ArgumentTooLarge { .. }),
                    "{e}"
                );
            }
        }
    }
    assert_eq!(small.submit(add_one, 1).join().unwrap(), 2);
    assert_eq!(pool.submit(add_one, 1).join().unwrap(), 2);
}

fn chunk_size_fixes_the_items_per_batch() {
    let pool = pool(2);
    // Every item panics, so each error names its task: the batch's.
    for (chunk, items) in [(5usize, 20u32), (7, 20), (1, 6)] {
        let errors: Vec<ProcessError> = pool
            .map(panics, 0..items)
            .chunk_size(chunk)
            .map(Result::unwrap_err)
            .collect();
        assert_eq!(errors.len(), items as usize);
        for (x, e) in errors.iter().enumerate() {
            assert_eq!(e.panic_message(), Some(format!("no good: {x}").as_str()));
        }
        let ids: Vec<u64> = errors.iter().map(ProcessError::task_id).collect();
        let mut runs: Vec<usize> = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            if i > 0 && ids[i - 1] == *id {
                *runs.last_mut().unwrap() += 1;
            } else {
                runs.push(1);
            }
        }
        let mut want = vec![chunk; items as usize / chunk];
        if items as usize % chunk > 0 {
            want.push(items as usize % chunk);
        }
        assert_eq!(runs, want, "chunk_size({chunk})");
        let mut unordered: Vec<u64> = pool
            .map_unordered(panics, 0..items)
            .chunk_size(chunk)
            .map(|r| r.unwrap_err().task_id())
            .collect();
        unordered.dedup();
        assert_eq!(
            unordered.len(),
            want.len(),
            "chunk_size({chunk}), unordered"
        );
    }
}

fn a_crash_or_hang_mid_batch_fails_only_its_item() {
    let pool = ProcessPool::builder()
        .workers(2)
        .timeout(Duration::from_millis(500))
        .build()
        .unwrap();
    let check = |results: Vec<(u64, Result<u64, ProcessError>)>| {
        assert_eq!(results.len(), 40);
        for (x, r) in results {
            match x {
                13 => assert_eq!(r.unwrap_err().signal(), Some(libc::SIGABRT)),
                21 => assert!(r.unwrap_err().is_timeout()),
                _ => assert_eq!(r.unwrap(), 3 * x, "item {x}"),
            }
        }
    };
    // Batches of 4: 12..16 crashes at 13 and 20..24 hangs at 21; each item
    // of theirs runs again alone, and only 13 and 21 fail.
    let ordered: Vec<_> = (0..40u64)
        .zip(
            pool.map(triple_but_13_aborts_and_21_hangs, 0..40u64)
                .chunk_size(4),
        )
        .collect();
    check(ordered);
    let unordered: Vec<_> = pool
        .map_unordered(triple_but_13_aborts_and_21_hangs, 0..40u64)
        .chunk_size(4)
        .map(|r| match r {
            Ok(v) => (v / 3, Ok(v)),
            Err(e) if e.is_timeout() => (21, Err(e)),
            Err(e) => (13, Err(e)),
        })
        .collect();
    check(unordered);
}

fn batches_are_cut_to_the_frame_limit_and_big_results_go_alone() {
    let pool = pool_with_frame_limit(256);
    // 50-byte arguments in a 256-byte call frame: a batch of 100 is cut
    // into frames that fit; none is refused.
    let lengths: Vec<usize> = pool
        .map(length, vec![vec![1u8; 50]; 30])
        .chunk_size(100)
        .map(Result::unwrap)
        .collect();
    assert_eq!(lengths, vec![50; 30]);
    // Results of 101 bytes: a batch's reply would not fit, so each item
    // goes alone and fits; one of 1000 bytes fails alone.
    let sizes = [100u64, 100, 100, 1000, 100, 100];
    let out: Vec<_> = pool.map(zeros, sizes).chunk_size(6).collect();
    for (n, r) in sizes.iter().zip(out) {
        match n {
            1000 => assert!(r.unwrap_err().is_too_large()),
            _ => assert_eq!(r.unwrap().len(), *n as usize),
        }
    }
    // An argument over the limit fails alone, unsent.
    let mut args = vec![vec![0u8; 10]; 5];
    args[2] = vec![0u8; 500];
    let out: Vec<_> = pool.map(length, args).chunk_size(5).collect();
    for (i, r) in out.into_iter().enumerate() {
        match i {
            2 => assert!(r.unwrap_err().is_too_large()),
            _ => assert_eq!(r.unwrap(), 10),
        }
    }
}

fn the_initializer_runs_in_every_worker_and_its_failure_fails_the_tasks() {
    let path = std::env::temp_dir().join(format!("corepool-init-{}", std::process::id()));
    std::fs::write(&path, "").unwrap();
    let runs = |c: char| {
        std::fs::read_to_string(&path)
            .unwrap()
            .chars()
            .filter(|&x| x == c)
            .count()
    };
    let pool = ProcessPool::builder()
        .workers(1)
        .initializer(remember, (path.to_str().unwrap().to_owned(), 42))
        .build()
        .unwrap();
    // It ran before the first task, once.
    assert_eq!(pool.submit(remembered, ()).join().unwrap(), 42);
    assert_eq!(runs('r'), 1);
    // A crash: the replacement worker runs it again.
    assert!(pool.submit(abort, 0).join().unwrap_err().is_crash());
    assert_eq!(pool.submit(remembered, ()).join().unwrap(), 42);
    assert_eq!(runs('r'), 2);
    // From now on it fails: the tasks that need a new worker fail with a
    // typed error, and the pool makes a bounded number of attempts.
    std::fs::write(&path, "fail").unwrap();
    assert!(pool.submit(abort, 0).join().unwrap_err().is_crash());
    for _ in 0..3 {
        let err = pool.submit(remembered, ()).join().unwrap_err();
        match err.kind() {
            ErrorKind::Initializer(why) => assert!(why.contains("initializer refused"), "{why}"),
            other => panic!("{other}"),
        }
    }
    let attempts = runs('x');
    assert!(
        (3..=7).contains(&attempts),
        "{attempts} attempts for 3 tasks"
    );
    drop(pool);
    let _ = std::fs::remove_file(&path);
    // At build, a failing initializer fails the build.
    let err = ProcessPool::builder()
        .workers(1)
        .initializer(refuse, "no table".to_owned())
        .build()
        .unwrap_err();
    assert!(
        matches!(err, process::ProcessBuildError::Worker { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("no table"), "{err}");
    // An argument over the frame limit is refused before any worker starts.
    let err = ProcessPool::builder()
        .workers(1)
        .max_frame_bytes(64)
        .initializer(refuse, "x".repeat(100))
        .build()
        .unwrap_err();
    assert!(
        matches!(err, process::ProcessBuildError::Initializer(_)),
        "{err}"
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

/// A one-worker pool whose frames may be at most `limit` bytes.
fn pool_with_frame_limit(limit: usize) -> ProcessPool {
    ProcessPool::builder()
        .workers(1)
        .max_frame_bytes(limit)
        .build()
        .expect("build a process pool")
}

/// Items 1 and 2 of issue 16, at a small limit: an argument over the frame
/// limit fails its task with a typed error before anything is sent (the
/// same worker then serves the next tasks, with the right answers), and a
/// result over it fails its task with a typed error (the worker lives on,
/// the next task gets the right answer).
fn frames_over_the_limit_fail_their_task_and_the_worker_serves_on() {
    let limit = 4096;
    let pool = pool_with_frame_limit(limit);
    let before = pool.submit(pid, ()).join().unwrap();
    assert_eq!(pool.submit(length, vec![1; 4000]).join().unwrap(), 4000);

    let err = pool.submit(length, vec![1; 5000]).join().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::ArgumentTooLarge { bytes, limit: 4096 } if *bytes > 5000),
        "{err}"
    );
    assert!(err.is_too_large() && !err.is_crash(), "{err}");
    assert!(err.to_string().contains("max_frame_bytes"), "{err}");
    assert_eq!(pool.submit(add_one, 1).join().unwrap(), 2);
    assert_eq!(pool.submit(pid, ()).join().unwrap(), before, "same worker");

    let err = pool.submit(zeros, 5000).join().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::ResultTooLarge { bytes, limit: 4096 } if *bytes > 5000),
        "{err}"
    );
    assert_eq!(pool.submit(add_one, 1).join().unwrap(), 2);
    assert_eq!(pool.submit(pid, ()).join().unwrap(), before, "same worker");
    assert_eq!(pool.submit(zeros, 100).join().unwrap(), vec![0; 100]);

    // A panic message longer than the limit is cut to fit, not a crash.
    let err = pool.submit(long_panic, 5000).join().unwrap_err();
    assert!(err.is_panic(), "{err}");
    assert!(err.panic_message().unwrap().len() < limit, "{err}");
    assert_eq!(pool.submit(pid, ()).join().unwrap(), before, "same worker");

    // A limit out of range is a build error naming it.
    for bad in [0, 63, (u32::MAX as usize) + 1] {
        let err = ProcessPool::builder()
            .workers(1)
            .max_frame_bytes(bad)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, process::ProcessBuildError::FrameLimit { asked, .. } if asked == bad as u64),
            "{err}"
        );
    }
}

/// Items 1 and 2 of issue 16 at full size (needs about 2 GiB of memory and
/// a minute; run with `--ignored`): a 4 GiB + 8 argument fails at once with
/// a typed error under the default 1 GiB limit, and so does a result of
/// that size; the worker then answers `add_one(1)` with 2.
fn full_size_frames_over_4_gib_are_refused_with_typed_errors() {
    let pool = pool(1);
    let huge = (4u64 << 30) + 8;
    // Zeroed pages are mapped lazily: this costs no memory until written.
    let err = pool
        .submit(length, vec![0; huge as usize])
        .join()
        .unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::ArgumentTooLarge { .. }),
        "{err}"
    );
    assert_eq!(pool.submit(add_one, 1).join().unwrap(), 2);
    let err = pool.submit(zeros, huge).join().unwrap_err();
    assert!(
        matches!(err.kind(), ErrorKind::ResultTooLarge { .. }),
        "{err}"
    );
    assert_eq!(pool.submit(add_one, 1).join().unwrap(), 2);
}

/// Issue 20: a worker process is named after the program (as the parent
/// is, from argv[0]), not `exe`, so `ps` and `pgrep` find it.
fn workers_are_named_after_the_program() {
    if !cfg!(target_os = "linux") {
        return;
    }
    let pool = pool(1);
    let parent = comm(());
    assert_ne!(parent, "exe");
    let worker = pool.submit(comm, ()).join().unwrap();
    assert_eq!(worker, parent, "the worker's name");
}

/// Items 1 and 2 of issue 16 just over the default limit (needs about 1 GiB
/// of memory; run with `--ignored`). Before the fix the argument was sent
/// whole and the worker, refusing the length, exited: the task was reported
/// as a crash (exit code 97). Now it fails at once with a typed error and
/// nothing is sent.
fn an_argument_just_over_the_default_limit_is_refused_before_sending() {
    let pool = pool(1);
    let before = pool.submit(pid, ()).join().unwrap();
    let err = pool
        .submit(length, vec![0; (1 << 30) + 8])
        .join()
        .unwrap_err();
    assert!(!err.is_crash(), "{err}");
    assert!(err.to_string().contains("max_frame_bytes"), "{err}");
    assert_eq!(pool.submit(add_one, 1).join().unwrap(), 2);
    assert_eq!(pool.submit(pid, ()).join().unwrap(), before, "same worker");
}

/// Waits at most a minute for `task`, failing the test (not hanging it)
/// when its supervisor thread has died and nothing will ever end it.
fn join_within<R: serde::de::DeserializeOwned + Send + 'static>(
    task: process::ProcessTask<R>,
) -> Result<R, ProcessError> {
    assert!(
        task.wait_timeout(Duration::from_secs(60)),
        "the task never ended: its supervisor thread died?"
    );
    task.join()
}

/// Item 3 of issue 16: a result whose `Deserialize` panics runs in the
/// parent's supervisor thread; the task ends as a panic, the worker serves
/// the next task, shutdown returns.
fn a_result_whose_decode_panics_fails_its_task_and_the_supervisor_lives() {
    let pool = pool(1);
    let err = join_within(pool.submit(gives_panics_on_decode, 1)).unwrap_err();
    assert!(err.is_panic(), "{err}");
    assert!(
        err.panic_message()
            .unwrap()
            .contains("PanicsOnDecode refuses"),
        "{err}"
    );
    assert_eq!(join_within(pool.submit(add_one, 1)).unwrap(), 2);
    pool.shutdown();
}

/// Item 3 of issue 16: a detached task's result whose `Drop` panics is
/// dropped by the supervisor; the panic stays there, the next task runs and
/// shutdown returns.
fn a_detached_result_whose_drop_panics_does_not_kill_the_supervisor() {
    let pool = pool(1);
    let gate = Gate::new();
    drop(pool.submit(gated_parent_drop_bomb, gate.path()));
    gate.open();
    assert_eq!(join_within(pool.submit(add_one, 1)).unwrap(), 2);
    assert_eq!(join_within(pool.submit(add_one, 2)).unwrap(), 3);
    pool.shutdown();
}

/// Item 4 of issue 16: in the worker, a panicking argument `Deserialize`,
/// result `Serialize` or result `Drop` is a panic of that task (not a crash
/// with exit code 101), and the same worker process serves the next task.
fn panics_in_the_workers_codec_and_drop_are_panics_and_the_worker_lives() {
    let pool = pool(1);
    let before = pool.submit(pid, ()).join().unwrap();
    let err = pool
        .submit(takes_panics_on_decode, PanicsOnDecode)
        .join()
        .unwrap_err();
    assert!(err.is_panic(), "argument decode: {err}");
    assert!(
        err.panic_message().unwrap().contains("PanicsOnDecode"),
        "{err}"
    );
    let err = pool.submit(gives_panics_on_encode, 1).join().unwrap_err();
    assert!(err.is_panic(), "result encode: {err}");
    assert!(
        err.panic_message().unwrap().contains("PanicsOnEncode"),
        "{err}"
    );
    let err = pool.submit(gives_drop_bomb, true).join().unwrap_err();
    assert!(
        !err.is_crash(),
        "a function that returned is not a crash: {err}"
    );
    assert!(err.is_panic(), "result drop: {err}");
    assert!(err.panic_message().unwrap().contains("DropBomb"), "{err}");
    assert_eq!(pool.submit(pid, ()).join().unwrap(), before, "same worker");
    assert_eq!(pool.submit(add_one, 1).join().unwrap(), 2);
}

/// The environment variable that makes this binary an env probe (see
/// `env_probe`).
const ENV_PROBE: &str = "COREPOOL_TEST_PROCESS_ENV_PROBE";

/// Run in a child process with `COREPOOL_*` variables set: builds a pool
/// with default settings and prints what happened.
fn env_probe() -> ! {
    match ProcessPool::builder().build() {
        Ok(pool) => println!("workers={} pinning={:?}", pool.workers(), pool.pinning()),
        Err(err) => println!("error={err}"),
    }
    std::process::exit(0)
}

/// This test binary run as an env probe with `vars` set; its output.
fn probe_with(vars: &[(&str, &str)]) -> String {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command.env(ENV_PROBE, "1");
    command.env_remove(corepool::ENV_WORKERS);
    command.env_remove(corepool::ENV_PINNING);
    for (k, v) in vars {
        command.env(k, v);
    }
    let out = command.output().expect("run the env probe");
    assert!(out.status.success(), "probe: {:?}", out);
    String::from_utf8(out.stdout).unwrap()
}

/// Item 5 of issue 16: the process pool reads COREPOOL_WORKERS and
/// COREPOOL_PINNING as the thread pool does, and a bad value is an error
/// naming the variable.
fn the_process_pool_honours_corepool_workers_and_pinning() {
    let out = probe_with(&[("COREPOOL_WORKERS", "3"), ("COREPOOL_PINNING", "none")]);
    assert_eq!(out.trim(), "workers=3 pinning=None");
    let out = probe_with(&[("COREPOOL_PINNING", "bogus")]);
    assert!(
        out.starts_with("error=") && out.contains("COREPOOL_PINNING"),
        "{out}"
    );
    let out = probe_with(&[("COREPOOL_WORKERS", "many")]);
    assert!(
        out.starts_with("error=") && out.contains("COREPOOL_WORKERS"),
        "{out}"
    );
    // Zero workers from the environment is an error naming the variable too.
    let out = probe_with(&[("COREPOOL_WORKERS", "0")]);
    assert!(out.contains("COREPOOL_WORKERS"), "{out}");
}

// ---- the runner ----

const TESTS: &[(&str, fn())] = &[
    (
        "batch_result_over_the_room_whose_drop_panics_stays_in_its_batch",
        batch_result_over_the_room_whose_drop_panics_stays_in_its_batch,
    ),
    (
        "a_detached_batch_of_results_whose_drops_panic_does_not_abort",
        a_detached_batch_of_results_whose_drops_panic_does_not_abort,
    ),
    (
        "batch_edges_codec_panics_crashes_empty_and_big_items",
        batch_edges_codec_panics_crashes_empty_and_big_items,
    ),
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
        "map_batches_ten_thousand_tiny_items_in_order",
        map_batches_ten_thousand_tiny_items_in_order,
    ),
    (
        "chunk_size_fixes_the_items_per_batch",
        chunk_size_fixes_the_items_per_batch,
    ),
    (
        "a_batch_decodes_off_the_callers_thread_and_contains_each_items_panics",
        a_batch_decodes_off_the_callers_thread_and_contains_each_items_panics,
    ),
    (
        "a_crash_or_hang_mid_batch_fails_only_its_item",
        a_crash_or_hang_mid_batch_fails_only_its_item,
    ),
    (
        "batches_are_cut_to_the_frame_limit_and_big_results_go_alone",
        batches_are_cut_to_the_frame_limit_and_big_results_go_alone,
    ),
    (
        "the_initializer_runs_in_every_worker_and_its_failure_fails_the_tasks",
        the_initializer_runs_in_every_worker_and_its_failure_fails_the_tasks,
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
    (
        "a_result_whose_decode_panics_fails_its_task_and_the_supervisor_lives",
        a_result_whose_decode_panics_fails_its_task_and_the_supervisor_lives,
    ),
    (
        "a_detached_result_whose_drop_panics_does_not_kill_the_supervisor",
        a_detached_result_whose_drop_panics_does_not_kill_the_supervisor,
    ),
    (
        "panics_in_the_workers_codec_and_drop_are_panics_and_the_worker_lives",
        panics_in_the_workers_codec_and_drop_are_panics_and_the_worker_lives,
    ),
    (
        "the_process_pool_honours_corepool_workers_and_pinning",
        the_process_pool_honours_corepool_workers_and_pinning,
    ),
    (
        "frames_over_the_limit_fail_their_task_and_the_worker_serves_on",
        frames_over_the_limit_fail_their_task_and_the_worker_serves_on,
    ),
    (
        "workers_are_named_after_the_program",
        workers_are_named_after_the_program,
    ),
    (
        "a_cancel_while_a_dead_worker_is_replaced_sends_nothing",
        a_cancel_while_a_dead_worker_is_replaced_sends_nothing,
    ),
    (
        "the_last_clone_dropped_on_a_supervisor_shuts_the_pool_down",
        the_last_clone_dropped_on_a_supervisor_shuts_the_pool_down,
    ),
    (
        "a_result_of_one_mib_on_the_stack_is_decoded",
        a_result_of_one_mib_on_the_stack_is_decoded,
    ),
    (
        "a_timeout_bounds_the_send_to_a_stopped_worker",
        a_timeout_bounds_the_send_to_a_stopped_worker,
    ),
];

/// Tests run only with `--ignored` (too big for every CI run).
const IGNORED: &[(&str, fn())] = &[
    (
        "an_argument_just_over_the_default_limit_is_refused_before_sending",
        an_argument_just_over_the_default_limit_is_refused_before_sending,
    ),
    (
        "full_size_frames_over_4_gib_are_refused_with_typed_errors",
        full_size_frames_over_4_gib_are_refused_with_typed_errors,
    ),
];

fn main() {
    process::init();
    if std::env::var_os(ENV_PROBE).is_some() {
        env_probe();
    }
    let ignored = std::env::args().any(|a| a == "--ignored");
    common::run_tests(if ignored { IGNORED } else { TESTS }, 120);
}

//! The process pool at its limits: results of megabytes (decoded on a
//! thread whose stack is sized for them, also when `RLIMIT_STACK` is
//! unlimited), supervisors that shut their own pool down at the same time,
//! and the thread pool's map after repeated input panics. `harness =
//! false`: the pool re-executes this binary as its workers, so `main` calls
//! `init()` first. Each case that could hang or crash the process runs in a
//! child process of this binary (`ENV_CASE`), waited for with a timeout, so
//! a regression fails the test rather than the run. (From a second
//! reader's reproducers, helper-71.)

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Barrier, OnceLock};

use common::{DropCounter, quiet_panics_containing};
use corepool::Pinning;
use corepool::process::{self, ProcessPool};
use serde::{Deserialize, Deserializer, Serialize};

// ---- task functions (they run in the worker processes) ----

/// A result whose `Deserialize` (in the parent, on a supervisor) waits
/// for a second one to be decoded on another supervisor, then shuts the
/// pool down: as a result type that owns or reaches a pool handle would.
#[derive(Serialize)]
struct ShutsDown(u8);

static POOL: OnceLock<ProcessPool> = OnceLock::new();
static BOTH_DECODING: Barrier = Barrier::new(2);

impl<'de> Deserialize<'de> for ShutsDown {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u8::deserialize(d)?;
        BOTH_DECODING.wait();
        POOL.get().expect("pool set").shutdown();
        Ok(ShutsDown(v))
    }
}

fn shuts_down(x: u8) -> ShutsDown {
    ShutsDown(x)
}

/// 8 MiB, built on the worker's main thread's stack.
type EightMiB = [[[[u64; 32]; 32]; 32]; 32];

fn eight_mib(x: u8) -> EightMiB {
    [[[[u64::from(x); 32]; 32]; 32]; 32]
}

/// Results of 2, 3, 4 and 6 MiB (256 KiB times `K`), for the default
/// `RLIMIT_STACK` of 8 MiB: does the worker build it, does the parent
/// decode it?
macro_rules! sized {
    ($($name:ident $case:ident $k:literal),*) => {$(
        fn $name(x: u8) -> [[[[u64; 32]; 32]; 32]; $k] {
            [[[[u64::from(x); 32]; 32]; 32]; $k]
        }
        fn $case() {
            let pool = ProcessPool::builder()
                .workers(1)
                .pinning(Pinning::None)
                .build()
                .unwrap();
            match pool.submit($name, 5).join() {
                Ok(v) => println!("sized {}: decoded {}", $k, v[$k - 1][31][31][31]),
                Err(e) => println!("sized {}: task error {e}", $k),
            }
        }
    )*};
}
sized!(k8 case_k8 8, k12 case_k12 12, k16 case_k16 16, k24 case_k24 24);

/// 128 KiB whose `Deserialize` (in the parent) drops the last clone of the
/// pool held in [`HELD`]: decoded on a thread of its own (over 64 KiB),
/// which waits for nothing while its supervisor waits for it.
#[derive(Serialize)]
struct BigDropsThePool([[[u64; 32]; 32]; 16]);

static HELD: std::sync::Mutex<Option<ProcessPool>> = std::sync::Mutex::new(None);

impl<'de> Deserialize<'de> for BigDropsThePool {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let inner = <[[[u64; 32]; 32]; 16]>::deserialize(d)?;
        drop(HELD.lock().unwrap().take());
        Ok(BigDropsThePool(inner))
    }
}

/// Unboxed: the size of the result type decides where it is decoded.
fn big_drops_the_pool(x: u8) -> BigDropsThePool {
    BigDropsThePool([[[u64::from(x); 32]; 32]; 16])
}

/// 4 MiB behind a pointer (`size_of` 8 and 24): serde still builds the
/// array on the stack before it moves it to the heap, so the decode is
/// sized from the reply's length (a second reader's probe, helper-74).
type Four = [[[[u64; 32]; 32]; 32]; 16];

fn boxed_four(x: u8) -> Box<Four> {
    let mut b: Box<Four> = vec![[[[0u64; 32]; 32]; 32]; 16]
        .into_boxed_slice()
        .try_into()
        .unwrap();
    b[15][31][31][31] = u64::from(x);
    b
}

fn vec_of_four(x: u8) -> Vec<Four> {
    let raw = Box::into_raw(boxed_four(x));
    // SAFETY: a `Box<Four>`'s allocation has `Four`'s layout, which is the
    // allocation of a `Vec<Four>` of capacity 1; its one element is set.
    unsafe { Vec::from_raw_parts(raw, 1, 1) }
}

/// Two pools whose results' `Deserialize` (each on its own pool's thread)
/// shut the other pool down at once: neither waits (helper-74's
/// `cross_pools`).
static POOL_A: OnceLock<ProcessPool> = OnceLock::new();
static POOL_B: OnceLock<ProcessPool> = OnceLock::new();
static CROSS: Barrier = Barrier::new(2);

#[derive(Serialize)]
struct ShutsTheOther(u8);

impl<'de> Deserialize<'de> for ShutsTheOther {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = u8::deserialize(d)?;
        CROSS.wait();
        let other = if v == 0 { &POOL_B } else { &POOL_A };
        other.get().expect("both pools set").shutdown();
        Ok(ShutsTheOther(v))
    }
}

fn shuts_the_other(x: u8) -> ShutsTheOther {
    ShutsTheOther(x)
}

// ---- cases (each in its own child process) ----

/// Two supervisors of one pool call `shutdown()` at once (each from a
/// result's `Deserialize`): fix 3 lets one supervisor close its own pool,
/// but the first to take the join handles joins the other, which waits
/// for `live <= 1`, i.e. for the first to exit.
fn case_two_supervisors_shut_down() {
    let pool = ProcessPool::builder()
        .workers(2)
        .pinning(Pinning::None)
        .build()
        .unwrap();
    POOL.set(pool.clone()).ok().unwrap();
    let a = pool.submit(shuts_down, 1);
    let b = pool.submit(shuts_down, 2);
    let (a, b) = (a.join().is_ok(), b.join().is_ok());
    println!("two_supervisors: joined {a} {b}");
}

/// `RLIMIT_STACK` unlimited (`ulimit -s unlimited`): a worker's main
/// thread can build any result on its stack, but supervisors get 16 MiB.
fn case_unlimited_stack_big_result() {
    let limit = libc::rlimit {
        rlim_cur: libc::RLIM_INFINITY,
        rlim_max: libc::RLIM_INFINITY,
    };
    // SAFETY: `limit` is a valid rlimit that lives for the call.
    let set = unsafe { libc::setrlimit(libc::RLIMIT_STACK, &limit) };
    assert_eq!(set, 0, "setrlimit: {}", std::io::Error::last_os_error());
    let pool = ProcessPool::builder()
        .workers(1)
        .pinning(Pinning::None)
        .build()
        .unwrap();
    let r = pool.submit(eight_mib, 5).join();
    match r {
        Ok(v) => println!("unlimited_stack: decoded {}", v[31][31][31][31]),
        Err(e) => println!("unlimited_stack: task error {e}"),
    }
}

/// The last clone dropped while a big result is decoded on its own thread:
/// the shutdown it starts must not wait for the supervisor that waits for
/// that thread.
fn case_big_result_drops_the_pool() {
    let task = {
        let mut held = HELD.lock().unwrap();
        let pool = held.insert(
            ProcessPool::builder()
                .workers(2)
                .pinning(Pinning::None)
                .build()
                .unwrap(),
        );
        // The decode waits for this lock, so the pool is in place first.
        pool.submit(big_drops_the_pool, 7)
    };
    let big = task.join().unwrap();
    assert!(HELD.lock().unwrap().is_none(), "dropped by the decode");
    println!("big_drops_the_pool: decoded {}", big.0[15][31][31]);
}

fn unpinned(workers: usize) -> ProcessPool {
    ProcessPool::builder()
        .workers(workers)
        .pinning(Pinning::None)
        .build()
        .unwrap()
}

fn case_boxed_and_vec_of_four_mib() {
    let pool = unpinned(1);
    let boxed = pool.submit(boxed_four, 5).join().unwrap();
    let vec = pool.submit(vec_of_four, 6).join().unwrap();
    println!(
        "four_mib: decoded {} {}",
        boxed[15][31][31][31], vec[0][15][31][31][31]
    );
}

fn case_cross_pools() {
    POOL_A.set(unpinned(1)).ok().unwrap();
    POOL_B.set(unpinned(1)).ok().unwrap();
    let a = POOL_A.get().unwrap().submit(shuts_the_other, 0);
    let b = POOL_B.get().unwrap().submit(shuts_the_other, 1);
    println!(
        "cross_pools: joined {} {}",
        a.join().is_ok(),
        b.join().is_ok()
    );
}

// ---- thread-pool map checks (in this process) ----

/// Input 0..40 whose items 6, 13 and 14 panic; an ordered map of chunks of
/// 4 with a window of 3: every other item, in order, each value dropped
/// once.
fn ordered_map_after_repeated_input_panics() {
    let pool = corepool::Pool::builder().workers(2).build().unwrap();
    let counter = DropCounter::new();
    let c = counter.clone();
    let input = (0..40u32).map(move |i| {
        if matches!(i, 6 | 13 | 14) {
            panic!("input {i} panics (on purpose)");
        }
        (i, c.token())
    });
    let mut map = pool.map(input, |(i, t)| (i * 3, t)).chunk_size(4).window(3);
    let (mut values, mut panics) = (Vec::new(), 0);
    loop {
        match catch_unwind(AssertUnwindSafe(|| map.next())) {
            Ok(Some((v, _t))) => values.push(v),
            Ok(None) => break,
            Err(_) => {
                panics += 1;
                assert!(panics < 10);
            }
        }
    }
    drop(map);
    let want: Vec<u32> = (0..40u32)
        .filter(|i| !matches!(i, 6 | 13 | 14))
        .map(|i| i * 3)
        .collect();
    assert_eq!(panics, 3);
    assert_eq!(values, want);
    counter.assert_all_dropped_once();
}

/// The input panics mid-chunk, the caller catches it and drops the map at
/// once (ordered and unordered): every item read is dropped once.
fn map_dropped_right_after_an_input_panic() {
    let pool = corepool::Pool::builder().workers(2).build().unwrap();
    for unordered in [false, true] {
        let counter = DropCounter::new();
        let c = counter.clone();
        let input = (0..100u32).map(move |i| {
            if i == 9 {
                panic!("input 9 panics (on purpose)");
            }
            c.token()
        });
        if unordered {
            let mut map = pool.map_unordered(input, |t| t).chunk_size(4);
            let r = catch_unwind(AssertUnwindSafe(|| map.next().is_some()));
            assert!(r.as_ref().map_or(true, |&some| some));
            drop(map);
        } else {
            let mut map = pool.map(input, |t| t).chunk_size(4);
            let r = catch_unwind(AssertUnwindSafe(|| map.next().is_some()));
            assert!(r.as_ref().map_or(true, |&some| some));
            drop(map);
        }
        counter.assert_all_dropped_once();
    }
}

// ---- the runner ----

const ENV_CASE: &str = "COREPOOL_TEST_PROCESS_LIMITS_CASE";

const CASES: &[(&str, fn())] = &[
    ("two_supervisors", case_two_supervisors_shut_down),
    ("big_drops_the_pool", case_big_result_drops_the_pool),
    ("four_mib", case_boxed_and_vec_of_four_mib),
    ("cross_pools", case_cross_pools),
    ("unlimited_stack", case_unlimited_stack_big_result),
    ("k8", case_k8),
    ("k12", case_k12),
    ("k16", case_k16),
    ("k24", case_k24),
];

/// Runs case `name` in a child; its exit status and output, or "HUNG"
/// after `secs` (then it is killed).
fn run_case(name: &str, secs: u64, vars: &[(&str, &str)]) -> String {
    match common::run_case(ENV_CASE, name, secs, vars) {
        Some(output) => format!(
            "{}\nstdout: {}\nstderr: {}",
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
        None => format!("HUNG after {secs} s (killed)"),
    }
}

fn two_supervisors_shutting_down_do_not_deadlock() {
    let out = run_case("two_supervisors", 20, &[]);
    assert!(out.contains("two_supervisors: joined"), "{out}");
}

fn a_big_result_that_drops_the_last_clone_while_decoded_does_not_deadlock() {
    let out = run_case("big_drops_the_pool", 30, &[]);
    assert!(out.contains("big_drops_the_pool: decoded 7"), "{out}");
}

fn big_values_behind_a_pointer_are_decoded() {
    let out = run_case("four_mib", 60, &[]);
    assert!(out.contains("four_mib: decoded 5 6"), "{out}");
}

fn two_pools_shutting_each_other_down_do_not_deadlock() {
    let out = run_case("cross_pools", 20, &[]);
    assert!(out.contains("cross_pools: joined true true"), "{out}");
}

fn a_result_the_worker_built_on_an_unlimited_stack_is_decoded() {
    let out = run_case("unlimited_stack", 60, &[]);
    assert!(out.contains("unlimited_stack: decoded 5"), "{out}");
}

/// Under the default `RLIMIT_STACK`: for each size, either the worker
/// fails (its own stack) or the parent decodes; the parent never aborts.
fn results_near_the_default_stack_never_abort_the_parent() {
    let mut report = String::new();
    for k in ["k8", "k12", "k16", "k24"] {
        let out = run_case(k, 60, &[]);
        println!("  {k}: {}", out.replace('\n', " | "));
        if !out.contains("exit status: 0") {
            report.push_str(&format!("{k}: {out}\n"));
        }
    }
    assert!(report.is_empty(), "{report}");
}

const TESTS: &[(&str, fn())] = &[
    (
        "results_near_the_default_stack_never_abort_the_parent",
        results_near_the_default_stack_never_abort_the_parent,
    ),
    (
        "two_supervisors_shutting_down_do_not_deadlock",
        two_supervisors_shutting_down_do_not_deadlock,
    ),
    (
        "a_big_result_that_drops_the_last_clone_while_decoded_does_not_deadlock",
        a_big_result_that_drops_the_last_clone_while_decoded_does_not_deadlock,
    ),
    (
        "big_values_behind_a_pointer_are_decoded",
        big_values_behind_a_pointer_are_decoded,
    ),
    (
        "two_pools_shutting_each_other_down_do_not_deadlock",
        two_pools_shutting_each_other_down_do_not_deadlock,
    ),
    (
        "a_result_the_worker_built_on_an_unlimited_stack_is_decoded",
        a_result_the_worker_built_on_an_unlimited_stack_is_decoded,
    ),
    (
        "ordered_map_after_repeated_input_panics",
        ordered_map_after_repeated_input_panics,
    ),
    (
        "map_dropped_right_after_an_input_panic",
        map_dropped_right_after_an_input_panic,
    ),
];

fn main() {
    process::init();
    if let Ok(name) = std::env::var(ENV_CASE) {
        let (_, case) = CASES.iter().find(|(n, _)| *n == name).unwrap();
        // A big stack for the case's own thread (a result comes back to it
        // by value; the main thread's stack cannot grow past the layout it
        // was given at exec): only the supervisors' stacks are under test.
        let case = *case;
        std::thread::Builder::new()
            .stack_size(512 << 20)
            .spawn(case)
            .unwrap()
            .join()
            .unwrap();
        std::process::exit(0);
    }
    quiet_panics_containing("(on purpose)");
    common::run_tests(TESTS, 120);
}

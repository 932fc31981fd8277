//! The builder's settings: worker count, names, stack size, start hook.
mod common;

use std::sync::{Arc, Mutex};

use common::watchdog;
use corepool::{BuildError, Pinning, Pool};

#[test]
fn zero_workers_is_an_error_not_a_panic() {
    let err = Pool::builder().workers(0).build().unwrap_err();
    assert!(matches!(err, BuildError::ZeroWorkers));
}

#[test]
fn too_many_workers_is_an_error() {
    let err = Pool::builder()
        .workers(1 << 20)
        .pinning(Pinning::None)
        .build()
        .unwrap_err();
    assert!(
        matches!(err, BuildError::TooManyWorkers { asked, .. } if asked == 1 << 20),
        "{err}"
    );
}

#[test]
fn thread_names_and_stack_size_are_applied() {
    watchdog(60, || {
        let pool = Pool::builder()
            .workers(2)
            .thread_name(|i| format!("cruncher-{i}"))
            .stack_size(8 << 20)
            .build()
            .unwrap();
        let name = pool.submit(|| std::thread::current().name().unwrap().to_owned());
        assert!(name.join().unwrap().starts_with("cruncher-"));
        // A deep recursion that needs more than the default 2 MiB stack.
        let deep = pool.submit(|| {
            fn down(n: u32) -> u32 {
                let pad = std::hint::black_box([0u8; 1024]);
                if n == 0 {
                    pad[0] as u32
                } else {
                    down(n - 1) + (pad[1] as u32)
                }
            }
            down(4000)
        });
        assert_eq!(deep.join().unwrap(), 0);
    });
}

#[test]
fn default_thread_names_carry_the_index() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let name = pool.submit(|| std::thread::current().name().map(str::to_owned));
        assert_eq!(name.join().unwrap().as_deref(), Some("corepool-0"));
    });
}

#[test]
fn on_worker_start_runs_once_per_worker_before_any_task() {
    watchdog(60, || {
        let started = Arc::new(Mutex::new(Vec::new()));
        let s = started.clone();
        let pool = Pool::builder()
            .workers(3)
            .on_worker_start(move |i| s.lock().unwrap().push(i))
            .build()
            .unwrap();
        // `build` returns only after every hook ran.
        let mut seen = started.lock().unwrap().clone();
        seen.sort_unstable();
        assert_eq!(seen, [0, 1, 2]);
        pool.submit(|| ()).join().unwrap();
        assert_eq!(started.lock().unwrap().len(), 3);
    });
}

#[test]
fn a_panicking_start_hook_fails_the_build() {
    watchdog(60, || {
        let err = Pool::builder()
            .workers(2)
            .on_worker_start(|i| {
                if i == 1 {
                    panic!("cannot open the database");
                }
            })
            .build()
            .unwrap_err();
        match &err {
            BuildError::WorkerStartPanicked { index, message } => {
                assert_eq!(*index, 1);
                assert_eq!(message, "cannot open the database");
            }
            other => panic!("expected WorkerStartPanicked, got {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            "on_worker_start panicked on worker 1: cannot open the database"
        );
    });
}

#[test]
fn a_thread_name_with_a_nul_byte_or_a_panic_is_an_error() {
    watchdog(60, || {
        let err = Pool::builder()
            .workers(2)
            .thread_name(|i| format!("w\0{i}"))
            .build()
            .unwrap_err();
        assert!(
            matches!(err, BuildError::BadThreadName { index: 0, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("NUL"), "{err}");
        let err = Pool::builder()
            .workers(3)
            .thread_name(|i| {
                if i == 2 {
                    panic!("no names left")
                } else {
                    format!("w{i}")
                }
            })
            .build()
            .unwrap_err();
        assert!(
            matches!(err, BuildError::BadThreadName { index: 2, .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("no names left"), "{err}");
    });
}

/// A worker's timed waits end within a microsecond or so of their deadline
/// (`sync.rs`, `WORKER_TIMER_SLACK_NS`): with Linux's default 50 µs slack a
/// blocked helper's 50 µs poll slept ~117 µs, and a fork beside it waited
/// that long. A start hook runs after the pool sets it, so it may set its own.
#[cfg(target_os = "linux")]
#[test]
fn workers_run_with_a_tight_timer_slack_that_a_start_hook_may_change() {
    fn slack() -> i32 {
        // SAFETY: PR_GET_TIMERSLACK reads the calling thread's slack; the
        // other arguments are ignored.
        unsafe { libc::prctl(libc::PR_GET_TIMERSLACK, 0, 0, 0, 0) }
    }
    let pool = Pool::builder().workers(2).build().unwrap();
    let slacks: Vec<i32> = (0..8)
        .map(|_| pool.submit(slack))
        .map(|t| t.join().unwrap())
        .collect();
    assert!(
        slacks.iter().all(|&s| s == 1_000),
        "worker timer slack: {slacks:?} ns"
    );
    // The building thread keeps its own.
    assert_ne!(slack(), 1_000, "the building thread's slack changed");

    let hooked = Pool::builder()
        .workers(1)
        .on_worker_start(|_| {
            // SAFETY: PR_SET_TIMERSLACK sets the calling thread's slack.
            unsafe { libc::prctl(libc::PR_SET_TIMERSLACK, 20_000 as libc::c_ulong, 0, 0, 0) };
        })
        .build()
        .unwrap();
    assert_eq!(hooked.submit(slack).join().unwrap(), 20_000);
}

//! Random programs of pool operations checked against a simple model: each
//! closure runs at most once, a cancelled task never ran, a task that ran is
//! never reported cancelled, every handle resolves, the counts of run,
//! cancelled and refused tasks add up, and nothing is dropped twice or leaked.
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{DropCounter, Gate, OpenOnDrop, Token};
use corepool::{Pool, Task, WaitFor, wait};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Op {
    /// A task that returns at once.
    Submit,
    /// A task that blocks until the gate opens (keeps workers busy, so
    /// later tasks stay queued and can be cancelled).
    SubmitGated,
    /// A task that submits a subtask and joins it.
    SubmitNested,
    Cancel(usize),
    Join(usize),
    DropHandle(usize),
    WaitAny(u8),
    Map(u8),
    Scope(u8),
    OpenGate,
    ShutdownNow,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::Submit),
        2 => Just(Op::SubmitGated),
        1 => Just(Op::SubmitNested),
        3 => any::<usize>().prop_map(Op::Cancel),
        2 => any::<usize>().prop_map(Op::Join),
        2 => any::<usize>().prop_map(Op::DropHandle),
        1 => (0u8..3).prop_map(Op::WaitAny),
        1 => (0u8..40).prop_map(Op::Map),
        1 => (0u8..10).prop_map(Op::Scope),
        1 => Just(Op::OpenGate),
        1 => Just(Op::ShutdownNow),
    ]
}

/// The model's record of one submitted task.
struct Tracked {
    runs: Arc<AtomicUsize>,
    handle: Option<Task<Token>>,
    /// `Some(true)` once `cancel` returned true for it.
    cancelled_by_us: bool,
    refused_expected: bool,
}

fn run_program(workers: usize, ops: Vec<Op>) -> Result<(), TestCaseError> {
    let drops = DropCounter::new();
    let gate = Gate::new();
    let pool = Pool::builder().workers(workers).build().unwrap();
    // A `prop_assert` returning early with the gate closed would otherwise
    // hang in the pool's drop, and the case would be reported as a hang.
    let _open = OpenOnDrop(gate.clone());
    let mut tasks: Vec<Tracked> = Vec::new();
    let mut shut_down = false;
    // Map and Scope wait for their own tasks, which queue behind gated ones:
    // they run only while the gate is open.
    let mut gate_open = false;
    let mut cancelled_by_shutdown = 0;
    // Subtasks of `SubmitNested` tasks that `shutdown_now` cancelled.
    // SeqCst as every count here; read only after `shutdown` has joined
    // the workers, which orders every increment before the read.
    let nested_cancelled = Arc::new(AtomicUsize::new(0));

    let submit = |tasks: &mut Vec<Tracked>, gated: bool, nested: bool, shut_down: bool| {
        let runs = Arc::new(AtomicUsize::new(0));
        let (r, g, captured, result) = (runs.clone(), gate.clone(), drops.token(), drops.token());
        let nc = nested_cancelled.clone();
        let p = pool.clone();
        let handle = pool.submit(move || {
            r.fetch_add(1, Ordering::SeqCst);
            let _captured = captured;
            if gated {
                g.wait();
            }
            if nested {
                // The subtask is refused if the pool shut down meanwhile,
                // and cancelled if `shutdown_now` drained it from the queue
                // before this join took it back: `shutdown_now` counts it
                // then, though the model tracks no handle of it.
                // Anything else panics this task, which its join reports
                // (where the model still holds its handle).
                match p.submit(|| 1u8).join() {
                    Ok(one) => assert_eq!(one, 1),
                    Err(e) if e.is_cancelled() => {
                        nc.fetch_add(1, Ordering::SeqCst);
                    }
                    Err(e) => assert!(e.is_shutdown(), "a subtask ended {e}"),
                }
            }
            result
        });
        tasks.push(Tracked {
            runs,
            handle: Some(handle),
            cancelled_by_us: false,
            refused_expected: shut_down,
        });
    };

    for op in ops {
        match op {
            Op::Submit => submit(&mut tasks, false, false, shut_down),
            Op::SubmitGated => submit(&mut tasks, true, false, shut_down),
            Op::SubmitNested => submit(&mut tasks, false, true, shut_down),
            Op::Cancel(i) if !tasks.is_empty() => {
                let n = tasks.len();
                let t = &mut tasks[i % n];
                if let Some(h) = &t.handle {
                    if h.cancel() {
                        prop_assert!(!t.cancelled_by_us, "cancel won twice");
                        t.cancelled_by_us = true;
                    }
                }
            }
            Op::Join(i) if !tasks.is_empty() => {
                let n = tasks.len();
                let t = &mut tasks[i % n];
                // Joining a gated task would block until the gate opens.
                if let Some(h) = t.handle.take() {
                    if h.is_finished() {
                        check_outcome(t, h.join())?;
                    } else {
                        t.handle = Some(h);
                    }
                }
            }
            Op::DropHandle(i) if !tasks.is_empty() => {
                let n = tasks.len();
                tasks[i % n].handle = None;
            }
            Op::WaitAny(ms) => {
                let live: Vec<Task<Token>> = Vec::new();
                let _ = wait(
                    &live,
                    WaitFor::FirstCompleted,
                    Some(Duration::from_millis(ms.into())),
                );
            }
            Op::Map(n) if !shut_down && gate_open => {
                let out: Vec<u32> = pool.map(0..u32::from(n), |x| x + 1).collect();
                prop_assert_eq!(out, (1..=u32::from(n)).collect::<Vec<_>>());
            }
            Op::Scope(n) if !shut_down && gate_open => {
                let hits = AtomicUsize::new(0);
                pool.scope(|s| {
                    for _ in 0..n {
                        let _ = s.submit(|| hits.fetch_add(1, Ordering::SeqCst));
                    }
                });
                prop_assert_eq!(hits.load(Ordering::SeqCst), usize::from(n));
            }
            Op::OpenGate => {
                gate.open();
                gate_open = true;
            }
            Op::ShutdownNow => {
                // Running gated tasks would block shutdown_now: open first.
                gate.open();
                gate_open = true;
                cancelled_by_shutdown += pool.shutdown_now();
                shut_down = true;
            }
            _ => {}
        }
    }
    gate.open();
    pool.shutdown();
    let (mut ran, mut cancelled, mut refused) = (0, 0, 0);
    for t in &mut tasks {
        if let Some(h) = t.handle.take() {
            check_outcome(t, h.join())?;
        }
        let runs = t.runs.load(Ordering::SeqCst);
        prop_assert!(runs <= 1, "a closure ran {} times", runs);
        if t.refused_expected {
            prop_assert_eq!(runs, 0, "a task submitted after shutdown ran");
            refused += 1;
        } else if runs == 1 {
            prop_assert!(!t.cancelled_by_us, "a task reported cancelled ran");
            ran += 1;
        } else {
            cancelled += 1;
        }
    }
    let cancelled_by_us = tasks.iter().filter(|t| t.cancelled_by_us).count();
    // Every worker has exited (`shutdown` waited): every subtask's
    // outcome is counted.
    prop_assert_eq!(
        cancelled + nested_cancelled.load(Ordering::SeqCst),
        cancelled_by_us + cancelled_by_shutdown,
        "cancellations add up"
    );
    prop_assert_eq!(ran + cancelled + refused, tasks.len());
    drop(tasks);
    drop(pool);
    prop_assert_eq!(
        drops.dropped(),
        drops.created(),
        "every closure and result dropped once"
    );
    Ok(())
}

fn check_outcome(
    t: &Tracked,
    outcome: Result<Token, corepool::TaskError>,
) -> Result<(), TestCaseError> {
    let runs = t.runs.load(Ordering::SeqCst);
    match outcome {
        Ok(_) => prop_assert_eq!(runs, 1, "a finished task ran once"),
        Err(e) if e.is_cancelled() => prop_assert_eq!(runs, 0, "a cancelled task never ran"),
        Err(e) if e.is_shutdown() => {
            prop_assert_eq!(runs, 0);
            prop_assert!(t.refused_expected, "refused only after shutdown");
        }
        Err(e) => prop_assert!(false, "unexpected outcome {}", e),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn random_programs_keep_every_invariant(workers in 1usize..4, ops in proptest::collection::vec(op(), 1..40)) {
        let (tx, rx) = std::sync::mpsc::channel();
        let runner = std::thread::spawn(move || tx.send(run_program(workers, ops)).unwrap());
        match rx.recv_timeout(Duration::from_secs(120)) {
            Ok(result) => {
                runner.join().unwrap();
                result?;
            }
            // The program panicked (before sending its result): raise its
            // panic here, so that proptest reports and shrinks the case.
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let payload = runner.join().expect_err("the runner sends unless it panics");
                std::panic::resume_unwind(payload);
            }
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                eprintln!("watchdog: a random program hung");
                std::process::abort();
            }
        }
    }
}

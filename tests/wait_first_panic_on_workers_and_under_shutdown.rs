//! `wait` for the first panic (completion.rs: it follows the last
//! unfinished task and hears of panics through panic-only waiters): a
//! second reader's checks (helper-51) from a pool worker that runs the
//! tasks inline, under `shutdown_now`, and with panics racing the waiter on
//! two workers, `SharedTask`s and a task listed twice.
mod common;
use common::{Gate, OpenOnDrop, gated, watchdog};
use corepool::{Pool, Task, WaitFor, Watch, wait};
use std::sync::Arc;

/// `n` tasks on `pool` returning their index, but the `k`th panics.
fn panicking_at(pool: &Pool, n: usize, k: usize) -> Vec<Task<u32>> {
    (0..n)
        .map(|i| {
            pool.submit(move || -> u32 {
                if i == k {
                    panic!("rev-boom")
                }
                i as u32
            })
        })
        .collect()
}

#[test]
fn first_panic_on_a_worker_claiming_inline() {
    common::quiet_panics_containing("rev-boom");
    watchdog(60, || {
        let pool = Arc::new(Pool::builder().workers(1).build().unwrap());
        for round in 0..200usize {
            let p = pool.clone();
            let outer = pool.submit(move || {
                let n = 20;
                let k = round % n;
                let tasks = panicking_at(&p, n, k);
                let w = wait(&tasks, WaitFor::FirstPanic, None);
                assert!(w.done.contains(&k), "{w:?}");
                let w = wait(&tasks, WaitFor::AllCompleted, None);
                assert_eq!(w.done.len(), n);
            });
            outer.join().unwrap();
        }
    });
}

#[test]
fn first_panic_with_shutdown_now_cancelling() {
    watchdog(60, || {
        for round in 0..50 {
            let pool = Pool::builder().workers(1).build().unwrap();
            let (started_tx, started) = std::sync::mpsc::channel();
            let (release, release_rx) = std::sync::mpsc::channel::<()>();
            let running = pool.submit(move || {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
            });
            started.recv().unwrap();
            let queued: Vec<Task<u32>> = (1..50).map(|i| pool.submit(move || i)).collect();
            let waiter = std::thread::spawn(move || {
                let w = wait(&queued, WaitFor::FirstPanic, None);
                release.send(()).unwrap();
                w
            });
            // Half the rounds give the waiter a head start.
            if round % 2 == 0 {
                std::thread::yield_now();
            }
            assert_eq!(pool.shutdown_now(), 49);
            let w = waiter.join().unwrap();
            assert!(w.pending.is_empty(), "{w:?}");
            running.join().unwrap();
        }
    });
}

#[test]
fn first_panic_racing_panics_on_two_workers() {
    common::quiet_panics_containing("rev-boom");
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for round in 0..1000usize {
            let n = 1 + round % 40;
            let k = (round * 7) % n;
            let gate = Gate::new();
            let _open = OpenOnDrop(gate.clone());
            let mut tasks = panicking_at(&pool, n, k);
            // a held one, at the end, sometimes
            if round % 2 == 0 {
                tasks.push(gated(&pool, &gate, 99));
            }
            let shared = tasks.pop().map(|t| t.shared());
            let mut list: Vec<&dyn Watch> = tasks.iter().map(|t| t as &dyn Watch).collect();
            if let Some(s) = &shared {
                list.push(s);
            }
            list.push(
                tasks
                    .first()
                    .map(|t| t as &dyn Watch)
                    .unwrap_or(shared.as_ref().unwrap()),
            );
            let w = wait(&list, WaitFor::FirstPanic, None);
            // The panicking task's index in `list`: the last task became
            // the shared one, second to last in the list.
            let k_in = if k < tasks.len() { k } else { list.len() - 2 };
            assert!(w.done.contains(&k_in), "round {round}: {w:?}");
            gate.open();
        }
    });
}

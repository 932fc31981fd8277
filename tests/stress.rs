//! Stress and soak: many submitters at once, deep nested waits, random
//! panics, and millions of tasks in flat memory. Sizes are small for
//! `cargo test`; `COREPOOL_STRESS=N` multiplies them (`.ci/run` uses a larger
//! factor in release mode).
mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::watchdog;
use corepool::Pool;

fn scale() -> usize {
    std::env::var("COREPOOL_STRESS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// Resident set size of this process in bytes, from /proc/self/statm.
fn rss_bytes() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

#[test]
fn many_external_threads_submit_at_once() {
    watchdog(300, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let per_thread = 5_000 * scale();
        let threads = 8;
        let barrier = Arc::new(std::sync::Barrier::new(threads));
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let (pool, barrier) = (pool.clone(), barrier.clone());
                std::thread::spawn(move || {
                    barrier.wait();
                    let tasks: Vec<_> = (0..per_thread)
                        .map(|i| pool.submit(move || t * per_thread + i))
                        .collect();
                    tasks
                        .into_iter()
                        .map(|task| task.join().unwrap())
                        .sum::<usize>()
                })
            })
            .collect();
        let total: usize = handles.into_iter().map(|h| h.join().unwrap()).sum();
        let n = threads * per_thread;
        assert_eq!(total, n * (n - 1) / 2);
    });
}

#[test]
fn recursion_10000_deep_of_submit_and_join_inside_tasks() {
    watchdog(300, || {
        fn chain(pool: Pool, depth: usize) -> usize {
            if depth == 0 {
                return 0;
            }
            let p = pool.clone();
            pool.submit(move || chain(p, depth - 1)).join().unwrap() + 1
        }
        // Each nested wait runs the next task on the waiting worker's stack,
        // so the depth needs a big stack, as any recursion would.
        let pool = Pool::builder()
            .workers(2)
            .stack_size(512 << 20)
            .build()
            .unwrap();
        let p = pool.clone();
        assert_eq!(
            pool.submit(move || chain(p, 10_000)).join().unwrap(),
            10_000
        );
    });
}

#[test]
fn random_panics_in_ten_percent_of_tasks() {
    watchdog(300, || {
        // Thousands of expected panics: keep their messages out of the log.
        // (The hook is process-wide; other tests here assert on values, not
        // on what the hook prints.)
        let quiet = std::panic::take_hook();
        std::panic::set_hook(Box::new(|_| {}));
        let pool = Pool::builder().workers(2).build().unwrap();
        let n = 20_000 * scale();
        let mut x: u64 = 0x2545_F491_4F6C_DD1D;
        let plan: Vec<bool> = (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x % 10 == 0
            })
            .collect();
        let tasks: Vec<_> = plan
            .iter()
            .enumerate()
            .map(|(i, &boom)| pool.submit(move || if boom { panic!("task {i}") } else { i }))
            .collect();
        let outcomes: Vec<Result<usize, Option<String>>> = tasks
            .into_iter()
            .map(|task| {
                task.join()
                    .map_err(|e| e.panic_message().map(str::to_owned))
            })
            .collect();
        // Loud again before asserting, so a failure shows its message.
        std::panic::set_hook(quiet);
        let mut panicked = 0;
        for (i, outcome) in outcomes.into_iter().enumerate() {
            match outcome {
                Ok(v) => assert_eq!(v, i),
                Err(message) => {
                    assert!(plan[i]);
                    assert_eq!(message.as_deref(), Some(format!("task {i}").as_str()));
                    panicked += 1;
                }
            }
        }
        assert_eq!(panicked, plan.iter().filter(|&&b| b).count());
        assert_eq!(pool.stats().tasks_run() as usize, n);
    });
}

/// Set in the child process that runs the soak alone.
const SOAK_CHILD: &str = "COREPOOL_SOAK_CHILD";

/// The soak measures the process's resident memory, which the tests beside
/// it in this binary grow and shrink as they run (CI once read a baseline
/// of 48 MB at the soak's third round and a peak of 120 MB, all of it
/// theirs): it runs alone, in a child process.
#[test]
fn soak_memory_stays_flat() {
    if !common::is_child(SOAK_CHILD) {
        common::in_child(SOAK_CHILD, "soak_memory_stays_flat_alone");
    }
}

#[test]
fn soak_memory_stays_flat_alone() {
    if !common::is_child(SOAK_CHILD) {
        return;
    }
    watchdog(600, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let total = 400_000 * scale();
        let batch = 20_000;
        let done = Arc::new(AtomicUsize::new(0));
        let mut baseline = None;
        let mut peak = 0;
        for round in 0..total / batch {
            let tasks: Vec<_> = (0..batch)
                .map(|i| {
                    let done = done.clone();
                    pool.submit(move || {
                        done.fetch_add(1, Ordering::Relaxed);
                        vec![i as u8; 64]
                    })
                })
                .collect();
            for task in tasks {
                assert_eq!(task.join().unwrap().len(), 64);
            }
            // Fire-and-forget half of the next batch's worth, too.
            for _ in 0..batch / 2 {
                let done = done.clone();
                drop(pool.submit(move || done.fetch_add(1, Ordering::Relaxed)));
            }
            if let Some(rss) = rss_bytes() {
                if round == 2 {
                    baseline = Some(rss);
                }
                peak = peak.max(rss);
            }
        }
        pool.shutdown();
        assert_eq!(
            done.load(Ordering::Relaxed),
            total / batch * (batch + batch / 2)
        );
        if let Some(baseline) = baseline {
            let growth = peak.saturating_sub(baseline);
            eprintln!(
                "soak: {} tasks, RSS baseline {} KiB, peak {} KiB",
                total / batch * (batch + batch / 2),
                baseline / 1024,
                peak / 1024
            );
            assert!(
                growth < 64 << 20,
                "RSS grew by {} KiB over the soak",
                growth / 1024
            );
        }
    });
}

//! `stack_size` below `MIN_STACK_SIZE` is a typed `BuildError` (a debug
//! build's workers with 16–28 KiB built, then overflowed their stacks as
//! they exited and killed the process with SIGSEGV), and a pool at exactly
//! the minimum runs every kind of work the pool's own code does and shuts
//! down cleanly. Run in a child process, so that a stack overflow fails
//! the test instead of killing the harness.
mod common;

use common::watchdog;
use corepool::{BuildError, MIN_STACK_SIZE, Pool, WaitFor, as_completed, wait};

const CHILD: &str = "COREPOOL_STACK_SIZE_CHILD";

#[test]
fn a_stack_below_the_minimum_is_refused_with_a_typed_error() {
    for bytes in [0, 1, 16 << 10, 28 << 10, MIN_STACK_SIZE - 1] {
        let err = Pool::builder()
            .workers(1)
            .stack_size(bytes)
            .build()
            .unwrap_err();
        assert!(
            matches!(err, BuildError::StackTooSmall { bytes: b, min } if b == bytes && min == MIN_STACK_SIZE),
            "{bytes}: {err:?}"
        );
        assert!(
            err.to_string().contains(&MIN_STACK_SIZE.to_string()),
            "{err}"
        );
    }
}

#[test]
fn a_pool_at_the_minimum_stack_runs_its_work_and_shuts_down() {
    common::in_child(CHILD, "child_works_at_the_minimum_stack");
}

#[test]
fn child_works_at_the_minimum_stack() {
    if !common::is_child(CHILD) {
        return;
    }
    watchdog(120, || {
        let pool = Pool::builder()
            .workers(2)
            .stack_size(MIN_STACK_SIZE)
            .build()
            .expect("the minimum is accepted");
        // Tasks, waits and completion order.
        let tasks: Vec<_> = (0..200u64).map(|i| pool.submit(move || i * 2)).collect();
        assert!(wait(&tasks, WaitFor::AllCompleted, None).pending.is_empty());
        assert_eq!(as_completed(&tasks).count(), 200);
        let sum: u64 = tasks.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!(sum, 199 * 200);
        // Fork-join, nested, from a task.
        fn fib(pool: &Pool, n: u64) -> u64 {
            if n < 2 {
                return n;
            }
            let (a, b) = pool.join(|| fib(pool, n - 1), || fib(pool, n - 2));
            a + b
        }
        let p = pool.clone();
        assert_eq!(pool.submit(move || fib(&p, 20)).join().unwrap(), 6765);
        // `par` from outside and inside a task, a scope, a map, a panic.
        let mut v: Vec<u64> = (0..200_000).collect();
        pool.par(&mut v).for_each(|x| *x += 1);
        assert_eq!(pool.par(&v).sum::<u64>(), 200_000 * 200_001 / 2);
        let squares: Vec<u64> = pool.map(0..10_000u64, |x| x * x).collect();
        assert_eq!(squares[9_999], 9_999 * 9_999);
        let mut hits = [0u32; 64];
        pool.scope(|s| {
            for (i, hit) in hits.iter_mut().enumerate() {
                s.spawn(move |_| *hit = i as u32);
            }
        });
        assert_eq!(hits[63], 63);
        let err = pool
            .submit(|| -> u8 { panic!("boom at the minimum stack") })
            .join()
            .unwrap_err();
        assert_eq!(err.panic_message(), Some("boom at the minimum stack"));
        pool.shutdown();
    });
}

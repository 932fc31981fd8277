//! `Pool::join`: fork-join that computes right, survives panics and cannot
//! deadlock, with one worker or many, from inside or outside the pool.
mod common;

use common::watchdog;
use corepool::Pool;

fn fib(pool: &Pool, n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let (a, b) = pool.join(|| fib(pool, n - 1), || fib(pool, n - 2));
    a + b
}

#[test]
fn join_computes_fib_25_from_outside_the_pool() {
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        assert_eq!(fib(&pool, 25), 75_025);
    });
}

#[test]
fn nested_join_with_one_worker_does_not_deadlock() {
    watchdog(120, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let p = pool.clone();
        assert_eq!(pool.submit(move || fib(&p, 20)).join().unwrap(), 6765);
    });
}

#[test]
fn join_halves_borrow_the_callers_data() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let mut data: Vec<u64> = (0..10_000).collect();
        let (left, right) = data.split_at_mut(5000);
        pool.join(
            || left.iter_mut().for_each(|x| *x *= 2),
            || right.iter_mut().for_each(|x| *x += 1),
        );
        assert_eq!(data[4999], 9998);
        assert_eq!(data[5000], 5001);
    });
}

#[test]
fn a_panic_in_either_half_is_re_raised_after_both_finish() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let finished_b = std::sync::atomic::AtomicBool::new(false);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.join(
                || panic!("left half"),
                || finished_b.store(true, std::sync::atomic::Ordering::SeqCst),
            )
        }))
        .unwrap_err();
        assert_eq!(caught.downcast_ref::<&str>(), Some(&"left half"));
        assert!(
            finished_b.load(std::sync::atomic::Ordering::SeqCst),
            "b ran before the re-raise"
        );
        let caught =
            std::panic::catch_unwind(|| pool.join(|| 1, || -> u8 { panic!("right half") }))
                .unwrap_err();
        assert_eq!(caught.downcast_ref::<&str>(), Some(&"right half"));
        // The pool still works.
        assert_eq!(fib(&pool, 10), 55);
    });
}

#[test]
fn deep_recursion_steals_work() {
    watchdog(120, || {
        fn sum(pool: &Pool, lo: u64, hi: u64) -> u64 {
            if hi - lo <= 64 {
                return (lo..hi).sum();
            }
            let mid = lo + (hi - lo) / 2;
            let (a, b) = pool.join(|| sum(pool, lo, mid), || sum(pool, mid, hi));
            a + b
        }
        let pool = Pool::builder().workers(2).build().unwrap();
        let n = 1 << 20;
        assert_eq!(sum(&pool, 0, n), n * (n - 1) / 2);
    });
}

#[test]
fn join_after_shutdown_runs_both_halves_on_the_caller() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        pool.shutdown();
        let me = std::thread::current().id();
        let (a, b) = pool.join(
            || std::thread::current().id(),
            || std::thread::current().id(),
        );
        assert_eq!((a, b), (me, me));
    });
}

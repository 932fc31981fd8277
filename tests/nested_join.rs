//! `join` on a worker runs other queued work while it waits: nested waits
//! cannot deadlock, even with one worker.
mod common;

use common::watchdog;
use corepool::Pool;

fn sum_tree(pool: &Pool, depth: u32) -> u64 {
    if depth == 0 {
        return 1;
    }
    let (p1, p2) = (pool.clone(), pool.clone());
    let left = pool.submit(move || sum_tree(&p1, depth - 1));
    let right = pool.submit(move || sum_tree(&p2, depth - 1));
    left.join().unwrap() + right.join().unwrap()
}

#[test]
fn nested_submit_and_join_with_one_worker() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let p = pool.clone();
        assert_eq!(pool.submit(move || sum_tree(&p, 10)).join().unwrap(), 1024);
    });
}

#[test]
fn nested_submit_and_join_with_two_workers() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let p = pool.clone();
        assert_eq!(pool.submit(move || sum_tree(&p, 12)).join().unwrap(), 4096);
    });
}

#[test]
fn a_chain_of_nested_waits_one_deep_each() {
    watchdog(60, || {
        fn chain(pool: Pool, n: u32) -> u32 {
            if n == 0 {
                return 0;
            }
            let p = pool.clone();
            pool.submit(move || chain(p, n - 1)).join().unwrap() + 1
        }
        let pool = Pool::builder().workers(1).build().unwrap();
        let p = pool.clone();
        assert_eq!(pool.submit(move || chain(p, 200)).join().unwrap(), 200);
    });
}

#[test]
fn wait_timeout_on_a_worker_helps_too() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let p = pool.clone();
        let outer = pool.submit(move || {
            let inner = p.submit(|| 5);
            while !inner.wait_timeout(std::time::Duration::from_millis(1)) {}
            inner.join().unwrap()
        });
        assert_eq!(outer.join().unwrap(), 5);
    });
}

#[test]
fn joining_tasks_that_are_not_your_own_subtasks_does_not_deadlock() {
    // A reduction tree built up front: each pair task joins two tasks it did
    // not submit. A worker that ran *any* queued task while waiting could
    // pick up a parent of the task paused on its own stack and deadlock
    // (this hung within a few rounds before waiting was restricted).
    fn leaf(i: u64) -> u64 {
        (0..20_000u64).fold(i, |a, x| a.wrapping_mul(31).wrapping_add(x))
    }
    watchdog(120, || {
        for workers in [1, 2, 3] {
            let pool = Pool::builder().workers(workers).build().unwrap();
            for _round in 0..20 {
                let mut level: Vec<corepool::Task<u64>> =
                    (0..16u64).map(|i| pool.submit(move || leaf(i))).collect();
                while level.len() > 1 {
                    let mut next = Vec::new();
                    let mut it = level.into_iter();
                    while let Some(a) = it.next() {
                        match it.next() {
                            Some(b) => next
                                .push(pool.submit(move || a.join().unwrap() ^ b.join().unwrap())),
                            None => next.push(a),
                        }
                    }
                    level = next;
                }
                let expected = (0..16u64).map(leaf).fold(0, |a, x| a ^ x);
                assert_eq!(level.pop().unwrap().join().unwrap(), expected);
            }
        }
    });
}

#[test]
fn a_scope_still_runs_its_own_tasks_after_a_sibling_was_stolen() {
    // T0 opens a scope on a worker; T1 (often taken in the same batch and
    // then stolen by the other worker) waits for T0. The scope's tasks are
    // T0's own and must be run by T0's worker even though the deque's other
    // entries were stolen away underneath them.
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for _ in 0..200 {
            let p = pool.clone();
            let t0 = pool.submit(move || {
                p.scope(|s| {
                    let parts: Vec<_> = (0..4u64).map(|i| s.submit(move || i * 2)).collect();
                    parts.into_iter().map(|t| t.join().unwrap()).sum::<u64>()
                })
            });
            let t1 = pool.submit(move || t0.join().unwrap());
            assert_eq!(t1.join().unwrap(), 12);
        }
    });
}

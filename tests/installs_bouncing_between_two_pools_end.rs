//! Work that goes from pool A into pool B and back into A, two levels
//! deep, ends however many items do it at once. A worker of A waiting in
//! `b.install` helps with A's other items, each of which installs into B
//! again, until it reaches the helping limit (`install.rs`, step 4); past
//! it the worker used to run only its own subtasks, while B's workers sat
//! in installs back into A that no worker of A would run: with 2,000
//! items every worker of both pools parked and the program hung (a second
//! reader's probe; rayon ran it in ~10 ms). Such installs are now hops,
//! which a worker past the limit still runs.
mod common;

use common::watchdog;
use corepool::Pool;

fn pools(workers: usize) -> (Pool, Pool) {
    pools_with_stack(workers, None)
}

/// Two pools of `workers` each, with `stack` bytes a worker if given.
fn pools_with_stack(workers: usize, stack: Option<usize>) -> (Pool, Pool) {
    let build = || {
        let builder = Pool::builder().workers(workers);
        match stack {
            Some(bytes) => builder.stack_size(bytes),
            None => builder,
        }
        .build()
        .unwrap()
    };
    (build(), build())
}

/// A `par` over `n` items of `a`, each a `par` on `b`, each a `par` back on
/// `a`; asserts the sum.
fn par_bounce(a: &Pool, b: &Pool, n: u64, what: &str) {
    let s: u64 = a
        .par(0..n)
        .map(|i| {
            b.par(0..2u64)
                .map(|j| a.par(0..2u64).map(|k| i + j + k).sum::<u64>())
                .sum::<u64>()
        })
        .sum();
    // Each item gives (i+0+0) + (i+0+1) + (i+1+0) + (i+1+1).
    assert_eq!(s, (0..n).map(|i| 4 * i + 4).sum::<u64>(), "{what}");
}

/// 300 tasks on `a`, each installing into `b` and back into `a`; asserts
/// the sum.
fn task_bounce(a: &Pool, b: &Pool, what: &str) {
    let tasks: Vec<_> = (0..300u64)
        .map(|i| {
            let (a2, b2) = (a.clone(), b.clone());
            a.submit(move || b2.install(|| a2.install(|| i * 3)))
        })
        .collect();
    let sum: u64 = tasks.into_iter().map(|t| t.join().unwrap()).sum();
    assert_eq!(sum, 3 * (0..300u64).sum::<u64>(), "{what}");
}

#[test]
fn par_from_a_into_b_and_back_into_a_ends() {
    watchdog(120, || {
        for workers in [1, 2, 3] {
            let (a, b) = pools(workers);
            par_bounce(&a, &b, 2000, &format!("{workers} workers a pool"));
        }
    });
}

#[test]
fn tasks_installing_into_b_and_back_into_a_end() {
    watchdog(120, || {
        for workers in [1, 2] {
            let (a, b) = pools(workers);
            task_bounce(&a, &b, &format!("{workers} workers a pool"));
        }
    });
}

#[test]
fn joins_bouncing_through_three_pools_end() {
    watchdog(120, || {
        let (a, b) = pools(2);
        let c = Pool::builder().workers(2).build().unwrap();
        let s: u64 = a
            .par(0..500u64)
            .map(|i| b.install(|| c.install(|| a.install(|| b.install(|| i)))))
            .sum();
        assert_eq!(s, (0..500u64).sum::<u64>());
    });
}

const CHILD: &str = "COREPOOL_SERVED_HOPS_CHILD";

/// A worker at the smallest stack the builder accepts, forty installs deep
/// into a blocked pool, then fed installs from that pool's workers that
/// install into a third pool: each served hop nests another wait on its
/// stack, and before the nesting stopped at half the stack a debug build
/// overflowed it (a third reader's probe). In a child process, so that an
/// overflow fails the test instead of killing the harness.
#[test]
fn served_hops_stay_within_the_smallest_stack() {
    common::in_child(CHILD, "child_served_hops_at_the_minimum_stack");
}

#[test]
fn child_served_hops_at_the_minimum_stack() {
    if !common::is_child(CHILD) {
        return;
    }
    watchdog(120, || {
        let a = Pool::builder()
            .workers(1)
            .stack_size(corepool::MIN_STACK_SIZE)
            .build()
            .unwrap();
        let b = Pool::builder().workers(2).build().unwrap();
        let c = Pool::builder().workers(1).build().unwrap();
        let gate = common::Gate::new();
        let _open = common::OpenOnDrop(gate.clone());
        let deep: Vec<_> = (0..40u64)
            .map(|i| {
                let (b, gate) = (b.clone(), gate.clone());
                a.submit(move || {
                    b.install(|| gate.wait());
                    i
                })
            })
            .collect();
        let hops: Vec<_> = (0..100u64)
            .map(|i| {
                let (a, c) = (a.clone(), c.clone());
                b.submit(move || a.install(|| c.install(|| i)))
            })
            .collect();
        gate.open();
        let deep: u64 = deep.into_iter().map(|t| t.join().unwrap()).sum();
        let hops: u64 = hops.into_iter().map(|t| t.join().unwrap()).sum();
        assert_eq!((deep, hops), ((0..40).sum(), (0..100).sum()));
    });
}

const SMALL_CHILD: &str = "COREPOOL_SMALL_STACK_BOUNCE_CHILD";

/// The bouncing installs above on small stacks: helping installs stop
/// nesting at half the stack, so that waits serving hops keep room (when
/// the serving stopped at half instead, the helping had used that half in
/// a debug build and 300 tasks bouncing A → B → A on 128 KiB workers hung:
/// a fourth reader's probe). In a child process: an overflow fails the
/// test instead of killing the harness.
#[test]
fn bouncing_installs_end_on_small_stacks() {
    common::in_child(SMALL_CHILD, "child_bouncing_on_small_stacks");
}

#[test]
fn child_bouncing_on_small_stacks() {
    if !common::is_child(SMALL_CHILD) {
        return;
    }
    watchdog(120, || {
        for (workers, stack) in [
            (1, corepool::MIN_STACK_SIZE),
            (2, corepool::MIN_STACK_SIZE),
            (1, 192 << 10),
        ] {
            let (a, b) = pools_with_stack(workers, Some(stack));
            task_bounce(&a, &b, &format!("{workers} workers, {stack} bytes"));
        }
        // The `par` bounce of the first test, on 512 KiB workers.
        let (a, b) = pools_with_stack(2, Some(512 << 10));
        par_bounce(&a, &b, 2000, "2 workers, 512 KiB");
    });
}

const DEEP_CHILD: &str = "COREPOOL_DEEP_WORKER_INSTALL_CHILD";

/// A worker whose own recursion has used most of its stack makes one
/// install into another pool whose job needs this pool: that first install
/// still helps (the stack limits apply only to installs nested on
/// another), so the job's install back and its submitted task both run.
/// When the limits applied to the first one too, both hung (a fifth
/// reader's probe, at 55–80 % of the stack used). In a child process.
#[test]
fn a_deep_workers_first_install_still_helps() {
    common::in_child(DEEP_CHILD, "child_deep_worker_installs");
}

/// Recurses with about a kilobyte a frame until `used` bytes of the stack
/// below `top` are in use, then runs `f`.
fn at_depth(top: usize, used: usize, f: &dyn Fn() -> u64) -> u64 {
    let frame = std::hint::black_box([0u8; 1024]);
    let here = std::ptr::addr_of!(frame) as usize;
    if top.abs_diff(here) >= used {
        return f() + u64::from(frame[0]);
    }
    at_depth(top, used, f) + u64::from(std::hint::black_box(frame[1]))
}

#[test]
fn child_deep_worker_installs() {
    if !common::is_child(DEEP_CHILD) {
        return;
    }
    const STACK: usize = 1 << 20;
    watchdog(120, || {
        let a = Pool::builder()
            .workers(1)
            .stack_size(STACK)
            .build()
            .unwrap();
        let b = Pool::builder().workers(1).build().unwrap();
        for percent in [60, 80] {
            let (a2, b2) = (a.clone(), b.clone());
            let back = a.install(move || {
                let top = 0u8;
                let top = std::ptr::addr_of!(top) as usize;
                at_depth(top, STACK * percent / 100, &|| {
                    let a3 = a2.clone();
                    b2.install(move || a3.install(|| 42))
                })
            });
            assert_eq!(back, 42, "an install back, at {percent} %");
            let (a2, b2) = (a.clone(), b.clone());
            let joined = a.install(move || {
                let top = 0u8;
                let top = std::ptr::addr_of!(top) as usize;
                at_depth(top, STACK * percent / 100, &|| {
                    let a3 = a2.clone();
                    b2.install(move || a3.submit(|| 42u64).join().unwrap())
                })
            });
            assert_eq!(joined, 42, "a submitted task, at {percent} %");
        }
    });
}

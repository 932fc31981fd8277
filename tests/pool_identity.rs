//! Work stays on its own pool: a worker of one pool waiting on another pool's
//! task does not run that task itself; `install` runs on this pool's worker;
//! `current_worker_index` tells which.
mod common;

use common::watchdog;
use corepool::Pool;

fn named(prefix: &'static str, workers: usize) -> Pool {
    Pool::builder()
        .workers(workers)
        .thread_name(move |i| format!("{prefix}-{i}"))
        .build()
        .unwrap()
}

fn thread_name() -> String {
    std::thread::current().name().unwrap_or("").to_owned()
}

#[test]
fn a_task_of_another_pool_joined_from_a_worker_runs_on_its_own_pool() {
    watchdog(120, || {
        let one = named("one", 1);
        let two = named("two", 1);
        for _ in 0..200 {
            let two = two.clone();
            let name = one
                .submit(move || two.submit(thread_name).join().unwrap())
                .join()
                .unwrap();
            assert!(name.starts_with("two-"), "ran on {name}");
        }
    });
}

#[test]
fn a_task_of_another_pool_waited_for_with_a_timeout_runs_on_its_own_pool() {
    watchdog(60, || {
        let one = named("one", 1);
        let two = named("two", 1);
        for _ in 0..50 {
            let two = two.clone();
            let name = one
                .submit(move || {
                    let task = two.submit(thread_name);
                    assert!(task.wait_timeout(std::time::Duration::from_secs(30)));
                    let waited = corepool::wait(
                        std::slice::from_ref(&task),
                        corepool::WaitFor::AllCompleted,
                        None,
                    );
                    assert_eq!(waited.done, [0]);
                    task.join().unwrap()
                })
                .join()
                .unwrap();
            assert!(name.starts_with("two-"), "ran on {name}");
        }
    });
}

#[test]
fn install_runs_on_a_worker_of_this_pool_and_returns_its_value() {
    watchdog(60, || {
        let one = named("one", 2);
        let two = named("two", 1);
        assert!(one.install(thread_name).starts_with("one-"));
        // Nested: installed into another pool from a worker of the first.
        let inner = one.install(|| two.install(thread_name));
        assert!(inner.starts_with("two-"), "{inner}");
        let index = one.install(Pool::current_worker_index).unwrap();
        assert!(index < 2);
        assert_eq!(Pool::current_worker_index(), None);
    });
}

#[test]
fn install_reraises_a_panic_and_runs_on_the_caller_after_shutdown() {
    watchdog(60, || {
        let pool = named("one", 1);
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.install(|| -> u32 { panic!("installed") })
        }))
        .unwrap_err();
        assert_eq!(*caught.downcast::<&str>().unwrap(), "installed");
        pool.shutdown();
        let me = thread_name();
        assert_eq!(pool.install(thread_name), me);
    });
}

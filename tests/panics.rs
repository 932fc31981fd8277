//! A panic in a task comes back in its handle and never takes a worker down.
mod common;

use common::watchdog;
use corepool::Pool;

#[test]
fn panic_message_comes_back_typed() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let err = pool
            .submit(|| -> u8 { panic!("boom {}", 42) })
            .join()
            .unwrap_err();
        assert!(err.is_panic());
        assert!(!err.is_cancelled() && !err.is_shutdown());
        assert_eq!(err.panic_message(), Some("boom 42"));
        assert_eq!(err.to_string(), "task panicked: boom 42");
        let err = pool
            .submit(|| -> u8 { panic!("static str") })
            .join()
            .unwrap_err();
        assert_eq!(err.panic_message(), Some("static str"));
    });
}

#[test]
fn non_string_payload_is_returned_for_resume_unwind() {
    watchdog(60, || {
        let pool = Pool::new().unwrap();
        let err = pool
            .submit(|| std::panic::panic_any(123_i32))
            .join()
            .unwrap_err();
        assert_eq!(err.panic_message(), None);
        assert_eq!(err.to_string(), "task panicked with a non-string payload");
        let payload = err.into_panic();
        let resumed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            std::panic::resume_unwind(payload)
        }))
        .unwrap_err();
        assert_eq!(*resumed.downcast::<i32>().unwrap(), 123);
    });
}

#[test]
fn try_into_panic_gives_other_errors_back() {
    watchdog(60, || {
        let pool = Pool::new().unwrap();
        pool.shutdown();
        let err = pool.submit(|| ()).join().unwrap_err();
        let err = err.try_into_panic().unwrap_err();
        assert!(err.is_shutdown());
    });
}

#[test]
fn workers_survive_many_panics() {
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let tasks: Vec<_> = (0..500)
            .map(|i| pool.submit(move || if i % 2 == 0 { panic!("even {i}") } else { i }))
            .collect();
        let mut panicked = 0;
        for (i, task) in tasks.into_iter().enumerate() {
            match task.join() {
                Ok(v) => assert_eq!(v, i),
                Err(e) => {
                    assert_eq!(e.panic_message(), Some(format!("even {i}").as_str()));
                    panicked += 1;
                }
            }
        }
        assert_eq!(panicked, 250);
        // Both workers are still alive and serving.
        let after: Vec<_> = (0..100).map(|i| pool.submit(move || i)).collect();
        assert_eq!(
            after.into_iter().map(|t| t.join().unwrap()).sum::<i32>(),
            4950
        );
        assert_eq!(pool.stats().tasks_run(), 600);
    });
}

#[test]
fn a_detached_task_that_panics_harms_nobody() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        drop(pool.submit(|| panic!("nobody listens")));
        assert_eq!(pool.submit(|| 3).join().unwrap(), 3);
    });
}

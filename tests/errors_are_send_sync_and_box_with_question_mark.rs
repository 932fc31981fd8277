//! Every public error type is `Send + Sync + 'static` and an `Error`, so `?`
//! boxes it as `Box<dyn Error + Send + Sync>`; a boxed `TaskError` still
//! hands its panic payload back, and `&TaskError` can be shared by threads.
mod common;

use std::error::Error;
use std::sync::Barrier;

use common::watchdog;
use corepool::topology::TopologyError;
use corepool::{BuildError, Pool, TaskError, Timeout};

type BoxError = Box<dyn Error + Send + Sync + 'static>;

// Fails to compile if any public error type loses a bound.
const _: fn() = || {
    fn assert<T: Send + Sync + 'static + Error>() {}
    assert::<TaskError>();
    assert::<BuildError>();
    assert::<TopologyError>();
    assert::<Timeout>();
};

fn panicking_task(pool: &Pool) -> Result<u32, BoxError> {
    // A runtime argument makes the payload a `String` (a literal one would
    // be folded into a `&'static str`).
    let row = std::hint::black_box(3);
    Ok(pool
        .submit(move || -> u32 { panic!("bad row {row}") })
        .join()?)
}

fn refused_task(pool: &Pool) -> Result<u32, BoxError> {
    Ok(pool.submit(|| 1).join()?)
}

fn bad_build() -> Result<Pool, BoxError> {
    Ok(Pool::builder().workers(0).build()?)
}

#[test]
fn question_mark_boxes_every_error_and_the_payload_comes_back() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let err = panicking_task(&pool).unwrap_err();
        assert_eq!(err.to_string(), "task panicked: bad row 3");
        let err = err.downcast::<TaskError>().unwrap();
        assert_eq!(err.panic_message(), Some("bad row 3"));
        let payload = err.into_panic();
        assert_eq!(*payload.downcast::<String>().unwrap(), "bad row 3");

        let err = bad_build().err().unwrap();
        assert!(matches!(
            err.downcast_ref::<BuildError>(),
            Some(BuildError::ZeroWorkers)
        ));

        pool.shutdown();
        let err = refused_task(&pool).unwrap_err();
        assert!(err.downcast_ref::<TaskError>().unwrap().is_shutdown());
    });
}

#[test]
fn every_payload_kind_round_trips() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let err = pool
            .submit(|| -> u8 { panic!("static") })
            .join()
            .unwrap_err();
        assert_eq!(
            format!("{err:?}"),
            r#"TaskError::Panicked { message: Some("static") }"#
        );
        assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "static");

        let err = pool
            .submit(|| -> u8 { std::panic::panic_any(vec![1_u8, 2]) })
            .join()
            .unwrap_err();
        assert_eq!(err.to_string(), "task panicked with a non-string payload");
        assert_eq!(format!("{err:?}"), "TaskError::Panicked { message: None }");
        assert_eq!(err.panic_message(), None);
        assert_eq!(*err.into_panic().downcast::<Vec<u8>>().unwrap(), [1, 2]);
    });
}

#[test]
fn a_task_error_can_be_read_from_several_threads_at_once() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let err = pool
            .submit(|| -> u8 {
                let what = std::hint::black_box("message");
                panic!("shared {what}")
            })
            .join()
            .unwrap_err();
        let barrier = Barrier::new(4);
        std::thread::scope(|s| {
            for _ in 0..4 {
                s.spawn(|| {
                    barrier.wait();
                    assert_eq!(err.panic_message(), Some("shared message"));
                    assert_eq!(err.to_string(), "task panicked: shared message");
                });
            }
        });
        assert_eq!(
            *err.into_panic().downcast::<String>().unwrap(),
            "shared message"
        );
    });
}

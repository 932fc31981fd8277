//! Group tasks that return values (`TaskGroup::submit`), `GroupError<E>`
//! going into `anyhow::Error` and `Box<dyn Error + Send + Sync>` with `?`
//! (a `String` error shown by its text), and `try_submit` on scopes and the
//! blocking lane saying no at once after shutdown.
mod common;

use std::error::Error;

use common::watchdog;
use corepool::Pool;

#[test]
fn submitted_group_tasks_give_their_values_in_spawn_order() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let words = ["a", "bb", "ccc", "dddd"];
        let lens = pool
            .group(|g| {
                let tasks: Vec<_> = words
                    .iter()
                    .map(|w| g.submit(move || Ok::<usize, String>(w.len())))
                    .collect();
                tasks.into_iter().map(|t| t.join()).collect::<Vec<_>>()
            })
            .unwrap();
        assert_eq!(lens, [Some(1), Some(2), Some(3), Some(4)]);
    });
}

#[test]
fn a_failed_group_task_joins_to_none_and_the_group_reports_it() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let result = pool.group(|g| {
            let good = g.submit(|| Ok::<u8, String>(1));
            let bad = g.submit(|| Err::<u8, String>("row 7 is bad".into()));
            let panicky = g.submit(|| -> Result<u8, String> { panic!("expected in this test") });
            (good.join(), bad.join(), panicky.join())
        });
        let err = result.unwrap_err();
        // Whichever failed first is reported; both are failures.
        assert!(
            err.to_string() == "a task of the group failed: row 7 is bad" || err.is_panic(),
            "{err}"
        );
    });
}

fn with_anyhow(pool: &Pool) -> anyhow::Result<()> {
    pool.group(|g| g.spawn(|| Err(String::from("disk full"))))?;
    Ok(())
}

fn with_box(pool: &Pool) -> Result<(), Box<dyn Error + Send + Sync>> {
    pool.group(|g| g.spawn(|| Err("no network")))?;
    Ok(())
}

fn with_io_error(pool: &Pool) -> anyhow::Result<()> {
    pool.group(|g| g.spawn(|| Err(std::io::Error::other("io failed"))))?;
    Ok(())
}

#[test]
fn group_errors_convert_with_the_question_mark() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        assert_eq!(
            with_anyhow(&pool).unwrap_err().to_string(),
            "a task of the group failed: disk full"
        );
        assert_eq!(
            with_box(&pool).unwrap_err().to_string(),
            "a task of the group failed: no network"
        );
        let err = with_io_error(&pool).unwrap_err();
        let group = err
            .downcast_ref::<corepool::GroupError<std::io::Error>>()
            .expect("downcasts back");
        assert!(!group.is_panic());
        // A panic's source is its TaskError.
        let panicked = pool
            .group(|g| g.spawn(|| -> Result<(), String> { panic!("expected in this test") }))
            .unwrap_err();
        let source = panicked.source().expect("a panic has a source");
        assert_eq!(source.to_string(), "task panicked: expected in this test");
    });
}

#[test]
fn try_submit_on_a_scope_and_the_lane_say_no_after_shutdown() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        assert_eq!(pool.try_submit_blocking(|| 1).unwrap().join().unwrap(), 1);
        let mut ran = false;
        pool.scope(|s| {
            assert_eq!(s.try_submit(|| 2).unwrap().join().unwrap(), 2);
            pool.shutdown();
            let f = s.try_submit(|| 3).unwrap_err().into_inner();
            assert_eq!(f(), 3);
            ran = true;
        });
        assert!(ran);
        let err = pool.try_submit_blocking(|| 4).unwrap_err();
        assert_eq!(err.to_string(), "cannot submit: the pool has shut down");
    });
}

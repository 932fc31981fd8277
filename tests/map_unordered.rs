//! `Pool::map_unordered`: every result once, in completion order.
mod common;

use std::sync::mpsc;
use std::time::Duration;

use common::watchdog;
use corepool::Pool;

#[test]
fn yields_every_result_exactly_once() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let mut out: Vec<u32> = pool.map_unordered(0..5000u32, |x| x ^ 0x55).collect();
        out.sort_unstable();
        let mut expected: Vec<u32> = (0..5000u32).map(|x| x ^ 0x55).collect();
        expected.sort_unstable();
        assert_eq!(out, expected);
    });
}

#[test]
fn a_fast_item_overtakes_a_slow_one() {
    watchdog(60, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        // Item 0 blocks until item 1 has been yielded to the consumer.
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let release_rx = std::sync::Mutex::new(release_rx);
        // A deadline keeps the consumer from running a chunk not yet
        // started itself (it may without one): item 0 there would wait for
        // this thread, its only releaser.
        let mut it = pool
            .map_unordered(0..2u32, move |x| {
                if x == 0 {
                    release_rx.lock().unwrap().recv().unwrap();
                }
                x
            })
            .chunk_size(1)
            .within(Duration::from_secs(60));
        assert_eq!(it.next(), Some(Ok(1)), "the finished item comes first");
        release_tx.send(()).unwrap();
        assert_eq!(it.next(), Some(Ok(0)));
        assert_eq!(it.next(), None);
    });
}

#[test]
fn a_panic_is_re_raised_on_the_consumer() {
    watchdog(60, || {
        let pool = Pool::new().unwrap();
        let caught = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            pool.map_unordered(0..50u32, |x| if x == 30 { panic!("thirty") } else { x })
                .count()
        }))
        .unwrap_err();
        assert_eq!(caught.downcast_ref::<&str>(), Some(&"thirty"));
        assert_eq!(
            pool.map_unordered(0..3u8, |x| x).count(),
            3,
            "the pool still works"
        );
    });
}

/// `within` on the unordered map: what finished, then one timeout.
#[test]
fn an_unordered_map_with_a_deadline_reports_the_timeout_once() {
    common::watchdog(60, || {
        let pool = corepool::Pool::builder().workers(1).build().unwrap();
        let gate = common::Gate::new();
        let _open = common::OpenOnDrop(gate.clone());
        let g = gate.clone();
        let mut map = pool
            .map_unordered(0..3u32, move |i| {
                if i == 2 {
                    g.wait();
                }
                i
            })
            .chunk_size(1)
            .window(1);
        // Items 0 and 1 are taken before the deadline starts, so a loaded
        // machine cannot push them past it. One chunk in flight at a time:
        // without a deadline the consumer may run an unstarted chunk itself,
        // and item 2 is not submitted until item 1 is handed out.
        assert_eq!([map.next(), map.next()], [Some(0), Some(1)]);
        let out: Vec<_> = map.within(std::time::Duration::from_millis(50)).collect();
        gate.open();
        assert_eq!(out.len(), 1, "{out:?}");
        assert!(out[0].is_err());
    });
}

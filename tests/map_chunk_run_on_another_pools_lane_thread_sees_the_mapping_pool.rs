//! A chunk of pool A's `map` run by its consumer, a blocking-lane thread of
//! pool B (A's only worker busy): `Pool::current()` inside the map closure
//! must name A, as it does for any other consuming thread outside A. Before
//! the fix, the lane's own pool was looked up first, so the closure saw B
//! (and `corepool::join`/`spawn` inside it went to B).
mod common;

use std::sync::mpsc::channel;

use common::watchdog;
use corepool::Pool;

#[test]
fn pool_current_in_a_chunk_run_by_a_lane_thread_is_the_mapping_pool() {
    watchdog(60, || {
        let a = Pool::builder().workers(1).build().unwrap();
        let b = Pool::builder().workers(3).build().unwrap();
        let (started_tx, started) = channel();
        let (release, release_rx) = channel::<()>();
        let blocker = a.submit(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        started.recv().unwrap();
        let mapping = a.clone();
        let seen = b
            .submit_blocking(move || {
                let me = std::thread::current().id();
                mapping
                    .map(0..8u32, move |_| {
                        (
                            std::thread::current().id() == me,
                            Pool::current().map(|p| p.workers()),
                        )
                    })
                    .chunk_size(1)
                    .collect::<Vec<_>>()
            })
            .join()
            .unwrap();
        release.send(()).unwrap();
        blocker.join().unwrap();
        assert!(seen.iter().any(|s| s.0), "no chunk ran on the lane thread");
        for (i, (_, workers)) in seen.iter().enumerate() {
            assert_eq!(*workers, Some(1), "item {i}: Pool::current() named pool B");
        }
    });
}

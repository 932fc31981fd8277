//! `Pool::map` consumed from a thread outside the pool while every worker is
//! busy runs chunks on the consuming thread (it never sleeps while the map
//! could make progress). There, `Pool::current()` names the mapping pool, as
//! it does on a worker. Before the fix it was `None`.
mod common;

use std::sync::mpsc::channel;

use common::watchdog;
use corepool::Pool;

#[test]
fn pool_current_inside_a_chunk_run_by_the_consumer_is_the_pool() {
    watchdog(60, || {
        let pool = Pool::builder().workers(1).build().unwrap();
        let (started_tx, started) = channel();
        let (release, release_rx) = channel::<()>();
        let blocker = pool.submit(move || {
            started_tx.send(()).unwrap();
            release_rx.recv().unwrap();
        });
        started.recv().unwrap();
        // The only worker is busy until released: the consumer runs the chunks.
        let me = std::thread::current().id();
        let seen: Vec<(bool, Option<usize>, u32)> = pool
            .map(0..8u32, move |x| {
                let on_caller = std::thread::current().id() == me;
                (on_caller, Pool::current().map(|p| p.workers()), x * 2)
            })
            .chunk_size(1)
            .collect();
        release.send(()).unwrap();
        blocker.join().unwrap();
        assert!(seen.iter().any(|s| s.0), "no chunk ran on the consumer");
        for (i, (_, current, value)) in seen.iter().enumerate() {
            assert_eq!(
                *current,
                Some(1),
                "item {i}: Pool::current() inside the map closure"
            );
            assert_eq!(*value, i as u32 * 2);
        }
        // Outside the closure, the consumer is still outside any pool.
        assert!(Pool::current().is_none());
    });
}

//! Regression (second-reader review): two threads call `shutdown` at once; the lane's join
//! handles are taken by the first, so the second returns while a blocking
//! task is still running ("drained and joined by shutdown" is broken for it).
mod common;
use common::{Gate, watchdog};
use corepool::{Pinning, Pool};
use std::sync::Arc;
use std::sync::mpsc::channel;
use std::time::Duration;

#[test]
fn every_shutdown_caller_waits_for_the_blocking_lane() {
    watchdog(30, || {
        let pool = Pool::builder()
            .workers(1)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        let gate = Gate::new();
        let (started_tx, started_rx) = channel();
        let g = gate.clone();
        let task = Arc::new(pool.submit_blocking(move || {
            started_tx.send(()).unwrap();
            g.wait();
        }));
        started_rx.recv().unwrap();
        let (done_tx, done_rx) = channel();
        let threads: Vec<_> = (0..2)
            .map(|_| {
                let (p, t, tx) = (pool.clone(), task.clone(), done_tx.clone());
                std::thread::spawn(move || {
                    p.shutdown();
                    tx.send(t.is_finished()).unwrap();
                })
            })
            .collect();
        // No shutdown may return while the blocking task is still blocked:
        // any answer that arrives before the gate opens must say "finished".
        let early = done_rx.recv_timeout(Duration::from_secs(2)).ok();
        gate.open();
        for t in threads {
            t.join().unwrap();
        }
        assert_ne!(
            early,
            Some(false),
            "a shutdown returned while a blocking task still ran"
        );
    });
}

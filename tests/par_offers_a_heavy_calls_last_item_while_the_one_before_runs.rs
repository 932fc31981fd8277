//! A `par` call over items that each outlast a wake-up keeps its rest on
//! offer (src/par/drive.rs, step 11): the last item is there for an idle
//! worker to take while the one before it runs. Here the last two items
//! wait for each other, so the call ends only if they run at once. (Before
//! step 11 a walk ran its first item before offering the rest, so a part
//! holding just the last two ran them one after the other on one worker,
//! while the other worker sat idle: the first waited for the second until
//! its timeout.) `par` does not promise that items run at once; this pins
//! down how soon a heavy call's items are offered.
mod common;

use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, channel};
use std::time::Duration;

use common::{busy_for, watchdog};
use corepool::Pool;

const ITEMS: usize = 100;

/// Tells the other item this one runs, and waits for the same word from
/// it: whether it came within a time no item of this test needs.
fn meet(ends: &Mutex<(Sender<()>, Receiver<()>)>) -> bool {
    let ends = ends.lock().unwrap();
    ends.0.send(()).unwrap();
    match ends.1.recv_timeout(Duration::from_secs(10)) {
        Ok(()) => true,
        Err(RecvTimeoutError::Timeout) => false,
        Err(RecvTimeoutError::Disconnected) => unreachable!("both ends live until the call ends"),
    }
}

#[test]
fn the_last_two_items_of_a_heavy_call_run_at_once() {
    watchdog(240, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        for round in 0..20 {
            let (to_last, at_last) = channel::<()>();
            let (to_second_last, at_second_last) = channel::<()>();
            let ends = Mutex::new((to_last, at_second_last));
            let other_end = Mutex::new((to_second_last, at_last));
            let met: Vec<bool> = pool
                .par(0..ITEMS)
                .map(|i| {
                    // Each item outlasts a wake-up (40 µs) by far.
                    busy_for(Duration::from_micros(100));
                    match i {
                        _ if i == ITEMS - 2 => meet(&ends),
                        _ if i == ITEMS - 1 => meet(&other_end),
                        _ => true,
                    }
                })
                .collect();
            assert!(
                met.iter().all(|&met| met),
                "round {round}: the last two items did not run at once"
            );
        }
    });
}

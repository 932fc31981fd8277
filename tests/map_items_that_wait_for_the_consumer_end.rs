//! A consumer outside the pool waits for several short chunks at once
//! (`map.rs`, "Waking the consumer"): it waits for a chunk half a window
//! behind the one it needs. When that later chunk's item waits for the
//! consumer to take an earlier value, the wait must still end: it is
//! bounded, and the map goes on with the values it has.
mod common;

use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

use common::{busy_for, unpinned_pool, watchdog};

/// How many values the consumer has taken, and a condvar to wait on it.
#[derive(Default)]
struct Taken {
    count: Mutex<usize>,
    moved: Condvar,
}

impl Taken {
    fn wait_for(&self, at_least: usize) {
        let mut count = self.count.lock().unwrap();
        while *count < at_least {
            count = self.moved.wait(count).unwrap();
        }
    }

    fn bump(&self) {
        *self.count.lock().unwrap() += 1;
        self.moved.notify_all();
    }
}

/// Item `i` (one per chunk, so every chunk is short) runs only once the
/// consumer has taken item `i - 3`: with 2 workers and a window of 8
/// chunks, the chunk the consumer gathers up to (the fourth in flight)
/// waits for the consumer to take the first.
#[test]
fn items_waiting_for_the_consumer_do_not_stall_a_gathering_consumer() {
    watchdog(120, || {
        let pool = unpinned_pool(2);
        let taken = Arc::new(Taken::default());
        let seen = Arc::clone(&taken);
        let items = 300usize;
        let mut out = Vec::with_capacity(items);
        for value in pool
            .map(0..items, move |i| {
                seen.wait_for(i.saturating_sub(2));
                // Long enough that the consumer usually finds the chunk it
                // needs unfinished, and gathers.
                busy_for(Duration::from_micros(50));
                i * 3
            })
            .chunk_size(1)
            .window(8)
        {
            out.push(value);
            taken.bump();
        }
        assert_eq!(out, (0..items).map(|i| i * 3).collect::<Vec<_>>());
    });
}

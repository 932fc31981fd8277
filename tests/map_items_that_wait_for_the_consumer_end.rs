//! A consumer outside the pool waits for several short chunks at once
//! (`map.rs`, "Waking the consumer"): the ordered map's for a chunk half a
//! window behind the one it needs, the unordered map's for half a window of
//! chunks to be ready. When those chunks' items wait for the consumer to
//! take an earlier value, the wait must still end: it is bounded, and the
//! map goes on with the values it has.
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
/// consumer has taken `i - 2` values: with 2 workers and a window of 8
/// chunks, the chunk the ordered map's consumer gathers up to (the fourth
/// in flight) waits for the consumer to take the first, and the unordered
/// map's consumer, which waits for four chunks to be ready, finds at most
/// three that can be.
fn items_waiting_for_the_consumer(ordered: bool) {
    watchdog(120, move || {
        let pool = unpinned_pool(2);
        let taken = Arc::new(Taken::default());
        let seen = Arc::clone(&taken);
        let items = 300usize;
        let f = move |i: usize| {
            seen.wait_for(i.saturating_sub(2));
            // Long enough that the consumer usually finds the chunk it
            // needs unfinished, and gathers.
            busy_for(Duration::from_micros(50));
            i * 3
        };
        let values: Box<dyn Iterator<Item = usize>> = if ordered {
            Box::new(pool.map(0..items, f).chunk_size(1).window(8))
        } else {
            Box::new(pool.map_unordered(0..items, f).chunk_size(1).window(8))
        };
        let mut out = Vec::with_capacity(items);
        for value in values {
            out.push(value);
            taken.bump();
        }
        if !ordered {
            out.sort_unstable();
        }
        assert_eq!(out, (0..items).map(|i| i * 3).collect::<Vec<_>>());
    });
}

#[test]
fn items_waiting_for_the_consumer_do_not_stall_a_gathering_consumer() {
    items_waiting_for_the_consumer(true);
}

#[test]
fn items_waiting_for_the_consumer_do_not_stall_an_unordered_gathering_consumer() {
    items_waiting_for_the_consumer(false);
}

//! What both benchmark files share: the counting latch a rayon or
//! threadpool user writes to wait for fire-and-forget tasks.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex};

/// Counts tasks down and wakes the waiting thread at zero: what a rayon or
/// threadpool user writes to wait for fire-and-forget tasks. One static
/// instance, so tasks capture no `Arc` (groups run one at a time).
pub struct CountLatch {
    remaining: AtomicUsize,
    done: Mutex<bool>,
    cond: Condvar,
}

pub static LATCH: CountLatch = CountLatch {
    remaining: AtomicUsize::new(0),
    done: Mutex::new(false),
    cond: Condvar::new(),
};

impl CountLatch {
    pub fn reset(&self, count: usize) {
        *self.done.lock().unwrap() = count == 0;
        // Release: published before any task that counts down is spawned
        // (spawning synchronises with the task start anyway).
        self.remaining.store(count, Ordering::Release);
    }

    pub fn count_down(&self) {
        // AcqRel: the last decrement sees every other task's writes and
        // publishes them to the waiter through the mutex below.
        if self.remaining.fetch_sub(1, Ordering::AcqRel) == 1 {
            *self.done.lock().unwrap() = true;
            self.cond.notify_all();
        }
    }

    pub fn wait(&self) {
        let mut done = self.done.lock().unwrap();
        while !*done {
            done = self.cond.wait(done).unwrap();
        }
    }
}

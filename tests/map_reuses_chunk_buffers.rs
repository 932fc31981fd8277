//! A long map fills the same chunk buffers again: with chunks of a fixed
//! 1,024 items, it allocates an input and a values buffer (8 KiB each) for
//! its first chunks only, not for each of its 200. A counting allocator
//! sees every allocation of exactly that size in this test binary.
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

use common::watchdog;
use corepool::Pool;

const CHUNK: usize = 1024;
const CHUNK_BYTES: usize = CHUNK * 8;

struct Counting;

static BUFFERS: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed to `System` unchanged; the counter is a side
// effect only.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() == CHUNK_BYTES {
            BUFFERS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract for `alloc` is passed on.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` with this layout (`alloc` above).
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if new_size == CHUNK_BYTES {
            BUFFERS.fetch_add(1, Ordering::Relaxed);
        }
        // SAFETY: the caller's contract for `realloc` is passed on.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

#[test]
fn a_long_map_allocates_buffers_for_its_first_chunks_only() {
    watchdog(120, || {
        let pool = Pool::builder().workers(2).build().unwrap();
        let chunks = 200;
        let before = BUFFERS.load(Ordering::Relaxed);
        let sum: u64 = pool
            .map(0..chunks * CHUNK, |x| x as u64 * 2)
            .chunk_size(CHUNK)
            .window(4)
            .sum();
        let buffers = BUFFERS.load(Ordering::Relaxed) - before;
        let n = (chunks * CHUNK) as u64;
        assert_eq!(sum, n * (n - 1));
        // A window of 4 in flight, the chunk being handed out and the spares:
        // a few dozen at most, where a fresh pair per chunk made 400.
        assert!(
            buffers <= 40,
            "{buffers} chunk buffers allocated for {chunks} chunks"
        );
    });
}

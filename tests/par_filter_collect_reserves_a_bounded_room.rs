//! A `filter` + `collect` reserves, per piece, at most a bounded room before
//! it has seen its items, and gives back what a piece did not use: the
//! input's length is only an upper bound on what a piece keeps.
//!
//! Measured with a counting global allocator (this file's only test, so no
//! other test allocates meanwhile): the peak of live heap bytes during the
//! `collect`, above what was live before it.
//!
//! Before the bound, one piece over a whole long input (`with_min_len`)
//! reserved `input length × item size` — 1 TiB here, for 4 items kept: the
//! allocation failed and the process aborted. And each piece of a selective
//! filter kept its whole input's room until the concatenation: 2 Mi items of
//! 64 bytes kept 128 MiB reserved for 2 MiB of items.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

use common::watchdog;
use corepool::Pool;

/// `System`, counting the bytes live and their peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Relaxed) + bytes;
    PEAK.fetch_max(live, Relaxed);
}

// SAFETY: every call is forwarded to `System` unchanged; only counters are
// added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded as is.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded as is.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), Relaxed);
            grew(new_size);
        }
        p
    }
}

#[global_allocator]
static COUNTING: Counting = Counting;

/// The peak of live heap bytes while `f` runs, above those live before it.
fn peak_during<R>(f: impl FnOnce() -> R) -> (R, usize) {
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let r = f();
    (r, PEAK.load(Relaxed).saturating_sub(before))
}

fn pool(workers: usize) -> Pool {
    common::unpinned_pool(workers)
}

const MIB: usize = 1 << 20;

#[test]
fn filtered_pieces_reserve_a_bounded_room_and_give_back_the_rest() {
    watchdog(120, || {
        let pool = pool(2);

        // One piece over the whole input (`with_min_len`): 16 Mi items of
        // 64 KiB each could be kept (1 TiB); 4 are.
        let n: u64 = 1 << 24;
        let (kept, peak) = peak_during(|| {
            pool.par(0..n)
                .with_min_len(n as usize)
                .filter(|x| x % (1 << 22) == 0)
                .map(|x| [x as u8 + 1; 64 * 1024])
                .collect::<Vec<[u8; 64 * 1024]>>()
        });
        assert_eq!(kept.len(), 4);
        assert!(kept.iter().all(|k| k.iter().all(|&b| b == 1)));
        assert!(
            peak <= 4 * MIB,
            "one long piece: {peak} bytes live at the peak for 4 items of 64 KiB"
        );
        drop(kept);

        // Many pieces, each keeping 1 item in 64: 2 MiB of items.
        let n: u64 = 2 << 20;
        let keep = |x: &u64| x % 64 == 0;
        let (kept, peak) = peak_during(|| {
            pool.par(0..n)
                .filter(keep)
                .map(|x| [x; 8])
                .collect::<Vec<[u64; 8]>>()
        });
        assert!(kept.iter().map(|k| k[0]).eq((0..n).filter(keep)));
        let items_bytes = kept.len() * std::mem::size_of::<[u64; 8]>();
        // The pieces (at most twice their items), the output, and a
        // bounded room per thread filling a piece: not the input's 128 MiB.
        assert!(
            peak <= 4 * items_bytes + 8 * MIB,
            "many pieces: {peak} bytes live at the peak for {items_bytes} bytes of items"
        );
    });
}

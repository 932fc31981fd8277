//! The prefault path (`util::prepare_output`, `Prefault::ahead_of`) stays
//! inside the output (a second reader's checks, helper-50): a global
//! allocator that packs every block of
//! 32 MiB or more into one shared arena mapping, at chosen odd offsets, so
//! that the pages around an output are this process's memory too; after a
//! `collect`, `mincore` must show no page wholly outside the output made
//! resident, and a neighbour's values must be intact.
#![cfg(target_os = "linux")]
mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use corepool::Pool;

const BIG: usize = 32 << 20;
const PAGE: usize = 4096;
const ARENA: usize = 8 << 30;

static ARENA_BASE: AtomicUsize = AtomicUsize::new(0);
static CURSOR: AtomicUsize = AtomicUsize::new(0);
/// Bytes left untouched before the next big block (then aligned).
static GAP: AtomicUsize = AtomicUsize::new(3 * PAGE);
static SERIAL: Mutex<()> = Mutex::new(());

struct Arena;

// SAFETY: blocks under `BIG` come from `System` and go back to it; a big
// block is a fresh range of the arena (the cursor only moves forward, by a
// compare-exchange, so no two blocks overlap), aligned as asked, inside the
// arena mapping (checked), and never reused. Failure is a null pointer,
// never an unwind (a global allocator must not unwind).
unsafe impl GlobalAlloc for Arena {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if layout.size() < BIG {
            // SAFETY: the caller's contract for `alloc`, passed on.
            return unsafe { System.alloc(layout) };
        }
        // Acquire: pairs with the release store of the cursor below (the
        // thread that mapped the arena publishes it there).
        if CURSOR.load(Ordering::Acquire) == 0 {
            // SAFETY: a new anonymous private mapping; no memory of anyone's
            // is touched.
            let p = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    ARENA,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                    -1,
                    0,
                )
            };
            if p == libc::MAP_FAILED {
                return std::ptr::null_mut();
            }
            // AcqRel/Acquire: the one arena is chosen once; the loser's
            // mapping, seen by nobody, goes back.
            match ARENA_BASE.compare_exchange(0, p as usize, Ordering::AcqRel, Ordering::Acquire) {
                // Release: pairs with the acquire loads of the cursor.
                Ok(_) => CURSOR.store(p as usize, Ordering::Release),
                Err(_) => {
                    // SAFETY: `p` is the mapping made above, of `ARENA`
                    // bytes, which nothing else has seen.
                    unsafe { libc::munmap(p, ARENA) };
                    while CURSOR.load(Ordering::Acquire) == 0 {
                        std::hint::spin_loop();
                    }
                }
            }
        }
        loop {
            // Acquire: pairs with the release half of the compare-exchange
            // below and the store that set the cursor first.
            let cur = CURSOR.load(Ordering::Acquire);
            let ptr = (cur + GAP.load(Ordering::Relaxed)).next_multiple_of(layout.align());
            let next = ptr + layout.size();
            if next >= ARENA_BASE.load(Ordering::Relaxed) + ARENA {
                return std::ptr::null_mut();
            }
            if CURSOR
                .compare_exchange(cur, next, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return ptr as *mut u8;
            }
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if layout.size() < BIG {
            // SAFETY: a block under `BIG` came from `System` with `layout`.
            return unsafe { System.dealloc(ptr, layout) };
        }
        // Give back the pages wholly inside the block only.
        let lo = (ptr as usize).next_multiple_of(PAGE);
        let hi = (ptr as usize + layout.size()) & !(PAGE - 1);
        if hi > lo {
            // SAFETY: `lo..hi` is whole pages of the freed block, which no
            // other block shares and nobody uses any more; MADV_DONTNEED
            // only drops their contents.
            unsafe { libc::madvise(lo as *mut libc::c_void, hi - lo, libc::MADV_DONTNEED) };
        }
    }
}

#[global_allocator]
static GLOBAL: Arena = Arena;

/// Resident pages wholly inside `lo..hi`.
fn resident_pages(lo: usize, hi: usize) -> Vec<usize> {
    let (lo, hi) = (lo.next_multiple_of(PAGE), hi & !(PAGE - 1));
    if hi <= lo {
        return Vec::new();
    }
    let mut v = vec![0u8; (hi - lo) / PAGE];
    // SAFETY: `lo..hi` is whole pages of the arena (mapped for the test's
    // life), and `v` has one byte per page, as `mincore` writes.
    let rc = unsafe { libc::mincore(lo as *mut libc::c_void, hi - lo, v.as_mut_ptr()) };
    assert_eq!(
        rc,
        0,
        "mincore {lo:x}..{hi:x} arena {:x} cursor {:x}",
        ARENA_BASE.load(Ordering::Relaxed),
        CURSOR.load(Ordering::Relaxed)
    );
    v.iter()
        .enumerate()
        .filter(|(_, b)| **b & 1 != 0)
        .map(|(i, _)| lo + i * PAGE)
        .collect()
}

/// Runs `make` with the next big block placed `gap` bytes after the last,
/// and checks that nothing in the 2 MiB before or after the output became
/// resident. `make` returns the output's address and byte length.
fn check(gap: usize, make: impl FnOnce() -> (usize, usize)) {
    GAP.store(gap, Ordering::Relaxed);
    let before_start = CURSOR.load(Ordering::Acquire);
    let (ptr, bytes) = make();
    GAP.store(3 * PAGE, Ordering::Relaxed);
    let end = ptr + bytes;
    assert!(ptr >= before_start || before_start == 0);
    let lo = if before_start == 0 {
        ptr.saturating_sub(2 << 20)
    } else {
        before_start
    };
    let before = resident_pages(
        lo.max(ptr.saturating_sub(2 << 20))
            .max(ARENA_BASE.load(Ordering::Relaxed)),
        ptr,
    );
    let after = resident_pages(end, end + (2 << 20));
    assert!(
        before.is_empty(),
        "pages before the output made resident: {before:x?}"
    );
    assert!(
        after.is_empty(),
        "pages after the output made resident: {after:x?}"
    );
}

fn pool() -> Pool {
    Pool::builder().workers(2).build().unwrap()
}

#[test]
fn in_place_collects_of_odd_sizes_and_offsets_touch_only_their_buffer() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pool = pool();
    for gap in [
        0,
        8,
        13,
        PAGE - 8,
        PAGE + 8,
        (256 << 10) - 8,
        (256 << 10) + 1,
    ] {
        let n = (BIG / 8) + 1234;
        check(gap, || {
            let v: Vec<u64> = pool.par(0..n as u64).map(|x| x ^ 0xABCD).collect();
            assert!(v.iter().enumerate().all(|(i, &x)| x == i as u64 ^ 0xABCD));
            (v.as_ptr() as usize, v.len() * 8)
        });
        let n = BIG / 3 + 77;
        check(gap + 1, || {
            let v: Vec<[u8; 3]> = pool
                .par(0..n)
                .map(|x| [x as u8, (x >> 8) as u8, 3])
                .collect();
            assert!(
                v.iter()
                    .enumerate()
                    .all(|(i, x)| *x == [i as u8, (i >> 8) as u8, 3])
            );
            (v.as_ptr() as usize, v.len() * 3)
        });
        let n = BIG / 4097 + 3;
        check(gap, || {
            let v: Vec<[u8; 4097]> = pool.par(0..n).map(|x| [x as u8; 4097]).collect();
            assert!(
                v.iter()
                    .enumerate()
                    .all(|(i, x)| x.iter().all(|&b| b == i as u8))
            );
            (v.as_ptr() as usize, v.len() * 4097)
        });
    }
}

#[test]
fn concatenated_collects_touch_only_their_buffer() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pool = pool();
    for gap in [0, 24, PAGE - 3, (256 << 10) - 16] {
        check(gap, || {
            let v: Vec<u64> = pool.par(0..6_000_000u64).filter(|x| x % 4 != 0).collect();
            assert_eq!(v.len(), 4_500_000);
            assert!(v.iter().all(|x| x % 4 != 0));
            (v.as_ptr() as usize, v.len() * 8)
        });
        check(gap + 1, || {
            let v: Vec<[u8; 3]> = pool
                .par(0..18_000_000u32)
                .filter(|x| x % 3 != 0)
                .map(|x| [x as u8, 1, 2])
                .collect();
            assert_eq!(v.len(), 12_000_000);
            (v.as_ptr() as usize, v.len() * 3)
        });
    }
}

#[test]
fn a_panic_mid_collect_drops_each_written_item_once_and_touches_nothing_outside() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let pool = pool();
    let counter = common::DropCounter::new();
    let n = BIG / 8 + 5;
    let c = counter.clone();
    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let _v: Vec<_> = pool
            .par(0..n)
            .map(|i| {
                if i == n / 2 + 1000 {
                    panic!("boom");
                }
                c.token()
            })
            .collect();
    }));
    assert!(r.is_err());
    let after = CURSOR.load(Ordering::Acquire);
    assert_eq!(counter.created(), counter.dropped());
    // Nothing after the output block (it ends at the cursor).
    assert!(resident_pages(after, after + (4 << 20)).is_empty());
}

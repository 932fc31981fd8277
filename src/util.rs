//! Small helpers shared by the scheduler's files.

// Layer: base (`lib.rs`, "Layers"). It may use std and the dependencies; of
// the crate, only the other base files.

/// Aligns `T` to 128 bytes so two workers' hot fields never share a cache
/// line (two 64-byte lines: adjacent-line prefetchers pull pairs).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

/// A small, fast, non-cryptographic generator (xorshift64*), one per worker,
/// for picking a random victim to steal from.
#[derive(Debug)]
pub(crate) struct XorShift(std::cell::Cell<u64>);

impl XorShift {
    pub(crate) fn new(seed: u64) -> XorShift {
        // Zero is a fixed point of xorshift: avoid it.
        XorShift(std::cell::Cell::new(
            seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        ))
    }

    /// A value in `0..n`; `n` must be positive.
    pub(crate) fn below(&self, n: usize) -> usize {
        let mut x = self.0.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as usize % n
    }
}

/// Outputs at least this large are offered to the kernel as huge pages
/// ([`advise_huge_pages`]). 32 MiB is glibc's largest mmap threshold: a
/// block this large always gets a mapping of its own, which `free` unmaps,
/// so the advice never splits the heap's mappings into a patchwork (each
/// advised range of a shared mapping is a mapping of its own, and a process
/// may have only so many), and the syscall's cost is small beside the
/// buffer's.
pub(crate) const HUGE_ADVICE_BYTES: usize = 32 << 20;

/// Asks the kernel to back the 2 MiB-aligned pages wholly inside
/// `ptr..ptr + bytes` with transparent huge pages (`MADV_HUGEPAGE`), where
/// `bytes` ≥ [`HUGE_ADVICE_BYTES`]. For a fresh output buffer that a `par`
/// call is about to fill, and nothing else.
///
/// Why: writing a fresh buffer is mostly page faults, one per 4 KiB. On this
/// crate's 2-core VM a cheap map of 10,000,000 items into a new `Vec<u64>`
/// took 52 ms sequentially with 4 KiB pages and 11 ms with huge pages (its
/// 80 MB: 19,532 faults against 625); two workers writing halves in
/// parallel still fault page by page. glibc offers the same advice for all
/// its large blocks (`glibc.malloc.hugetlb=1`); this gives it only to
/// buffers the pool fills whole, so no memory is touched that would not be
/// anyway.
///
/// Advice only: where THP is off (`/sys/kernel/mm/transparent_hugepage/enabled`
/// is `never`), the process opted out (`prctl(PR_SET_THP_DISABLE)`), or the
/// kernel has no huge page free, the call fails or the fault falls back to
/// small pages, and nothing else changes; its result is ignored for that
/// reason. A no-op off Linux and under Miri.
pub(crate) fn advise_huge_pages(ptr: *mut u8, bytes: usize) {
    #[cfg(all(target_os = "linux", not(miri)))]
    {
        const HUGE: usize = 2 << 20;
        if bytes < HUGE_ADVICE_BYTES {
            return;
        }
        let first = (ptr as usize).next_multiple_of(HUGE);
        let end = (ptr as usize).saturating_add(bytes) & !(HUGE - 1);
        if end > first {
            // SAFETY: `first..end` lies inside `ptr..ptr + bytes`, which the
            // caller owns (a buffer it allocated and has not shared yet).
            // MADV_HUGEPAGE changes only how the kernel backs those pages,
            // never their contents or whether they are mapped, so no other
            // allocation and no value is affected.
            unsafe {
                libc::madvise(first as *mut libc::c_void, end - first, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(all(target_os = "linux", not(miri))))]
    let _ = (ptr, bytes, HUGE_ADVICE_BYTES);
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `VmFlags` line of the mapping in `/proc/self/smaps` that holds
    /// `addr`, if the file can be read.
    #[cfg(all(target_os = "linux", not(miri)))]
    fn vm_flags(addr: usize) -> Option<String> {
        let smaps = std::fs::read_to_string("/proc/self/smaps").ok()?;
        let mut inside = false;
        for line in smaps.lines() {
            let head = line.split_whitespace().next().unwrap_or("");
            if let Some((lo, hi)) = head.split_once('-') {
                if let (Ok(lo), Ok(hi)) =
                    (usize::from_str_radix(lo, 16), usize::from_str_radix(hi, 16))
                {
                    inside = (lo..hi).contains(&addr);
                    continue;
                }
            }
            if inside && line.starts_with("VmFlags:") {
                return Some(line.to_owned());
            }
        }
        None
    }

    #[test]
    fn huge_page_advice_keeps_the_contents_and_reaches_the_kernel() {
        let n = (HUGE_ADVICE_BYTES / 8) * 3 / 2;
        let mut buf: Vec<u64> = (0..n as u64).collect();
        let ptr = buf.as_mut_ptr();
        advise_huge_pages(ptr.cast(), n * 8);
        assert!(buf.iter().enumerate().all(|(i, &x)| x == i as u64));
        #[cfg(all(target_os = "linux", not(miri)))]
        {
            let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
                .unwrap_or_default();
            // Only where the kernel has THP on can the advice show.
            if thp.contains("[madvise]") || thp.contains("[always]") {
                let inside = (ptr as usize).next_multiple_of(2 << 20);
                let flags = vm_flags(inside).expect("the buffer is mapped");
                assert!(flags.contains(" hg"), "{flags}");
            }
        }
        // Small buffers are left alone (and a null-sized call is harmless).
        let mut small = vec![7u8; 4096];
        advise_huge_pages(small.as_mut_ptr(), small.len());
        advise_huge_pages(std::ptr::NonNull::<u8>::dangling().as_ptr(), 0);
        assert!(small.iter().all(|&b| b == 7));
    }
}

//! Small helpers shared by the scheduler's files.

// Layer: base (`lib.rs`, "Layers"). It may use std and the dependencies; of
// the crate, only the other base files.

/// Aligns `T` to 128 bytes so two workers' hot fields never share a cache
/// line (two 64-byte lines: adjacent-line prefetchers pull pairs).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

/// One level of a kind of nested wait on this thread, counted in the
/// thread-local `depth` from [`enter`](Nested::enter) until dropped
/// (however the wait ends): bounds how deep such waits nest on one stack
/// (helping installs, `install.rs`; waits serving hops, `worker.rs`).
pub(crate) struct Nested(&'static std::thread::LocalKey<std::cell::Cell<u32>>);

impl Nested {
    /// Enters one more level, or `None` where `depth` is at `limit`, or
    /// where this would nest on top of another level (not for the first)
    /// and `deeper` says no (the stack is short: the first level of a wait
    /// nests nothing, and is always entered).
    pub(crate) fn enter(
        depth: &'static std::thread::LocalKey<std::cell::Cell<u32>>,
        limit: u32,
        deeper: impl FnOnce() -> bool,
    ) -> Option<Nested> {
        let now = depth.with(std::cell::Cell::get);
        if now >= limit || (now > 0 && !deeper()) {
            return None;
        }
        depth.with(|count| count.set(now + 1));
        Some(Nested(depth))
    }
}

impl Drop for Nested {
    fn drop(&mut self) {
        self.0.with(|count| count.set(count.get() - 1));
    }
}

/// The stack a thread gets from `std::thread::Builder` without a
/// `stack_size`: `RUST_MIN_STACK` where it holds a number, else 2 MiB
/// (the standard library's rule).
pub(crate) fn default_stack_size() -> usize {
    std::env::var("RUST_MIN_STACK")
        .ok()
        .and_then(|bytes| bytes.parse().ok())
        .unwrap_or(2 << 20)
}

/// The far end of this thread's stack (its lowest address: stacks grow
/// down on every platform this crate builds for), as the system reports
/// it; `None` where it does not (off Linux) or the call fails. Unlike the
/// size asked for at spawn, it accounts for what the C library took from
/// the top of the stack (static thread-local storage, its own records).
#[cfg(target_os = "linux")]
pub(crate) fn stack_end() -> Option<usize> {
    // SAFETY: `attr` is filled by `pthread_getattr_np` before anything
    // reads it, and destroyed once, only after that call succeeded; the
    // out-pointers point to live locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if libc::pthread_getattr_np(libc::pthread_self(), &mut attr) != 0 {
            return None;
        }
        let mut addr: *mut libc::c_void = std::ptr::null_mut();
        let mut size: libc::size_t = 0;
        let rc = libc::pthread_attr_getstack(&attr, &mut addr, &mut size);
        libc::pthread_attr_destroy(&mut attr);
        (rc == 0 && !addr.is_null()).then_some(addr as usize)
    }
}

/// See the Linux version: unknown here.
#[cfg(not(target_os = "linux"))]
pub(crate) fn stack_end() -> Option<usize> {
    None
}

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

/// Outputs at least this large are offered to the kernel as huge pages, or
/// prefaulted ([`prepare_output`]). 32 MiB is glibc's largest mmap threshold: a
/// block this large always gets a mapping of its own, which `free` unmaps,
/// so the advice never splits the heap's mappings into a patchwork (each
/// advised range of a shared mapping is a mapping of its own, and a process
/// may have only so many), and the syscall's cost is small beside the
/// buffer's.
pub(crate) const HUGE_ADVICE_BYTES: usize = 32 << 20;

/// Prepares a fresh output buffer `ptr..ptr + bytes` that a `par` call is
/// about to fill, and nothing else; returns what its writers do on the way
/// ([`Prefault`]). Buffers under [`HUGE_ADVICE_BYTES`] are left alone.
///
/// Why: writing a fresh buffer is mostly page faults, one per 4 KiB. On this
/// crate's 2-core VM, in a loop of calls (where the blocks the call before
/// freed are still warm, see below), a cheap map of 10,000,000 items into a
/// new `Vec<u64>` took 52 ms sequentially with 4 KiB pages and 11 ms with
/// huge pages (its 80 MB: 19,532 faults against 625); two workers writing halves in
/// parallel still fault page by page. So where the kernel has transparent
/// huge pages on and the guest keeps its free huge blocks, the buffer gets
/// `MADV_HUGEPAGE` for its 2 MiB-aligned pages (glibc offers the same advice
/// for all its large blocks, `glibc.malloc.hugetlb=1`; this gives it only to
/// buffers the pool fills whole, so no memory is touched that would not be
/// anyway).
///
/// Elsewhere (THP off, or a guest that hands its free huge blocks back to
/// the hypervisor, [`free_huge_blocks_reported`], where fresh huge pages are
/// cold) its writers prefault it a block at a time ([`Prefault::ahead_of`]):
/// one `MADV_POPULATE_WRITE` call faults in [`PREFAULT_BLOCK`] of pages,
/// where writing them took a trap each. On this project's VM (a reporting
/// balloon) a cheap map of 10,000,000 items into a `Vec<u64>` with `par`
/// (`cargo bench -p corepool-bench --bench par -- par_map_cheap`, the
/// builds without and with it alternated twice) took 22.1 and 23.9 ms a
/// call without it and 20.1 and 20.4 with it, rayon's `collect` 24.2–24.7
/// and the loop 34.9–36.2; in a probe, blocks of 64 KiB to 4 MiB did
/// equally well.
///
/// Advice only: where THP is off, the process opted out
/// (`prctl(PR_SET_THP_DISABLE)`), the kernel has no huge page free, or the
/// kernel predates `MADV_POPULATE_WRITE` (Linux 5.14), a call fails or a
/// fault falls back to small pages, and nothing else changes; results are
/// ignored for that reason. A no-op off Linux and under Miri.
pub(crate) fn prepare_output(ptr: *mut u8, bytes: usize) -> Prefault {
    #[cfg(all(target_os = "linux", not(miri)))]
    if bytes >= HUGE_ADVICE_BYTES {
        static HUGE: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if *HUGE.get_or_init(|| huge_pages_on() && !free_huge_blocks_reported()) {
            madvise_huge(ptr, bytes);
        } else {
            return Prefault {
                end: (ptr as usize).saturating_add(bytes),
            };
        }
    }
    #[cfg(not(all(target_os = "linux", not(miri))))]
    let _ = (ptr, bytes, HUGE_ADVICE_BYTES);
    Prefault::NONE
}

/// How much of an output buffer one prefault call covers
/// ([`Prefault::ahead_of`]): 64 pages.
const PREFAULT_BLOCK: usize = 256 << 10;

/// What the writers of an output buffer do before they write a range of it
/// ([`prepare_output`]'s answer): nothing, or prefault it block by block.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Prefault {
    /// One past the buffer's last byte; 0 for nothing to do.
    end: usize,
}

impl Prefault {
    /// Nothing to do.
    pub(crate) const NONE: Prefault = Prefault { end: 0 };

    /// Before `lo..hi` of the buffer is written: prefaults each
    /// [`PREFAULT_BLOCK`]-aligned block of pages that starts inside
    /// `lo..hi` (up to the buffer's last whole page). The blocks partition
    /// the buffer, and the writers' ranges cover it, so each block is
    /// prefaulted once, by whoever writes its first byte, just before the
    /// rest of that range is written (a leaf of a few hundred items passes
    /// most blocks by); the bytes before the first block and after the last
    /// whole page fault as before. Whatever another thread writes to a page
    /// meanwhile stays: prefaulting maps a page that is not mapped yet and
    /// leaves a mapped one alone.
    #[inline]
    pub(crate) fn ahead_of(self, lo: *const u8, hi: *const u8) {
        if self.end != 0 {
            prefault_blocks(lo as usize, hi as usize, self.end);
        }
    }
}

/// Set once a prefault call fails with `EINVAL`: a kernel without
/// `MADV_POPULATE_WRITE` (before Linux 5.14); no more calls are made.
#[cfg(all(target_os = "linux", not(miri)))]
static PREFAULT_UNSUPPORTED: std::sync::atomic::AtomicBool =
    std::sync::atomic::AtomicBool::new(false);

/// Prefault calls made, for the tests that check the `par` paths make them.
#[cfg(test)]
static PREFAULT_CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// [`Prefault::ahead_of`]'s work: the blocks starting in `lo..hi`, of a
/// buffer ending at `end`.
#[cfg(all(target_os = "linux", not(miri)))]
#[inline(never)]
fn prefault_blocks(lo: usize, hi: usize, end: usize) {
    use std::sync::atomic::Ordering;
    // The buffer's last whole page, in the kernel's page size (a multiple
    // of which every block boundary is, up to 256 KiB pages).
    let last_page = end & !(page_size() - 1);
    // No block starts after `lo` below the top of the address space.
    let Some(mut block) = lo.checked_next_multiple_of(PREFAULT_BLOCK) else {
        return;
    };
    while block < hi && block < last_page {
        if PREFAULT_UNSUPPORTED.load(Ordering::Relaxed) {
            return;
        }
        let stop = block.saturating_add(PREFAULT_BLOCK).min(last_page);
        // SAFETY: `block..stop` is whole pages inside the buffer: `block`
        // is at or after `lo`, which is in it (with no wrap-around, above),
        // a multiple of the block size and so of the page size, and
        // `stop` is at or before its last whole page. The caller owns the
        // buffer (a fresh one its writers fill, `prepare_output`), so no
        // page of another allocation is touched. MADV_POPULATE_WRITE maps
        // the pages not mapped yet, as a write fault would, without writing
        // to them; a mapped page (written already, by any thread) is left
        // as it is. So no value is changed and nothing is unmapped.
        let rc = unsafe {
            libc::madvise(
                block as *mut libc::c_void,
                stop - block,
                libc::MADV_POPULATE_WRITE,
            )
        };
        #[cfg(test)]
        PREFAULT_CALLS.fetch_add(1, Ordering::Relaxed);
        if rc != 0 && std::io::Error::last_os_error().raw_os_error() == Some(libc::EINVAL) {
            // Relaxed: a hint; a racing thread makes at most one more call.
            PREFAULT_UNSUPPORTED.store(true, Ordering::Relaxed);
        }
        block = stop;
    }
}

#[cfg(not(all(target_os = "linux", not(miri))))]
fn prefault_blocks(_lo: usize, _hi: usize, _end: usize) {
    let _ = PREFAULT_BLOCK;
}

/// The kernel's page size (4 KiB if it cannot be read), read once.
#[cfg(all(target_os = "linux", not(miri)))]
fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: `sysconf` reads a configuration value; no pointers.
        let page = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        usize::try_from(page)
            .ok()
            .filter(|page| page.is_power_of_two())
            .unwrap_or(4096)
    })
}

/// Whether the kernel has transparent huge pages on for advised memory
/// (`/sys/kernel/mm/transparent_hugepage/enabled` says `always` or
/// `madvise`). Read once a process.
#[cfg(all(target_os = "linux", not(miri)))]
fn huge_pages_on() -> bool {
    let thp =
        std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled").unwrap_or_default();
    thp.contains("[always]") || thp.contains("[madvise]")
}

/// The advice itself, for the 2 MiB-aligned pages wholly inside
/// `ptr..ptr + bytes`.
#[cfg(all(target_os = "linux", not(miri)))]
fn madvise_huge(ptr: *mut u8, bytes: usize) {
    const HUGE: usize = 2 << 20;
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

/// Whether this Linux guest hands its free huge blocks back to the
/// hypervisor: a virtio balloon device (`device` 0x0005) that offers free
/// page reporting (feature bit 5, `VIRTIO_BALLOON_F_REPORTING`; sysfs shows
/// the negotiated features as a string of `0`/`1`, bit 0 first). Read once
/// a process. Other hypervisors' balloons are not recognised: there the
/// advice applies as on bare metal.
///
/// Why it matters: on such a guest (this project's VM: free page
/// reporting of order 9, 52 GB reported since boot) a free 2 MiB block goes
/// back to the host at the kernel's next reporting pass, and the next fault
/// on it pays the host's fault and zeroing as well: 50–140 ms for the 40
/// huge pages of a 10,000,000-item `collect`, most of it system time.
/// Small pages come first from the guest's small free fragments, which are
/// not reported and stay warm: rayon's `collect`, on small pages, took
/// 24–42 ms whatever came before. Huge pages paid only in a loop of such
/// outputs back to back, each reusing the blocks the one before had just
/// freed (7–12 ms a call against rayon's 24–37); anything between two
/// calls (100 ms and a rayon call: 3 of 8 slow, 40–73 ms) or a first call
/// met cold blocks. Tried and not kept (`bench/examples/huge_pages.rs`,
/// `par_sizes`'s 10 Mi `collect`, whose rounds put ~400 ms of the loop's
/// and rayon's calls between corepool's; corepool ÷ rayon):
///
/// | advice on this guest | calls 3 s apart | loop of 10 | `par_sizes` outside / inside |
/// |---|---:|---:|---:|
/// | always (before) | 2.2–3.7× | 0.3× | 2.08–2.20× / 0.35–0.38× |
/// | within 1 s of the previous output's start | 0.68–1.05× | 0.3× | 2.08× / 0.35× |
/// | within 10 ms of the previous output's end | 0.91–1.06× | 0.3× | 1.00–1.22× / 0.68–1.13× |
/// | never (this) | 0.67–1.28× | 0.90–1.02× | 0.87–0.94× / 0.84–0.93× |
///
/// (rayon's own calls 3 s apart swung from 25 to 42 ms.) The loop's first
/// advised call always met cold blocks, so a short run of outputs lost
/// more than it gained. Never advising here keeps every pattern at about
/// rayon's time, within this VM's noise, and gives up the 0.3× of long
/// back-to-back loops; elsewhere (bare metal, or a guest whose free memory
/// stays with it) the advice applies as before.
#[cfg(all(target_os = "linux", not(miri)))]
fn free_huge_blocks_reported() -> bool {
    let Ok(devices) = std::fs::read_dir("/sys/bus/virtio/devices") else {
        return false;
    };
    devices.flatten().any(|device| {
        let path = device.path();
        let read = |name: &str| std::fs::read_to_string(path.join(name)).unwrap_or_default();
        balloon_reports_free_pages(&read("device"), &read("features"))
    })
}

/// [`free_huge_blocks_reported`]'s test of one virtio device's sysfs
/// `device` and `features` files.
#[cfg(any(test, all(target_os = "linux", not(miri))))]
fn balloon_reports_free_pages(device: &str, features: &str) -> bool {
    const BALLOON: &str = "0x0005";
    const REPORTING: usize = 5;
    device.trim() == BALLOON && features.trim().as_bytes().get(REPORTING) == Some(&b'1')
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

    /// How many pages wholly inside `lo..hi` are resident (`mincore`), or
    /// `None` if the kernel will not say.
    #[cfg(all(target_os = "linux", not(miri)))]
    fn resident_pages(lo: usize, hi: usize) -> Option<usize> {
        let page = page_size();
        let (lo, hi) = (lo.next_multiple_of(page), hi & !(page - 1));
        if hi <= lo {
            return Some(0);
        }
        let mut flags = vec![0u8; (hi - lo) / page];
        // SAFETY: `lo..hi` is whole pages of a live buffer of the caller's,
        // and `flags` has one byte per page, as `mincore` writes.
        let rc = unsafe { libc::mincore(lo as *mut libc::c_void, hi - lo, flags.as_mut_ptr()) };
        (rc == 0).then(|| flags.iter().filter(|&&f| f & 1 != 0).count())
    }

    #[test]
    fn huge_page_advice_keeps_the_contents_and_reaches_the_kernel_unless_blocks_are_reported() {
        let n = (HUGE_ADVICE_BYTES / 8) * 3 / 2;
        // Two fresh buffers (mappings of their own): the first through the
        // policy, the second given the advice itself.
        let mut by_policy: Vec<u64> = (0..n as u64).collect();
        let advised: Vec<u64> = (0..n as u64).collect();
        let prefault = prepare_output(by_policy.as_mut_ptr().cast(), n * 8);
        #[cfg(all(target_os = "linux", not(miri)))]
        let advised = {
            let mut advised = advised;
            madvise_huge(advised.as_mut_ptr().cast(), n * 8);
            advised
        };
        for buf in [&by_policy, &advised] {
            assert!(buf.iter().enumerate().all(|(i, &x)| x == i as u64));
        }
        #[cfg(all(target_os = "linux", not(miri)))]
        {
            // The policy advises exactly where THP is on and free huge blocks
            // stay with the guest, and prefaults everywhere else.
            let advises = huge_pages_on() && !free_huge_blocks_reported();
            assert_eq!(prefault.end != 0, !advises);
            // Only where the kernel has THP on can the advice show.
            if huge_pages_on() {
                let huge = |buf: &Vec<u64>| {
                    let inside = (buf.as_ptr() as usize).next_multiple_of(2 << 20);
                    let flags = vm_flags(inside).expect("the buffer is mapped");
                    flags.contains(" hg")
                };
                assert!(huge(&advised));
                assert_eq!(huge(&by_policy), advises);
            }
        }
        // Small buffers are left alone (and a null-sized call is harmless).
        let mut small = vec![7u8; 4096];
        let small_prefault = prepare_output(small.as_mut_ptr(), small.len());
        assert_eq!(small_prefault.end, 0);
        let empty = prepare_output(std::ptr::NonNull::<u8>::dangling().as_ptr(), 0);
        assert_eq!(empty.end, 0);
        small_prefault.ahead_of(small.as_ptr(), small.as_ptr().wrapping_add(small.len()));
        assert!(small.iter().all(|&b| b == 7));
        let _ = prefault;
    }

    #[test]
    fn prefaulting_maps_the_blocks_ahead_and_keeps_what_was_written() {
        let n = (HUGE_ADVICE_BYTES / 8) * 3 / 2;
        // A fresh buffer (a mapping of its own, nothing mapped yet); its
        // first half written, as if by the leaves before.
        let mut buf: Vec<u64> = Vec::with_capacity(n);
        let base = buf.as_mut_ptr();
        for i in 0..n / 2 {
            // SAFETY: `i < n`, the buffer's capacity.
            unsafe { base.add(i).write(i as u64) };
        }
        let prefault = Prefault {
            end: base as usize + n * 8,
        };
        // A leaf over the middle half: it starts blocks up to 3/4 only.
        prefault.ahead_of(
            base.wrapping_add(n / 4).cast(),
            base.wrapping_add(3 * n / 4).cast(),
        );
        // SAFETY: the first `n / 2` elements were written above.
        unsafe { buf.set_len(n / 2) };
        assert!(buf.iter().enumerate().all(|(i, &x)| x == i as u64));
        #[cfg(all(target_os = "linux", not(miri)))]
        if !PREFAULT_UNSUPPORTED.load(std::sync::atomic::Ordering::Relaxed) {
            let at = |k: usize| base as usize + k * n * 8 / 4;
            let (third, last) = (resident_pages(at(2), at(3)), resident_pages(at(3), at(4)));
            if let (Some(third), Some(last)) = (third, last) {
                // The third quarter (12 MiB) is mapped now, and of the last
                // only what the block reaching past 3/4 covers.
                let page = page_size();
                let quarter = ((at(3) & !(page - 1)) - at(2).next_multiple_of(page)) / page;
                let block = PREFAULT_BLOCK / page;
                assert_eq!(third, quarter, "the third quarter's whole pages, mapped");
                assert!(last <= block, "{last} pages of the last quarter mapped");
            }
        }
    }

    /// Both ways a `par` call collects (in place, and pieces put together
    /// after a `filter`) prefault an output the policy does not advise.
    #[test]
    fn par_collects_of_large_outputs_prefault_them_where_there_is_no_advice() {
        let pool = crate::Pool::builder().workers(2).build().unwrap();
        let calls = || PREFAULT_CALLS.load(std::sync::atomic::Ordering::Relaxed);
        // 5,000,000 u64 (40 MB) in place; 4,500,000 (36 MB) by pieces.
        let before = calls();
        let in_place: Vec<u64> = pool.par(0..5_000_000u64).map(|x| x * 3).collect();
        let between = calls();
        let pieces: Vec<u64> = pool.par(0..6_000_000u64).filter(|x| x % 4 != 0).collect();
        let after = calls();
        assert!(in_place.iter().enumerate().all(|(i, &x)| x == i as u64 * 3));
        assert_eq!(pieces.len(), 4_500_000);
        #[cfg(all(target_os = "linux", not(miri)))]
        if (!huge_pages_on() || free_huge_blocks_reported())
            && !PREFAULT_UNSUPPORTED.load(std::sync::atomic::Ordering::Relaxed)
        {
            // At least one call per 256 KiB block, less the partial ends
            // (other tests may add calls of their own meanwhile).
            assert!(
                between - before >= 40_000_000 / PREFAULT_BLOCK - 2,
                "in place: {}",
                between - before
            );
            assert!(
                after - between >= 36_000_000 / PREFAULT_BLOCK - 2,
                "pieces: {}",
                after - between
            );
        }
        let _ = (before, between, after);
    }

    #[test]
    fn a_balloon_with_free_page_reporting_is_recognised_from_sysfs() {
        // This project's VM: the balloon's negotiated features, bit 0 first
        // (128 of them on this kernel, 64 on older ones).
        let balloon = "0x0005\n";
        let reporting = "01100101000000000000000000000000100000000000000000000000\
                         00000000000000000000000000000000000000000000000000000000\
                         0000000000000000\n";
        assert_eq!(reporting.trim().len(), 128);
        assert!(balloon_reports_free_pages(balloon, reporting));
        // The same balloon without bit 5, another device with it, and
        // files that could not be read.
        assert!(!balloon_reports_free_pages(
            balloon,
            "01100001000000000000\n"
        ));
        assert!(!balloon_reports_free_pages("0x0001\n", reporting));
        assert!(!balloon_reports_free_pages("", ""));
        assert!(!balloon_reports_free_pages(balloon, "0110"));
    }
}

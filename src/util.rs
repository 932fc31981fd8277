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
/// crate's 2-core VM, in a loop of calls (where the blocks the call before
/// freed are still warm, see below), a cheap map of 10,000,000 items into a
/// new `Vec<u64>` took 52 ms sequentially with 4 KiB pages and 11 ms with
/// huge pages (its 80 MB: 19,532 faults against 625); two workers writing halves in
/// parallel still fault page by page. glibc offers the same advice for all
/// its large blocks (`glibc.malloc.hugetlb=1`); this gives it only to
/// buffers the pool fills whole, so no memory is touched that would not be
/// anyway.
///
/// Not on a guest that hands its free huge blocks back to the hypervisor
/// ([`free_huge_blocks_reported`]): there the fresh huge pages are cold.
///
/// Advice only: where THP is off (`/sys/kernel/mm/transparent_hugepage/enabled`
/// is `never`), the process opted out (`prctl(PR_SET_THP_DISABLE)`), or the
/// kernel has no huge page free, the call fails or the fault falls back to
/// small pages, and nothing else changes; its result is ignored for that
/// reason. A no-op off Linux and under Miri.
pub(crate) fn advise_huge_pages(ptr: *mut u8, bytes: usize) {
    #[cfg(all(target_os = "linux", not(miri)))]
    {
        static REPORTED: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
        if bytes >= HUGE_ADVICE_BYTES && !*REPORTED.get_or_init(free_huge_blocks_reported) {
            madvise_huge(ptr, bytes);
        }
    }
    #[cfg(not(all(target_os = "linux", not(miri))))]
    let _ = (ptr, bytes, HUGE_ADVICE_BYTES);
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

    #[test]
    fn huge_page_advice_keeps_the_contents_and_reaches_the_kernel_unless_blocks_are_reported() {
        let n = (HUGE_ADVICE_BYTES / 8) * 3 / 2;
        // Two fresh buffers (mappings of their own): the first through the
        // policy, the second given the advice itself.
        let mut by_policy: Vec<u64> = (0..n as u64).collect();
        let advised: Vec<u64> = (0..n as u64).collect();
        advise_huge_pages(by_policy.as_mut_ptr().cast(), n * 8);
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
            let thp = std::fs::read_to_string("/sys/kernel/mm/transparent_hugepage/enabled")
                .unwrap_or_default();
            // Only where the kernel has THP on can the advice show.
            if thp.contains("[madvise]") || thp.contains("[always]") {
                let huge = |buf: &Vec<u64>| {
                    let inside = (buf.as_ptr() as usize).next_multiple_of(2 << 20);
                    let flags = vm_flags(inside).expect("the buffer is mapped");
                    flags.contains(" hg")
                };
                assert!(huge(&advised));
                // The policy advises exactly where free huge blocks stay
                // with the guest.
                assert_eq!(huge(&by_policy), !free_huge_blocks_reported());
            }
        }
        // Small buffers are left alone (and a null-sized call is harmless).
        let mut small = vec![7u8; 4096];
        advise_huge_pages(small.as_mut_ptr(), small.len());
        advise_huge_pages(std::ptr::NonNull::<u8>::dangling().as_ptr(), 0);
        assert!(small.iter().all(|&b| b == 7));
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

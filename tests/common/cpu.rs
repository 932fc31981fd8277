//! CPU time of the process and of the calling thread (Linux), for tests and
//! bench examples that measure how much CPU idle or waiting workers use.
//! Included by path where needed (it needs `libc`), not through `common`.

use std::time::Duration;

/// User plus system CPU of the whole process.
pub fn process_cpu() -> Duration {
    // SAFETY: `rusage` is plain data, for which all zeroes is a valid value;
    // `getrusage` writes one into the pointer it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is to a live, writable `rusage`.
    assert_eq!(unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) }, 0);
    let time = |tv: libc::timeval| Duration::new(tv.tv_sec as u64, tv.tv_usec as u32 * 1000);
    time(usage.ru_utime) + time(usage.ru_stime)
}

/// CPU of the calling thread.
pub fn thread_cpu() -> Duration {
    // SAFETY: `timespec` is plain data, for which all zeroes is valid.
    let mut ts: libc::timespec = unsafe { std::mem::zeroed() };
    // SAFETY: the pointer is to a live, writable `timespec`.
    assert_eq!(
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) },
        0
    );
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

//! One door for every synchronisation primitive the crate uses, so that
//! `--cfg loom` can swap in loom's model-checked versions.
//!
//! Outside loom: `std` atomics and `parking_lot`'s `Mutex` and `Condvar`.
//! Under loom: loom's atomics, mutex and condvar behind the same small API
//! (`lock()` returns the guard; `Condvar::wait` takes `&mut guard`).

// Layer: base (`lib.rs`, "Layers"). It may use std and the dependencies; of
// the crate, only the other base files.

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence,
};

#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU64, AtomicUsize, Ordering, fence,
};

#[cfg(not(loom))]
pub(crate) use parking_lot::{Condvar, Mutex};

#[cfg(not(loom))]
pub(crate) use std::thread::{Thread, current as current_thread, park, park_timeout, yield_now};

#[cfg(loom)]
pub(crate) use loom::thread::{Thread, current as current_thread, park, yield_now};

/// How late the kernel may end a worker's timed wait: the poll of a worker
/// blocked in a join's wait (`worker.rs`, `HELP_POLL_MIN`) is how long a
/// fork beside it waits for it at worst (`sleep.rs`, step 8).
///
/// Linux lets a timed wait of an ordinary thread end up to 50 µs late (its
/// default timer slack), so that wake-ups can be merged. Measured on this
/// project's VM, 400 `park_timeout`s of 50 µs each: 115/117/121 µs at
/// p10/p50/p90 with the default slack, 66/67/69 µs with 1 µs (the rest is the
/// wake-up itself). A worker's timed waits are few (a blocked helper's polls,
/// 50 µs doubling to 5 ms, and one chore timer per idle spell), so merging
/// them saves nothing worth the delay.
pub(crate) const WORKER_TIMER_SLACK_NS: u64 = 1_000;

/// Sets the calling thread's timer slack to [`WORKER_TIMER_SLACK_NS`]; a
/// worker calls it once when it starts, before `on_worker_start` (which may
/// set another). Off Linux, and where the kernel refuses, nothing changes:
/// the slack only moves timed waits by microseconds.
pub(crate) fn tighten_timer_slack() {
    // Not under Miri, which has no such call.
    #[cfg(all(target_os = "linux", not(miri)))]
    {
        // SAFETY: PR_SET_TIMERSLACK takes one integer argument and touches
        // only the calling thread's scheduling attributes; the remaining
        // arguments are ignored and passed as zero.
        let _ = unsafe {
            libc::prctl(
                libc::PR_SET_TIMERSLACK,
                WORKER_TIMER_SLACK_NS as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
                0 as libc::c_ulong,
            )
        };
    }
    #[cfg(not(all(target_os = "linux", not(miri))))]
    let _ = WORKER_TIMER_SLACK_NS;
}

/// loom has no clock: a timed park is modelled as an untimed one.
#[cfg(loom)]
pub(crate) fn park_timeout(_timeout: std::time::Duration) {
    loom::thread::park();
}

#[cfg(loom)]
pub(crate) use self::loom_shim::{Condvar, Mutex};

#[cfg(loom)]
mod loom_shim {
    //! loom's `Mutex`/`Condvar` behind parking_lot's calling convention.

    use std::ops::{Deref, DerefMut};
    use std::time::Duration;

    #[derive(Debug, Default)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    #[derive(Debug)]
    pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

    impl<T> Mutex<T> {
        pub(crate) fn new(value: T) -> Self {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub(crate) fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().unwrap()))
        }
    }

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0.as_ref().unwrap()
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0.as_mut().unwrap()
        }
    }

    #[derive(Debug, Default)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    /// Stands in for `parking_lot::WaitTimeoutResult`; loom never times out.
    #[derive(Debug)]
    pub(crate) struct WaitTimeoutResult;

    impl Condvar {
        pub(crate) fn new() -> Self {
            Condvar(loom::sync::Condvar::new())
        }

        pub(crate) fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let inner = guard.0.take().unwrap();
            guard.0 = Some(self.0.wait(inner).unwrap());
        }

        /// loom has no clock: a timed wait is modelled as an untimed one.
        pub(crate) fn wait_for<T>(
            &self,
            guard: &mut MutexGuard<'_, T>,
            _timeout: Duration,
        ) -> WaitTimeoutResult {
            self.wait(guard);
            WaitTimeoutResult
        }

        pub(crate) fn notify_one(&self) -> bool {
            self.0.notify_one();
            true
        }

        pub(crate) fn notify_all(&self) -> usize {
            self.0.notify_all();
            0
        }
    }
}

/// Parks this thread until `is_done()` holds or `deadline` passes (the waits
/// of `wait.rs`, and a blocked helper's in `sleep.rs`); the event
/// awaited must `unpark` this thread after it makes `is_done` true. Returns
/// `is_done()`.
pub(crate) fn park_until(is_done: impl Fn() -> bool, deadline: Option<std::time::Instant>) -> bool {
    loop {
        if is_done() {
            return true;
        }
        match deadline {
            None => park(),
            Some(deadline) => {
                let now = std::time::Instant::now();
                if now >= deadline {
                    return is_done();
                }
                park_timeout(deadline - now);
            }
        }
    }
}

/// An asymmetric pair of fences for one store-then-load race that a
/// worker's hot path runs millions of times a second and a rare path runs
/// seldom (a fork-join frame's link and unlink against a rescue,
/// `job.rs`, "Rescue"): the hot side calls [`light_barrier`] between its
/// store and its load, the rare side [`heavy_barrier`] between its own.
/// Together they act as two `SeqCst` fences: of the two loads, at least
/// one sees the other side's store.
///
/// On Linux, where the kernel offers `membarrier`'s private expedited
/// command, the heavy side is that system call (it makes every running
/// thread of the process execute a full barrier, by interrupt: 0.12–0.8 µs
/// a call on this project's 2-CPU VM, more while other threads run) and
/// the light side only keeps the compiler from reordering. Elsewhere, or
/// where the kernel refuses (an old kernel, a seccomp filter), both sides
/// are `SeqCst` fences. [`init_barriers`] decides once, before any worker
/// starts; loom models both sides as fences.
///
/// Why the pair is sound: the system call returns only after every CPU
/// running one of this process's threads has taken an interrupt, which
/// drains its store buffer and orders its instructions. A light side whose
/// load ran before that interrupt had its store drained by it, so the heavy
/// side's load (after the call) sees the store; a light side whose load ran
/// after it sees the heavy side's store, made before the call. A thread not
/// running is not interrupted; its last switch away was a full barrier.
#[inline(always)]
pub(crate) fn light_barrier(fence_needed: bool) {
    #[cfg(loom)]
    {
        let _ = fence_needed;
        fence(Ordering::SeqCst);
    }
    #[cfg(not(loom))]
    if fence_needed {
        fence(Ordering::SeqCst);
    } else {
        std::sync::atomic::compiler_fence(Ordering::SeqCst);
    }
}

/// What a worker passes to [`light_barrier`]: whether it must be a real
/// fence, because [`heavy_barrier`] is one too. A worker reads it once when
/// it starts (a field is cheaper than a static on its hottest path).
pub(crate) fn light_barrier_needs_fence() -> bool {
    #[cfg(loom)]
    return true;
    // Relaxed: the flag is set once by `init_barriers` before any worker
    // exists; thread spawns order it before every read here.
    #[cfg(not(loom))]
    !MEMBARRIER.load(Ordering::Relaxed)
}

/// The rare side of [`light_barrier`]: see there.
pub(crate) fn heavy_barrier() {
    #[cfg(all(target_os = "linux", not(miri), not(loom)))]
    if MEMBARRIER.load(Ordering::Relaxed) {
        // SAFETY: `membarrier` takes a command, flags and a CPU id, all
        // plain integers; it touches no memory of this process.
        let done = unsafe {
            libc::syscall(
                libc::SYS_membarrier,
                MEMBARRIER_CMD_PRIVATE_EXPEDITED,
                0 as libc::c_uint,
                0 as libc::c_int,
            )
        };
        if done == 0 {
            return;
        }
        // The process registered (`init_barriers`), so the command cannot
        // fail; if a kernel ever refused it, nothing here may be weaker
        // than a fence, and the light side no longer knows: abort.
        std::process::abort();
    }
    fence(Ordering::SeqCst);
}

#[cfg(not(loom))]
static MEMBARRIER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

#[cfg(all(target_os = "linux", not(miri), not(loom)))]
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: libc::c_int = 1 << 3;
#[cfg(all(target_os = "linux", not(miri), not(loom)))]
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: libc::c_int = 1 << 4;

/// Chooses how [`light_barrier`] and [`heavy_barrier`] work, once per
/// process; called by every pool before its workers start (later calls do
/// nothing). Registering for `membarrier`'s expedited command is what the
/// kernel requires before the first use.
pub(crate) fn init_barriers() {
    #[cfg(all(target_os = "linux", not(miri), not(loom)))]
    {
        static ONCE: std::sync::Once = std::sync::Once::new();
        ONCE.call_once(|| {
            // SAFETY: as in `heavy_barrier`: integers only.
            let registered = unsafe {
                libc::syscall(
                    libc::SYS_membarrier,
                    MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED,
                    0 as libc::c_uint,
                    0 as libc::c_int,
                )
            };
            // Relaxed: workers are spawned after this, which orders it
            // before their reads.
            MEMBARRIER.store(registered == 0, Ordering::Relaxed);
        });
    }
}

//! A pool of worker processes: tasks that may crash, hang or leak run
//! isolated, and can be killed. Unix only; behind the cargo feature
//! `process`.
//!
//! ```
//! use corepool::process::{self, ProcessPool};
//!
//! fn checked_sqrt(x: i64) -> i64 {
//!     if x < 0 {
//!         std::process::abort(); // a crash takes only its own worker down
//!     }
//!     (x as f64).sqrt() as i64
//! }
//!
//! fn main() {
//!     process::init(); // first line of main: in a worker, serves tasks and exits
//!     let pool = ProcessPool::builder().workers(2).build().unwrap();
//!     assert_eq!(pool.submit(checked_sqrt, 81).join().unwrap(), 9);
//!     let err = pool.submit(checked_sqrt, -1).join().unwrap_err();
//!     assert_eq!(err.signal(), Some(libc::SIGABRT));
//!     assert_eq!(pool.submit(checked_sqrt, 16).join().unwrap(), 4); // a new worker
//! }
//! ```
//!
//! # When to use it
//!
//! The thread pool ([`Pool`](crate::Pool)) is faster in every other way: a
//! task there costs well under a microsecond, closures borrow data, nothing
//! is copied. Pick the process pool when a task may take the program down
//! or never give its thread back: code that segfaults or aborts (a C
//! library, `unsafe`), that leaks, that may hang (a timeout kills it), or
//! that needs a memory limit. A round trip here costs tens of microseconds
//! and the argument and result are copied through a socket, so make tasks
//! coarse (milliseconds of work, not nanoseconds). [`ProcessPool::map`]
//! and [`ProcessPool::map_unordered`] do that for you: they send items in
//! batches that grow toward [`TARGET_BATCH_TIME`] of work per round trip
//! (or [`ProcessMap::chunk_size`] items), so a map of tiny items is cheap;
//! [`ProcessMap`] says what a crash costs a batch.
//!
//! # How it works
//!
//! 1. **Workers are this executable, started afresh.** A pool starts each
//!    worker by `execve` of the file this process runs, with its
//!    arguments and a marker variable, [`ENV_WORKER`], never by a bare
//!    `fork` of a multi-threaded process (which copies only one thread and
//!    leaves other threads' locks held). `main` calls [`init`] first: in
//!    the parent it returns at once; in a worker it serves tasks and exits.
//!    On Linux the file is `/proc/self/exe`, the parent's own, even if its
//!    path was replaced on disk. Elsewhere it is the path `current_exe()`
//!    names, which a rebuild may have replaced while the parent runs: so
//!    [`init`] notes the executable's identity (device, inode, size,
//!    modification time) in the parent, the hello carries it, and a worker
//!    whose executable differs refuses to serve (the pool's error says so).
//! 2. **A task is a named function and its argument.** `submit(f, arg)`
//!    takes `f: fn(A) -> R` — a `fn` item or a closure that captures
//!    nothing — and sends the function's address as an offset from an
//!    anchor function of the executable, with a trampoline monomorphised
//!    for `A` and `R`; `src/process/call.rs` gives the safety argument (the
//!    same file, same layout; a handshake fingerprint; only offsets of real
//!    `fn(A) -> R` values are ever sent). The argument and result travel
//!    with serde in postcard's compact binary format; one that cannot be
//!    encoded or decoded is an error naming the task, never a panic. One
//!    whose frame would pass the pool's frame limit
//!    ([`ProcessPoolBuilder::max_frame_bytes`], 1 GiB by default) fails its
//!    task with [`ErrorKind::ArgumentTooLarge`] or
//!    [`ErrorKind::ResultTooLarge`]; nothing over the limit is ever sent.
//! 3. **One socket per worker.** Each worker gets one end of a Unix socket
//!    pair (a bidirectional pipe) on a descriptor named by the marker; the
//!    frames are listed in `src/process/wire.rs`. The worker's standard
//!    output and error are the parent's; its standard input is empty.
//! 4. **One supervisor thread per worker** in the parent sends a task,
//!    sleeps in `poll(2)` until the reply, the worker's death or the task's
//!    deadline, and replaces a worker that died, was killed, timed out or
//!    has run its `tasks_per_child`. Nothing spins; an idle pool is
//!    sleeping threads and sleeping processes. The protocol, with its
//!    races, is written at the top of `src/process/pool.rs`; a task's life
//!    at the top of `src/process/task.rs`.
//! 5. **Isolation.** A worker that dies of a signal or exits ends its task
//!    with [`ErrorKind::Signal`] or [`ErrorKind::Exit`]; a panic in a task
//!    is caught in the worker ([`ErrorKind::Panic`], the worker lives on;
//!    with `panic = "abort"` it is a `SIGABRT` crash instead). So is a
//!    panic in the argument's `Deserialize` or the result's `Serialize` or
//!    `Drop` in the worker, and in the result's `Deserialize` or `Drop` in
//!    the parent: the task ends as a panic, the pool carries on. On Linux a
//!    worker is killed if its parent dies (`PR_SET_PDEATHSIG`), and each is
//!    pinned to one physical core unless `Pinning::None` is asked.
//!
//! # In tests
//!
//! A worker re-executes the test binary, so the binary needs a `main` that
//! calls [`init`] first: declare the test with `harness = false` in
//! `Cargo.toml` and write a small `main` that runs the test functions (this
//! crate's `tests/process.rs` does). Under libtest's own `main`, a worker
//! would run the tests again instead of serving, and building the pool
//! fails with [`ProcessBuildError::InitNotCalled`] in the worker.
//!
//! A crash is blamed on the task the worker was running. A worker that dies
//! while idle is noticed when the next task is sent to it; that task is
//! sent to a fresh worker instead.
//!
//! # Reaping
//!
//! The pool reaps its own workers: it reads each one's exit status to say
//! how it ended, and kills a worker only while its process id cannot have
//! been reused. So `SIGCHLD` must keep a disposition that lets children
//! become zombies — not `SIG_IGN`, no `SA_NOCLDWAIT` (daemons often set
//! these) — and nothing else in the program may wait for *any* child
//! (`wait()`, `waitpid(-1, ..)`). While `SIGCHLD` is ignored no worker is
//! started: building a pool fails with [`ProcessBuildError::Worker`], and
//! a task that needs a new worker with [`ErrorKind::Spawn`], each saying
//! so. If a worker's status is taken anyway (`SIGCHLD` ignored after it
//! started, or a `waitpid(-1)` elsewhere), its task ends with
//! [`ErrorKind::StatusTaken`]; until the pool notices, a `cancel` or a
//! timeout could signal a process that reused the worker's id.

// Layer: above the face (`lib.rs`, "Layers"), every file of `process/`. It uses
// the public API (`Pool`, `topology`, the root re-exports), the face's
// files and the base layer (`unwind`, `error`), nothing of the core's inside.

mod call;
mod child;
mod error;
mod map;
mod pool;
mod spawn;
mod task;
mod wire;

use std::sync::atomic::{AtomicBool, Ordering};

pub use error::{ErrorKind, ProcessBuildError, ProcessError};
pub use map::{
    MAX_BATCH, ProcessAsCompleted, ProcessCompleted, ProcessMap, ProcessMapUnordered,
    TARGET_BATCH_TIME, as_completed, wait,
};
pub use pool::{
    DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_FRAME_BYTES, MAX_PROCESS_WORKERS, ProcessPool,
    ProcessPoolBuilder,
};
pub use task::ProcessTask;

/// The marker variable a pool sets for its worker processes:
/// `<descriptor>:<parent pid>`.
///
/// ```
/// assert_eq!(corepool::process::ENV_WORKER, "COREPOOL_PROCESS_WORKER");
/// ```
pub const ENV_WORKER: &str = "COREPOOL_PROCESS_WORKER";

/// Set in a worker process once [`init`] has taken over: a worker that
/// builds a pool of its own (inside a task) is then fine, and a second
/// [`init`] (from a task) returns at once instead of serving again.
static SERVING: AtomicBool = AtomicBool::new(false);

/// The marker of this process, if it is a worker started by its parent:
/// `(descriptor, parent pid)`. A marker inherited by some other program (a
/// task that starts a process) names a parent that is not ours and is
/// ignored.
fn marker() -> Option<(i32, u32)> {
    let value = std::env::var(ENV_WORKER).ok()?;
    let (fd, parent) = value.split_once(':')?;
    let (fd, parent): (i32, u32) = (fd.parse().ok()?, parent.parse().ok()?);
    // SAFETY: getppid has no preconditions.
    let ours = unsafe { libc::getppid() } as u32;
    (fd > 2 && parent == ours).then_some((fd, parent))
}

/// Makes this program usable as a process-pool worker: call it first in
/// `main`. In the parent (no marker) it returns at once and costs one
/// environment look-up (off Linux, also one `stat` of the executable, which
/// its workers later compare with their own: "How it works", point 1, in
/// the [module docs](crate::process)). In a worker started by a
/// [`ProcessPool`] it never returns: it serves tasks until the pool closes
/// its socket, then exits the process. Called again in a worker that is
/// serving already (a task, or a library a task calls, that calls `init`
/// to be safe), it returns at once.
///
/// ```
/// fn increment(x: u32) -> u32 {
///     x + 1
/// }
///
/// fn main() {
///     corepool::process::init(); // first: a worker never gets past this line
///     let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
///     assert_eq!(pool.submit(increment, 1).join().unwrap(), 2);
/// }
/// ```
pub fn init() {
    let Some((fd, parent)) = marker() else {
        // The parent: off Linux, note which file it runs while it is surely
        // the one on disk, for its workers to compare theirs with.
        spawn::remember_executable();
        return;
    };
    // `serve` runs at most once per process: it owns the socket's
    // descriptor from here on. A second call (from a task this worker runs,
    // or a thread one started) finds the flag set and returns. Relaxed: the
    // swap alone decides who serves; `init_was_skipped` reads the flag from
    // a task this thread runs.
    if SERVING.swap(true, Ordering::Relaxed) {
        return;
    }
    child::serve(fd, parent);
}

/// Whether this process is a worker whose `main` built a pool without
/// calling [`init`] first (which would start workers without end).
pub(crate) fn init_was_skipped() -> bool {
    // Relaxed: see `init`.
    marker().is_some() && !SERVING.load(Ordering::Relaxed)
}

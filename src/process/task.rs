//! One submitted task of a process pool: its slot (state, result, the
//! watchers to tell when it ends) and the [`ProcessTask`] handle.
//!
//! # A task's life
//!
//! 1. `Queued`: in the pool's queue. `cancel` ends it at once (Cancelled).
//! 2. `Running(worker)`: a supervisor took it and sent it to `worker`'s
//!    process. `cancel` ends it at once (Cancelled), then kills that process
//!    if it is still running this task (see [`WorkerCtl::kill_if_running`]).
//! 3. `Done`: a result or an error is stored; the condvar and every watcher
//!    are told, once.
//!
//! Whoever moves a task to `Done` first wins, under the slot's lock; every
//! later attempt (a supervisor's reply after a cancel, a crash report after a
//! timeout) is ignored. So each task ends exactly once, and its handle says
//! how.

use std::collections::VecDeque;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde::de::DeserializeOwned;

use super::call::{FnRef, Status, panic_text};
use super::error::{ErrorKind, ProcessError, Signature};
use crate::unwind::{drop_contained, drop_payload, halt_unwinding};

/// A queue of indices of finished tasks, for `as_completed`, `wait` and
/// `map_unordered`: a finished task pushes its index, a waiter sleeps on the
/// condvar.
#[derive(Debug, Default)]
pub(crate) struct ReadyQueue {
    ready: Mutex<VecDeque<usize>>,
    cond: Condvar,
}

impl ReadyQueue {
    pub(crate) fn push(&self, index: usize) {
        lock(&self.ready).push_back(index);
        self.cond.notify_all();
    }

    /// The next index, waiting until `deadline` (forever with `None`).
    pub(crate) fn pop(&self, deadline: Option<Instant>) -> Option<usize> {
        let mut ready = lock(&self.ready);
        loop {
            if let Some(index) = ready.pop_front() {
                return Some(index);
            }
            ready = match deadline {
                None => self.cond.wait(ready).unwrap_or_else(|e| e.into_inner()),
                Some(deadline) => {
                    let left = deadline.checked_duration_since(Instant::now())?;
                    self.cond
                        .wait_timeout(ready, left)
                        .unwrap_or_else(|e| e.into_inner())
                        .0
                }
            };
        }
    }
}

/// Locks `m`, ignoring poisoning: no code panics while holding these locks,
/// and the data stays consistent at every unlock.
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The parent's view of one worker slot, shared by its supervisor and by
/// `cancel`: which process is alive and which task it runs.
#[derive(Debug, Default)]
pub(crate) struct WorkerCtl {
    state: Mutex<WorkerState>,
}

#[derive(Debug, Default)]
struct WorkerState {
    /// The process id while the process is alive and not yet reaped (only
    /// the supervisor reaps, and it clears this first, under the lock, so a
    /// pid here is never one the system could have given to another process,
    /// unless the program reaps children itself: `mod.rs`, "Reaping").
    pid: Option<u32>,
    /// The id of the task the process is running.
    running: Option<u64>,
    /// Someone other than the supervisor killed the process.
    killed: bool,
}

impl WorkerCtl {
    pub(crate) fn set_pid(&self, pid: Option<u32>) {
        let mut state = lock(&self.state);
        state.pid = pid;
        state.killed = false;
    }

    pub(crate) fn set_running(&self, task: Option<u64>) {
        lock(&self.state).running = task;
    }

    /// Clears the running task; true if the process was killed meanwhile
    /// (it must then be replaced before the next task).
    pub(crate) fn finish_running(&self) -> bool {
        let mut state = lock(&self.state);
        state.running = None;
        state.killed
    }

    /// Forgets the process before it is reaped.
    pub(crate) fn forget_pid(&self) {
        let mut state = lock(&self.state);
        state.pid = None;
        state.running = None;
    }

    /// Kills the process if it is still running task `id`.
    pub(crate) fn kill_if_running(&self, id: u64) {
        let mut state = lock(&self.state);
        if let (Some(pid), Some(running)) = (state.pid, state.running) {
            if running == id {
                // SAFETY: `kill` takes plain numbers. `pid` is our child, not
                // yet reaped by its supervisor (see `WorkerState::pid`), so it
                // names no other process, as long as nothing else reaps it:
                // no worker starts while `SIGCHLD` is ignored, and the module
                // docs ("Reaping") state what the program must not do.
                unsafe { libc::kill(pid as libc::pid_t, libc::SIGKILL) };
                state.killed = true;
            }
        }
    }

    /// The live process's id.
    pub(crate) fn pid(&self) -> Option<u32> {
        lock(&self.state).pid
    }
}

/// A task as the pool's queue and supervisors see it, with its result type
/// erased.
pub(crate) trait Job: Send + Sync {
    fn id(&self) -> u64;
    fn function(&self) -> FnRef;
    /// The encoded argument (empty once the task has ended).
    fn with_arg(&self, send: &mut dyn FnMut(&[u8]));
    fn timeout(&self) -> Option<Duration>;
    /// Queued → Running on `worker`; false if the task has already ended.
    fn start(&self, worker: &Arc<WorkerCtl>) -> bool;
    /// Running → running again on `worker`'s new process, after its first
    /// process died before the task reached it: marks the worker as running
    /// this task again, under the slot's lock as [`start`](Job::start)
    /// does; false if the task has ended (a `cancel` won meanwhile), and
    /// then nothing must be sent.
    fn resume(&self, worker: &Arc<WorkerCtl>) -> bool;
    /// Ends the task with what its worker answered (`limit`: the frame
    /// limit, for a [`Status::TooLarge`]). The result's `Deserialize` is
    /// user code: a panic there ends the task as a panic, here.
    fn reply(&self, status: Status, payload: &[u8], limit: usize);
    /// Ends the task with an error (ignored if it has already ended).
    fn fail(&self, kind: ErrorKind);
    /// Cancels the task if it is queued; true if it was.
    fn cancel_queued(&self) -> bool;
    /// Whether the task has ended.
    fn is_done(&self) -> bool;
    /// Cancels the task if it has not ended, killing its process if it runs.
    fn cancel(&self) -> bool;
}

enum Phase<R> {
    Queued,
    Running(Arc<WorkerCtl>),
    /// The result is boxed, so that no path that ends a task (a cancel on
    /// the user's thread, a failure on a supervisor) moves a value the
    /// size of `R` through its stack: `R` may be megabytes.
    Done(Option<Result<Box<R>, ProcessError>>),
}

struct SlotState<R> {
    phase: Phase<R>,
    arg: Vec<u8>,
    watchers: Vec<(Arc<ReadyQueue>, usize)>,
}

/// The shared part of a task: see the module docs.
pub(crate) struct Slot<R> {
    id: u64,
    signature: Signature,
    function: FnRef,
    timeout: Option<Duration>,
    /// What its reply holds, for sizing the decode.
    reply: Reply,
    state: Mutex<SlotState<R>>,
    done: Condvar,
}

impl<R> Slot<R> {
    pub(crate) fn new(
        id: u64,
        signature: Signature,
        function: FnRef,
        arg: Vec<u8>,
        timeout: Option<Duration>,
        reply: Reply,
    ) -> Slot<R> {
        Slot {
            id,
            signature,
            function,
            timeout,
            reply,
            state: Mutex::new(SlotState {
                phase: Phase::Queued,
                arg,
                watchers: Vec::new(),
            }),
            done: Condvar::new(),
        }
    }

    /// A slot that has already ended with `kind`.
    pub(crate) fn failed(id: u64, signature: Signature, kind: ErrorKind) -> Slot<R> {
        let slot = Slot::new(
            id,
            signature,
            FnRef {
                function: 0,
                trampoline: 0,
            },
            Vec::new(),
            None,
            Reply::Value,
        );
        slot.complete(Err(kind));
        slot
    }

    fn error(&self, kind: ErrorKind) -> ProcessError {
        ProcessError::new(self.id, self.signature, kind)
    }

    /// Cancels the task if it is still queued; true if it was.
    fn cancel_queued(&self) -> bool {
        self.complete_if(Err(ErrorKind::Cancelled), |phase| {
            matches!(phase, Phase::Queued)
        })
    }

    /// Moves the task to Done unless it is there already; true if this call
    /// did. The lock is released before the watchers are told.
    fn complete(&self, result: Result<Box<R>, ErrorKind>) -> bool {
        self.complete_if(result, |_| true)
    }

    /// As [`Slot::complete`], only if `allowed` says yes to the phase, checked
    /// under the same lock.
    fn complete_if(
        &self,
        result: Result<Box<R>, ErrorKind>,
        allowed: fn(&Phase<R>) -> bool,
    ) -> bool {
        let watchers = {
            let mut state = lock(&self.state);
            if matches!(state.phase, Phase::Done(_)) || !allowed(&state.phase) {
                drop(state);
                // A result that lost the race (the task was cancelled while
                // its reply was on the way) is dropped here, on a supervisor
                // thread: its `Drop` is user code.
                drop_contained(result);
                return false;
            }
            state.phase = Phase::Done(Some(result.map_err(|kind| self.error(kind))));
            state.arg = Vec::new();
            std::mem::take(&mut state.watchers)
        };
        self.done.notify_all();
        for (queue, index) in watchers {
            queue.push(index);
        }
        true
    }
}

/// What a worker's reply of `status` with `payload` means for a task whose
/// result is an `R` (`limit`: the frame limit, for a [`Status::TooLarge`]).
/// The result's `Deserialize` is user code: a panic there is an
/// [`ErrorKind::Panic`], here. A big `R` is decoded on a thread of its own
/// ([`on_stack_for`]).
pub(crate) fn decode_reply<R: DeserializeOwned + Send>(
    status: Status,
    payload: &[u8],
    encoded: usize,
    limit: usize,
) -> Result<Box<R>, ErrorKind> {
    match reply_error(status, payload, limit) {
        Some(error) => Err(error),
        None => on_stack_for::<R, _>(encoded, || decode_value(payload)).unwrap_or_else(Err),
    }
}

/// What a task's reply holds, for sizing its decode (`on_stack_for`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    /// One value: sized from the reply's length.
    Value,
    /// A map's batch: each item is sized by itself, inside.
    Batch,
}

impl Reply {
    /// The encoded length `on_stack_for` sizes a reply of `len` bytes by.
    fn sizing(self, len: usize) -> usize {
        match self {
            Reply::Value => len,
            Reply::Batch => 0,
        }
    }
}

/// The error a reply of `status` with `payload` stands for; `None` for an
/// `Ok` reply, whose payload is the value (`limit`: the frame limit, for a
/// [`Status::TooLarge`]).
pub(crate) fn reply_error(status: Status, payload: &[u8], limit: usize) -> Option<ErrorKind> {
    let text = || String::from_utf8_lossy(payload).into_owned();
    Some(match status {
        Status::Ok => return None,
        Status::TooLarge => ErrorKind::ResultTooLarge {
            bytes: payload
                .first_chunk::<8>()
                .map_or(0, |b| u64::from_le_bytes(*b)),
            limit: limit as u64,
        },
        Status::Panic => ErrorKind::Panic(text()),
        Status::BadArgument => ErrorKind::DecodeArgument(text()),
        Status::BadResult => ErrorKind::EncodeResult(text()),
    })
}

/// The value of an `Ok` reply, decoded on this thread (boxed, for the
/// slot), its `Deserialize`'s panic contained.
pub(crate) fn decode_value<R: DeserializeOwned>(payload: &[u8]) -> Result<Box<R>, ErrorKind> {
    match halt_unwinding(|| postcard::from_bytes::<Box<R>>(payload)) {
        Ok(decoded) => decoded.map_err(|e| ErrorKind::DecodeResult(e.to_string())),
        Err(panic) => {
            let text = panic_text(panic.as_ref());
            drop_payload(panic);
            Err(ErrorKind::Panic(format!(
                "decoding the result panicked: {text}"
            )))
        }
    }
}

/// A decode whose value may take up to this many bytes of stack runs on
/// the supervisor's own (at least 16 MiB: `pool::supervisor_stack`); a
/// bigger one on a thread of its own.
const INLINE_DECODE: usize = 256 << 10;

/// The largest stack a decode thread asks for.
const MAX_DECODE_STACK: usize = 1 << 30;

/// How many bytes a decoded value may take for each byte of its encoding,
/// as this file sizes stacks: a `u64` encodes in one byte at least. (A value
/// whose elements are larger still in memory than in their encoding, such
/// as long arrays of `None`s of big options, can need more than the stack
/// sized this way: the README and the module docs say so.)
const DECODED_PER_ENCODED_BYTE: usize = 8;

/// Stack bytes a decode thread gets per byte of the value it may build, on
/// top of a supervisor's stack: serde builds a value on the stack (also one
/// that goes into a `Box` or a `Vec`), and an unoptimised build moves it
/// through several frames (a 2 MiB array overflowed 16 MiB in a debug build;
/// a second reader's probe).
const STACK_PER_VALUE_BYTE: usize = if cfg!(debug_assertions) { 16 } else { 4 };

/// Runs `f`, a decode of `encoded` bytes into values of `T`: on this thread
/// when that is small, else on a scoped thread with a stack sized for it
/// (the larger of `size_of::<T>()` and `DECODED_PER_ENCODED_BYTE` times
/// `encoded`, times `STACK_PER_VALUE_BYTE`, on top of a supervisor's
/// stack): a supervisor's fixed stack is no bound on the results a user may
/// return, boxed or not. The stack is address space: only the pages used
/// are committed. `Err` (a typed decode error) when no such thread can
/// start.
pub(crate) fn on_stack_for<T, O: Send>(
    encoded: usize,
    f: impl FnOnce() -> O + Send,
) -> Result<O, ErrorKind> {
    let size = std::mem::size_of::<T>().max(encoded.saturating_mul(DECODED_PER_ENCODED_BYTE));
    if size <= INLINE_DECODE {
        return Ok(f());
    }
    // Capped: the kernel refuses a single mapping larger than memory under
    // its default overcommit heuristic, and a reply of hundreds of MiB of
    // bytes (a `Vec<u8>`) needs little stack (helper-76 saw 200 MiB of
    // bytes fail to decode in a debug build without the cap).
    let stack = size
        .saturating_mul(STACK_PER_VALUE_BYTE)
        .saturating_add(super::pool::supervisor_stack())
        .min(MAX_DECODE_STACK);
    // The decode thread stands in for its supervisor: a close started on
    // it returns without waiting for that supervisor, which waits for it.
    let on_pool_thread = super::pool::on_pool_thread();
    std::thread::scope(|scope| {
        match std::thread::Builder::new()
            .name("corepool-decode".into())
            .stack_size(stack)
            .spawn_scoped(scope, move || {
                super::pool::set_on_pool_thread(on_pool_thread);
                f()
            }) {
            // `f` contains the user's panics itself (`decode_value`, the
            // batch parse): a panic here is the pool's own bug, re-raised.
            Ok(thread) => Ok(thread
                .join()
                .unwrap_or_else(|panic| std::panic::resume_unwind(panic))),
            Err(why) => Err(ErrorKind::DecodeResult(format!(
                "no thread with a stack of {stack} bytes to decode a value of up to \
                 {size} bytes: {why}"
            ))),
        }
    })
}

impl<R: DeserializeOwned + Send> Job for Slot<R> {
    fn id(&self) -> u64 {
        self.id
    }

    fn function(&self) -> FnRef {
        self.function
    }

    fn with_arg(&self, send: &mut dyn FnMut(&[u8])) {
        send(&lock(&self.state).arg);
    }

    fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    fn start(&self, worker: &Arc<WorkerCtl>) -> bool {
        let mut state = lock(&self.state);
        if !matches!(state.phase, Phase::Queued) {
            return false;
        }
        state.phase = Phase::Running(worker.clone());
        // Set while the slot is locked, so that a `cancel` that sees
        // `Running` also finds the worker running this task.
        worker.set_running(Some(self.id));
        true
    }

    fn resume(&self, worker: &Arc<WorkerCtl>) -> bool {
        let state = lock(&self.state);
        if !matches!(state.phase, Phase::Running(_)) {
            return false;
        }
        // Under the slot's lock, as in `start`: a `cancel` that completes
        // the task after this finds the worker running it (and its new pid,
        // set when the process was started) and kills it; one that
        // completed it before makes this return false.
        worker.set_running(Some(self.id));
        true
    }

    fn reply(&self, status: Status, payload: &[u8], limit: usize) {
        // A batch's reply is a list of items, each decoded on a stack sized
        // for it (`BatchOut`'s `visit_bytes`): its whole length says nothing
        // of what one item needs.
        let encoded = self.reply.sizing(payload.len());
        self.complete(decode_reply::<R>(status, payload, encoded, limit));
    }

    fn fail(&self, kind: ErrorKind) {
        self.complete(Err(kind));
    }

    fn cancel_queued(&self) -> bool {
        Slot::cancel_queued(self)
    }

    fn is_done(&self) -> bool {
        matches!(lock(&self.state).phase, Phase::Done(_))
    }

    fn cancel(&self) -> bool {
        let worker = match &lock(&self.state).phase {
            Phase::Done(_) => return false,
            Phase::Queued => None,
            Phase::Running(worker) => Some(worker.clone()),
        };
        let cancelled = self.complete(Err(ErrorKind::Cancelled));
        if let (true, Some(worker)) = (cancelled, worker) {
            worker.kill_if_running(self.id);
        }
        cancelled
    }
}

/// The handle of a task submitted to a [`ProcessPool`](super::ProcessPool):
/// join it for the result, wait for it with a timeout, or cancel it (a
/// running task's worker process is killed).
///
/// Dropping the handle detaches the task: it still runs and its result is
/// dropped, as with `std::thread::JoinHandle`.
///
/// ```
/// # fn main() {
/// use corepool::process::{self, ProcessPool};
/// use std::time::Duration;
///
/// fn square(x: u64) -> u64 {
///     x * x
/// }
///
/// process::init();
/// let pool = ProcessPool::builder().workers(1).build().unwrap();
/// let task = pool.submit(square, 12);
/// task.wait_timeout(Duration::from_secs(60));
/// assert!(task.is_finished());
/// assert_eq!(task.join().unwrap(), 144);
/// # }
/// ```
#[must_use = "dropping a ProcessTask detaches it: the task runs, its result is dropped"]
pub struct ProcessTask<R> {
    slot: Arc<Slot<R>>,
    _result: PhantomData<fn() -> R>,
}

impl<R> fmt::Debug for ProcessTask<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessTask")
            .field("id", &self.slot.id)
            .field("signature", &self.slot.signature)
            .field("finished", &self.is_finished())
            .finish()
    }
}

impl<R> ProcessTask<R> {
    /// The task's id, numbered from 0 in submission order per pool; errors
    /// name the task by it.
    ///
    /// ```
    /// # fn main() {
    /// # fn one(_: ()) -> u8 { 1 }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let (a, b) = (pool.submit(one, ()), pool.submit(one, ()));
    /// assert_eq!((a.id(), b.id()), (0, 1));
    /// # }
    /// ```
    pub fn id(&self) -> u64 {
        self.slot.id
    }

    /// Whether the task has ended (finished, failed or cancelled). Never
    /// blocks.
    ///
    /// ```
    /// # fn main() {
    /// # fn one(_: ()) -> u8 { 1 }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let task = pool.submit(one, ());
    /// task.wait_timeout(std::time::Duration::from_secs(60));
    /// assert!(task.is_finished());
    /// # }
    /// ```
    pub fn is_finished(&self) -> bool {
        matches!(lock(&self.slot.state).phase, Phase::Done(_))
    }

    /// Whether a worker process is running the task now.
    ///
    /// ```
    /// # fn main() {
    /// # fn one(_: ()) -> u8 { 1 }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let task = pool.submit(one, ());
    /// let _ = task.is_running(); // true or false, depending on timing
    /// # }
    /// ```
    pub fn is_running(&self) -> bool {
        matches!(lock(&self.slot.state).phase, Phase::Running(_))
    }

    /// Waits at most `timeout` for the task to end; true if it has. It can be
    /// called again and again and never consumes the handle.
    ///
    /// ```
    /// # fn main() {
    /// # fn one(_: ()) -> u8 { 1 }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let task = pool.submit(one, ());
    /// while !task.wait_timeout(std::time::Duration::from_millis(1)) {}
    /// assert_eq!(task.join().unwrap(), 1);
    /// # }
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        let mut state = lock(&self.slot.state);
        loop {
            if matches!(state.phase, Phase::Done(_)) {
                return true;
            }
            let left = match deadline {
                None => Duration::MAX,
                Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                    Some(left) if !left.is_zero() => left,
                    _ => return false,
                },
            };
            state = self
                .slot
                .done
                .wait_timeout(state, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Cancels the task if it has not started; true if it had not.
    pub(crate) fn cancel_queued(&self) -> bool {
        self.slot.cancel_queued()
    }
}

impl<R: DeserializeOwned + Send + 'static> ProcessTask<R> {
    pub(crate) fn new(slot: Arc<Slot<R>>) -> ProcessTask<R> {
        ProcessTask {
            slot,
            _result: PhantomData,
        }
    }

    pub(crate) fn job(&self) -> Arc<dyn Job> {
        self.slot.clone()
    }

    /// Cancels the task: a queued one never runs; a running one has its
    /// worker process killed (the pool starts a new one). True if the task
    /// ended by this call, false if it had already ended. Unlike the thread
    /// pool's `Task::cancel`, a running task can be cancelled: a process can
    /// be killed, a thread cannot.
    ///
    /// ```
    /// # fn main() {
    /// fn forever(_: ()) {
    ///     loop {
    ///         std::thread::park();
    ///     }
    /// }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let task = pool.submit(forever, ());
    /// assert!(task.cancel());
    /// assert!(task.join().unwrap_err().is_cancelled());
    /// # }
    /// ```
    pub fn cancel(&self) -> bool {
        self.slot.cancel()
    }

    /// Waits for the task to end and gives its result, or why there is none.
    ///
    /// ```
    /// # fn main() {
    /// fn half(x: u32) -> u32 {
    ///     assert!(x % 2 == 0, "{x} is odd");
    ///     x / 2
    /// }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// assert_eq!(pool.submit(half, 8).join().unwrap(), 4);
    /// assert_eq!(pool.submit(half, 7).join().unwrap_err().panic_message(), Some("7 is odd"));
    /// # }
    /// ```
    pub fn join(self) -> Result<R, ProcessError> {
        let mut state = lock(&self.slot.state);
        loop {
            if let Phase::Done(result) = &mut state.phase {
                let result = result.take().expect("a handle joins once");
                return result.map(|value| *value);
            }
            state = self
                .slot
                .done
                .wait(state)
                .unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Asks `queue` to be told `index` when the task ends (at once if it
    /// has).
    pub(crate) fn watch(&self, queue: &Arc<ReadyQueue>, index: usize) {
        let mut state = lock(&self.slot.state);
        if matches!(state.phase, Phase::Done(_)) {
            drop(state);
            queue.push(index);
        } else {
            state.watchers.push((queue.clone(), index));
        }
    }

    /// Stops telling `queue` (a `wait` that returned).
    pub(crate) fn unwatch(&self, queue: &Arc<ReadyQueue>) {
        lock(&self.slot.state)
            .watchers
            .retain(|(q, _)| !Arc::ptr_eq(q, queue));
    }

    /// Whether the task ended with an error other than a cancellation.
    pub(crate) fn failed(&self) -> bool {
        matches!(
            &lock(&self.slot.state).phase,
            Phase::Done(Some(Err(e))) if !e.is_cancelled()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decode_of_any_claimed_size_gets_a_thread_within_the_cap() {
        // Without the cap this asked for a stack of about usize::MAX and
        // failed to start a thread (helper-76: 200 MiB of bytes in a debug
        // build asked for more than the machine's memory).
        assert_eq!(on_stack_for::<u8, _>(usize::MAX / 2, || 5).unwrap(), 5);
        assert_eq!(on_stack_for::<u8, _>(1 << 30, || 6).unwrap(), 6);
        // Small ones run here, on this thread.
        let me = std::thread::current().id();
        assert_eq!(
            on_stack_for::<u8, _>(16, || std::thread::current().id()).unwrap(),
            me
        );
    }

    #[test]
    fn a_batch_reply_is_not_sized_by_its_whole_length() {
        // Its items are sized one by one inside (`BatchOut`); a batch of
        // 200 items of 1 MiB was sized as one 200 MiB value, failed to get
        // a thread and reran every item alone (helper-76).
        assert_eq!(Reply::Batch.sizing(200 << 20), 0);
        assert_eq!(Reply::Value.sizing(200 << 20), 200 << 20);
    }
}

//! The task cell: one heap allocation holding a closure, its state in one
//! atomic word, the slot its result is written to and the list of its
//! waiters; and [`Task`], the handle a caller keeps.
//!
//! # The state word
//!
//! The low three bits are the task's *stage*; the bits above are flags:
//! `WAITER` (someone registered in the waiter list), `DETACHED` (the handle is
//! gone), `PANICKED` (the result is a panic).
//!
//! ```text
//!             run: claim             complete
//! SCHEDULED ------------> RUNNING -----------------> COMPLETE
//!                            |  \
//!                            |   +-----------------> STOPPED (it saw a cancel
//!                            |                        request and returned)
//!                            | abort, after dropping the closure:
//!                            +--> CANCELLED (Task::cancel, Pool::shutdown_now)
//!                            +--> REFUSED   (a submit that lost the race with shutdown)
//! ```
//!
//! 1. Only a compare-exchange `SCHEDULED -> RUNNING` gives a thread the
//!    closure: a worker that wins it runs the closure, a canceller that wins
//!    it drops the closure unrun and only then moves the stage on to
//!    `CANCELLED` or `REFUSED`. Only one of them can win, so a closure runs at
//!    most once and a cancelled task never ran.
//! 2. The runner writes the result slot, then moves `RUNNING -> COMPLETE` with
//!    a release read-modify-write. A reader that sees a terminal stage with an
//!    acquire load owns the result slot (there is one handle; `join` and
//!    `poll` take it through `&mut`/`self`).
//! 3. Waiting: any number of waiters (blocked threads, `async` pollers,
//!    `as_completed` and `wait`) each put a [`Waker`] in the cell's waiter
//!    list, under its lock, then set `WAITER` with `fetch_or` and only then
//!    look at the stage. The finisher's move to a terminal stage is a
//!    read-modify-write of the same word, so the two are ordered: either the
//!    finisher sees `WAITER` and takes the lock (which waits until the waiter
//!    has finished registering) to take the whole list and wake every waker,
//!    or the waiter's `fetch_or` sees the terminal stage, takes its entry out
//!    again and does not wait. No wake-up is lost, and a task nobody waits on
//!    never touches the lock. A waiter that gives up (a timeout) removes its
//!    entry by key.
//! 4. Detaching: dropping the handle sets `DETACHED` with `fetch_or`. If the
//!    task had ended, the handle drops the result itself; otherwise the runner
//!    sees `DETACHED` in the word its `complete` replaced and drops the result
//!    at once. Exactly one of them does, and a detached result never outlives
//!    the task's run — which is what lets a scope's tasks return borrowed data.
//! 5. A task submitted in a scope points to the scope's latch. The runner (or
//!    aborter) tells the latch the task is done only after rule 4, as its last
//!    touch of the closure or result; see `scope.rs`.
//!
//! Races considered: cancel against start (rule 1); join against completion
//! and waker registration against completion (rule 3); detach against
//! completion (rule 4). The cell's memory is reference-counted: the queue's
//! [`JobRef`] and the handle each hold one count, and the queue's count is
//! given up by a function that holds only a raw pointer (see `job.rs`), never
//! from inside a method borrowing the cell.

use std::cell::UnsafeCell;

use smallvec::SmallVec;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::ptr::NonNull;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::cancel;
use crate::error::TaskError;
use crate::job::JobVtable;
// The builder names the queue entry type through this module.
pub(crate) use crate::job::JobRef;
use crate::scope::ScopeLatch;
use crate::sync::{AtomicUsize, Mutex, Ordering, park, park_timeout};
use crate::unwind::{self, Payload};
use crate::wait::{Waitable, thread_waker, wait_until};
use crate::worker::WorkerThread;

const SCHEDULED: usize = 0;
const RUNNING: usize = 1;
const COMPLETE: usize = 2;
const CANCELLED: usize = 3;
const REFUSED: usize = 4;
/// The task ran, saw a cancellation request through `is_cancelled`, and
/// returned; its value was dropped (it is not a result).
const STOPPED: usize = 5;
/// A promise's task whose [`Promise`](crate::Promise) was dropped unset.
const ABANDONED: usize = 6;
const STAGE: usize = 0b111;
const WAITER: usize = 0b1000;
const DETACHED: usize = 0b1_0000;
const PANICKED: usize = 0b10_0000;
/// `Task::cancel` was called while the task ran (cooperative cancellation).
const CANCEL_REQUESTED: usize = 0b100_0000;
/// With `PANICKED`: the error is a promise's failure, not a panic.
const FAILED: usize = 0b1_0000_0000;
/// Someone registered an outcome callback (`on_result`): the finisher runs
/// them before the stage turns terminal (rule 6).
const RESULT_CB: usize = 0b10_0000_0000;
/// The running task saw a cancellation through `is_cancelled`: it ends
/// `STOPPED`, not `COMPLETE`.
const CANCEL_SEEN: usize = 0b1000_0000;

/// How many times a blocking waiter looks at a running task before it
/// registers and sleeps (about a microsecond of `spin_loop` hints).
const SPIN_BEFORE_BLOCK: u32 = 64;

/// How a task was ended without running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Abort {
    /// `Task::cancel` or `Pool::shutdown_now`.
    Cancelled,
    /// Submitted after the pool shut down.
    Refused,
    /// A promise dropped without a value.
    Abandoned,
}

/// The stage of a task, decoded from the state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Scheduled,
    Running,
    Complete,
    Cancelled,
    Refused,
    Stopped,
    Abandoned,
}

impl Stage {
    fn of(word: usize) -> Stage {
        match word & STAGE {
            SCHEDULED => Stage::Scheduled,
            RUNNING => Stage::Running,
            COMPLETE => Stage::Complete,
            CANCELLED => Stage::Cancelled,
            REFUSED => Stage::Refused,
            STOPPED => Stage::Stopped,
            _ => Stage::Abandoned,
        }
    }

    pub(crate) fn is_terminal(self) -> bool {
        !matches!(self, Stage::Scheduled | Stage::Running)
    }
}

/// The state word of one task (see the module docs for the protocol).
struct State(AtomicUsize);

impl State {
    fn new(stage: usize) -> State {
        State(AtomicUsize::new(stage))
    }

    /// Acquire: pairs with the release in `complete`/`abort`, so a terminal
    /// stage seen here makes the result slot readable.
    fn word(&self) -> usize {
        self.0.load(Ordering::Acquire)
    }

    /// `SCHEDULED -> RUNNING`, keeping the flags. Whether this call made it.
    #[must_use]
    fn claim(&self) -> bool {
        let mut word = self.0.load(Ordering::Relaxed);
        loop {
            if word & STAGE != SCHEDULED {
                return false;
            }
            // Acquire: the claimer then owns the closure slot, written before
            // the cell was published. The terminal transition that follows
            // (`complete`, or the end of `abort`) does the publishing.
            match self.0.compare_exchange_weak(
                word,
                word | RUNNING,
                Ordering::Acquire,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(actual) => word = actual,
            }
        }
    }

    /// `RUNNING -> to` (a terminal stage), plus `flag`; only the claimer
    /// calls it. If an outcome callback was registered (`RESULT_CB`), first
    /// runs `callbacks` once (rule 6). Returns the old word.
    fn finish(&self, to: usize, flag: usize, callbacks: impl FnOnce()) -> usize {
        let mut callbacks = Some(callbacks);
        // Acquire: pairs with the release half of `on_result`'s `fetch_or`.
        let mut word = self.0.load(Ordering::Acquire);
        loop {
            if word & RESULT_CB != 0 {
                if let Some(run) = callbacks.take() {
                    run();
                    word = self.0.load(Ordering::Acquire);
                    continue;
                }
            }
            // AcqRel: release publishes the result slot (or the closure's
            // drop) to the acquire loads in `word`; acquire pairs with a
            // waiter's `fetch_or(WAITER)` and a handle's `fetch_or(DETACHED)`,
            // so we see their registration and can read the slot to drop it.
            // A compare-exchange, not an add: a `RESULT_CB` set since our
            // load makes it fail, so no callback is left behind (rule 6).
            match self.0.compare_exchange_weak(
                word,
                word + (to - RUNNING) + flag,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(prev) => return prev,
                Err(actual) => word = actual,
            }
        }
    }

    /// Asks a running task to stop (cooperative cancellation).
    fn request_cancel(&self) {
        // Relaxed: a hint; the task reads it with `observe_cancel`.
        self.0.fetch_or(CANCEL_REQUESTED, Ordering::Relaxed);
    }

    /// Marks the handle as gone and returns the word as it was.
    fn detach(&self) -> usize {
        // AcqRel: release pairs with the acquire half of `finish` (the
        // runner then drops the result); acquire pairs with its release (we
        // then may read the result slot to drop it).
        self.0.fetch_or(DETACHED, Ordering::AcqRel)
    }

    /// Marks a registered waiter and returns the word as it was.
    fn register_waiter(&self) -> usize {
        // AcqRel: release pairs with the acquire half of the finisher's
        // read-modify-write (it then sees our registration under the lock);
        // acquire pairs with its release (we then see the result).
        self.0.fetch_or(WAITER, Ordering::AcqRel)
    }
}

/// A callback that sees a task's outcome (rule 6).
type ResultCallback<T> = Box<dyn FnOnce(Result<&T, &TaskError>) + Send>;

/// The waiters of one task: wakers with the keys their owners remove them by,
/// and outcome callbacks. The first waiter lives inline: the usual single
/// `join` allocates nothing.
struct Waiters<T> {
    list: SmallVec<[(u64, Waker); 1]>,
    next_key: u64,
    /// Outcome callbacks not run yet.
    on_result: Vec<ResultCallback<T>>,
    /// Set by the finisher when it takes `on_result`: the stage it is about
    /// to publish. Later callbacks run at once, on their registering thread.
    closed: Option<usize>,
}

impl<T> Default for Waiters<T> {
    fn default() -> Self {
        Waiters {
            list: SmallVec::new(),
            next_key: 0,
            on_result: Vec::new(),
            closed: None,
        }
    }
}

/// The typed part of a cell that handles use, whatever its closure type.
pub(crate) struct Header<T> {
    state: State,
    waiters: Mutex<Waiters<T>>,
    /// The outcome, written by the claimer before the stage turns terminal;
    /// a panic is kept as the `TaskError` it will be reported as, so that
    /// outcome callbacks can be handed a reference to it.
    result: UnsafeCell<Option<Result<T, TaskError>>>,
    /// The scope this task belongs to, or null (rule 5).
    scope: *const ScopeLatch,
    /// The pool's registry, as an address: identity only, never dereferenced.
    pool: usize,
}

impl<T> Header<T> {
    fn new(stage: usize, scope: *const ScopeLatch, pool: usize) -> Self {
        Header {
            state: State::new(stage),
            waiters: Mutex::new(Waiters::default()),
            result: UnsafeCell::new(None),
            scope,
            pool,
        }
    }

    fn scope(&self) -> Option<&ScopeLatch> {
        // SAFETY: a non-null `scope` points to a latch that outlives every
        // task of its scope: `Scope` waits for the latch to count every task
        // done before it returns (rule 5). A handle may use it after the
        // task's `scope_done` (dropping a finished result with a panicking
        // destructor), but handles cannot outlive the scope's closure, and
        // the latch lives until `scope` returns (rule 3 of `scope.rs`).
        unsafe { self.scope.as_ref() }
    }

    /// Drops a result nobody will collect. A panic payload goes to the scope,
    /// if any, to be re-raised there; a destructor that panics is contained.
    fn discard(&self, outcome: Option<Result<T, Payload>>) {
        let payload = match outcome {
            Some(Err(payload)) => payload,
            Some(Ok(value)) => match unwind::halt_unwinding(move || drop(value)) {
                Ok(()) => return,
                Err(payload) => payload,
            },
            None => return,
        };
        match self.scope() {
            Some(scope) => scope.record_panic(payload),
            None => unwind::drop_payload(payload),
        }
    }

    /// [`discard`](Self::discard) for what the result slot held.
    fn discard_slot(&self, outcome: Option<Result<T, TaskError>>) {
        match outcome {
            Some(Ok(value)) => self.discard(Some(Ok(value))),
            Some(Err(error)) => match error.try_into_panic() {
                Ok(payload) => self.discard(Some(Err(payload))),
                Err(error) => unwind::drop_contained(error),
            },
            None => {}
        }
    }

    /// Rule 6, the finisher's side: closes the callback list (recording the
    /// stage `to` about to be published) and runs what was registered, each
    /// contained, with a reference to the outcome.
    fn run_result_callbacks(&self, to: usize) {
        let callbacks = {
            let mut waiters = self.waiters.lock();
            waiters.closed = Some(to);
            std::mem::take(&mut waiters.on_result)
        };
        for callback in callbacks {
            // SAFETY: the claimer wrote the slot before calling this; no
            // handle takes it before the stage turns terminal, which the
            // caller publishes only after this returns.
            unsafe { self.call_with_outcome(to, callback) };
        }
    }

    /// Runs `callback` with the outcome of a task whose final stage is `to`,
    /// containing a panic.
    ///
    /// # Safety
    ///
    /// The slot must be written (for `COMPLETE`) and nobody may take it
    /// while this runs: the caller is the finisher before the terminal
    /// stage, or holds a handle (which every take needs) after it.
    unsafe fn call_with_outcome(&self, to: usize, callback: ResultCallback<T>) {
        let fresh;
        let outcome: Result<&T, &TaskError> = match error_of(Stage::of(to)) {
            Some(error) => {
                fresh = error;
                Err(&fresh)
            }
            // SAFETY: the function's contract: the slot is written and
            // nobody takes it meanwhile; readers only share it.
            None => match unsafe { &*self.result.get() } {
                Some(Ok(value)) => Ok(value),
                Some(Err(error)) => Err(error),
                None => unreachable!("a completed task has an outcome"),
            },
        };
        if let Err(payload) = unwind::halt_unwinding(move || callback(outcome)) {
            unwind::drop_payload(payload);
        }
    }

    /// Rule 6, the registering side: `callback` runs when the task ends (on
    /// the finisher's thread), or at once here if it has ended or its
    /// finisher has taken the list. The caller holds a handle.
    fn on_result(&self, callback: ResultCallback<T>) {
        let mut waiters = self.waiters.lock();
        let (to, callback) = match waiters.closed {
            Some(to) => (to, callback),
            None => {
                waiters.on_result.push(callback);
                // AcqRel: release pairs with the finisher's acquire load in
                // `publish` (it then takes the list under the lock, after
                // us); acquire pairs with its terminal compare-exchange (we
                // then see the slot).
                let prev = self.state.0.fetch_or(RESULT_CB, Ordering::AcqRel);
                if !Stage::of(prev).is_terminal() {
                    return;
                }
                // It ended before it could see our flag, so it took nothing:
                // ours is the last entry (we hold the lock), and we run it.
                let callback = waiters.on_result.pop().expect("pushed above");
                (prev & STAGE, callback)
            }
        };
        drop(waiters);
        // SAFETY: the task has ended, or its finisher closed the list after
        // writing the slot (we took the lock after it); our caller holds a
        // handle, so nobody takes the slot while this runs.
        unsafe { self.call_with_outcome(to, callback) };
    }

    /// Rule 5: the last touch of a scoped task.
    fn scope_done(&self) {
        if !self.scope.is_null() {
            // SAFETY: a non-null `scope` points to a latch that outlives every
            // task of its scope until this call, the task's last use of it.
            unsafe { ScopeLatch::task_done(self.scope) };
        }
    }

    pub(crate) fn stage(&self) -> Stage {
        Stage::of(self.state.word())
    }

    /// Whether the task ended by panicking (its result is a panic).
    pub(crate) fn panicked(&self) -> bool {
        self.state.word() & PANICKED != 0
    }

    /// Where the task is, and how it ended, in a word: what the handles'
    /// `Debug` prints (`scheduled`, `running`, `returned`, `panicked`,
    /// `cancelled`, `stopped`, `refused`).
    pub(crate) fn describe(&self) -> &'static str {
        let word = self.state.word();
        match Stage::of(word) {
            Stage::Scheduled => "scheduled",
            Stage::Running => "running",
            Stage::Complete if word & FAILED != 0 => "failed",
            Stage::Complete if word & PANICKED != 0 => "panicked",
            Stage::Complete => "returned",
            Stage::Cancelled => "cancelled",
            Stage::Refused => "refused",
            Stage::Stopped => "stopped",
            Stage::Abandoned => "abandoned",
        }
    }

    /// Whether `worker` belongs to this task's pool.
    fn runs_on(&self, worker: &WorkerThread) -> bool {
        self.pool == worker.registry() as *const _ as usize
    }

    /// Wakes every registered waiter, after a transition to a terminal stage
    /// whose previous word was `prev`.
    fn finished(&self, prev: usize) {
        if prev & WAITER == 0 {
            return;
        }
        let list = std::mem::take(&mut self.waiters.lock().list);
        for (_, waker) in list {
            // A panicking waker is the user's bug, but it must not unwind
            // through a worker or a canceller.
            if let Err(payload) = unwind::halt_unwinding(move || waker.wake()) {
                unwind::drop_payload(payload);
            }
        }
    }

    /// Puts `waker` in the waiter list (replacing the entry `key` if it is
    /// still there) and returns its key; `None` when the task has ended (the
    /// waker is then not kept).
    pub(crate) fn register(&self, waker: &Waker, key: Option<u64>) -> Option<u64> {
        if self.stage().is_terminal() {
            return None;
        }
        let mut waiters = self.waiters.lock();
        let existing = key.and_then(|key| waiters.list.iter().position(|(k, _)| *k == key));
        let key = match existing {
            Some(pos) => {
                let entry = &mut waiters.list[pos];
                if !entry.1.will_wake(waker) {
                    entry.1 = waker.clone();
                }
                entry.0
            }
            None => {
                let key = waiters.next_key;
                waiters.next_key += 1;
                waiters.list.push((key, waker.clone()));
                key
            }
        };
        if Stage::of(self.state.register_waiter()).is_terminal() {
            // The finisher may already have taken the list; if not, we leave.
            waiters.list.retain(|(k, _)| *k != key);
            return None;
        }
        Some(key)
    }

    /// Takes the entry `key` out of the waiter list, if it is still there.
    pub(crate) fn deregister(&self, key: u64) {
        let removed = {
            let mut waiters = self.waiters.lock();
            waiters
                .list
                .iter()
                .position(|(k, _)| *k == key)
                .map(|pos| waiters.list.swap_remove(pos))
        };
        if let Some((_, waker)) = removed {
            unwind::drop_contained(waker);
        }
    }

    /// Blocks this thread until the task is terminal or `deadline` passes.
    /// Returns whether it is terminal.
    fn block_until(&self, deadline: Option<Instant>) -> bool {
        // A task that is running often ends within microseconds: look a few
        // times before registering, which would make its runner pay for a
        // wake-up (a futex syscall).
        for _ in 0..SPIN_BEFORE_BLOCK {
            match self.stage() {
                Stage::Running => std::hint::spin_loop(),
                stage => {
                    if stage.is_terminal() {
                        return true;
                    }
                    break;
                }
            }
        }
        let Some(key) = self.register(&thread_waker(), None) else {
            return true;
        };
        loop {
            if self.stage().is_terminal() {
                // The finisher took the list (or will): nothing to remove.
                return true;
            }
            match deadline {
                None => park(),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        self.deregister(key);
                        return self.stage().is_terminal();
                    }
                    park_timeout(deadline - now);
                }
            }
        }
    }

    /// Takes the outcome of a terminal task.
    ///
    /// # Safety
    ///
    /// The caller must have seen a terminal stage through [`Header::stage`]
    /// and must be the only one taking the result (the cell's one handle).
    pub(crate) unsafe fn take_result(&self) -> Result<T, TaskError> {
        let stage = self.stage();
        if let Some(error) = error_of(stage) {
            return Err(error);
        }
        // SAFETY: the stage is COMPLETE (acquire), so the runner's write
        // happened before and nobody writes again; the caller is the only
        // reader (this function's contract).
        match unsafe { (*self.result.get()).take() } {
            Some(outcome) => outcome,
            None => unreachable!("task result taken twice"),
        }
    }
}

/// The error a task that ended in `stage` is reported with, when its
/// outcome is not in the result slot (`None` for `Complete`).
fn error_of(stage: Stage) -> Option<TaskError> {
    match stage {
        Stage::Cancelled => Some(TaskError::cancelled()),
        Stage::Refused => Some(TaskError::shutdown()),
        Stage::Stopped => Some(TaskError::stopped()),
        Stage::Abandoned => Some(TaskError::abandoned()),
        Stage::Complete | Stage::Scheduled | Stage::Running => None,
    }
}

/// `is_cancelled` for the running task whose state word is `state`, and
/// whose group's flag reads `group`: records that the task saw it, so that it
/// ends `STOPPED`. Called only on the thread running the task.
pub(crate) fn observe_cancel(state: &AtomicUsize, group: bool) -> bool {
    let word = state.load(Ordering::Relaxed);
    if word & CANCEL_SEEN != 0 {
        return true;
    }
    if group || word & CANCEL_REQUESTED != 0 {
        // Relaxed: read back by this same thread when the run ends.
        state.fetch_or(CANCEL_SEEN, Ordering::Relaxed);
        return true;
    }
    false
}

/// What a handle needs from a cell whose closure type it does not know.
pub(crate) trait Cell<T>: Send + Sync {
    fn header(&self) -> &Header<T>;
    fn abort(&self, how: Abort) -> bool;
    /// Runs the task on this thread if nobody started or aborted it yet.
    fn run_inline(&self);
}

/// One allocation: header, closure.
pub(crate) struct TaskCell<F, T> {
    header: Header<T>,
    func: UnsafeCell<Option<F>>,
    /// The frame that pushed it (`WorkerThread::origin`), or 0.
    origin: u64,
}

// SAFETY: the closure is only touched by the one thread that wins the
// transition out of SCHEDULED (rule 1), and moved to that thread, so `F: Send`
// suffices; the result is written by the runner before a release and read by
// the one handle after an acquire (rule 2), so `T: Send` suffices. The scope
// pointer is only used for the latch's thread-safe methods.
unsafe impl<F: Send, T: Send> Sync for TaskCell<F, T> {}
// SAFETY: as above; the cell owns an `F` and a `T`, both `Send`.
unsafe impl<F: Send, T: Send> Send for TaskCell<F, T> {}

impl<F, T> TaskCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    /// A scheduled cell of the pool whose registry is at `pool`; `scope` is
    /// the latch of the scope it belongs to, or null.
    pub(crate) fn new(func: F, scope: *const ScopeLatch, pool: usize, origin: u64) -> Self {
        TaskCell {
            header: Header::new(SCHEDULED, scope, pool),
            func: UnsafeCell::new(Some(func)),
            origin,
        }
    }

    /// A cell that was refused at once (its closure is dropped by the caller).
    pub(crate) fn refused() -> Self {
        TaskCell {
            header: Header::new(REFUSED, std::ptr::null(), 0),
            func: UnsafeCell::new(None),
            origin: 0,
        }
    }

    /// A queue reference holding one count of `cell`.
    ///
    /// # Safety
    ///
    /// Whatever `F` and `T` borrow must stay alive until the task has ended
    /// (for a scope's tasks: the scope waits for them; see `scope.rs`). After
    /// that the queue touches nothing but the counts and the empty slots.
    pub(crate) unsafe fn new_ref(cell: &Arc<Self>) -> JobRef {
        let ptr = Arc::into_raw(cell.clone());
        // SAFETY: `Arc::into_raw` is never null; the count it carries keeps
        // the cell alive until a table function gives it up; the cell is
        // `Send + Sync`.
        unsafe { JobRef::new(NonNull::new_unchecked(ptr.cast_mut().cast()), Self::VTABLE) }
    }

    const VTABLE: &'static JobVtable = &JobVtable {
        execute: Self::execute_ref,
        cancel: Self::cancel_ref,
        release: Self::release_ref,
        origin: Self::origin_ref,
    };

    /// # Safety
    ///
    /// `ptr` comes from `new_ref` and its count has not been given up.
    unsafe fn borrow<'c>(ptr: NonNull<()>) -> &'c Self {
        // SAFETY: the count `ptr` carries keeps the cell alive; callers end
        // the borrow before they give the count up.
        unsafe { ptr.cast::<Self>().as_ref() }
    }

    /// # Safety
    ///
    /// As `borrow`; gives up the count. No borrow of the cell may be alive.
    unsafe fn give_up(ptr: NonNull<()>) {
        // SAFETY: `ptr` came from `Arc::into_raw` of an `Arc<Self>`, and its
        // count is given up here, once.
        drop(unsafe { Arc::from_raw(ptr.cast::<Self>().as_ptr().cast_const()) });
    }

    unsafe fn execute_ref(ptr: NonNull<()>) {
        // SAFETY: the vtable's contract; the borrow ends with the statement.
        unsafe { Self::borrow(ptr) }.run();
        // SAFETY: no borrow is alive any more.
        unsafe { Self::give_up(ptr) };
    }

    unsafe fn cancel_ref(ptr: NonNull<()>) -> bool {
        // SAFETY: as in `execute_ref`.
        let cancelled = unsafe { Self::borrow(ptr) }.abort(Abort::Cancelled);
        // SAFETY: as in `execute_ref`.
        unsafe { Self::give_up(ptr) };
        cancelled
    }

    unsafe fn release_ref(ptr: NonNull<()>) {
        // A queue torn down with the task in it: the task must still end.
        // SAFETY: as in `cancel_ref`.
        let _ = unsafe { Self::cancel_ref(ptr) };
    }

    unsafe fn origin_ref(ptr: NonNull<()>) -> u64 {
        // SAFETY: as in `execute_ref`.
        unsafe { Self::borrow(ptr) }.origin
    }

    fn take_func(&self) -> Option<F> {
        // SAFETY: called only by the thread that won the transition out of
        // SCHEDULED, which gives it the closure slot exclusively (rule 1).
        unsafe { (*self.func.get()).take() }
    }

    /// Runs the closure if nobody ran or aborted it yet.
    fn run(&self) {
        if !self.header.state.claim() {
            return;
        }
        let Some(func) = self.take_func() else { return };
        let outcome = {
            let _running = cancel::enter_task(&self.header.state.0);
            unwind::halt_unwinding(func)
        };
        let (to, flag) = match outcome {
            Err(_) => (COMPLETE, PANICKED),
            // CANCEL_SEEN is set during the run, by this thread or by a thief
            // running one of its fork-join halves, which the run waited for
            // (the half's DONE store and its acquire load order it).
            Ok(_) if self.header.state.0.load(Ordering::Relaxed) & CANCEL_SEEN != 0 => (STOPPED, 0),
            Ok(_) => (COMPLETE, 0),
        };
        if to == STOPPED {
            // The task stopped because it was asked to: its value is not a
            // result. Dropped before the stage turns terminal, as an
            // aborted closure is.
            self.header.discard(Some(outcome));
            self.publish(to, flag, None);
        } else {
            self.publish(to, flag, Some(outcome));
        }
    }

    /// Ends a task from outside, as a promise does: if nobody ran or aborted
    /// it, drops its closure unrun and stores `outcome` as if the closure
    /// had produced it (`failed`: the error is a failure, not a panic).
    /// Gives `outcome` back when the task had ended (cancelled) already.
    pub(crate) fn settle(
        &self,
        outcome: Result<T, Payload>,
        failed: bool,
    ) -> Result<(), Result<T, Payload>> {
        if !self.header.state.claim() {
            return Err(outcome);
        }
        unwind::drop_contained(self.take_func());
        let flag = match (&outcome, failed) {
            (Ok(_), _) => 0,
            (Err(_), false) => PANICKED,
            (Err(_), true) => PANICKED | FAILED,
        };
        self.publish(COMPLETE, flag, Some(outcome));
        Ok(())
    }

    /// The claimer's last steps: stores `outcome` (if any), moves the stage
    /// to `to` with `flag`, drops the result if the handle is gone (rule 4),
    /// wakes the waiters and tells the scope (rule 5).
    fn publish(&self, to: usize, flag: usize, outcome: Option<Result<T, Payload>>) {
        if let Some(outcome) = outcome {
            let outcome = outcome.map_err(TaskError::from_payload);
            // SAFETY: we are the claimer (RUNNING is ours); no handle reads
            // the slot until it sees COMPLETE, which `finish` publishes.
            unsafe { *self.header.result.get() = Some(outcome) };
        }
        let prev = self.header.state.finish(to, flag, || {
            self.header.run_result_callbacks(to);
        });
        if prev & DETACHED != 0 {
            // SAFETY: the handle is gone (rule 4) and saw no terminal stage
            // when it left, so nobody else will read the slot.
            let outcome = unsafe { (*self.header.result.get()).take() };
            self.header.discard_slot(outcome);
        }
        self.header.finished(prev);
        self.header.scope_done();
    }

    /// Ends a task that has not started; `true` if this call ended it.
    fn abort(&self, how: Abort) -> bool {
        let to = match how {
            Abort::Cancelled => CANCELLED,
            Abort::Refused => REFUSED,
            Abort::Abandoned => ABANDONED,
        };
        // Claimed as if it were to run, so the stage turns terminal only
        // after the closure is dropped: a joiner that sees CANCELLED also
        // sees everything the closure's destructor did.
        if !self.header.state.claim() {
            return false;
        }
        // A panic in the closure's destructor must not unwind into the
        // canceller's caller half-way through; it is contained here.
        let func = self.take_func();
        if let Err(payload) = unwind::halt_unwinding(move || drop(func)) {
            self.header.discard(Some(Err(payload)));
        }
        self.publish(to, 0, None);
        true
    }
}

impl<F, T> Cell<T> for TaskCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn header(&self) -> &Header<T> {
        &self.header
    }

    fn abort(&self, how: Abort) -> bool {
        TaskCell::abort(self, how)
    }

    fn run_inline(&self) {
        self.run();
    }
}

/// The shared machinery of [`Task`] and the scope's handle: a typed view of a
/// cell that may borrow for `'a`.
pub(crate) struct Handle<'a, T> {
    cell: Arc<dyn Cell<T> + 'a>,
    /// The key of the waker `poll` registered, if any.
    poll_key: Option<u64>,
}

impl<'a, T: Send + 'a> Handle<'a, T> {
    pub(crate) fn new<F>(cell: Arc<TaskCell<F, T>>) -> Self
    where
        F: FnOnce() -> T + Send + 'a,
    {
        Handle {
            cell,
            poll_key: None,
        }
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.header().stage().is_terminal()
    }

    pub(crate) fn cancel(&self) -> bool {
        if self.cell.abort(Abort::Cancelled) {
            return true;
        }
        self.header().state.request_cancel();
        false
    }

    pub(crate) fn is_running(&self) -> bool {
        self.header().stage() == Stage::Running
    }

    /// Waits until the task is terminal or the deadline passes; on a worker
    /// thread it runs work the task needs meanwhile.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> bool {
        wait_until(self, deadline)
    }

    /// On a worker of the task's own pool: runs the task here if it has not
    /// started yet. Returns whether it did.
    pub(crate) fn claim(&self, worker: &WorkerThread) -> bool {
        let header = self.header();
        if header.runs_on(worker) && header.stage() == Stage::Scheduled {
            self.cell.run_inline();
            true
        } else {
            false
        }
    }

    /// Runs the task on this thread, whatever thread it is, if it has not
    /// started yet; for owners that would otherwise sleep waiting for it
    /// (the consumer of a map). Returns whether it did.
    pub(crate) fn run_here(&self) -> bool {
        if self.header().stage() == Stage::Scheduled {
            self.cell.run_inline();
            true
        } else {
            false
        }
    }

    pub(crate) fn join(self) -> Result<T, TaskError> {
        self.wait_until(None);
        // SAFETY: `wait_until(None)` returns only once the stage is terminal,
        // and this handle is consumed, so it is the only reader.
        let result = unsafe { self.header().take_result() };
        // The result is taken: dropping the handle has nothing left to do
        // (no `DETACHED` read-modify-write); release just the reference.
        let this = std::mem::ManuallyDrop::new(self);
        // SAFETY: `this` is never used again and its `Drop` never runs, so
        // the reference-counted cell is moved out exactly once.
        drop(unsafe { std::ptr::read(&this.cell) });
        result
    }

    pub(crate) fn poll_result(&mut self, cx: &mut Context<'_>) -> Poll<Result<T, TaskError>> {
        match self.cell.header().register(cx.waker(), self.poll_key) {
            Some(key) => {
                self.poll_key = Some(key);
                Poll::Pending
            }
            None => {
                self.poll_key = None;
                // SAFETY: `register` returned `None` only after seeing a
                // terminal stage; `&mut self` makes this the only reader. A
                // second poll after `Ready` finds the slot empty and panics,
                // as futures may.
                Poll::Ready(unsafe { self.header().take_result() })
            }
        }
    }
}

impl<T> Handle<'_, T> {
    pub(crate) fn header(&self) -> &Header<T> {
        self.cell.header()
    }

    /// [`Task::on_result`] for any handle.
    pub(crate) fn on_result<C>(&self, callback: C)
    where
        C: FnOnce(Result<&T, &TaskError>) + Send + 'static,
        T: Sync,
    {
        self.header().on_result(Box::new(callback));
    }

    /// `cancel` for an owner that is being dropped and wants no result.
    pub(crate) fn cancel_quietly(&self) {
        let _ = self.cell.abort(Abort::Cancelled);
    }
}

impl<'a, T: Send + 'a> Waitable for Handle<'a, T> {
    fn is_done(&self) -> bool {
        self.is_finished()
    }

    fn block_until(&self, deadline: Option<Instant>) -> bool {
        self.header().block_until(deadline)
    }

    fn run_inline(&self, worker: &WorkerThread) -> bool {
        self.claim(worker)
    }
}

impl<T> Drop for Handle<'_, T> {
    fn drop(&mut self) {
        let header = self.cell.header();
        if let Some(key) = self.poll_key {
            header.deregister(key);
        }
        let prev = header.state.detach();
        if Stage::of(prev).is_terminal() && prev & DETACHED == 0 {
            // SAFETY: the stage was terminal when we detached (acquire), and
            // this handle is the only reader; after `join` the slot is empty.
            let outcome = unsafe { (*header.result.get()).take() };
            header.discard_slot(outcome);
        }
    }
}

/// A handle to a task submitted with [`Pool::submit`](crate::Pool::submit):
/// Python's `concurrent.futures.Future`, for one closure's result.
///
/// - [`join`](Task::join) blocks until the task ends and returns its value, or
///   a [`TaskError`] saying it panicked, was cancelled or was refused.
/// - [`wait_timeout`](Task::wait_timeout) waits a while and says whether it
///   ended; call it as often as you like.
/// - [`cancel`](Task::cancel) stops a task that has not started.
/// - `.await` works too: `Task<T>` is a `Future<Output = Result<T, TaskError>>`.
///
/// Dropping a `Task` **detaches** it, like `std::thread::JoinHandle`: the task
/// still runs and its result is dropped when it ends.
///
/// Called on one of the pool's own worker threads, `join` and `wait_timeout`
/// do not leave the worker idle while there is work the awaited task needs:
/// if the awaited task has not started, the worker runs it itself, and it
/// runs the tasks that the task it is running submitted; then it blocks. So
/// nested waits cannot deadlock, even with one worker, and a task that waits
/// for tasks it did not submit cannot deadlock either (the worker never picks
/// up unrelated work that might wait for the task paused on its own stack).
///
/// ```
/// use corepool::Pool;
///
/// let pool = Pool::new().unwrap();
/// let task = pool.submit(|| (1..=20u64).product::<u64>());
/// assert_eq!(task.join().unwrap(), 2_432_902_008_176_640_000);
/// ```
#[must_use = "dropping a Task detaches it: the task still runs, but its result is lost"]
pub struct Task<T> {
    handle: Handle<'static, T>,
}

impl<T: Send + 'static> Task<T> {
    pub(crate) fn from_handle(handle: Handle<'static, T>) -> Self {
        Task { handle }
    }

    pub(crate) fn handle(&self) -> &Handle<'static, T> {
        &self.handle
    }

    pub(crate) fn into_handle(self) -> Handle<'static, T> {
        self.handle
    }

    /// Whether the task has ended: finished, panicked, cancelled or refused.
    /// Never blocks.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::new().unwrap();
    /// let task = pool.submit(|| 1);
    /// task.wait_timeout(std::time::Duration::from_secs(10));
    /// assert!(task.is_finished());
    /// ```
    pub fn is_finished(&self) -> bool {
        self.handle.is_finished()
    }

    /// Waits at most `timeout` for the task to end and says whether it has.
    /// The handle stays usable: call it again, or `join` it.
    ///
    /// On a worker thread it may run the awaited task itself, or tasks the
    /// current task submitted, while it waits (see the type's docs), so it may
    /// return later than `timeout` if one of those takes long.
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::time::Duration;
    ///
    /// let pool = Pool::new().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let task = pool.submit(move || rx.recv().is_ok());
    /// assert!(!task.wait_timeout(Duration::from_millis(1)));
    /// tx.send(()).unwrap();
    /// assert!(task.wait_timeout(Duration::from_secs(60)));
    /// assert!(task.join().unwrap());
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let deadline = Instant::now().checked_add(timeout);
        self.handle.wait_until(deadline)
    }

    /// Cancels the task if it has not started: returns `true` and the closure
    /// is dropped without ever running; `join` then answers
    /// [`TaskError::is_cancelled`]. Returns `false` when the task is running
    /// or has ended. A running task is asked to stop: inside it,
    /// [`is_cancelled`](crate::is_cancelled) answers `true`, and if it then
    /// returns, `join` answers [`TaskError::is_stopped`] (its closure ran; its
    /// value is dropped). A task that never asks finishes as usual. A task
    /// that ran is never reported cancelled.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::builder().workers(1).build().unwrap();
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let blocker = pool.submit(move || rx.recv().unwrap());
    /// let queued = pool.submit(|| unreachable!("cancelled tasks never run"));
    /// assert!(queued.cancel());
    /// tx.send(()).unwrap();
    /// blocker.join().unwrap();
    /// assert!(queued.join().unwrap_err().is_cancelled());
    /// ```
    pub fn cancel(&self) -> bool {
        self.handle.cancel()
    }

    /// Whether the task is running now (started, not yet ended), like
    /// `Future.running()`. Never blocks.
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::sync::mpsc::channel;
    ///
    /// let pool = Pool::builder().workers(1).build()?;
    /// let (started_tx, started) = channel();
    /// let (release, release_rx) = channel::<()>();
    /// let task = pool.submit(move || {
    ///     started_tx.send(()).unwrap();
    ///     release_rx.recv().unwrap();
    /// });
    /// started.recv().unwrap();
    /// assert!(task.is_running());
    /// release.send(()).unwrap();
    /// task.join().unwrap();
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn is_running(&self) -> bool {
        self.handle.is_running()
    }

    /// Waits at most `timeout` for the result, like `Future.result(timeout)`:
    /// `Ok` with what [`join`](Task::join) would return, or `Err` with the
    /// handle itself when the time ran out, to wait again or cancel.
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::time::Duration;
    ///
    /// let pool = Pool::builder().workers(1).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let task = pool.submit(move || rx.recv().map(|()| 7).unwrap_or(0));
    /// let task = task.join_timeout(Duration::from_millis(1)).unwrap_err();
    /// tx.send(()).unwrap();
    /// assert_eq!(task.join_timeout(Duration::from_secs(60)).unwrap().unwrap(), 7);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn join_timeout(self, timeout: Duration) -> Result<Result<T, TaskError>, Task<T>> {
        if self.wait_timeout(timeout) {
            Ok(self.join())
        } else {
            Err(self)
        }
    }

    /// Runs `callback` once when the task ends (finished, panicked,
    /// cancelled or refused), on the thread that ends it; at once, on this
    /// thread, if it has ended already. Like `Future.add_done_callback`,
    /// several callbacks may be added. A panic in `callback` is contained
    /// (reported by the panic hook, then dropped). The callback should be
    /// short: it runs on a pool worker.
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::sync::mpsc::channel;
    ///
    /// let pool = Pool::new()?;
    /// let (tx, rx) = channel();
    /// let task = pool.submit(|| 6 * 7);
    /// task.on_done(move || tx.send("done").unwrap());
    /// assert_eq!(rx.recv().unwrap(), "done");
    /// assert_eq!(task.join().unwrap(), 42);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn on_done<C>(&self, callback: C)
    where
        C: FnOnce() + Send + 'static,
    {
        on_done_waker(self.handle.header(), callback);
    }

    /// Runs `callback` once when the task ends, with a reference to its
    /// outcome — the value, or why there is none — like
    /// `Future.add_done_callback` whose function reads `future.result()`.
    /// It runs on the thread that ends the task, before any `join` can take
    /// the value, or at once on this thread if the task has ended. A panic
    /// in it is contained; keep it short (it runs on a pool worker).
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::sync::mpsc::channel;
    ///
    /// let pool = Pool::new()?;
    /// let (tx, rx) = channel();
    /// let task = pool.submit(|| 6 * 7);
    /// task.on_result(move |outcome| tx.send(*outcome.unwrap()).unwrap());
    /// assert_eq!(rx.recv().unwrap(), 42);
    /// assert_eq!(task.join().unwrap(), 42); // the value is still there
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn on_result<C>(&self, callback: C)
    where
        C: FnOnce(Result<&T, &TaskError>) + Send + 'static,
        T: Sync,
    {
        self.handle.on_result(callback);
    }

    /// Blocks until the task ends and returns its value, or why there is none.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::new().unwrap();
    /// assert_eq!(pool.submit(|| "done").join().unwrap(), "done");
    /// ```
    pub fn join(self) -> Result<T, TaskError> {
        self.handle.join()
    }
}

/// Has `callback` run once when the task behind `header` ends (at once, here,
/// if it has ended), contained if it panics. Serves every handle's `on_done`.
pub(crate) fn on_done_waker<T, C>(header: &Header<T>, callback: C)
where
    C: FnOnce() + Send + 'static,
{
    let waker = Waker::from(Arc::new(DoneCallback(Mutex::new(Some(callback)))));
    if header.register(&waker, None).is_none() {
        waker.wake();
    }
}

/// A done callback, as a waker that runs it the first time it is woken.
struct DoneCallback<C>(Mutex<Option<C>>);

impl<C: FnOnce() + Send + 'static> std::task::Wake for DoneCallback<C> {
    fn wake(self: Arc<Self>) {
        let callback = self.0.lock().take();
        if let Some(callback) = callback {
            if let Err(payload) = unwind::halt_unwinding(callback) {
                unwind::drop_payload(payload);
            }
        }
    }
}

impl<T: Send + 'static> Future for Task<T> {
    type Output = Result<T, TaskError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // `Task` is `Unpin`: nothing in it is pinned structurally.
        self.get_mut().handle.poll_result(cx)
    }
}

impl<T> fmt::Debug for Task<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Task")
            .field(
                "state",
                &format_args!("{}", self.handle.header().describe()),
            )
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_bits_do_not_overlap_the_flags() {
        for stage in [
            SCHEDULED, RUNNING, COMPLETE, CANCELLED, REFUSED, STOPPED, ABANDONED,
        ] {
            assert_eq!(
                stage
                    & (WAITER
                        | DETACHED
                        | PANICKED
                        | CANCEL_REQUESTED
                        | CANCEL_SEEN
                        | FAILED
                        | RESULT_CB),
                0
            );
            assert_eq!(stage & STAGE, stage);
            assert_eq!(Stage::of(stage | WAITER | DETACHED), Stage::of(stage));
        }
        assert_eq!(COMPLETE - RUNNING + RUNNING, COMPLETE);
    }

    #[test]
    fn run_then_abort_does_nothing() {
        let cell = TaskCell::new(|| 5, std::ptr::null(), 0, 0);
        cell.run();
        assert!(!cell.abort(Abort::Cancelled));
        assert_eq!(cell.header.stage(), Stage::Complete);
    }

    #[test]
    fn abort_then_run_never_runs() {
        let cell = TaskCell::new(|| -> u8 { panic!("must not run") }, std::ptr::null(), 0, 0);
        assert!(cell.abort(Abort::Refused));
        cell.run();
        assert_eq!(cell.header.stage(), Stage::Refused);
    }

    #[test]
    fn a_queue_reference_runs_the_cell_and_frees_it_last() {
        let cell = Arc::new(TaskCell::new(|| 7_u32, std::ptr::null(), 0, 0));
        // SAFETY: nothing is borrowed.
        let job = unsafe { TaskCell::new_ref(&cell) };
        assert_eq!(Arc::strong_count(&cell), 2);
        let handle = Handle::new(cell);
        job.execute();
        assert_eq!(handle.join().unwrap(), 7);
    }

    #[test]
    fn a_dropped_queue_reference_cancels_its_task() {
        let cell = Arc::new(TaskCell::new(|| 7_u32, std::ptr::null(), 0, 0));
        // SAFETY: nothing is borrowed.
        let job = unsafe { TaskCell::new_ref(&cell) };
        let handle = Handle::new(cell);
        drop(job);
        assert!(handle.join().unwrap_err().is_cancelled());
    }

    #[test]
    fn every_waiter_is_woken_and_a_timed_out_one_leaves_the_list() {
        let cell = Arc::new(TaskCell::new(|| 1_u8, std::ptr::null(), 0, 0));
        let header = &cell.header;
        let first = header.register(&thread_waker(), None).unwrap();
        let second = header.register(&thread_waker(), None).unwrap();
        assert_ne!(first, second);
        header.deregister(first);
        assert_eq!(header.waiters.lock().list.len(), 1);
        // Re-registering under a live key replaces the entry.
        assert_eq!(header.register(&thread_waker(), Some(second)), Some(second));
        assert_eq!(header.waiters.lock().list.len(), 1);
        cell.run();
        assert!(header.waiters.lock().list.is_empty());
        assert_eq!(header.register(&thread_waker(), None), None);
    }
}

/// Model checks of the task state machine (`RUSTFLAGS="--cfg loom"`).
#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use loom::sync::atomic::{AtomicBool, AtomicUsize as LoomUsize};
    use std::sync::Arc;

    fn counting_cell(
        runs: &Arc<LoomUsize>,
    ) -> Arc<TaskCell<impl FnOnce() -> u32 + Send + use<>, u32>> {
        let runs = runs.clone();
        Arc::new(TaskCell::new(
            move || {
                runs.fetch_add(1, Ordering::SeqCst);
                7
            },
            std::ptr::null(),
            0,
            0,
        ))
    }

    #[test]
    fn cancel_racing_with_start() {
        loom::model(|| {
            let runs = Arc::new(LoomUsize::new(0));
            let cell = counting_cell(&runs);
            let runner = {
                let cell = cell.clone();
                loom::thread::spawn(move || cell.run())
            };
            let cancelled = cell.abort(Abort::Cancelled);
            runner.join().unwrap();
            let ran = runs.load(Ordering::SeqCst);
            if cancelled {
                assert_eq!((ran, cell.header.stage()), (0, Stage::Cancelled));
            } else {
                assert_eq!((ran, cell.header.stage()), (1, Stage::Complete));
            }
        });
    }

    /// A blocked `join` (register a thread waker, park) racing with the run
    /// through a queue reference that frees its count: the joiner is woken
    /// and gets the value; loom reports a deadlock if a wake-up is lost.
    #[test]
    fn join_racing_with_completion() {
        loom::model(|| {
            let runs = Arc::new(LoomUsize::new(0));
            let cell = counting_cell(&runs);
            // SAFETY: nothing is borrowed.
            let job = unsafe { TaskCell::new_ref(&cell) };
            let handle = Handle::new(cell);
            let runner = loom::thread::spawn(move || job.execute());
            assert_eq!(handle.join().unwrap(), 7);
            runner.join().unwrap();
            assert_eq!(runs.load(Ordering::SeqCst), 1);
        });
    }

    /// Two threads blocked on the same task: both are woken.
    #[test]
    fn two_waiters_racing_with_completion() {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(2);
        builder.check(|| {
            let runs = Arc::new(LoomUsize::new(0));
            let cell = counting_cell(&runs);
            let other = {
                let cell = cell.clone();
                loom::thread::spawn(move || assert!(cell.header.block_until(None)))
            };
            let runner = {
                let cell = cell.clone();
                loom::thread::spawn(move || cell.run())
            };
            assert!(cell.header.block_until(None));
            other.join().unwrap();
            runner.join().unwrap();
        });
    }

    struct FlagWaker(AtomicBool);

    impl std::task::Wake for FlagWaker {
        fn wake(self: Arc<Self>) {
            self.0.store(true, Ordering::SeqCst);
        }
    }

    #[test]
    fn waker_registration_racing_with_completion() {
        loom::model(|| {
            let runs = Arc::new(LoomUsize::new(0));
            let cell = counting_cell(&runs);
            let flag = Arc::new(FlagWaker(AtomicBool::new(false)));
            let waker = Waker::from(flag.clone());
            let runner = {
                let cell = cell.clone();
                loom::thread::spawn(move || cell.run())
            };
            let ready_at_once = cell.header.register(&waker, None).is_none();
            runner.join().unwrap();
            // Either registration saw the end, or the runner woke the waker.
            assert!(ready_at_once || flag.0.load(Ordering::SeqCst));
        });
    }

    struct Counted(Arc<LoomUsize>);

    impl Drop for Counted {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn detach_racing_with_completion() {
        loom::model(|| {
            let drops = Arc::new(LoomUsize::new(0));
            let d = drops.clone();
            let cell = Arc::new(TaskCell::new(move || Counted(d), std::ptr::null(), 0, 0));
            // SAFETY: nothing is borrowed.
            let job = unsafe { TaskCell::new_ref(&cell) };
            let handle = Handle::new(cell);
            // Whichever of the run and the detach comes last, the result is
            // dropped exactly once and the cell freed by the last count.
            let runner = loom::thread::spawn(move || job.execute());
            drop(handle);
            runner.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }

    /// Rule 6: an outcome callback registered while the task completes runs
    /// exactly once and sees the value, whichever side runs it; then the
    /// value is still there for the handle.
    #[test]
    fn result_callback_racing_with_completion() {
        loom::model(|| {
            let runs = Arc::new(LoomUsize::new(0));
            let cell = counting_cell(&runs);
            let seen = Arc::new(LoomUsize::new(0));
            let runner = {
                let cell = cell.clone();
                loom::thread::spawn(move || cell.run())
            };
            let s = seen.clone();
            cell.header.on_result(Box::new(move |outcome| {
                assert_eq!(outcome.ok().copied(), Some(7));
                s.fetch_add(1, Ordering::SeqCst);
            }));
            runner.join().unwrap();
            assert_eq!(seen.load(Ordering::SeqCst), 1);
            // SAFETY: the runner has finished; this is the only reader.
            assert_eq!(unsafe { cell.header.take_result() }.unwrap(), 7);
        });
    }
}

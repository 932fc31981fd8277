//! The task cell: one heap allocation holding a closure, its state in one
//! atomic word, and the slot its result is written to; and [`Task`], the
//! handle a caller keeps.
//!
//! # The state word
//!
//! The low three bits are the task's *stage*; bit 3 (`WAITER`) says that a
//! thread or a waker has registered in the cell's waiter slot.
//!
//! ```text
//!             run: claim             complete
//! SCHEDULED ------------> RUNNING -----------------> COMPLETE
//!                            |
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
//! 3. Waking without a lock on the fast path: a waiter locks the waiter slot,
//!    stores its waker or marks itself, sets `WAITER` with `fetch_or` and only
//!    then checks the stage. The finisher's transition to a terminal stage is
//!    a read-modify-write too, so the two are ordered in the word's
//!    modification order: either the finisher sees `WAITER` (and takes the
//!    lock to wake, which waits until the waiter is really waiting), or the
//!    waiter's `fetch_or` sees the terminal stage and does not wait. No
//!    wake-up is lost, and a task nobody waits on never touches the lock.
//!
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
//! completion (rule 4). The cell's memory itself is reference-counted: the
//! queue's reference and the handle each hold one.

use std::cell::UnsafeCell;
use std::fmt;
use std::future::Future;
use std::panic::{self, AssertUnwindSafe};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crate::error::TaskError;
use crate::scope::ScopeLatch;
use crate::sync::{AtomicUsize, Condvar, Mutex, Ordering};
use crate::worker::{Waitable, WorkerThread};

const SCHEDULED: usize = 0;
const RUNNING: usize = 1;
const COMPLETE: usize = 2;
const CANCELLED: usize = 3;
const REFUSED: usize = 4;
const STAGE: usize = 0b111;
const WAITER: usize = 0b1000;
const DETACHED: usize = 0b1_0000;
const PANICKED: usize = 0b10_0000;

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
}

/// The stage of a task, decoded from the state word.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    Scheduled,
    Running,
    Complete,
    Cancelled,
    Refused,
}

impl Stage {
    fn of(word: usize) -> Stage {
        match word & STAGE {
            SCHEDULED => Stage::Scheduled,
            RUNNING => Stage::Running,
            COMPLETE => Stage::Complete,
            CANCELLED => Stage::Cancelled,
            _ => Stage::Refused,
        }
    }

    pub(crate) fn is_terminal(self) -> bool {
        matches!(self, Stage::Complete | Stage::Cancelled | Stage::Refused)
    }
}

/// The state word of one task (see the module docs for the protocol).
struct State(AtomicUsize);

impl State {
    fn new(stage: usize) -> State {
        State(AtomicUsize::new(stage))
    }

    /// Acquire: pairs with the release in `complete`/`try_abort`, so a
    /// terminal stage seen here makes the result slot readable.
    fn stage(&self) -> Stage {
        Stage::of(self.0.load(Ordering::Acquire))
    }

    /// `SCHEDULED -> to`, keeping the `WAITER` bit. Returns the previous word
    /// when this call made the transition.
    #[must_use]
    fn transition_from_scheduled(&self, to: usize) -> Option<usize> {
        let mut word = self.0.load(Ordering::Relaxed);
        loop {
            if word & STAGE != SCHEDULED {
                return None;
            }
            // AcqRel: acquire pairs with the `fetch_or(WAITER)` release of a
            // waiter (we must see its registration if we see its bit) and with
            // a handle's `fetch_or(DETACHED)`; the terminal transition that
            // follows (`complete`, or the end of `abort`) does the publishing.
            match self
                .0
                .compare_exchange_weak(word, word | to, Ordering::AcqRel, Ordering::Relaxed)
            {
                Ok(_) => return Some(word),
                Err(actual) => word = actual,
            }
        }
    }

    /// `RUNNING -> COMPLETE`, marking `PANICKED` if the closure panicked;
    /// only the runner calls it. Returns the old word.
    fn complete(&self, panicked: bool) -> usize {
        let flag = if panicked { PANICKED } else { 0 };
        // AcqRel: release publishes the result slot to the acquire loads in
        // `stage`; acquire pairs with a waiter's `fetch_or(WAITER)`.
        self.0
            .fetch_add(COMPLETE - RUNNING + flag, Ordering::AcqRel)
    }

    /// Whether the task ended by panicking.
    fn panicked(&self) -> bool {
        self.0.load(Ordering::Acquire) & PANICKED != 0
    }

    /// Marks the handle as gone and returns the word as it was.
    fn detach(&self) -> usize {
        // AcqRel: release pairs with the acquire half of `complete` (the
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

/// What the waiter slot holds: the waker of the last `poll` (or of `wait` /
/// `as_completed`). Threads blocked in `join` wait on the cell's condvar.
#[derive(Default)]
struct Waiters {
    waker: Option<Waker>,
}

/// The typed part of a cell that handles use, whatever its closure type.
pub(crate) struct Header<T> {
    state: State,
    waiters: Mutex<Waiters>,
    cond: Condvar,
    result: UnsafeCell<Option<std::thread::Result<T>>>,
    /// The scope this task belongs to, or null (rule 5).
    scope: *const ScopeLatch,
}

impl<T> Header<T> {
    fn new(stage: usize, scope: *const ScopeLatch) -> Self {
        Header {
            state: State::new(stage),
            waiters: Mutex::new(Waiters::default()),
            cond: Condvar::new(),
            result: UnsafeCell::new(None),
            scope,
        }
    }

    fn scope(&self) -> Option<&ScopeLatch> {
        // SAFETY: a non-null `scope` points to a latch that outlives every
        // task of its scope: `Scope` waits for the latch to count every task
        // done before it returns, and `done` is the last use (rule 5).
        unsafe { self.scope.as_ref() }
    }

    /// Drops a result nobody will collect. A panic payload goes to the scope,
    /// if any, to be re-raised there; a destructor that panics is contained.
    fn discard(&self, outcome: Option<std::thread::Result<T>>) {
        match outcome {
            Some(Err(payload)) => match self.scope() {
                Some(scope) => scope.record_panic(payload),
                None => forget_payload(payload),
            },
            Some(Ok(value)) => {
                if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(value))) {
                    match self.scope() {
                        Some(scope) => scope.record_panic(payload),
                        None => forget_payload(payload),
                    }
                }
            }
            None => {}
        }
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
        self.state.stage()
    }

    /// Whether the task ended by panicking (its result is a panic).
    pub(crate) fn panicked(&self) -> bool {
        self.state.panicked()
    }

    /// Wakes whoever registered, after a transition to a terminal stage whose
    /// previous word was `prev`.
    fn finished(&self, prev: usize) {
        if prev & WAITER == 0 {
            return;
        }
        let waker = {
            let mut waiters = self.waiters.lock();
            self.cond.notify_all();
            waiters.waker.take()
        };
        if let Some(waker) = waker {
            // A panicking waker is the user's bug, but it must not unwind
            // through a worker or a canceller; it is dropped here.
            let _ = panic::catch_unwind(AssertUnwindSafe(|| waker.wake()));
        }
    }

    /// Blocks this thread until the task is terminal or `deadline` passes.
    /// Returns whether it is terminal.
    fn block_until(&self, deadline: Option<Instant>) -> bool {
        // A task that is running often ends within microseconds: look a few
        // times before registering, which would make its worker pay for a
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
        let mut guard = self.waiters.lock();
        if Stage::of(self.state.register_waiter()).is_terminal() {
            return true;
        }
        loop {
            match deadline {
                None => self.cond.wait(&mut guard),
                Some(deadline) => {
                    let now = Instant::now();
                    if now >= deadline {
                        return self.stage().is_terminal();
                    }
                    let _ = self.cond.wait_for(&mut guard, deadline - now);
                }
            }
            if self.stage().is_terminal() {
                return true;
            }
        }
    }

    /// Registers `waker` to be woken when the task ends. Returns `true` when
    /// it has ended already (the waker is then not kept).
    pub(crate) fn register_waker(&self, waker: &Waker) -> bool {
        if self.stage().is_terminal() {
            return true;
        }
        let mut waiters = self.waiters.lock();
        match &waiters.waker {
            Some(old) if old.will_wake(waker) => {}
            _ => waiters.waker = Some(waker.clone()),
        }
        if Stage::of(self.state.register_waiter()).is_terminal() {
            waiters.waker = None;
            return true;
        }
        false
    }

    /// Takes the outcome of a terminal task.
    ///
    /// # Safety
    ///
    /// The caller must have seen a terminal stage through [`Header::stage`]
    /// and must be the only one taking the result (the cell's one handle).
    unsafe fn take_result(&self) -> Result<T, TaskError> {
        match self.stage() {
            Stage::Cancelled => Err(TaskError::cancelled()),
            Stage::Refused => Err(TaskError::shutdown()),
            // SAFETY: the stage is COMPLETE (acquire), so the runner's write
            // happened before and nobody writes again; the caller is the only
            // reader (this function's contract).
            _ => match unsafe { (*self.result.get()).take() } {
                Some(Ok(value)) => Ok(value),
                Some(Err(payload)) => Err(TaskError::panicked(payload)),
                None => unreachable!("task result taken twice"),
            },
        }
    }
}

/// Drops a panic payload whose own destructor might panic again.
pub(crate) fn forget_payload(payload: Box<dyn std::any::Any + Send>) {
    if panic::catch_unwind(AssertUnwindSafe(move || drop(payload))).is_err() {
        // A payload whose destructor panics, inside a payload whose destructor
        // panicked: leak the second one rather than abort.
    }
}

/// A task as the scheduler sees it: something to run once or to abort.
///
/// Invariant: a `JobRef` in a queue is either run or aborted; either way the
/// cell reaches a terminal stage (running or aborting a task that is no
/// longer `SCHEDULED` does nothing).
pub(crate) trait Job: Send + Sync {
    /// Runs the closure if nobody ran or aborted it yet.
    fn run(&self);
    /// Ends a task that has not started; `true` if this call ended it.
    fn abort(&self, how: Abort) -> bool;
    /// The frame that pushed this job (see `WorkerThread::pop_descendant`);
    /// 0 when it was not pushed by a worker.
    fn origin(&self) -> u64;
    /// Gives up the reference a [`JobRef`] held: one count of a heap cell's
    /// `Arc`; nothing for a job on a stack.
    ///
    /// # Safety
    ///
    /// Called once per `JobRef`, after which that reference is not used.
    unsafe fn release(&self) {}
    /// For a fork-join half: how to tell its owner it has run (see
    /// `join.rs`); `None` for heap tasks, which signal through their state.
    fn done_signal(&self) -> Option<crate::join::DoneSignal> {
        None
    }
    /// Runs the job for the queue that held it and gives up the queue's
    /// reference. A stack job overrides it: once it has run, its owner may
    /// return and free it, so nothing may touch it afterwards.
    ///
    /// # Safety
    ///
    /// As [`Job::release`]: called once per `JobRef`, instead of dropping it.
    unsafe fn execute(&self) {
        self.run();
        // SAFETY: the caller gives up its `JobRef` here (contract above).
        unsafe { self.release() };
    }
}

/// A queued unit of work, type-erased, two words: a heap task cell shared
/// with its handle (the queue owns one count of its `Arc`), or a fork-join
/// half living on the stack of a waiting `join`.
pub(crate) struct JobRef(std::ptr::NonNull<dyn Job>);

// SAFETY: every pointee is `Send + Sync` (`Job`'s supertraits). A heap cell
// stays alive while the `JobRef` holds its count; a stack job's owner does
// not return until the job has run (`JobRef::stack`).
unsafe impl Send for JobRef {}

impl JobRef {
    /// The queue's reference to a submitted task's cell.
    pub(crate) fn heap(job: Arc<dyn Job>) -> JobRef {
        // SAFETY: `Arc::into_raw` never returns null.
        JobRef(unsafe { std::ptr::NonNull::new_unchecked(Arc::into_raw(job).cast_mut()) })
    }

    /// A reference to a fork-join half on its owner's stack.
    ///
    /// # Safety
    ///
    /// `job` must stay alive and in place until it has been run, and must be
    /// run exactly once: through this reference, or by its owner after taking
    /// this reference back out of the queue.
    pub(crate) unsafe fn stack(job: &dyn Job) -> JobRef {
        let ptr = std::ptr::NonNull::from(job);
        // SAFETY: only the trait object's lifetime bound changes; the caller
        // keeps the job alive until it has run (this function's contract).
        JobRef(unsafe {
            std::mem::transmute::<std::ptr::NonNull<dyn Job + '_>, std::ptr::NonNull<dyn Job>>(ptr)
        })
    }

    fn job(&self) -> &dyn Job {
        // SAFETY: the pointee is alive while this `JobRef` exists (see the
        // `Send` impl).
        unsafe { self.0.as_ref() }
    }

    pub(crate) fn points_to(&self, job: *const ()) -> bool {
        std::ptr::addr_eq(self.0.as_ptr(), job)
    }

    /// The frame that pushed the job; see [`Job::origin`].
    pub(crate) fn origin(&self) -> u64 {
        self.job().origin()
    }

    /// Runs the job (a heap task that was cancelled meanwhile does nothing),
    /// then gives up the reference. For a heap task whose handle is gone this
    /// frees the cell; an uncollected result was already dropped by the
    /// runner (rule 4).
    #[inline]
    pub(crate) fn run(self) {
        let this = std::mem::ManuallyDrop::new(self);
        let signal = this.job().done_signal();
        // SAFETY: `this` is not used again and its `Drop` does not run.
        unsafe { this.job().execute() };
        if let Some(signal) = signal {
            // SAFETY: the stack job has run; its owner waits for this signal
            // and keeps the job and its `Thread` alive until it fires.
            unsafe { signal.fire() };
        }
    }

    /// Cancels a heap task that has not started; `false` when it had, or for
    /// a fork-join half, which is part of a task already running and must run.
    pub(crate) fn try_cancel(&self) -> bool {
        self.job().abort(Abort::Cancelled)
    }
}

impl Drop for JobRef {
    fn drop(&mut self) {
        // SAFETY: dropping is the one release of this reference.
        unsafe { self.job().release() };
    }
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
// the one handle after an acquire (rule 2), so `T: Send` suffices.
unsafe impl<F: Send, T: Send> Sync for TaskCell<F, T> {}
// SAFETY: as above; the cell owns an `F` and a `T`, both `Send`.
unsafe impl<F: Send, T: Send> Send for TaskCell<F, T> {}

impl<F, T> TaskCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    /// A scheduled cell; `scope` is the latch of the scope it belongs to, or
    /// null.
    pub(crate) fn new(func: F, scope: *const ScopeLatch, origin: u64) -> Self {
        TaskCell {
            header: Header::new(SCHEDULED, scope),
            func: UnsafeCell::new(Some(func)),
            origin,
        }
    }

    /// A cell that was refused at once (its closure is dropped by the caller).
    pub(crate) fn refused() -> Self {
        TaskCell {
            header: Header::new(REFUSED, std::ptr::null()),
            func: UnsafeCell::new(None),
            origin: 0,
        }
    }

    fn take_func(&self) -> Option<F> {
        // SAFETY: called only by the thread that won the transition out of
        // SCHEDULED, which gives it the closure slot exclusively (rule 1).
        unsafe { (*self.func.get()).take() }
    }
}

impl<F, T> Job for TaskCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    fn run(&self) {
        if self
            .header
            .state
            .transition_from_scheduled(RUNNING)
            .is_none()
        {
            return;
        }
        let Some(func) = self.take_func() else { return };
        let outcome = panic::catch_unwind(AssertUnwindSafe(func));
        let panicked = outcome.is_err();
        // SAFETY: we are the runner (RUNNING is ours); no handle reads the
        // slot until it sees COMPLETE, which `complete` below publishes.
        unsafe { *self.header.result.get() = Some(outcome) };
        let prev = self.header.state.complete(panicked);
        if prev & DETACHED != 0 {
            // SAFETY: the handle is gone (rule 4) and saw no terminal stage
            // when it left, so nobody else will read the slot.
            let outcome = unsafe { (*self.header.result.get()).take() };
            self.header.discard(outcome);
        }
        self.header.finished(prev);
        self.header.scope_done();
    }

    fn abort(&self, how: Abort) -> bool {
        let to = match how {
            Abort::Cancelled => CANCELLED,
            Abort::Refused => REFUSED,
        };
        // Claimed as if it were to run, so the stage turns terminal only
        // after the closure is dropped: a joiner that sees CANCELLED also
        // sees everything the closure's destructor did.
        if self
            .header
            .state
            .transition_from_scheduled(RUNNING)
            .is_none()
        {
            return false;
        }
        // A panic in the closure's destructor must not unwind into the
        // canceller's caller half-way through; it is contained here.
        let func = self.take_func();
        if let Err(payload) = panic::catch_unwind(AssertUnwindSafe(move || drop(func))) {
            self.header.discard(Some(Err(payload)));
        }
        // AcqRel: release publishes the destructor's effects to the acquire
        // loads in `stage`; acquire pairs with a waiter's `fetch_or(WAITER)`.
        let prev = self
            .header
            .state
            .0
            .fetch_add(to - RUNNING, Ordering::AcqRel);
        self.header.finished(prev);
        self.header.scope_done();
        true
    }

    fn origin(&self) -> u64 {
        self.origin
    }

    unsafe fn release(&self) {
        // SAFETY: every `JobRef` to a task cell comes from `JobRef::heap`,
        // i.e. from `Arc::into_raw` of an `Arc<TaskCell<F, T>>`, and gives up
        // its one count here, once (this function's contract).
        unsafe { Arc::decrement_strong_count(self as *const Self) };
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
        Job::abort(self, how)
    }

    fn run_inline(&self) {
        Job::run(self);
    }
}

/// Waits until `what` is done or `deadline` passes; on a worker thread it
/// runs other queued work meanwhile. Returns whether `what` is done.
pub(crate) fn wait_until(what: &dyn Waitable, deadline: Option<Instant>) -> bool {
    if what.is_done() {
        return true;
    }
    match WorkerThread::current() {
        Some(worker) => worker.wait_for(what, deadline),
        None => what.block_until(deadline),
    }
}

/// The shared machinery of [`Task`] and the scope's handle: a typed view of a
/// cell that may borrow for `'a`.
pub(crate) struct Handle<'a, T> {
    cell: Arc<dyn Cell<T> + 'a>,
}

impl<'a, T: Send + 'a> Handle<'a, T> {
    pub(crate) fn new<F>(cell: Arc<TaskCell<F, T>>) -> Self
    where
        F: FnOnce() -> T + Send + 'a,
    {
        Handle { cell }
    }

    pub(crate) fn header(&self) -> &Header<T> {
        self.cell.header()
    }

    pub(crate) fn is_finished(&self) -> bool {
        self.header().stage().is_terminal()
    }

    pub(crate) fn cancel(&self) -> bool {
        self.cell.abort(Abort::Cancelled)
    }

    /// Waits until the task is terminal or the deadline passes; on a worker
    /// thread it runs other queued work meanwhile.
    pub(crate) fn wait_until(&self, deadline: Option<Instant>) -> bool {
        wait_until(self, deadline)
    }

    /// On a worker thread: runs the task here if it has not started yet.
    /// Returns whether it did.
    pub(crate) fn claim(&self) -> bool {
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
        if self.header().register_waker(cx.waker()) {
            // SAFETY: `register_waker` returned true only after seeing a
            // terminal stage; `&mut self` makes this the only reader. A
            // second poll after `Ready` finds the slot empty and panics, as
            // futures may.
            Poll::Ready(unsafe { self.header().take_result() })
        } else {
            Poll::Pending
        }
    }
}

impl<'a, T: Send + 'a> Waitable for Handle<'a, T> {
    fn is_done(&self) -> bool {
        self.header().stage().is_terminal()
    }

    fn block_until(&self, deadline: Option<Instant>) -> bool {
        self.header().block_until(deadline)
    }

    fn run_inline(&self) -> bool {
        self.claim()
    }
}

impl<T> Handle<'_, T> {
    /// `cancel` for an owner that is being dropped and wants no result.
    pub(crate) fn cancel_chunk(&self) {
        let _ = self.cell.abort(Abort::Cancelled);
    }
}

impl<T> Drop for Handle<'_, T> {
    fn drop(&mut self) {
        let header = self.cell.header();
        let prev = header.state.detach();
        if Stage::of(prev).is_terminal() && prev & DETACHED == 0 {
            // SAFETY: the stage was terminal when we detached (acquire), and
            // this handle is the only reader; after `join` the slot is empty.
            let outcome = unsafe { (*header.result.get()).take() };
            header.discard(outcome);
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
    /// or has ended; it then finishes as usual.
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
            .field("stage", &self.handle.cell.header().stage())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_bits_do_not_overlap_the_waiter_flag() {
        for stage in [SCHEDULED, RUNNING, COMPLETE, CANCELLED, REFUSED] {
            assert_eq!(stage & (WAITER | DETACHED | PANICKED), 0);
            assert_eq!(stage & STAGE, stage);
            assert_eq!(Stage::of(stage | WAITER), Stage::of(stage));
        }
        assert_eq!(COMPLETE - RUNNING + RUNNING, COMPLETE);
    }

    #[test]
    fn run_then_abort_does_nothing() {
        let cell = TaskCell::new(|| 5, std::ptr::null(), 0);
        cell.run();
        assert!(!Job::abort(&cell, Abort::Cancelled));
        assert_eq!(cell.header.stage(), Stage::Complete);
    }

    #[test]
    fn abort_then_run_never_runs() {
        let cell = TaskCell::new(|| -> u8 { panic!("must not run") }, std::ptr::null(), 0);
        assert!(Job::abort(&cell, Abort::Refused));
        cell.run();
        assert_eq!(cell.header.stage(), Stage::Refused);
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
            let cancelled = Job::abort(&*cell, Abort::Cancelled);
            runner.join().unwrap();
            let ran = runs.load(Ordering::SeqCst);
            if cancelled {
                assert_eq!((ran, cell.header.stage()), (0, Stage::Cancelled));
            } else {
                assert_eq!((ran, cell.header.stage()), (1, Stage::Complete));
            }
        });
    }

    #[test]
    fn join_racing_with_completion() {
        loom::model(|| {
            let runs = Arc::new(LoomUsize::new(0));
            let cell = counting_cell(&runs);
            let handle = Handle::new(cell.clone());
            let runner = loom::thread::spawn(move || cell.run());
            assert_eq!(handle.join().unwrap(), 7);
            runner.join().unwrap();
            assert_eq!(runs.load(Ordering::SeqCst), 1);
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
            let ready_at_once = cell.header.register_waker(&waker);
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
            let cell = Arc::new(TaskCell::new(move || Counted(d), std::ptr::null(), 0));
            let handle = Handle::new(cell.clone());
            let runner = loom::thread::spawn(move || {
                cell.run();
                // Whatever the handle did, the runner's reference goes last
                // or first; the result is dropped exactly once either way.
                drop(cell);
            });
            drop(handle);
            runner.join().unwrap();
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        });
    }
}

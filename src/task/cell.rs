//! The task cell: header (state word, waiter list, result slot), closure,
//! and the table a queue runs it through. The protocol is `mod.rs`'s.

use std::cell::UnsafeCell;
use std::ptr::NonNull;
use std::task::Waker;
use std::time::Instant;

use smallvec::SmallVec;

use crate::cancel;
use crate::error::TaskError;
use crate::job::{JobVtable, Owner, Ran};

use super::claimed::{claimed_here, waited_for_itself, while_claimed};
use super::rc::CellRc;
use super::*;
use crate::job::JobRef;
use crate::sync::{AtomicUsize, Mutex, Ordering, park, park_timeout};
use crate::unwind::{self, Payload};
use crate::wait::thread_waker;
use crate::worker::WorkerThread;

/// A callback that sees a task's outcome (rule 6).
type ResultCallback<T> = Box<dyn FnOnce(Result<&T, &TaskError>) + Send>;

/// The bit of a waiter's key that marks a waker to wake only if the task
/// ends in a panic (or a failed promise): `register_for_panic`. Keys count
/// up from 0 in the other bits and never reach it.
const PANIC_ONLY: u64 = 1 << 63;

/// The waiters of one task: wakers with the keys their owners remove them by,
/// and outcome callbacks. A cell holds them behind a box made by the first
/// waiter (see [`Header::waiters`]); inside, the first waker lives inline.
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
    pub(super) state: State,
    /// `None` until something waits: most tasks end before anyone waits
    /// for them (a `join` finds them done), and a boxed list keeps a cell whose
    /// closure holds 8 bytes at 112 bytes with `Arc`'s reference counts
    /// (104 with the count of its own it has now), where an inline list
    /// made it 192 (and more than a cell block, `slots.rs`). Every task
    /// submitted from outside was one allocation by the submitting thread, and the
    /// size of that allocation set the cost of `submit` (200,000 submits
    /// then joins on 2 workers: 94 ms with 8 bytes captured, 112 ms with 96,
    /// 145 ms with 192, one run); the box costs one more allocation to a
    /// waiter that blocks, which then parks anyway.
    waiters: Mutex<Option<Box<Waiters<T>>>>,
    /// The outcome, written by the claimer before the stage turns terminal;
    /// a panic is kept as the `TaskError` it will be reported as, so that
    /// outcome callbacks can be handed a reference to it.
    pub(super) result: UnsafeCell<Option<Result<T, TaskError>>>,
    /// The scope this task belongs to, if any (rule 5), type-erased: this
    /// layer knows no scope type (`lib.rs`, "Layers").
    owner: Option<Owner>,
    /// The pool's registry, as an address: identity only, never dereferenced.
    pool: usize,
    /// How many [`CellRc`](super::rc::CellRc)s and queue entries refer to
    /// the cell (`rc.rs`).
    pub(super) refs: AtomicUsize,
}

impl<T> Header<T> {
    fn new(stage: usize, owner: Option<Owner>, pool: usize) -> Self {
        Header {
            state: State::new(stage),
            waiters: Mutex::new(None),
            result: UnsafeCell::new(None),
            owner,
            pool,
            // One: the first holder's (`rc.rs`).
            refs: AtomicUsize::new(1),
        }
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
        match &self.owner {
            // SAFETY: an owner outlives every task of its scope: `Scope`
            // waits for the latch to count every task done before it returns
            // (rule 5). A handle may get here after the task's `scope_done`
            // (dropping a finished result with a panicking destructor), but
            // handles cannot outlive the scope's closure, and the latch lives
            // until `scope` returns (rule 3 of `scope.rs`).
            Some(owner) => unsafe { owner.record_panic(payload) },
            None => unwind::drop_payload(payload),
        }
    }

    /// [`discard`](Self::discard) for what the result slot held.
    pub(super) fn discard_slot(&self, outcome: Option<Result<T, TaskError>>) {
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
            let waiters = waiters.get_or_insert_with(Box::default);
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
    pub(super) fn on_result(&self, callback: ResultCallback<T>) {
        let mut guard = self.waiters.lock();
        let waiters = guard.get_or_insert_with(Box::default);
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
        drop(guard);
        // SAFETY: the task has ended, or its finisher closed the list after
        // writing the slot (we took the lock after it); our caller holds a
        // handle, so nobody takes the slot while this runs.
        unsafe { self.call_with_outcome(to, callback) };
    }

    /// Rule 5: the last touch of a scoped task.
    fn scope_done(&self) {
        if let Some(owner) = self.owner {
            // SAFETY: the owner counts this task and outlives it until this
            // call, the task's last use of it.
            unsafe { owner.done() };
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
    pub(super) fn runs_on(&self, worker: &WorkerThread) -> bool {
        self.pool == worker.registry() as *const _ as usize
    }

    /// Wakes every registered waiter, after a transition to a terminal stage
    /// whose previous word was `prev`.
    fn finished(&self, prev: usize) {
        if prev & WAITER == 0 {
            return;
        }
        let list = match self.waiters.lock().as_mut() {
            Some(waiters) => std::mem::take(&mut waiters.list),
            // Not reached: `register` makes the box before it sets WAITER.
            None => return,
        };
        // The finisher's own transition set the bit, if it is set.
        let panicked = self.panicked();
        for (key, waker) in list {
            if key & PANIC_ONLY != 0 && !panicked {
                // Dropped unwoken (contained: a waker's `Drop` is user code).
                unwind::drop_contained(waker);
                continue;
            }
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
        self.register_as(waker, key, 0)
    }

    /// [`register`](Self::register) for a new waker that is woken only if
    /// the task ends in a panic (or a failed promise), and dropped unwoken
    /// at any other end: what `wait` for the first panic needs from every
    /// task, where a waker woken at every end woke the waiter thousands of
    /// times a call (`completion.rs`). `None` when the task has ended,
    /// however it ended.
    pub(crate) fn register_for_panic(&self, waker: &Waker) -> Option<u64> {
        self.register_as(waker, None, PANIC_ONLY)
    }

    /// [`register`](Self::register), a new entry's key marked with `mark`.
    fn register_as(&self, waker: &Waker, key: Option<u64>, mark: u64) -> Option<u64> {
        if self.stage().is_terminal() {
            return None;
        }
        // Wakers leave the list into this and are dropped after the lock is
        // released: a waker's `Drop` is user code, and one that reaches this
        // task again (`on_done`, dropping a `Done` future) would deadlock on
        // the lock, which is not reentrant. (`Waker::clone` below does run
        // under it: for every waker safe code can make, `Waker::from` an
        // `Arc<impl Wake>` and this crate's own, that is a count increment;
        // only a hand-written `RawWaker` whose `clone` reached this task
        // again could deadlock here.)
        let mut replaced = None;
        let mut guard = self.waiters.lock();
        let waiters = guard.get_or_insert_with(Box::default);
        let existing = key.and_then(|key| waiters.list.iter().position(|(k, _)| *k == key));
        let key = match existing {
            Some(pos) => {
                let entry = &mut waiters.list[pos];
                if !entry.1.will_wake(waker) {
                    replaced = Some(std::mem::replace(&mut entry.1, waker.clone()));
                }
                entry.0
            }
            None => {
                let key = waiters.next_key | mark;
                waiters.next_key += 1;
                waiters.list.push((key, waker.clone()));
                key
            }
        };
        let registered = if Stage::of(self.state.register_waiter()).is_terminal() {
            // The finisher may already have taken the list; if not, we leave.
            let pos = waiters.list.iter().position(|(k, _)| *k == key);
            let ours = pos.map(|pos| waiters.list.swap_remove(pos));
            drop(guard);
            unwind::drop_contained(ours);
            None
        } else {
            drop(guard);
            Some(key)
        };
        unwind::drop_contained(replaced);
        registered
    }

    /// How many wakers the waiter list holds.
    #[cfg(test)]
    fn waiter_count(&self) -> usize {
        self.waiters
            .lock()
            .as_ref()
            .map_or(0, |waiters| waiters.list.len())
    }

    /// Takes the entry `key` out of the waiter list, if it is still there.
    pub(crate) fn deregister(&self, key: u64) {
        let removed = {
            let mut guard = self.waiters.lock();
            guard.as_mut().and_then(|waiters| {
                let pos = waiters.list.iter().position(|(k, _)| *k == key)?;
                Some(waiters.list.swap_remove(pos))
            })
        };
        if let Some((_, waker)) = removed {
            unwind::drop_contained(waker);
        }
    }

    /// Blocks this thread until the task is terminal or `deadline` passes.
    /// Returns whether it is terminal.
    ///
    /// # Panics
    ///
    /// Without a deadline, if this thread claimed the task and has not ended
    /// it (its closure, its outcome callbacks, or its closure's drop in a
    /// cancel waits for it): only this thread can end it, so the wait would
    /// never return. The check is made only here, about to block.
    pub(super) fn block_until(&self, deadline: Option<Instant>) -> bool {
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
        if deadline.is_none() && claimed_here(self.id()) {
            waited_for_itself();
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

    /// The header's address, for [`while_claimed`].
    fn id(&self) -> *const () {
        (self as *const Self).cast()
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
    /// Runs the task on this thread if nobody started or aborted it yet;
    /// whether it did.
    fn run_inline(&self) -> bool;
}

/// One allocation: header, closure.
pub(crate) struct TaskCell<F, T> {
    pub(super) header: Header<T>,
    func: UnsafeCell<Option<F>>,
    /// The frame that pushed it (`WorkerThread::origin`), or 0.
    origin: u64,
}

// SAFETY: the closure is only touched by the one thread that wins the
// transition out of SCHEDULED (rule 1), and moved to that thread, so `F: Send`
// suffices; the result is written by the runner before a release and read by
// the one handle after an acquire (rule 2), so `T: Send` suffices. The owner
// (`Option<Owner>`) is `Send + Sync` itself (job.rs).
unsafe impl<F: Send, T: Send> Sync for TaskCell<F, T> {}
// SAFETY: as above; the cell owns an `F` and a `T`, both `Send`.
unsafe impl<F: Send, T: Send> Send for TaskCell<F, T> {}

impl<F, T> TaskCell<F, T>
where
    F: FnOnce() -> T + Send,
    T: Send,
{
    /// A scheduled cell of the pool whose registry is at `pool`; `owner` is
    /// the scope it belongs to, if any, which counts it.
    pub(crate) fn new(func: F, owner: Option<Owner>, pool: usize, origin: u64) -> Self {
        TaskCell {
            header: Header::new(SCHEDULED, owner, pool),
            func: UnsafeCell::new(Some(func)),
            origin,
        }
    }

    /// A cell that was refused at once (its closure is dropped by the caller).
    pub(crate) fn refused() -> Self {
        TaskCell {
            header: Header::new(REFUSED, None, 0),
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
    pub(crate) unsafe fn new_ref(cell: &CellRc<Self>) -> JobRef {
        // SAFETY: as this function's.
        unsafe { Self::ref_from(cell.clone()) }
    }

    /// [`new_ref`](Self::new_ref) for a cell just made: its count is set
    /// rather than added to ([`CellRc::clone_unshared`]).
    ///
    /// # Safety
    ///
    /// As `new_ref`, and as `clone_unshared`: `cell` is the cell's only
    /// reference and was never shared with another thread.
    pub(crate) unsafe fn new_ref_unshared(cell: &CellRc<Self>) -> JobRef {
        // SAFETY: the caller vouches for both contracts.
        unsafe { Self::ref_from(cell.clone_unshared()) }
    }

    /// # Safety
    ///
    /// As `new_ref`; `counted` is a reference of its own.
    unsafe fn ref_from(counted: CellRc<Self>) -> JobRef {
        let ptr = counted.into_raw();
        // SAFETY: the count the raw pointer carries keeps the cell alive
        // until a table function gives it up; the cell is `Send + Sync`.
        unsafe { JobRef::new(ptr.cast(), Self::VTABLE) }
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
        // SAFETY: `ptr` came from `CellRc::into_raw` of a `CellRc<Self>`
        // (`new_ref`), and its count is given up here, once.
        drop(unsafe { CellRc::from_raw(ptr.cast::<Self>()) });
    }

    unsafe fn execute_ref(ptr: NonNull<()>) -> Ran {
        // SAFETY: the vtable's contract; the borrow ends with the statement.
        let ran = unsafe { Self::borrow(ptr) }.run();
        // SAFETY: no borrow is alive any more.
        unsafe { Self::give_up(ptr) };
        if ran { Ran::Counted } else { Ran::No }
    }

    unsafe fn cancel_ref(ptr: NonNull<()>) -> Ran {
        // SAFETY: as in `execute_ref`.
        let cancelled = unsafe { Self::borrow(ptr) }.abort(Abort::Cancelled);
        // SAFETY: as in `execute_ref`.
        unsafe { Self::give_up(ptr) };
        if cancelled { Ran::Cancelled } else { Ran::No }
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

    /// Runs the closure if nobody ran or aborted it yet; whether it did.
    pub(super) fn run(&self) -> bool {
        if !self.header.state.claim() {
            return false;
        }
        // Counted as it starts, on a worker of its pool, however it came
        // to run here (a queue, a wait's inline claim, a map's consumer):
        // only a claim that won counts, and before the outcome is
        // published, so a joined task is counted and no count goes down.
        if let Some(worker) = WorkerThread::current().filter(|w| self.header.runs_on(w)) {
            worker.count_started();
        }
        while_claimed(self.header.id(), || self.run_claimed());
        true
    }

    /// [`run`](Self::run) once this thread has claimed the cell.
    fn run_claimed(&self) {
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
        while_claimed(self.header.id(), || {
            unwind::drop_contained(self.take_func());
            let flag = match (&outcome, failed) {
                (Ok(_), _) => 0,
                (Err(_), false) => PANICKED,
                (Err(_), true) => PANICKED | FAILED,
            };
            self.publish(COMPLETE, flag, Some(outcome));
        });
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
        while_claimed(self.header.id(), || {
            // A panic in the closure's destructor must not unwind into the
            // canceller's caller half-way through; it is contained here.
            let func = self.take_func();
            if let Err(payload) = unwind::halt_unwinding(move || drop(func)) {
                self.header.discard(Some(Err(payload)));
            }
            self.publish(to, 0, None);
        });
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

    fn run_inline(&self) -> bool {
        self.run()
    }
}

#[cfg(test)]
#[path = "cell_tests.rs"]
mod tests;

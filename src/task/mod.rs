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
//!    entry by key. Only the claimer ends a task, so a claimer that waits
//!    for its own task (its closure, its outcome callbacks, its closure's
//!    drop) would wait forever: each thread lists the cells it has claimed
//!    and not ended (`claimed.rs`), and a wait without a deadline
//!    that is about to block on one of them panics instead.
//! 4. Detaching: dropping the handle sets `DETACHED` with `fetch_or`. If the
//!    task had ended, the handle drops the result itself; otherwise the runner
//!    sees `DETACHED` in the word its `complete` replaced and drops the result
//!    at once. Exactly one of them does, and a detached result never outlives
//!    the task's run — which is what lets a scope's tasks return borrowed data.
//! 5. A task submitted in a scope points to the scope's latch (as a job
//!    [`Owner`](crate::job::Owner): a pointer and a table, no scope type). The runner (or
//!    aborter) tells the latch the task is done only after rule 4, as its last
//!    touch of the closure or result; see `scope.rs`.
//!
//! Races considered: cancel against start (rule 1); join against completion
//! and waker registration against completion (rule 3); detach against
//! completion (rule 4). The cell's memory is reference-counted: the queue's
//! [`JobRef`](crate::job::JobRef) and the handle each hold one count, and the queue's count is
//! given up by a function that holds only a raw pointer (see `job.rs`), never
//! from inside a method borrowing the cell.
//!
//! # Files
//!
//! This file has the state word and its transitions; `cell.rs` the cell
//! (header, waiter list, closure and result slot, the queue's table);
//! `handle.rs` the handles (`Handle`, the public [`Task`]) and the
//! done-callbacks; `claimed.rs` the list of cells a thread has claimed and
//! not ended. `loom_models.rs` checks the protocol above.
//!
//! # Layer
//!
//! `cell` (`lib.rs`, "Layers"): it uses the sched layer (`JobRef`, the
//! worker, a job's type-erased `Owner`) and the base; never a scope, a
//! fork-join or the pool's handle.

mod cell;
mod claimed;
mod handle;
mod rc;

pub(crate) use cell::{Cell, Header, TaskCell, observe_cancel};
pub(crate) use claimed::{claimed_cells, waited_for_itself};
pub use handle::Task;
pub(crate) use handle::{Handle, on_done_waker};
pub(crate) use rc::CellRc;

use crate::sync::{AtomicUsize, Ordering};

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

/// Model checks of the task state machine (`RUSTFLAGS="--cfg loom"`).
#[cfg(all(test, loom))]
mod loom_models;

//! [`Pool::install`]: one hop onto a worker and back, with no allocation.
//!
//! # The protocol
//!
//! 1. The caller (a thread that is not one of the pool's workers) wraps the
//!    closure in a fork-join half's job (`join.rs`'s `StackJob`) on its own
//!    stack and pushes a pointer to it on the injector, under an
//!    `AbortIfPanic` guard: the queue points into this frame until the job
//!    has run.
//! 2. A worker runs it, stores the outcome, clones the caller's `Thread`,
//!    releases DONE through a raw pointer and unparks the caller — the same
//!    hand-off as a stolen join half (`join.rs`), except that a caller
//!    outside every pool is unparked only if it announced its park (step 5). A queue drained by
//!    `shutdown_now` (or after a push that lost the race with shutdown)
//!    hands the job back instead (HANDED_BACK, with the same release and
//!    unpark), and the caller runs `f` itself, as after a shutdown: `f`
//!    never runs on the thread that drains the queue.
//! 3. The caller waits for DONE and returns the value or re-raises the
//!    panic. A caller that is a worker of another pool runs any of its own
//!    pool's work meanwhile (`help_until`, as `Pool::join` does while a
//!    stolen half runs): `f` may install back into the caller's pool, and
//!    with every worker of that pool waiting here, nobody else would run it.
//! 4. Helping is bounded. The work a waiting worker picks up may itself
//!    install into a busy pool and help again, nested on the same stack; with
//!    many such tasks that nesting grew until the stack overflowed. A
//!    thread-local count of the helping installs on this thread's stack
//!    stops it: past [`MAX_HELPING_INSTALLS`], or nested on another once
//!    half of the worker's stack is in use (`WorkerThread::stack_left_over`;
//!    the first always helps: a worker whose own recursion used half its
//!    stack before one install must still run what that install needs), an
//!    install runs only the tasks that the task calling it pushed on its
//!    own deque, and the *hops* into its own pool: installs made on workers
//!    of other pools
//!    (`WorkerThread::wait_serving_hops`; `registry.rs`, "Submitting").
//!    The frames below it are installs that wait on the other pool; when
//!    that pool's work installs back into this one (A into B into A), its
//!    workers wait on this pool in turn, and with every worker of both
//!    pools past the limit or waiting, only running those hops lets the
//!    innermost waits end: before hops were run here, 2,000 items of a
//!    `par` call each doing so left every worker of both pools parked
//!    (`tests/installs_bouncing_between_two_pools_end.rs`). A hop is
//!    looked for before any other shared work by every worker.
//!
//! 5. A `par` call that hops in from outside and expects its rest back
//!    within a millisecond (`par/drive.rs`, `YIELD_WAIT_MAX`) waits
//!    yielding its CPU (`install_then_wait`) until the job is DONE or
//!    twice its estimate has passed, and parks only after that: a parked
//!    caller took 16–18 µs from DONE to running again, a yielding one
//!    about 10. DONE is what it polls (with the same acquire load as the
//!    parked wait). The job's end unparks the caller only if the caller
//!    announced its park first (`StackJob::owner_announces`): a caller that
//!    sees DONE while it yields or spins returns without parking, and the
//!    pool leaves no token for its next `park`; one that announced parks
//!    until DONE at least once, which consumes the end's unpark however late
//!    it comes (`yield_then_park`). Every install from outside waits so,
//!    except after a push that raced shutdown, where this thread may have
//!    drained the queues and run other jobs' destructors, which may park and
//!    take the token: that wait only loops on DONE (`wait_until`, which
//!    announces before it parks). One leftover remains possible: where the
//!    caller, woken by another unpark, sees DONE between the worker's store
//!    and its unpark, that unpark lands after the caller has gone (`std`
//!    allows a spurious return of `park_timeout`; `park` itself loops). The
//!    wait costs the caller's CPU only while no worker needs it, but it
//!    counts against a CPU quota all the same, and for up to twice the
//!    estimate when the workers are busy with other work.
//!
//!    A caller with no estimate (a plain `install`, a `join` from outside, a
//!    hop of a longer rest) spins on DONE for [`INSTALL_SPIN_NANOS`] (2 µs)
//!    first, without yielding. A short call ends within it: with the worker
//!    that ran the previous call lingering (`sleep.rs`, step 6), an empty
//!    `install` in a loop from outside took 0.9–1.0 µs a call against
//!    15.6–22.9 parking at once and rayon's 10.4–14.4
//!    (`bench/examples/install_per_call.rs`, the two builds alternated
//!    twice). 10 µs of spinning also caught longer calls, but a 1 Mi
//!    `install` + `par` call, which wants both CPUs at its start, took
//!    184–186 µs against 176–182: the spinner held a CPU from the second
//!    worker; with 2 µs, 177–180 against 175–181.
//!
//!    Then it takes the estimate it has: how long this thread's previous
//!    install from outside took (a thread-local, from push to end). Where
//!    that was at most [`YIELD_WAIT_MAX`] it yields, as a `par` hop does,
//!    until twice that has passed since the push; on the thread's first
//!    install for [`FIRST_YIELD_NANOS`] (100 µs); after a longer one not
//!    at all ([`learned_yield_until`]). Only then does it announce and
//!    park. Parked after the spin, a caller paid a wake-up of 14–40 µs on
//!    every call the spin missed: `install` of a closure that holds its
//!    worker 2 µs took 18.0 µs a call, 8 µs 20.4, 32 µs 58.4, 128 µs 168.2,
//!    and `install` + a 100 Ki-element `par` 36–39 µs, 2.1× rayon's
//!    (`bench/examples/install_busy.rs` and `install_per_call`, the two
//!    builds alternated). Yielding, the same calls took 3.1, 10.1, 34.5,
//!    129.1 and 18 µs (rayon 16.6, 28.6, 63.0, 176.2 and 16–27 µs in the
//!    same runs), and a 1 Mi `install` + `par` 156–168 µs instead of
//!    193–199 (rayon 168–198). The price is the caller's CPU: a yielding
//!    caller runs whenever nothing else on its CPU wants to, so the calling
//!    thread used about as much CPU as the call took (129 µs a call at 128
//!    µs, against 13 parked), where the pool's workers leave its CPU idle.
//!    A caller that needs its CPU for another thread of its own loses
//!    nothing (`sched_yield` lets that thread run); a CPU quota pays for
//!    it.
//!
//!    A yield can also cost a scheduler slice: with every CPU busy (other
//!    programs, or a worker sharing the caller's CPU while the caller's
//!    yields have pushed its turn back), one `yield_now` came back 3–5 ms
//!    later. So where a yield comes back [`YIELD_STALL_NANOS`] (200 µs) or
//!    more after it began and after the closure returned, or a parked
//!    caller is woken [`WOKEN_LATE_NANOS`] (1 ms) or more after it, for
//!    [`STALL_BACKOFF_NANOS`] (1 s) this thread's waits, the `par` hop's
//!    included, spin and park without yielding (`wait_while_pending`). A
//!    thread that has yielded much is also woken later from a park under
//!    such load (the scheduler counts the CPU its yields used): with only
//!    the yield's check and a 100 ms back-off, 80 parks in 800 calls beside
//!    two busy loops were woken ~4 ms late. And a first version counted
//!    every yield that long, before the end too: a 1 Mi `par` call from
//!    outside, whose caller shares a CPU with a worker running its half,
//!    stalled that way by itself and parked (155–162 → 185–210 µs a call).
//!    Under such load every build's calls spread widely: 400 installs of an
//!    8 µs closure and 400 of a 64 µs one beside two busy loops (one per
//!    CPU), ms for both loops, runs of each build alternated: parked after
//!    the spin 116–1,189 (nine runs, median 492), yielding with no back-off
//!    243–2,978 (three), with this back-off 980 and 1,116 (two): in the upper
//!    half of the parked build's range, a cost of the quiet case's gains
//!    (BENCHMARKS.md, "The caller of an `install` yields").
//!
//! A caller that finds the pool shut down runs the closure itself.

// Layer: many (`lib.rs`, "Layers"). It may use the cell, sched and base
// layers, the other many files, and the `Pool` type (to add its methods),
// nothing else of the face.

use std::cell::Cell;

use crate::join::StackJob;
use crate::par::YIELD_WAIT_MAX;
use crate::pool::Pool;
use crate::sync::{AtomicU64, Ordering, current_thread};
use crate::unwind::AbortIfPanic;
use crate::util::Nested;
use crate::wait::{Waitable, wait_until};
use crate::worker::WorkerThread;

/// Step 5: yields this thread's CPU until `job` is done or the clock
/// passes `yield_until`, if given; if not, spins [`INSTALL_SPIN_NANOS`] on
/// it from `start` (the push), then yields until [`learned_yield_until`];
/// then, unless the job has ended by then, announces its park and parks
/// until it is done, at least once. Only for a caller outside every pool
/// whose job announces (`StackJob::owner_announces`) and that has run
/// nothing since the push (no other `park` on this thread can have taken
/// the token).
///
/// The job's end unparks this thread exactly when the announcement came
/// first (`StackJob::finish` swaps the end into the state word and reads the
/// announcement from it; `announce_park` is a `fetch_or` on the same word, so
/// exactly one of the two sees the other). A job that ended while the caller
/// spun sends no unpark: the caller returns without parking, and no token of
/// the pool's is left for its own later `park`. A caller that announced
/// parks once before it looks at the job (its unpark may come after DONE is
/// visible: parking once consumes that token), then until the job is done.
/// An unpark of this thread from elsewhere (the closure itself, say) ends
/// one of those parks early, and the loop parks again while the job is not
/// done. (Before the announcement, the worker unparked the caller at every
/// end, and a caller that had spun and seen DONE parked once to take that
/// token: when the closure had unparked the caller, that park took the
/// closure's token instead, and the worker's, arriving after, was left. A
/// second reader's probe, `park_timeout` right after each of 5,000 calls
/// whose closure unparks the caller: up to 202 early returns a run, 0 before
/// the spin.) `std`'s `park` on Linux returns only on a token; where `std`
/// parks spuriously, a token may be left, as before.
fn yield_then_park<F, R>(
    job: &StackJob<'_, F, R>,
    yield_until: Option<u64>,
    start: u64,
    ended: &AtomicU64,
) {
    let yield_until = match yield_until {
        Some(until) => until,
        None => {
            let spin_until = start.saturating_add(INSTALL_SPIN_NANOS);
            let spun = wait_while_pending(job, spin_until, false, ended);
            if spun == Waited::Done {
                return;
            }
            // Relaxed: a hint. Not started yet: a worker that would take it
            // may be the one whose CPU this thread holds; parking frees it.
            if ended.load(Ordering::Relaxed) == 0 {
                start
            } else {
                LAST_OUTSIDE_WAIT.with(|last| learned_yield_until(start, last.get()))
            }
        }
    };
    if wait_while_pending(job, yield_until, true, ended) == Waited::Done || !job.announce_park() {
        return;
    }
    crate::sync::park();
    crate::wait::park_until(|| job.is_done(), None);
    // A wake-up this late is the same sign as a stalled yield: the CPUs are
    // busy with other threads, and this thread's yields would cost slices.
    // Relaxed: read after the job's end, as in `wait_while_pending`.
    note_if_late(
        crate::clock::now(),
        ended.load(Ordering::Relaxed),
        WOKEN_LATE_NANOS,
    );
}

/// How [`wait_while_pending`] ended.
#[derive(Debug, PartialEq, Eq)]
enum Waited {
    /// The job is done.
    Done,
    /// The clock passed the wait's end.
    Deadline,
    /// A yield stalled, now or within [`STALL_BACKOFF_NANOS`] before.
    Stalled,
}

/// Step 5: waits until `job` is done or the clock passes `until`, yielding
/// this thread's CPU or spinning. Once a `yield_now` has come back
/// [`YIELD_STALL_NANOS`] or more after it began *and* after the call's
/// closure returned (`ended`, stored by the install's wrapper), this
/// thread's waits spin and park without yielding for
/// [`STALL_BACKOFF_NANOS`]: another thread held the CPU for a scheduler
/// slice after the end, and each further yield could cost as much. A long
/// yield before the end is the pool's own worker running the call on the
/// caller's CPU, and costs nothing.
fn wait_while_pending<F, R>(
    job: &StackJob<'_, F, R>,
    until: u64,
    yields: bool,
    ended: &AtomicU64,
) -> Waited {
    let mut now = crate::clock::now();
    if yields && backing_off(now, YIELD_STALLED_AT.with(Cell::get)) {
        return if job.is_done() {
            Waited::Done
        } else {
            Waited::Stalled
        };
    }
    loop {
        if job.is_done() {
            return Waited::Done;
        }
        if now >= until {
            return Waited::Deadline;
        }
        if yields {
            std::thread::yield_now();
            let back = crate::clock::now();
            if back.saturating_sub(now) >= YIELD_STALL_NANOS && job.is_done() {
                // Relaxed: stored before the job's end, which the acquire
                // load in `is_done` has seen; RUNNING where `f` unwound, 0
                // after a hand-back.
                note_if_late(back, ended.load(Ordering::Relaxed), YIELD_STALL_NANOS);
                return Waited::Done;
            }
            now = back;
        } else {
            for _ in 0..8 {
                std::hint::spin_loop();
            }
            now = crate::clock::now();
        }
    }
}

/// Whether a wait that saw at `now` the end of a call whose closure
/// returned at `ended` (0 or [`RUNNING`]: unknown) saw it `late` or more
/// after it.
fn saw_the_end_late(now: u64, ended: u64, late: u64) -> bool {
    ended > RUNNING && now.saturating_sub(ended) >= late
}

/// Starts this thread's back-off from yielding ([`STALL_BACKOFF_NANOS`]) if
/// its wait saw the end `late` or more after it ([`saw_the_end_late`]).
fn note_if_late(now: u64, ended: u64, late: u64) {
    if saw_the_end_late(now, ended, late) {
        YIELD_STALLED_AT.with(|mark| mark.set(Some(now)));
    }
}

/// The install wrapper's `ended` while its closure runs (step 5).
const RUNNING: u64 = 1;

/// Whether a yield that stalled at `stalled_at` (if ever) is less than
/// [`STALL_BACKOFF_NANOS`] before `now`.
fn backing_off(now: u64, stalled_at: Option<u64>) -> bool {
    stalled_at.is_some_and(|at| now < at.saturating_add(STALL_BACKOFF_NANOS))
}

/// Step 5: a `yield_now` that comes back this late lost the CPU to another
/// thread: with every CPU busy, one yield returned a scheduler slice
/// (3–5 ms) later, and a `join` from outside that yielded returned ~3.2 ms
/// after its task ended instead of ~3 µs (a second reader's probe,
/// bf5b056). A yield beside the pool's own workers comes back within a
/// worker's `LINGER_ROUND` or its job.
const YIELD_STALL_NANOS: u64 = crate::clock::nanos(std::time::Duration::from_micros(200));

/// Step 5: a parked caller woken this long after its call's closure
/// returned lost its CPU to other threads for a scheduler tick (4 ms here
/// beside two busy loops; 15–60 µs on an otherwise quiet machine), a sign
/// that its yields would too.
const WOKEN_LATE_NANOS: u64 = crate::clock::nanos(std::time::Duration::from_millis(1));

/// Step 5: how long this thread's waits skip yielding after a stalled
/// yield ([`YIELD_STALL_NANOS`]): under load from other programs at most
/// one wait in this long pays a slice.
const STALL_BACKOFF_NANOS: u64 = crate::clock::nanos(std::time::Duration::from_secs(1));

/// Step 5: until when a caller outside every pool whose install began at
/// `start` yields its CPU after its spin, given how long its previous such
/// wait took (`last`, 0 before the first): twice that where it was at most
/// [`YIELD_WAIT_MAX`], as a `par` hop yields for twice its estimate; not at
/// all after a longer one (its wake-up is a small part of such a call);
/// [`FIRST_YIELD_NANOS`] on the thread's first.
fn learned_yield_until(start: u64, last: u64) -> u64 {
    let window = match last {
        0 => FIRST_YIELD_NANOS,
        last if last <= crate::clock::nanos(YIELD_WAIT_MAX) => last.saturating_mul(2),
        _ => 0,
    };
    start.saturating_add(window)
}

/// Step 5: how long a caller outside every pool spins on DONE before it
/// yields or parks, where it has no estimate of the call (a plain
/// `install`, a `join` from outside, a hop of a longer rest). Long enough
/// for a tiny call on a lingering worker (~1 µs), short enough not to hold
/// a CPU from a call that wants every worker.
const INSTALL_SPIN_NANOS: u64 = crate::clock::nanos(std::time::Duration::from_micros(2));

/// Step 5: how long a thread's first install from outside yields after
/// its spin, before it has timed one.
const FIRST_YIELD_NANOS: u64 = crate::clock::nanos(std::time::Duration::from_micros(100));

thread_local! {
    /// How long this thread's latest install from outside took from its
    /// push to its end, in the clock's nanoseconds (`clock.rs`); 0 before
    /// the first (step 5).
    static LAST_OUTSIDE_WAIT: Cell<u64> = const { Cell::new(0) };

    /// When a yield of this thread's last stalled (`wait_while_pending`).
    static YIELD_STALLED_AT: Cell<Option<u64>> = const { Cell::new(None) };
}

/// How many installs may help (run other work of the caller's pool while
/// they wait) nested on one thread's stack; deeper ones only wait (step 4).
const MAX_HELPING_INSTALLS: u32 = 32;

thread_local! {
    /// Helping installs now on this thread's stack.
    static HELPING_INSTALLS: Cell<u32> = const { Cell::new(0) };
}

impl Pool {
    /// Runs `f` on one of this pool's workers and returns its value, so that
    /// `join`, `scope`, `par` and `map` called inside `f` start on a worker
    /// (no cross-thread hop per task). Called on one of this pool's own
    /// workers it simply calls `f`. A panic in `f` is re-raised here. The
    /// hop allocates nothing: `f` waits on the caller's stack.
    ///
    /// On a pool that has shut down, `f` runs on the calling thread:
    /// `install` always returns `f`'s value.
    ///
    /// Called on a worker of *another* pool, the worker runs its own pool's
    /// queued work while it waits (`f` may install back into that pool). Such
    /// helping nests at most 32 installs deep on one worker; a deeper install
    /// runs only the tasks its caller submitted and the installs that other
    /// pools' workers make into its own pool (which may be what `f` waits
    /// for, when this pool's every worker is that deep), then blocks. So many
    /// tasks that each install into a busy pool cannot overflow a worker's
    /// stack (those installs stop nesting once half of it is in use), and
    /// work that bounces from this pool into another and back ends, as long
    /// as the bouncing installs on one worker's stack stay within those
    /// limits and 64 more (the hops' waits): two one-worker pools end a
    /// chain of about 190 installs, and chains from several callers add up;
    /// past that the waits park for good, as they did past 32 before. As with
    /// any work a waiting worker runs, an install from another pool that
    /// blocks on something the waiting task itself would do after `f`
    /// returns (a lock, a channel) cannot end: it runs on top of that task.
    ///
    /// A thread outside every pool waits for `f` spinning for 2 µs, then,
    /// if its previous install from outside took at most a millisecond,
    /// yielding its CPU (`std::thread::yield_now`) for up to twice that
    /// time (100 µs on its first call), and only then with
    /// `std::thread::park`: a call of tens of microseconds returns within
    /// a microsecond or two of its end instead of paying a wake-up, at the
    /// price of the caller's CPU while it yields. A caller whose `f` has not
    /// started by the end of the spin parks at once, and one that lost its
    /// CPU to other threads for a scheduler slice (a yield or a wake-up that
    /// came back that late) parks without yielding for a second. The pool's own wake-up leaves no
    /// park token behind; an `unpark` of the calling thread sent before or
    /// during the call (by `f` itself, say) may be consumed by that park, or
    /// may survive the call when it ended before the caller parked. Code
    /// that parks after the call should check its own condition first, as
    /// with any `park`. (The same holds for [`Pool::join`] from outside, and
    /// for a `par` call from outside that hands its rest to the pool: they
    /// wait this way.)
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let here = pool.install(|| corepool::Pool::current_worker_index());
    /// assert!(matches!(here, Some(0 | 1)));
    /// assert_eq!(pool.install(|| 6 * 7), 42);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn install<F, R>(&self, f: F) -> R
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        self.install_then_wait(f, None)
    }

    /// [`Pool::install`], where a caller outside every pool that expects
    /// `f` back soon yields its CPU in a loop until the clock (`clock.rs`)
    /// reads `yield_until`, and parks only after that (step 5).
    pub(crate) fn install_then_wait<F, R>(&self, f: F, yield_until: Option<u64>) -> R
    where
        F: FnOnce() -> R + Send,
        R: Send,
    {
        let registry = self.registry();
        if registry.own_worker().is_some() || registry.is_shutdown() {
            return f();
        }
        let owner = current_thread();
        // From outside every pool, the worker that runs `f` lets every idle
        // worker linger after it if a `par` call in `f` shared its work
        // (`sleep.rs`, step 6, `Sleep::install_returned`), so that a loop of
        // `install(|| par ...)` calls finds both helpers awake, as a loop of
        // `par` calls from outside does.
        let worker = WorkerThread::current();
        let outside = worker.is_none();
        let sleep = &registry.sleep;
        // When `f` returned, for a caller outside every pool (step 5: how
        // late its yield saw the end); 0 until `f` starts, then RUNNING
        // until it returns, and where it unwinds.
        let ended = AtomicU64::new(0);
        let ended_at = &ended;
        let f = move || {
            if !outside {
                return f();
            }
            let mark = sleep.linger_mark();
            // Relaxed: a hint for the caller's wait (`yield_then_park`).
            ended_at.store(RUNNING, Ordering::Relaxed);
            let value = f();
            sleep.install_returned(mark);
            // Relaxed: read after the job's end (`wait_while_pending`).
            ended_at.store(crate::clock::now(), Ordering::Relaxed);
            value
        };
        // A fork-join half's job, published at once: the same hand-off.
        // `f` is part of whatever the caller runs: `is_cancelled` inside it
        // answers for the caller's task (which waits for it below).
        let job = StackJob::new(f, &owner, crate::cancel::current(), std::ptr::null(), 0);
        // From outside, the end unparks this thread only once it has
        // announced its park (step 5, `yield_then_park`).
        let job = if outside { job.owner_announces() } else { job };
        // Step 1: from the push until DONE, the injector points here.
        let guard = AbortIfPanic;
        // Step 5's clock, read only from outside every pool.
        let start = if outside { crate::clock::now() } else { 0 };
        // SAFETY: `job` stays in place until DONE (we wait for it below),
        // and the reference is consumed once, by whoever runs or hands it back.
        let job_ref = unsafe { job.job_ref() };
        // From a worker of another pool, a hop: a queue of its own, looked
        // at first, and by workers waiting past the helping limit
        // (`registry.rs`, "Submitting").
        let refused = !match worker {
            Some(_) => registry.push_hop(job_ref),
            None => registry.push(job_ref, None),
        };
        if refused {
            // Shutdown raced with the push: the job runs wherever the queue
            // is drained, here if every worker has exited already.
            registry.refused_after_push();
        }
        match worker {
            // On a worker of another pool: that pool's work may be what `f`
            // needs (an install back into it, nested), so the worker runs
            // any of its own pool's work meanwhile, as `Pool::join` does
            // while a stolen half runs (the same caveat applies).
            Some(worker) => match Nested::enter(&HELPING_INSTALLS, MAX_HELPING_INSTALLS, || {
                worker.stack_left_over(2)
            }) {
                Some(_helping) => {
                    worker.help_until(&job, None);
                }
                // Step 4: too deep to pick up unrelated work; but hops into
                // its own pool, which the pool it waits on may need.
                None => {
                    worker.wait_serving_hops(&job);
                }
            },
            // Step 5. A drain on this thread (`refused_after_push`) drops
            // other jobs' closures here, whose destructors may park and take
            // the job's token: then only the plain wait is safe.
            None if refused => {
                wait_until(&job, None);
            }
            None => {
                yield_then_park(&job, yield_until, start, &ended);
                let took = crate::clock::now().saturating_sub(start);
                LAST_OUTSIDE_WAIT.with(|last| last.set(took.max(1)));
            }
        }
        std::mem::forget(guard);
        match job.into_outcome() {
            Ok(value) => value,
            Err(payload) => std::panic::resume_unwind(payload),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{
        FIRST_YIELD_NANOS, STALL_BACKOFF_NANOS, StackJob, Waited, YIELD_STALL_NANOS,
        YIELD_STALLED_AT, YIELD_WAIT_MAX, backing_off, learned_yield_until, saw_the_end_late,
        wait_while_pending,
    };
    use crate::clock::nanos;
    use crate::sync::AtomicU64;

    #[test]
    fn after_a_stalled_yield_a_wait_does_not_yield_until_the_back_off_passes() {
        let owner = crate::sync::current_thread();
        // Never pushed: it stays pending.
        let job = StackJob::new(|| (), &owner, crate::cancel::current(), std::ptr::null(), 0);
        let now = crate::clock::now();
        let far = now + nanos(std::time::Duration::from_millis(50));
        YIELD_STALLED_AT.with(|at| at.set(Some(now)));
        let ended = AtomicU64::new(0);
        assert_eq!(wait_while_pending(&job, far, true, &ended), Waited::Stalled);
        // It did not yield: a yield that stalled would have moved the mark.
        assert_eq!(YIELD_STALLED_AT.with(std::cell::Cell::get), Some(now));
        // Spinning is not yielding: the back-off leaves it alone.
        assert_eq!(
            wait_while_pending(&job, now, false, &ended),
            Waited::Deadline
        );
        YIELD_STALLED_AT.with(|at| at.set(None));
        assert_eq!(
            wait_while_pending(&job, now, true, &ended),
            Waited::Deadline
        );
        // A stall longer ago than the back-off no longer counts.
        let at = 5 * STALL_BACKOFF_NANOS;
        assert!(backing_off(at, Some(at)));
        assert!(backing_off(at + STALL_BACKOFF_NANOS - 1, Some(at)));
        assert!(!backing_off(at + STALL_BACKOFF_NANOS, Some(at)));
        assert!(!backing_off(at, None));
        // Only an end seen that late counts as a stall, and only a known one.
        let late = YIELD_STALL_NANOS;
        assert!(saw_the_end_late(at + late, at, late));
        assert!(!saw_the_end_late(at + late - 1, at, late));
        assert!(!saw_the_end_late(at + late, 0, late));
        assert!(!saw_the_end_late(at + late, super::RUNNING, late));
    }

    #[test]
    fn an_outside_caller_yields_for_twice_its_previous_call_up_to_the_limit() {
        let start = 1_000_000;
        assert_eq!(learned_yield_until(start, 0), start + FIRST_YIELD_NANOS);
        assert_eq!(learned_yield_until(start, 7_000), start + 14_000);
        let max = nanos(YIELD_WAIT_MAX);
        assert_eq!(learned_yield_until(start, max), start + 2 * max);
        // A longer call parks after the spin: no yielding at all.
        assert_eq!(learned_yield_until(start, max + 1), start);
    }
}

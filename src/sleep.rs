//! Parking and waking idle workers without losing a wake-up and without
//! waking more workers than there is work for.
//!
//! # The protocol
//!
//! One atomic word, `state`, counts the workers that are *searching* (looking
//! for work, not yet asleep) and *sleeping* (parked), and carries the pool's
//! `SHUTDOWN` bit. A mutex-protected list, `idle`, names the sleeping workers;
//! the sleeping count only changes with that lock held, so list and count
//! agree. Each worker has a parker: a `notified` flag under a mutex with a
//! condition variable.
//!
//! A worker is in one of three states: *running* a task (not counted),
//! *searching*, or *sleeping*.
//!
//! 1. **Push.** Whoever pushes a task (into the injector or a worker's own
//!    deque) then calls [`Sleep::notify_one`]: a `SeqCst` fence, a load of
//!    `state`, and a wake only when *no* worker is searching and some worker
//!    sleeps. A searcher will find the task; waking a second thread for it
//!    would only burn CPU. A batch stolen from another worker's deque counts
//!    as a push onto the thief's (`worker.rs`, `steal_shared`): while
//!    crossbeam moves it, it is in neither deque, and a worker going to
//!    sleep may look at both meanwhile.
//! 2. **Search.** A running worker whose own deque is empty first takes one
//!    look at the shared queues still counted running, as it pops its own
//!    deque; finding nothing, it counts itself searching
//!    ([`Sleep::start_searching`]) and looks in the injector and the other
//!    workers' deques. A worker going from task to task through the
//!    injector so leaves `state` alone, the line every push reads after its
//!    fence: 200,000 tiny tasks submitted from outside, each joined, took
//!    33.1–35.2 ms a round counting every look and 26.3–29.2 with the
//!    first look uncounted (a throwaway probe, alternated six times). The
//!    uncounted look needs no rule of its own: a push meanwhile sees a
//!    running worker, and wakes a sleeper or relies on a searcher as for
//!    any other. What it gives up (helper-90, not reproduced): a worker
//!    going from task to task was, at each step, the last searcher, whose
//!    stop woke a blocked helper (step 8) for any work left; now a frame
//!    exposed beside a blocked helper while the other workers feed on a
//!    never-empty injector waits for the helper's poll (at most
//!    `HELP_POLL_MAX`, 5 ms), a wait step 8 accepts already.
//! 3. **Found.** A searcher that finds work stops searching
//!    ([`Sleep::stop_searching`]). If it was the last searcher and the queues
//!    still hold work, it wakes one more worker (the waking chain of tokio's
//!    "last searcher wakes the next"; with no sleeper, a blocked helper:
//!    step 8), so a burst ramps up one thread at a time instead of all at
//!    once.
//! 4. **Sleep.** A searcher that found nothing, under the `idle` lock, adds
//!    itself to `idle` and turns its searching count into a sleeping count in
//!    one `SeqCst` read-modify-write; then, after a `SeqCst` fence, it looks
//!    at the queues (and the `SHUTDOWN` bit) once more. If there is work, it
//!    takes itself off `idle` again, unless a waker took it off already, in
//!    which case a wake-up is on its way and it parks to consume it. The
//!    worker's look includes a *rescue* (`job.rs`, "Rescue"): a fork-join
//!    half that another worker forked behind its exposed one and cannot
//!    publish while its `a` blocks is taken and pushed on the looker's own
//!    deque, which then counts as work. A blocked helper's look (step 8)
//!    rescues too.
//!    **4a. A yield first.** Before step 4, a searcher that found nothing
//!    stops counting itself searching ([`Sleep::step_back`]: a `SeqCst`
//!    read-modify-write, then a `SeqCst` fence), looks at the shared
//!    queues, yields its CPU once, looks again, and only then counts
//!    itself searching again and goes on to step 4. Meanwhile it is a
//!    running worker to every push: one that sees no searcher wakes a
//!    sleeper, so no task waits for a worker descheduled in its yield
//!    while another sleeps on an idle CPU. What the yield is for: a
//!    thread that shares the worker's CPU, such as one feeding the pool
//!    with submits, runs at once, and the worker finds the tasks it
//!    pushed after the yield, where it used to park and be woken for
//!    them by a push, a wake-up that preempted the pushing thread.
//!    200,000 tiny tasks submitted from outside, each joined (`--bench
//!    pool -- submit_outside`, the two builds alternated eight times, the
//!    final code): medians 29.2 ms a round before and 26.5 after, faster
//!    in seven pairs of eight, 0.52–0.77× rayon where its side read its
//!    usual 35–42 ms. Its price is a system call and
//!    two looks per idle spell: one tiny task a millisecond (`--bench
//!    idle`, trickle) cost 53–57 ms of CPU a second against 48–50 in the
//!    alternation at 47e0b6e (rayon: ~150), and 43 at the final code in a
//!    quieter minute (rayon 162). A task the look after the step back finds is taken as a
//!    searcher takes one (step 3): if this was the last searcher and work
//!    is left, it wakes a worker for it, since pushes that saw it
//!    searching woke nobody and may have been more than one (helper-91:
//!    two such pushes left the second task queued beside a sleeper, and
//!    a first task that waited for the second hung; model-checked,
//!    `loom_models::two_pushes_before_a_step_back_leave_no_task_beside_a_sleeper`).
//!    No task is lost by it: the worker still sleeps only through
//!    step 4, whose read-modify-write and fence come before its last look,
//!    so a push that saw it searching at any point before (and woke
//!    nobody) has its task seen by that look, as in "Why no wake-up is
//!    lost" (model-checked:
//!    `loom_models::a_push_racing_with_a_step_back_is_never_lost`). The
//!    step back's own fence is for promptness: it pairs with a pusher's
//!    as a sleeper's does, so a push that still saw this worker searching,
//!    and so woke nobody, has its task seen by the look *before* the
//!    yield, and does not wait out a time slice given to another thread.
//!    Counting itself searching again after the yield needs no ordering
//!    of its own: a push that sees the count wakes nobody, as for any
//!    searcher, and step 4's last look sees its task.
//! 5. **Wake.** A waker takes the `idle` lock, pops one sleeper, turns one
//!    sleeping count into a searching count *on the sleeper's behalf* (so the
//!    next push sees a searcher and does not wake another), and sets that
//!    sleeper's `notified` flag under its parker mutex.
//!
//! # Why no wake-up is lost
//!
//! The race that matters: a worker decides to sleep just as a task is
//! pushed. The pusher does *push; fence; load state*; the sleeper does
//! *update state; fence; look at the queues*. The two `SeqCst` fences are
//! totally ordered. If the pusher's fence comes first, the sleeper's look
//! after its own fence sees the pushed task and it does not sleep. If the
//! sleeper's fence comes first, the pusher's load sees the sleeper counted as
//! sleeping, and it wakes someone unless a searcher remains. A remaining
//! searcher either finds the task, or goes to sleep through step 4 itself (and
//! the same argument applies to it), or finds other work and, being the last
//! searcher, looks at the queues after its own `SeqCst` update and fence
//! (step 3) and wakes a worker for the task. (A searcher that steps back
//! to yield, step 4a, is one that goes to sleep through step 4 later, or
//! finds the task first.) So the last worker to stop
//! searching always sees every task pushed before it stopped, and every task
//! pushed after that sees no searcher and wakes a sleeper.
//!
//! Parking itself cannot miss its wake: the `notified` flag is set under the
//! parker's mutex and checked under it before waiting.
//!
//! # Lingering: when an idle worker does not park at once
//!
//! 6. **Linger.** A worker that finds nothing parks after a few
//!    microseconds of searching (step 4; `worker.rs`, `SEARCH_LOOKS`, says
//!    how it looks meanwhile), *unless* the pool is lingering:
//!    `linger_until`, an instant a little ahead, set by code that would
//!    have handed work to an awake worker just now (`par`'s walk, when the
//!    rest of its input was worth a steal but not a wake-up: see
//!    `par/drive.rs`, step 0). Until then an idle worker keeps searching,
//!    polling the queues every few hundred nanoseconds and yielding its
//!    CPU every few microseconds, counted as searching, so the next call
//!    of a loop of `par` calls finds it awake and splits for it at once.
//!    At most `workers - 1` workers linger at a time: the worker walking
//!    the call is busy, and one more spinning thread would only take a CPU
//!    from it. The walk that sets it also wakes one sleeper (once per call)
//!    when nobody searches, so the loop's *next* call has a helper.
//!
//!    A call from outside that hops in (`par/drive.rs`, step 1) opens a
//!    second window, `hop_linger_until`, from the hop until [`LINGER`]
//!    after the call's expected end (at most 1 ms past the hop: a slow
//!    first item can make the estimate minutes), and sets both windows to
//!    close [`LINGER`] after its real end when it returns *or unwinds* (a
//!    guard: a panicking call once left every worker spinning until the
//!    estimate): in it
//!    *every* idle worker may linger, since the next call's first steps
//!    run on the caller's thread, not on a worker. With the one-fewer cap
//!    and the window set only at the hop, a 1 Mi-element call (~100 µs)
//!    outlived it: the worker that finished last parked, and in a loop of
//!    such calls half of them woke it again (0.5 parks a call). A/B,
//!    interleaved with rayon in one process: 1 Mi `for_each` from outside
//!    had a slow mode at 180 µs a call against rayon's 100 (the 2.24×
//!    cell of one `par_sizes` run); after, 104–117 µs with no park, and
//!    10 Mi `sum` and `for_each` 1.1–1.27× rayon → 0.93–1.06×.
//!
//!    A plain `install` from outside opens the same every-worker window
//!    when a `par` call in its closure left the pool lingering
//!    ([`Sleep::install_returned`], called on the worker before the
//!    caller hears the install has ended): in a loop of
//!    `install(|| pool.par(..))` calls, one `install` per call as rayon
//!    code ported line by line has it, the worker that ran a call parked at
//!    once (the other lingered, and one fewer than the workers may), and
//!    the next call's walk woke it: 0.5 parks a call, 198–238 µs a 1 Mi
//!    `for_each` call against 91–98 for the same `par` call made from
//!    outside; with the window, 0.00–0.04 parks and 100–123 µs, rayon's
//!    `install` + `par_iter_mut` 96–128 in the same runs
//!    (`bench/examples/install_per_call.rs`).
//!
//!    Any `install` from outside, whatever its closure did, also opens the
//!    one-fewer window for [`LINGER`] after it: the worker that ran it
//!    searches on, so the caller's next `install` in a loop (or `join`,
//!    which hops the same way) finds it awake instead of paying its
//!    wake-up. An empty `install` from outside took 42–75 µs a call
//!    before (the pushed job woke a parked worker, then the worker woke
//!    the caller) and 14–24 µs after, rayon's 8–12 in the same runs (its
//!    caller waits on a condition variable; ours parks on its token), with
//!    `install` + `par` unchanged at 180–191 µs (same example, the two
//!    builds alternated twice). The price is at most [`LINGER`] of one
//!    worker's searching after each such call: a program that installs
//!    now and then pays it once a call, as one making `par` calls from
//!    outside already did. `submit` opens no window, and the idle and
//!    trickle measurements (`--bench idle`, which submit) take no path
//!    this changes.
//!
//!    Lingering adds no state to the protocol: a lingering worker is a
//!    searching one (counted in `state` from step 2 on), and it leaves
//!    only as any searcher does, through step 3 (it found work) or step 4
//!    (the sleep with its fence and last look), so "Why no wake-up is
//!    lost" below covers it unchanged. `linger_until` and the count of
//!    lingerers are hints, read and written relaxed: a worker that reads a
//!    stale one parks a round early or searches a round late, nothing
//!    else. The windows are readings of the crate's cheap clock
//!    (`clock.rs`: the CPU's time-stamp counter where the kernel trusts
//!    it, 11.6 ns a read here against `Instant`'s 29.6), which every
//!    lingering worker reads once a search round. A window further ahead
//!    of a worker's reading than twice the furthest any setter reaches
//!    (`open_at`) is taken for the mark of a wrong reading and ignored:
//!    the clock guards its readings (`clock.rs`), and this keeps any that
//!    slipped through from holding every idle worker awake. (Such a window
//!    also keeps later, nearer ones from being set until the clock passes
//!    it: lingering is off meanwhile, which costs speed, not CPU. Letting
//!    the next setter replace it, tried, put a branch into `linger_from`,
//!    which the walk calls at every step, and 1 Mi `sum` calls took 1.4–2.2×
//!    their time in an interleaved A/B: the walk's loop is that sensitive
//!    to what is inlined into it.)
//!
//!    How it was decided, on this project's 2-vCPU VM: a call of 100 Ki
//!    elements takes ~18 µs on one worker; waking a parked worker takes
//!    15–25 µs before it runs, so such a call never paid a wake-up and
//!    ran at the loop's speed, where rayon (whose idle threads spin for
//!    milliseconds) took ~12 µs. Spinning *every* idle worker before it
//!    parks (30–100 µs) measured no gain: a worker woken by nothing never
//!    spun, and the loop's workers were parked at each call. Lingering only
//!    after a `par` call that could have used a helper keeps what the
//!    idle-CPU and trickle measurements need: a pool that receives no such
//!    calls parks exactly as before, and a loop's helper parks [`LINGER`]
//!    after the loop's last call. With it, one run of
//!    `bench/benches/par_sizes.rs` (2026-12-04, BENCHMARKS.md): 100 Ki
//!    `sum` inside `install` 0.76× rayon's time (was 1.59×), `for_each`
//!    1.20× (was 1.73×), 1 Mi `for_each` from outside 1.02× (was 1.62×:
//!    its hop now lands on an awake worker); and right after, `--bench
//!    idle`: idle CPU 0.063 ms per idle second (one parked thread: 0.057),
//!    trickle CPU 14.9 ms/s above that floor (rayon 157), as before. A call
//!    from outside that does not hop keeps nobody awake (`par/drive.rs`,
//!    step 9).
//!
//! # Chores: what a worker does once it has slept a while
//!
//! 7. **Chore.** A worker that goes to sleep holding recycled job blocks,
//!    or while the process's depot holds spare task-cell blocks
//!    (`slots.rs`), parks with a chore: it waits at most
//!    [`IDLE_CHORE_AFTER`], and if nobody woke it by then, frees the blocks
//!    in pieces of about 20 µs, with its parker's lock released, looking at
//!    its `notified` flag between pieces; then it waits as any sleeper. It
//!    stays on `idle` and counted sleeping throughout, so the protocol
//!    above is unchanged: a waker that pops it sets `notified`, and the
//!    worker sees it after at most one piece. A worker with nothing to free
//!    parks without a timeout, so an idle pool is woken by nothing; a
//!    pool that goes idle with blocks wakes once per worker.
//!
//! # Helpers: workers blocked in a join's wait
//!
//! 8. **Blocked helper.** A worker whose fork-join half was stolen waits
//!    for it running other work (`WorkerThread::help_until`); when it finds
//!    none, it searches briefly (not right after a job shorter than 1 µs,
//!    `HELP_TINY_JOB`: such searches chased the exposed halves of a loop of
//!    tiny joins), then blocks until the half is done or a poll ends (50 µs
//!    doubling to 5 ms). Blocked, it is idle as a sleeper
//!    is, but it is neither searching nor sleeping here: it waits on its
//!    thread's park token, which the thief of its half unparks. So it lists
//!    itself in `helpers` ([`Sleep::block_helping`]): under that lock it
//!    adds itself and counts itself in `helpers_blocked` (a `SeqCst`
//!    read-modify-write), then, after a `SeqCst` fence, looks at the queues
//!    (the injector and the deques) once more, and parks only if they are
//!    empty. Not at the exposure slots, which exposures do not wake helpers
//!    for either (below): beside a loop of tiny joins another worker's slot
//!    holds a frame now and then (each exposed, then taken back), and a
//!    look that counted it returned without parking. Three wakers take the
//!    last helper off the list, mark it called and unpark it
//!    ([`Sleep::wake_helper`]): a pusher that finds
//!    no searcher and no sleeper after its fence ([`Sleep::notify_one`]:
//!    the fences pair as in step 4, so either the helper's look sees the
//!    work or the pusher sees the helper); the last searcher that stops
//!    with work left and no sleeper to wake (step 3's chain, which a helper
//!    would otherwise miss: a push that saw a searcher wakes nobody, and
//!    that searcher may take other work); and a `par` walk or leaf whose
//!    rest is worth a wake-up and that sees a helper counted, which splits
//!    the rest for it as it would for a sleeper (`par/drive.rs`), just
//!    before it forks. A fork-join exposure does *not* wake helpers: beside
//!    a loop of tiny joins (each exposed and taken back within nanoseconds)
//!    a helper woken at every exposure woke to nothing, searched, listed
//!    itself again and was woken again, one whole CPU busy and the loop at
//!    half its speed (a second reader's measurement: 1.98 CPUs and 30–54 M
//!    joins/s against 1.02 CPUs and 59–61 M before; test
//!    `a_blocked_helper_does_not_spin_beside_a_loop_of_tiny_joins`). A
//!    helper whose half is done by the time it would list itself returns
//!    at once: in a loop of 100 Ki `for_each` calls inside `install`,
//!    15,132 of 15,145 waits were such.
//!
//!    Helpers add nothing the protocol above relies on: they are not in
//!    `state`, and a helper that is not woken notices new work at the end
//!    of its poll, as every blocked helper did before this step. That
//!    includes a frame exposed while it is blocked: a join whose `a` waits
//!    for its `b`, forked beside a blocked helper, waits for the helper's
//!    poll, where a sleeping worker is woken at once
//!    (`bench/examples/waiting_worker.rs`). The polls grow from 50 µs
//!    (doubling to 5 ms), so the wait depends on how long the helper has
//!    been blocked: forked 100–1,000 µs (drawn evenly) into the block, p50
//!    124–125 µs and p90 407–408; right after 20 tiny joins, whose halves
//!    a searching helper had been claiming one after another, p50 0–70 µs
//!    (0 in runs where the helper is still searching) and p90 66–73
//!    (rayon's spinning threads: p50 about 22 µs and 0). Those figures are
//!    with workers' timer slack at 1 µs (`sync.rs`,
//!    `WORKER_TIMER_SLACK_NS`); with Linux's default 50 µs a 50 µs poll
//!    slept ~117 µs, and the same rows read p50 157–164 / p90 383–394 and
//!    p50 0–117 / p90 115–121. (A fork exactly 300 µs into the block,
//!    the row this example printed alone before, lands at one point of
//!    the poll cycle every time: p50 27–32 µs with the default slack,
//!    174–177 µs with 1 µs, by phase alone.) Before this step, a `par`
//!    call over 200 items of 0.1–1.2 ms each (prime counting in
//!    chunks, the later ones dearer) ran 1.61× faster than the loop on 2
//!    workers, where rayon ran 1.98×: the worker that finished the cheaper
//!    half blocked, the other's walk saw no searcher at its looks (a ~1 ms
//!    item apart, the helper's search lasts 20 µs) and kept its half to
//!    the end. With it, 1.94–1.96× (rayon 1.97–1.99× in the same runs;
//!    `bench/examples/par_ratio.rs`, `primes` rows: 1.01× rayon's time).
//!
//! Shutdown sets `SHUTDOWN` with a `SeqCst` read-modify-write and then wakes
//! every sleeper under the `idle` lock. A worker on its way to sleep either
//! was already on `idle` (and is woken) or adds itself after that, and then
//! its look after the fence sees `SHUTDOWN`.

// Layer: sched (`lib.rs`, "Layers"). It may use the base layer and the other
// sched files; what it needs from above (a scope hearing of a job's end, a
// fork-join frame to publish, the pool's handle) reaches it type-erased,
// through tables the layers above fill in (`job.rs`).

use std::time::{Duration, Instant};

use crate::clock::{self, nanos};
use crate::sync::{AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex, Ordering, Thread, fence};
use crate::util::Padded;

/// How long idle workers keep searching after a `par` call that could have
/// used an awake helper (step 6).
pub(crate) const LINGER: Duration = Duration::from_micros(100);
const LINGER_NANOS: u64 = nanos(LINGER);

/// The longest a hop's own lingering window reaches past the hop (step 6),
/// however long the call is estimated to take.
const HOP_WINDOW_MAX: Duration = Duration::from_millis(1);
const HOP_WINDOW_MAX_NANOS: u64 = nanos(HOP_WINDOW_MAX);

/// The furthest ahead of its setter's reading any window reaches (step 6).
const WINDOW_MAX_AHEAD: u64 = HOP_WINDOW_MAX_NANOS + LINGER_NANOS;

/// Step 6: whether a window closing at `until` (0: none) is open at `now`.
/// A window further ahead than twice any that is set came from a reading
/// that was wrong (`clock.rs` guards against that; this is the second
/// line), and is ignored rather than keep every idle worker spinning.
#[inline]
fn open_at(until: u64, now: u64) -> bool {
    until != 0 && now < until && until - now <= 2 * WINDOW_MAX_AHEAD
}

/// How long a worker sleeps before it does its idle chore (step 7).
pub(crate) const IDLE_CHORE_AFTER: Duration = Duration::from_millis(500);

const ONE_SEARCHING: usize = 1;
const SEARCHING_MASK: usize = 0x7FFF;
const ONE_SLEEPING: usize = 1 << 15;
const SLEEPING_SHIFT: usize = 15;
const SLEEPING_MASK: usize = 0x7FFF << SLEEPING_SHIFT;
/// Bit 30: fits a 32-bit `usize` too.
const SHUTDOWN: usize = 1 << 30;

/// The most workers a pool may have (the counters are 15 bits wide).
pub(crate) const MAX_WORKERS: usize = SEARCHING_MASK;

fn searching(word: usize) -> usize {
    word & SEARCHING_MASK
}

fn sleeping(word: usize) -> usize {
    (word & SLEEPING_MASK) >> SLEEPING_SHIFT
}

/// One worker's bed.
#[derive(Debug, Default)]
struct Parker {
    notified: Mutex<bool>,
    cond: Condvar,
    /// How often this worker parked; written by its owner only.
    parked: AtomicU64,
}

impl Parker {
    /// Waits for `notified`. With a chore, waits at most [`IDLE_CHORE_AFTER`]
    /// first, then does the chore a piece at a time with the lock released,
    /// looking at `notified` between pieces, until it is done (step 7).
    fn park(&self, chore: Option<&mut dyn FnMut() -> bool>) {
        self.parked
            .store(self.parked.load(Ordering::Relaxed) + 1, Ordering::Relaxed);
        let mut notified = self.notified.lock();
        if let Some(chore) = chore {
            // Wait out the delay (a spurious wake-up waits again), then, if
            // still not woken, do the chore a piece at a time.
            let deadline = Instant::now() + IDLE_CHORE_AFTER;
            while let Some(left) = deadline.checked_duration_since(Instant::now()) {
                if *notified {
                    break;
                }
                let _ = self.cond.wait_for(&mut notified, left);
            }
            let mut more = true;
            while more && !*notified {
                drop(notified);
                more = chore();
                notified = self.notified.lock();
            }
        }
        while !*notified {
            self.cond.wait(&mut notified);
        }
        *notified = false;
    }

    fn unpark(&self) {
        let mut notified = self.notified.lock();
        *notified = true;
        self.cond.notify_one();
    }
}

/// What a worker should do after [`Sleep::sleep`] returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use]
pub(crate) enum Wake {
    /// It saw work before parking, or was woken: it is searching again.
    Search,
    /// The pool is shutting down: drain what is left, then exit.
    Shutdown,
}

/// The parking lot of one pool.
#[derive(Debug)]
pub(crate) struct Sleep {
    state: AtomicUsize,
    idle: Mutex<Vec<usize>>,
    parkers: Box<[Padded<Parker>]>,
    /// Step 6: idle workers search instead of parking until this many
    /// reading of `clock::now` (0: not lingering). Only a hint: every
    /// access is relaxed, and a worker that misses it parks as before.
    linger_until: Padded<AtomicU64>,
    /// Step 6: workers lingering now; at most one fewer than the pool has,
    /// or all of them until `hop_linger_until`.
    lingerers: AtomicUsize,
    /// Step 6: until this reading of `clock::now` (0: never), every
    /// idle worker may linger: set by a `par` call that hopped in from
    /// outside, when it ends. Relaxed, a hint as `linger_until` is.
    hop_linger_until: AtomicU64,
    /// Step 8: the workers blocked in a join's wait for a stolen half, and
    /// their threads, to unpark.
    helpers: Mutex<Vec<(usize, Thread)>>,
    /// Step 8: how many entries `helpers` has; changed under its lock, read
    /// without it.
    helpers_blocked: Padded<AtomicUsize>,
    /// Step 8, per worker: a waker took this worker off `helpers`. Set and
    /// cleared under the `helpers` lock.
    helper_called: Box<[Padded<AtomicBool>]>,
}

impl Sleep {
    /// A parking lot for `workers` workers, all of which start out searching.
    pub(crate) fn new(workers: usize) -> Sleep {
        assert!(workers <= MAX_WORKERS);
        Sleep {
            state: AtomicUsize::new(workers * ONE_SEARCHING),
            idle: Mutex::new(Vec::with_capacity(workers)),
            parkers: (0..workers).map(|_| Padded(Parker::default())).collect(),
            linger_until: Padded(AtomicU64::new(0)),
            lingerers: AtomicUsize::new(0),
            hop_linger_until: AtomicU64::new(0),
            helpers: Mutex::new(Vec::with_capacity(workers)),
            helpers_blocked: Padded(AtomicUsize::new(0)),
            helper_called: (0..workers)
                .map(|_| Padded(AtomicBool::new(false)))
                .collect(),
        }
    }

    /// Step 6: idle workers keep searching until [`LINGER`] after `now` (a
    /// reading of `clock::now`, as every time here).
    /// Writes the shared word only when that moves the deadline by more than
    /// a quarter of `LINGER`, so a walk calling this at every step does not
    /// bounce the line between the lingering workers' caches.
    #[inline]
    pub(crate) fn linger_from(&self, now: u64) {
        let until = now.saturating_add(LINGER_NANOS);
        let current = self.linger_until.0.load(Ordering::Relaxed);
        if until > current.saturating_add(LINGER_NANOS / 4) {
            self.linger_until.0.store(until, Ordering::Relaxed);
        }
    }

    /// Step 6: a `par` call from outside hops in `now` and is expected to
    /// take `rest` nanoseconds more: until [`LINGER`] after that, *every*
    /// idle worker may linger (no worker walks a call meanwhile: the next
    /// one starts on the caller's thread and hops in again). The estimate
    /// counts for at most [`HOP_WINDOW_MAX`]: a slow first item makes it
    /// absurd (a 300 µs item in a million: 300 s); a longer call's walks
    /// keep the workers lingering as any walk does.
    pub(crate) fn linger_for_hop(&self, now: u64, rest: u64) {
        let end = now.saturating_add(rest.min(HOP_WINDOW_MAX_NANOS));
        let until = end.saturating_add(LINGER_NANOS);
        self.linger_until.0.fetch_max(until, Ordering::Relaxed);
        self.hop_linger_until.fetch_max(until, Ordering::Relaxed);
    }

    /// Step 6: the hop's call has ended at `now`: both windows close
    /// [`LINGER`] from now, however long the call was expected to take
    /// (an estimate too long would otherwise keep workers awake after the
    /// last call). Another call may shorten them so: a hint, as all of
    /// step 6.
    pub(crate) fn hop_returned(&self, now: u64) {
        let until = now.saturating_add(LINGER_NANOS);
        self.linger_until.0.store(until, Ordering::Relaxed);
        self.hop_linger_until.store(until, Ordering::Relaxed);
    }

    /// Step 6: an `install` from a thread outside every pool has just run
    /// its closure on a worker. If a `par` walk in it left the pool
    /// lingering (its rest was worth a steal), every idle worker may linger
    /// until that window closes, as after a hop: the caller's next call
    /// starts on the caller's thread and hops in again, so no worker walks
    /// meanwhile, and the worker that ran this one would otherwise park at
    /// once (one fewer lingerer than workers) and be woken by the next
    /// call's walk.
    pub(crate) fn install_returned(&self, mark: u64) {
        let now = clock::now();
        let until = self.linger_until.0.load(Ordering::Relaxed);
        // A window where it was when the closure began (`mark`) is no walk's
        // of this call: it may be the last install's own, and taking it for
        // a walk's opened the every-worker window after two plain installs
        // in a row (found by a second reader). A walk that began within a
        // quarter of `LINGER` of that window writes nothing (`linger_from`)
        // and looks like no walk: only the one-fewer window opens then (no
        // cost measured: 100 Ki and 1 Mi `install` + `par` loops parked
        // 0.00–0.04 times a call either way, helper-56).
        if until != mark && until != 0 && open_at(until, now) {
            self.hop_linger_until.fetch_max(until, Ordering::Relaxed);
        }
        // Any install from outside: the worker that ran it may linger (one
        // fewer than the workers may) for [`LINGER`], so the caller's next
        // install in a loop finds it awake rather than paying its wake-up.
        self.linger_from(now);
    }

    /// Step 6: the lingering window as it is now, for
    /// [`install_returned`](Self::install_returned) to tell whether a walk
    /// moved it since.
    pub(crate) fn linger_mark(&self) -> u64 {
        self.linger_until.0.load(Ordering::Relaxed)
    }

    /// Step 6: whether an idle worker should keep searching rather than
    /// park, at `now`.
    #[inline]
    fn lingering_at(&self, now: u64) -> bool {
        open_at(self.linger_until.0.load(Ordering::Relaxed), now)
    }

    /// Step 6: whether this idle worker may linger for one round instead of
    /// parking: the pool is lingering and fewer than `workers - 1` others
    /// linger (the worker walking the `par` call is busy: one more would
    /// only take a CPU from it). A `true` must be followed by [`end_linger`](Self::end_linger).
    #[inline]
    pub(crate) fn begin_linger(&self) -> bool {
        // One clock read for both windows.
        self.begin_linger_at(clock::now())
    }

    /// [`begin_linger`](Self::begin_linger) at `now`.
    #[inline]
    fn begin_linger_at(&self, now: u64) -> bool {
        if !self.lingering_at(now) {
            return false;
        }
        let hop = self.hop_linger_until.load(Ordering::Relaxed);
        let cap = if open_at(hop, now) {
            self.parkers.len()
        } else {
            self.parkers.len() - 1
        };
        let mut current = self.lingerers.load(Ordering::Relaxed);
        loop {
            if current >= cap {
                return false;
            }
            // Relaxed: only a count; nothing is published through it.
            match self.lingerers.compare_exchange_weak(
                current,
                current + 1,
                Ordering::Relaxed,
                Ordering::Relaxed,
            ) {
                Ok(_) => return true,
                Err(now) => current = now,
            }
        }
    }

    /// Step 6: the end of a round that [`begin_linger`](Self::begin_linger) allowed.
    #[inline]
    pub(crate) fn end_linger(&self) {
        self.lingerers.fetch_sub(1, Ordering::Relaxed);
    }

    /// Step 1, after a push. Returns `true` if the pool is shutting down, so
    /// the pusher can take its task back.
    #[inline]
    pub(crate) fn notify_one(&self) -> bool {
        // SeqCst fence: pairs with the fence in `sleep` and `stop_searching`
        // (see "Why no wake-up is lost") and in `block_helping` (step 8); an
        // AcqRel ordering would let the push's store and this load be
        // reordered.
        fence(Ordering::SeqCst);
        let word = self.state.load(Ordering::Relaxed);
        if searching(word) == 0 {
            if sleeping(word) > 0 {
                self.wake_one();
            } else if self.has_blocked_helper() {
                self.wake_helper();
            }
        }
        word & SHUTDOWN != 0
    }

    /// For fork-join halves that a rescue left untaken (`job.rs`, "Rescue";
    /// `WorkerThread::rescue_some`): wakes a sleeper, or else a blocked
    /// helper, *whether or not a worker searches*. A searcher is no promise
    /// here: untaken halves are in no queue, and a searcher that finds
    /// other work looks only at the queues and the exposure slots before it
    /// wakes anyone (step 3), not at the lists a rescue walks, so it would
    /// leave them to nobody (helper-64's interleaving). The
    /// fence pairs with a sleeper's (step 4), as `notify_one`'s does: either
    /// its last look, which rescues, comes after the caller's unlocks, or
    /// this load sees it asleep. Model-checked for a sleeper and for a
    /// blocked helper beside a worker that searches throughout
    /// (`loom_models::untaken_work_*`).
    /// Returns whether it found someone to wake.
    pub(crate) fn wake_for_untaken(&self) -> bool {
        fence(Ordering::SeqCst);
        if sleeping(self.state.load(Ordering::Relaxed)) > 0 && self.wake_one() {
            return true;
        }
        if self.has_blocked_helper() {
            self.wake_helper();
            return true;
        }
        false
    }

    /// Step 1 for a fork-join push (`Pool::join`): the same decision without
    /// the fence. A wake-up missed here costs parallelism, never a task: the
    /// forking worker pops its own job back and runs it if nobody stole it.
    /// A worker that announces itself sleeping a moment later is seen by the
    /// next fork.
    #[inline]
    pub(crate) fn notify_one_for_fork(&self) {
        let word = self.state.load(Ordering::Relaxed);
        if searching(word) == 0 && sleeping(word) > 0 {
            self.wake_one();
        }
    }

    /// Step 8: whether some worker is blocked in a join's wait for a stolen
    /// half, able to run other work if woken. One relaxed load: a hint.
    #[inline]
    pub(crate) fn has_blocked_helper(&self) -> bool {
        self.helpers_blocked.0.load(Ordering::Relaxed) > 0
    }

    /// Step 8: worker `index`, on `thread` (the current one), waits for its
    /// stolen half (`is_done`, whose thief unparks `thread` when it makes it
    /// true) until `deadline`, listed as a blocked helper so that new work
    /// for it unparks it too. Returns early, without parking, if `has_work`
    /// sees work once it is listed. Returns `is_done()`.
    pub(crate) fn block_helping(
        &self,
        index: usize,
        thread: &Thread,
        is_done: &dyn Fn() -> bool,
        has_work: impl FnOnce() -> bool,
        deadline: Instant,
    ) -> bool {
        if is_done() {
            // Its half ended during the search before: nothing to list.
            return true;
        }
        if self.is_shutdown() {
            // Nothing new is offered to a pool that is shutting down, but
            // what is queued or forked still runs (the look may rescue a
            // half: `job.rs`, "Rescue").
            if has_work() {
                return is_done();
            }
            return crate::sync::park_until(is_done, Some(deadline));
        }
        {
            let mut helpers = self.helpers.lock();
            helpers.push((index, thread.clone()));
            // SeqCst, as every change of the counts in `state` is (the fence
            // below is what pairs with the pushers' fences).
            self.helpers_blocked.0.fetch_add(1, Ordering::SeqCst);
        }
        // SeqCst fence: pairs with the fence in `notify_one` and the one in
        // `stop_searching`: either the look below sees their work, or their
        // load of `helpers_blocked` sees this worker.
        fence(Ordering::SeqCst);
        let called = &self.helper_called[index].0;
        let done = if has_work() {
            is_done()
        } else {
            // Relaxed: the flag only ends the wait; the work it is about is
            // taken through the queues, with their own synchronisation.
            crate::sync::park_until(
                || is_done() || called.load(Ordering::Relaxed),
                Some(deadline),
            ) && is_done()
        };
        let mut helpers = self.helpers.lock();
        if let Some(pos) = helpers.iter().position(|&(i, _)| i == index) {
            helpers.swap_remove(pos);
            self.helpers_blocked.0.fetch_sub(1, Ordering::Relaxed);
        }
        called.store(false, Ordering::Relaxed);
        drop(helpers);
        done
    }

    /// Step 8: takes the helper that blocked last off `helpers`, if any, and
    /// unparks it. Called by a push, the last searcher, and a `par` walk or
    /// leaf about to fork for a helper (a fork-join exposure does not call
    /// it: see step 8); each looks at [`has_blocked_helper`](Self::has_blocked_helper)
    /// first, so the lock is taken only when one is listed.
    #[cold]
    pub(crate) fn wake_helper(&self) {
        let thread = {
            let mut helpers = self.helpers.lock();
            let Some((index, thread)) = helpers.pop() else {
                return;
            };
            self.helpers_blocked.0.fetch_sub(1, Ordering::Relaxed);
            self.helper_called[index].0.store(true, Ordering::Relaxed);
            thread
        };
        thread.unpark();
    }

    /// Whether some worker is looking for work or asleep: a fork-join then
    /// publishes a half for it to steal (`join.rs`). One relaxed load of a
    /// word that only changes when workers go idle or wake.
    #[inline]
    pub(crate) fn is_hungry(&self) -> bool {
        let word = self.state.load(Ordering::Relaxed);
        searching(word) > 0 || sleeping(word) > 0
    }

    /// Whether some worker is searching for work right now (awake, not
    /// parked): work handed over now is taken without a wake-up.
    #[inline]
    pub(crate) fn has_searcher(&self) -> bool {
        searching(self.state.load(Ordering::Relaxed)) > 0
    }

    /// Whether `shutdown` has been called.
    pub(crate) fn is_shutdown(&self) -> bool {
        // SeqCst: pairs with the `fetch_or(SHUTDOWN)` in `shutdown`; see the
        // submit/shutdown race in `registry.rs`.
        self.state.load(Ordering::SeqCst) & SHUTDOWN != 0
    }

    /// Step 2.
    pub(crate) fn start_searching(&self) {
        self.state.fetch_add(ONE_SEARCHING, Ordering::Relaxed);
    }

    /// Step 4a: a searcher that found nothing stops counting itself
    /// searching, to yield its CPU as a running worker and look again. The
    /// fence pairs with a pusher's in `notify_one`, as a sleeper's does: a
    /// push that still saw this worker searching, and woke nobody for it,
    /// is seen by the look that follows.
    /// Returns whether it was the last searcher: then the caller, if its
    /// next look finds work, applies step 3's rule with
    /// [`found_after_step_back`](Self::found_after_step_back).
    pub(crate) fn step_back(&self) -> bool {
        // SeqCst: ordered against the pushers' fences, as in `sleep`.
        let prev = self.state.fetch_sub(ONE_SEARCHING, Ordering::SeqCst);
        debug_assert!(searching(prev) > 0);
        // SeqCst fence: pairs with the fence in `notify_one`.
        fence(Ordering::SeqCst);
        searching(prev) == 1
    }

    /// Step 4a: the look right after a step back found work. Pushes that
    /// saw this worker searching woke nobody, and there may have been more
    /// than one: if it was the last searcher (`was_last`, from
    /// [`step_back`](Self::step_back), whose fence this follows), step 3's
    /// rule wakes a worker for what is left (helper-91: two pushes just
    /// before the step back left the second task queued beside a sleeper,
    /// for ever when the first waited for it).
    pub(crate) fn found_after_step_back(&self, was_last: bool, has_work: impl FnOnce() -> bool) {
        if was_last {
            self.wake_for_work_left(has_work);
        }
    }

    /// Step 3's rule, for the last searcher to stop, after its `SeqCst`
    /// update and fence: work still queued wakes a sleeper, or else a
    /// blocked helper (step 8).
    fn wake_for_work_left(&self, has_work: impl FnOnce() -> bool) {
        if has_work() && !self.wake_one() && self.has_blocked_helper() {
            self.wake_helper();
        }
    }

    /// Step 3. `has_work` looks at the shared queues; it is called only when
    /// this was the last searcher.
    pub(crate) fn stop_searching(&self, has_work: impl FnOnce() -> bool) {
        // SeqCst: ordered against the pushers' fences, as in `sleep`.
        let prev = self.state.fetch_sub(ONE_SEARCHING, Ordering::SeqCst);
        debug_assert!(searching(prev) > 0);
        if searching(prev) == 1 {
            fence(Ordering::SeqCst);
            self.wake_for_work_left(has_work);
        }
    }

    /// Step 4: the searcher `index` found nothing and goes to sleep, unless
    /// `has_work` sees work after it has announced itself. A `chore` is done
    /// once it has slept for [`IDLE_CHORE_AFTER`] (step 7).
    pub(crate) fn sleep(
        &self,
        index: usize,
        has_work: impl FnOnce() -> bool,
        chore: Option<&mut dyn FnMut() -> bool>,
    ) -> Wake {
        {
            let mut idle = self.idle.lock();
            idle.push(index);
            // SeqCst: totally ordered with the pushers' fences (module docs).
            self.state
                .fetch_add(ONE_SLEEPING.wrapping_sub(ONE_SEARCHING), Ordering::SeqCst);
        }
        // SeqCst fence: pairs with the fence in `notify_one`.
        fence(Ordering::SeqCst);
        let shutdown = self.state.load(Ordering::Relaxed) & SHUTDOWN != 0;
        if shutdown || has_work() {
            let mut idle = self.idle.lock();
            if let Some(pos) = idle.iter().position(|&i| i == index) {
                idle.swap_remove(pos);
                // SeqCst, as every change of the counts: a pusher's load
                // after its fence must see this worker as searching again
                // (or not), in one total order with the other transitions.
                self.state
                    .fetch_add(ONE_SEARCHING.wrapping_sub(ONE_SLEEPING), Ordering::SeqCst);
                return if shutdown {
                    Wake::Shutdown
                } else {
                    Wake::Search
                };
            }
            // A waker already took us off the list and counted us searching;
            // its unpark is on the way: consume it so it is not left over.
        }
        self.parkers[index].0.park(chore);
        if self.is_shutdown() {
            Wake::Shutdown
        } else {
            Wake::Search
        }
    }

    /// How often worker `index` has parked.
    pub(crate) fn times_parked(&self, index: usize) -> u64 {
        self.parkers[index].0.parked.load(Ordering::Relaxed)
    }

    /// Step 5: wakes one sleeper, if any: the one that parked last.
    ///
    /// Measured on this project's VM: waking the most recently parked worker,
    /// even when it is pinned to the waker's own CPU (3–6 µs p50), beats
    /// preferring a worker on another core (58 µs p50), whose idle virtual
    /// CPU must first be woken by the hypervisor. Parking on
    /// `std::thread::park` instead of a condvar woke a little faster (2.5 µs
    /// p50) but cost more CPU while trickling (61–68 against 36–39 ms/s), so
    /// the condvar stays.
    #[cold]
    fn wake_one(&self) -> bool {
        let index = {
            let mut idle = self.idle.lock();
            let Some(index) = idle.pop() else {
                return false;
            };
            // SeqCst: counted as searching before it wakes, so the next
            // pusher (after its fence) sees a searcher and wakes nobody else.
            self.state
                .fetch_add(ONE_SEARCHING.wrapping_sub(ONE_SLEEPING), Ordering::SeqCst);
            index
        };
        self.parkers[index].0.unpark();
        true
    }

    /// Sets `SHUTDOWN` and wakes every sleeper. Returns `false` if it was set
    /// already.
    pub(crate) fn shutdown(&self) -> bool {
        // SeqCst: ordered with the fence a pusher runs after its push (the
        // submit/shutdown race in `registry.rs`) and with the sleepers' fence.
        let prev = self.state.fetch_or(SHUTDOWN, Ordering::SeqCst);
        self.wake_all();
        prev & SHUTDOWN == 0
    }

    fn wake_all(&self) {
        let sleepers: Vec<usize> = {
            let mut idle = self.idle.lock();
            let sleepers = std::mem::take(&mut *idle);
            let n = sleepers.len();
            // SeqCst: as in `wake_one`, for every sleeper at once.
            self.state.fetch_add(
                (n * ONE_SEARCHING).wrapping_sub(n * ONE_SLEEPING),
                Ordering::SeqCst,
            );
            sleepers
        };
        for index in sleepers {
            self.parkers[index].0.unpark();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// An hour, in `clock::now` nanoseconds.
    const HOUR: u64 = 3_600_000_000_000;

    #[test]
    fn counter_fields_do_not_overlap() {
        assert_eq!(SEARCHING_MASK & SLEEPING_MASK, 0);
        assert_eq!(SLEEPING_MASK & SHUTDOWN, 0);
        let word = 3 * ONE_SEARCHING + 5 * ONE_SLEEPING + SHUTDOWN;
        assert_eq!(searching(word), 3);
        assert_eq!(sleeping(word), 5);
    }

    #[test]
    fn plain_installs_in_a_row_open_only_the_one_fewer_window() {
        let sleep = Sleep::new(2);
        sleep.install_returned(sleep.linger_mark());
        sleep.install_returned(sleep.linger_mark());
        let now = clock::now();
        assert!(sleep.begin_linger_at(now), "the worker that ran it lingers");
        assert!(
            !sleep.begin_linger_at(now),
            "a second would: the every-worker window opened without a walk"
        );
    }

    #[test]
    fn an_install_after_a_walk_opens_the_every_worker_window() {
        let sleep = Sleep::new(2);
        sleep.install_returned(sleep.linger_mark());
        // A walk inside the next install, half a window later.
        let mark = sleep.linger_mark();
        sleep.linger_from(clock::now() + LINGER_NANOS / 2);
        sleep.install_returned(mark);
        let now = clock::now();
        assert!(sleep.begin_linger_at(now));
        assert!(sleep.begin_linger_at(now), "every idle worker may linger");
    }

    #[test]
    fn lingering_is_granted_to_one_worker_fewer_than_the_pool_has() {
        let sleep = Sleep::new(3);
        // Not lingering: nobody may.
        assert!(!sleep.begin_linger());
        // Times given, not read: the test does not depend on how fast it
        // runs.
        let t = HOUR;
        sleep.linger_from(t);
        assert!(sleep.lingering_at(t + LINGER_NANOS - 1));
        assert!(!sleep.lingering_at(t + LINGER_NANOS));
        assert!(sleep.begin_linger_at(t));
        assert!(sleep.begin_linger_at(t));
        assert!(!sleep.begin_linger_at(t), "at most workers - 1 linger");
        sleep.end_linger();
        assert!(sleep.begin_linger_at(t), "a round's end frees its place");
        sleep.end_linger();
        sleep.end_linger();
        // A one-worker pool never lingers: nobody would be helped.
        let alone = Sleep::new(1);
        alone.linger_from(t);
        assert!(!alone.begin_linger_at(t));
    }

    #[test]
    fn after_a_hop_every_worker_may_linger() {
        let sleep = Sleep::new(3);
        let hop = HOUR;
        // An estimate of an hour counts for `HOP_WINDOW_MAX_NANOS`.
        sleep.linger_for_hop(hop, HOUR);
        let last = hop + HOP_WINDOW_MAX_NANOS + LINGER_NANOS - 1;
        assert!(sleep.lingering_at(last));
        assert!(!sleep.lingering_at(last + 1));
        for _ in 0..3 {
            assert!(sleep.begin_linger_at(hop));
        }
        assert!(!sleep.begin_linger_at(hop), "never more than the pool has");
        for _ in 0..3 {
            sleep.end_linger();
        }
        // The call's return closes both windows LINGER after it, however
        // far ahead the hop set them.
        let returned = Sleep::new(2);
        returned.linger_for_hop(hop, HOUR);
        assert!(returned.lingering_at(hop + 2 * LINGER_NANOS));
        returned.hop_returned(hop);
        assert!(returned.lingering_at(hop + LINGER_NANOS - 1));
        assert!(!returned.lingering_at(hop + LINGER_NANOS));
        assert!(!returned.begin_linger_at(hop + 2 * LINGER_NANOS));
        // A hop window that has passed leaves the walk's cap: one fewer.
        let later = Sleep::new(2);
        later.linger_for_hop(hop, 0);
        let after_the_hop = hop + 2 * LINGER_NANOS;
        later.linger_from(after_the_hop);
        assert!(later.begin_linger_at(after_the_hop));
        assert!(
            !later.begin_linger_at(after_the_hop),
            "the hop's window is over"
        );
        later.end_linger();
    }

    #[test]
    fn a_window_further_ahead_than_any_set_is_ignored() {
        // As after a reading far ahead of the others (clock.rs).
        let sleep = Sleep::new(2);
        let t = HOUR;
        sleep.linger_from(t + HOUR);
        assert!(!sleep.lingering_at(t));
        assert!(!sleep.begin_linger_at(t));
        // Once the readings catch up it counts again.
        assert!(sleep.lingering_at(t + HOUR));
        let hop = Sleep::new(2);
        hop.linger_from(t);
        hop.hop_linger_until.store(t + HOUR, Ordering::Relaxed);
        assert!(hop.begin_linger_at(t));
        assert!(
            !hop.begin_linger_at(t),
            "a hop window far ahead is ignored too"
        );
        hop.end_linger();
    }

    #[test]
    fn sleep_with_work_in_sight_returns_at_once() {
        let sleep = Sleep::new(1);
        assert_eq!(sleep.sleep(0, || true, None), Wake::Search);
        let word = sleep.state.load(Ordering::Relaxed);
        assert_eq!((searching(word), sleeping(word)), (1, 0));
    }

    #[test]
    fn a_push_unparks_a_blocked_helper_only_when_nobody_searches_or_sleeps() {
        let sleep = std::sync::Arc::new(Sleep::new(3));
        // Worker 0 blocks as a helper; worker 1 stays searching; worker 2
        // is running something.
        sleep.stop_searching(|| false);
        sleep.stop_searching(|| false);
        let s = sleep.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let helper = std::thread::spawn(move || {
            let me = std::thread::current();
            let far = Instant::now() + Duration::from_secs(3600);
            tx.send(s.block_helping(0, &me, &|| false, || false, far))
                .unwrap();
        });
        while !sleep.has_blocked_helper() {
            std::thread::yield_now();
        }
        assert!(!sleep.notify_one());
        // A wake-up takes the helper off the list before it returns.
        assert!(
            sleep.has_blocked_helper(),
            "a searcher exists: nobody is woken"
        );
        assert!(rx.try_recv().is_err());
        sleep.stop_searching(|| false); // worker 1 runs something now
        assert!(!sleep.notify_one());
        assert!(!rx.recv().unwrap(), "woken for work, its own wait not done");
        helper.join().unwrap();
        assert!(!sleep.has_blocked_helper());
        assert!(sleep.helpers.lock().is_empty());
        assert!(
            !sleep.helper_called[0].0.load(Ordering::Relaxed),
            "the call was consumed"
        );
    }

    #[test]
    fn a_helper_that_sees_work_once_listed_does_not_park_and_leaves_the_list() {
        let sleep = Sleep::new(1);
        let me = std::thread::current();
        let far = Instant::now() + Duration::from_secs(3600);
        // Never done, never woken: only the look can end this wait.
        assert!(!sleep.block_helping(0, &me, &|| false, || true, far));
        assert!(!sleep.has_blocked_helper());
        // Done before it blocks: it says so.
        assert!(sleep.block_helping(0, &me, &|| true, || false, far));
        assert!(!sleep.has_blocked_helper());
    }

    #[test]
    fn a_push_wakes_a_sleeper_only_without_searchers() {
        let sleep = std::sync::Arc::new(Sleep::new(2));
        // worker 1 stays searching; worker 0 goes to sleep on a thread.
        let s = sleep.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        let sleeper = std::thread::spawn(move || {
            tx.send(s.sleep(0, || false, None)).unwrap();
        });
        // Wait until the sleeper is on the idle list.
        while sleep.idle.lock().is_empty() {
            std::thread::yield_now();
        }
        assert!(!sleep.notify_one());
        assert!(rx.try_recv().is_err(), "a searcher exists: nobody is woken");
        sleep.stop_searching(|| false); // worker 1 runs something now
        assert!(!sleep.notify_one());
        assert_eq!(rx.recv().unwrap(), Wake::Search);
        sleeper.join().unwrap();
        let word = sleep.state.load(Ordering::Relaxed);
        assert_eq!((searching(word), sleeping(word)), (1, 0));
    }

    #[test]
    fn a_sleeper_does_its_chore_after_a_while_and_still_wakes() {
        let sleep = std::sync::Arc::new(Sleep::new(2));
        let s = sleep.clone();
        let (chore_tx, chore_rx) = std::sync::mpsc::channel();
        let (tx, rx) = std::sync::mpsc::channel();
        let sleeper = std::thread::spawn(move || {
            // A chore that never says it is done: only a wake-up ends it.
            let mut chore = || {
                let _ = chore_tx.send(());
                true
            };
            tx.send(s.sleep(0, || false, Some(&mut chore))).unwrap();
        });
        // Watchdog: the chore comes after IDLE_CHORE_AFTER, not never.
        chore_rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the chore ran");
        assert!(rx.try_recv().is_err(), "still asleep while doing its chore");
        sleep.stop_searching(|| false); // worker 1 runs something now
        assert!(!sleep.notify_one());
        assert_eq!(
            rx.recv_timeout(Duration::from_secs(60)),
            Ok(Wake::Search),
            "woken between two pieces of the chore"
        );
        sleeper.join().unwrap();
    }
}

/// Model checks of the parking protocol (`RUSTFLAGS="--cfg loom"`): a push
/// racing with a worker going to sleep never leaves the work unseen, and a
/// submit racing with shutdown is either refused or run.
#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use loom::sync::atomic::AtomicBool;
    use std::sync::Arc;

    /// One worker that loops until it takes the work; one pusher.
    #[test]
    fn a_push_racing_with_sleep_is_never_lost() {
        loom::model(|| {
            let sleep = Arc::new(Sleep::new(1));
            let work = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
            let worker = {
                let (sleep, work) = (sleep.clone(), work.clone());
                loom::thread::spawn(move || {
                    while work.load(Ordering::SeqCst) == 0 {
                        let _ = sleep.sleep(0, || work.load(Ordering::SeqCst) != 0, None);
                    }
                    sleep.stop_searching(|| false);
                })
            };
            work.store(1, Ordering::SeqCst);
            sleep.notify_one();
            // If the work were unseen while the worker sleeps, loom reports
            // a deadlock here.
            worker.join().unwrap();
        });
    }

    /// Worker 0 of `sleep` blocking as a helper until `work` is there: its
    /// thief never comes (`is_done` stays false) and its poll never ends
    /// (loom's timed park is untimed), so a lost wake-up is a deadlock loom
    /// reports. It ends off the helpers' list.
    fn helper_until_work(
        sleep: &Arc<Sleep>,
        work: &Arc<AtomicBool>,
    ) -> loom::thread::JoinHandle<()> {
        let (sleep, work) = (sleep.clone(), work.clone());
        loom::thread::spawn(move || {
            let me = crate::sync::current_thread();
            let far = Instant::now() + Duration::from_secs(3600);
            while !work.load(Ordering::SeqCst) {
                let done =
                    sleep.block_helping(0, &me, &|| false, || work.load(Ordering::SeqCst), far);
                assert!(!done);
            }
            assert!(!sleep.has_blocked_helper());
        })
    }

    /// Step 4a: the one worker, counted searching and finding nothing,
    /// steps back, looks, yields, looks again, counts itself searching and
    /// sleeps (step 4), round after round until it sees the work; one
    /// pusher. The push may come before the step back (it sees a searcher
    /// and wakes nobody: the look after the step back must see it), between
    /// the step back and the sleep (it sees nobody to wake: a later look
    /// must see it) or after (step 4's race). A task left unseen while the
    /// worker sleeps is a deadlock loom reports.
    #[test]
    fn a_push_racing_with_a_step_back_is_never_lost() {
        loom::model(|| {
            let sleep = Arc::new(Sleep::new(1));
            let work = Arc::new(AtomicBool::new(false));
            let worker = {
                let (sleep, work) = (sleep.clone(), work.clone());
                loom::thread::spawn(move || {
                    let seen = || work.load(Ordering::SeqCst);
                    loop {
                        sleep.step_back();
                        if seen() {
                            return;
                        }
                        loom::thread::yield_now();
                        if seen() {
                            return;
                        }
                        sleep.start_searching();
                        let _ = sleep.sleep(0, seen, None);
                        if seen() {
                            sleep.stop_searching(|| false);
                            return;
                        }
                    }
                })
            };
            work.store(true, Ordering::SeqCst);
            sleep.notify_one();
            worker.join().unwrap();
        });
    }

    /// Step 4a with two pushes just before the step back: both may see
    /// the stepping worker 0 searching and wake nobody; it takes one at the
    /// look after its step back, and worker 1, asleep, must be woken for
    /// the other (step 3's rule, `found_after_step_back`; without it loom
    /// reports worker 1 parked beside the task, helper-91's finding). Each
    /// worker takes one task and ends.
    #[test]
    fn two_pushes_before_a_step_back_leave_no_task_beside_a_sleeper() {
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(|| {
            let sleep = Arc::new(Sleep::new(2));
            let jobs = Arc::new(loom::sync::atomic::AtomicUsize::new(0));
            fn take(jobs: &loom::sync::atomic::AtomicUsize) -> bool {
                jobs.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok()
            }
            // A counted searcher's loop: take one task, or sleep for one.
            fn search_then_sleep(
                index: usize,
                sleep: &Sleep,
                jobs: &loom::sync::atomic::AtomicUsize,
            ) {
                loop {
                    if take(jobs) {
                        sleep.stop_searching(|| jobs.load(Ordering::SeqCst) > 0);
                        return;
                    }
                    let _ = sleep.sleep(index, || jobs.load(Ordering::SeqCst) > 0, None);
                }
            }
            let sleeper = {
                let (sleep, jobs) = (sleep.clone(), jobs.clone());
                loom::thread::spawn(move || search_then_sleep(1, &sleep, &jobs))
            };
            let stepper = {
                let (sleep, jobs) = (sleep.clone(), jobs.clone());
                loom::thread::spawn(move || {
                    let was_last = sleep.step_back();
                    if take(&jobs) {
                        sleep.found_after_step_back(was_last, || jobs.load(Ordering::SeqCst) > 0);
                        return;
                    }
                    sleep.start_searching();
                    search_then_sleep(0, &sleep, &jobs);
                })
            };
            for _ in 0..2 {
                jobs.fetch_add(1, Ordering::SeqCst);
                sleep.notify_one();
            }
            stepper.join().unwrap();
            sleeper.join().unwrap();
        });
    }

    /// Step 8: a worker blocking as a helper while work is pushed (no
    /// other worker searches or sleeps) either sees the work at its look or
    /// is unparked for it.
    #[test]
    fn a_push_racing_with_a_helper_blocking_is_never_lost() {
        loom::model(|| {
            let sleep = Arc::new(Sleep::new(2));
            // Both workers start counted searching: neither is here.
            sleep.stop_searching(|| false);
            sleep.stop_searching(|| false);
            let work = Arc::new(AtomicBool::new(false));
            let helper = helper_until_work(&sleep, &work);
            work.store(true, Ordering::SeqCst);
            sleep.notify_one();
            helper.join().unwrap();
        });
    }

    /// Step 8 with step 3's chain: the push sees a searcher and wakes
    /// nobody; that searcher stops as the last one with the work still
    /// there and no sleeper, so it must wake the helper.
    #[test]
    fn the_last_searcher_wakes_a_blocked_helper_for_work_it_left() {
        helper_beside_a_searcher(|sleep, work| {
            sleep.notify_one();
            // Worker 1 takes other work and leaves this push behind.
            sleep.stop_searching(|| work.load(Ordering::SeqCst));
        });
    }

    /// A model: worker 0 blocks as a helper until `work` is there, worker 1
    /// searches; this thread makes the work and then calls `offer`, which
    /// must see that worker 0 takes it.
    fn helper_beside_a_searcher(offer: fn(&Sleep, &AtomicBool)) {
        loom::model(move || {
            let sleep = Arc::new(Sleep::new(2));
            // Worker 0 is the helper; worker 1 stays searching.
            sleep.stop_searching(|| false);
            let work = Arc::new(AtomicBool::new(false));
            let helper = helper_until_work(&sleep, &work);
            work.store(true, Ordering::SeqCst);
            offer(&sleep, &work);
            helper.join().unwrap();
        });
    }

    /// `wake_for_untaken` (fork-join halves a rescue left in a list, which
    /// no searcher looks at): worker 1 stays searching throughout, so a
    /// push's `notify_one` would wake nobody; the sleeping worker 0 must
    /// still see the work at its look or be woken for it. (With
    /// `notify_one` in its place, or without its fence, loom reports the
    /// deadlock.)
    #[test]
    fn untaken_work_wakes_a_sleeper_while_another_worker_searches() {
        loom::model(|| {
            let sleep = Arc::new(Sleep::new(2));
            let work = Arc::new(AtomicBool::new(false));
            let worker = {
                let (sleep, work) = (sleep.clone(), work.clone());
                loom::thread::spawn(move || {
                    while work
                        .compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst)
                        .is_err()
                    {
                        let _ = sleep.sleep(0, || work.load(Ordering::SeqCst), None);
                    }
                })
            };
            work.store(true, Ordering::SeqCst);
            assert!(sleep.has_searcher(), "worker 1 searches throughout");
            sleep.wake_for_untaken();
            worker.join().unwrap();
        });
    }

    /// The same with worker 0 blocked in a join's wait as a helper: it is
    /// unparked for the untaken work although worker 1 searches.
    #[test]
    fn untaken_work_unparks_a_blocked_helper_while_another_worker_searches() {
        helper_beside_a_searcher(|sleep, _| {
            sleep.wake_for_untaken();
        });
    }

    /// Two workers, one push: whichever sleeps, the work is taken.
    #[test]
    fn two_workers_one_push() {
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(2);
        builder.check(|| {
            let sleep = Arc::new(Sleep::new(2));
            let work = Arc::new(AtomicBool::new(false));
            let taken = Arc::new(AtomicBool::new(false));
            let workers: Vec<_> = (0..2)
                .map(|index| {
                    let (sleep, work, taken) = (sleep.clone(), work.clone(), taken.clone());
                    loom::thread::spawn(move || {
                        loop {
                            if work
                                .compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst)
                                .is_ok()
                            {
                                taken.store(true, Ordering::SeqCst);
                                // Done: let the other worker go.
                                sleep.shutdown();
                                break;
                            }
                            if sleep.sleep(index, || work.load(Ordering::SeqCst), None)
                                == Wake::Shutdown
                            {
                                break;
                            }
                        }
                    })
                })
                .collect();
            work.store(true, Ordering::SeqCst);
            sleep.notify_one();
            for worker in workers {
                worker.join().unwrap();
            }
            assert!(taken.load(Ordering::SeqCst));
        });
    }

    /// The submit/shutdown race of `registry.rs`: the task ends refused or
    /// run, never stranded.
    #[test]
    fn submit_racing_with_shutdown_is_run_or_refused() {
        const SCHEDULED: usize = 0;
        const RAN: usize = 1;
        const REFUSED: usize = 2;
        let mut builder = loom::model::Builder::new();
        builder.preemption_bound = Some(3);
        builder.check(|| {
            let sleep = Arc::new(Sleep::new(1));
            let queued = Arc::new(AtomicBool::new(false));
            let task = Arc::new(loom::sync::atomic::AtomicUsize::new(SCHEDULED));
            let worker = {
                let (sleep, queued, task) = (sleep.clone(), queued.clone(), task.clone());
                loom::thread::spawn(move || {
                    // Takes the queued task, if any, and runs it (the worker's
                    // SCHEDULED -> RUNNING compare-exchange).
                    let take_and_run = || {
                        let taken = queued
                            .compare_exchange(true, false, Ordering::SeqCst, Ordering::SeqCst)
                            .is_ok();
                        if taken {
                            let _ = task.compare_exchange(
                                SCHEDULED,
                                RAN,
                                Ordering::SeqCst,
                                Ordering::SeqCst,
                            );
                        }
                        taken
                    };
                    loop {
                        if take_and_run() {
                            continue;
                        }
                        if sleep.is_shutdown() {
                            fence(Ordering::SeqCst);
                            if take_and_run() {
                                continue;
                            }
                            break;
                        }
                        let _ = sleep.sleep(0, || queued.load(Ordering::SeqCst), None);
                    }
                })
            };
            let submitter = {
                let (sleep, queued, task) = (sleep.clone(), queued.clone(), task.clone());
                loom::thread::spawn(move || {
                    if sleep.is_shutdown() {
                        task.store(REFUSED, Ordering::SeqCst);
                        return;
                    }
                    queued.store(true, Ordering::SeqCst);
                    if sleep.notify_one() {
                        let _ = task.compare_exchange(
                            SCHEDULED,
                            REFUSED,
                            Ordering::SeqCst,
                            Ordering::SeqCst,
                        );
                    }
                })
            };
            sleep.shutdown();
            submitter.join().unwrap();
            worker.join().unwrap();
            assert_ne!(
                task.load(Ordering::SeqCst),
                SCHEDULED,
                "a task was stranded"
            );
        });
    }
}

//! The driver: splits a [`Divisible`] input by fork-join on
//! [`Pool::join`] and combines the leaves' results.
//!
//! # The protocol
//!
//! 0. **Sequential first.** A call over more than [`EAGER_MAX_ITEMS`] items
//!    (fewer are split at once: likely heavy, maybe waiting on each other)
//!    starts as one sequential walk (`walk`) on the
//!    calling thread, in steps that grow from [`FIRST_STEP`] items (each
//!    as long as all the steps before it; while the walk is younger than
//!    half of [`MIN_SAMPLE`], up to 15 times that, as far as the pace so
//!    far says the next look stays within `MIN_SAMPLE` ([`early_growth`]);
//!    so steps start at multiples of powers of two: step 8). The clock
//!    reads are most of a short call's cost: growing by 4 at first took a
//!    1 Ki `sum` inside `install` from 0.53 to 0.36 µs a call (the loop
//!    0.17); growing by up to 16, and no read after the last piece, took
//!    a 1 Ki `zip`-add of `f32` on a one-worker pool from 4.2–4.5 to 3.5×
//!    the loop, 4 Ki from 2.1 to 1.9×, 16 Ki from 1.33 to 1.26× (two
//!    interleaved A/B rounds, 60 pairs each; `Instant::now` alone was half
//!    of a 1 Ki call's time in a profile); reading the time-stamp counter
//!    instead (`clock.rs`) took them to 1.8–2.1×, 1.4× and 1.1×, and
//!    offers the rest of its input to the pool only once that is worth it
//!    (the heartbeat schedulers' rule: work that runs long enough is shared,
//!    short work never pays for sharing). After each step, on a worker of
//!    the pool, the rest is split (step 2 on) when the pace of the latest
//!    step says the rest will take at least [`WORTH_A_STEAL`] and another worker
//!    is *searching* (awake and looking: it takes the fork at once, with no
//!    wake-up), or at least [`WORTH_A_WAKE`], enough to pay for waking a
//!    parked worker or one blocked in a join's wait (`sleep.rs`, step 8:
//!    the walk wakes that one itself, just before it forks). Only a step
//!    that took half of [`MIN_SAMPLE`] or more sets the pace (on a worker,
//!    after a thousand items, [`PACE_SAMPLE`]: [`sets_pace`]): the first
//!    steps, a few items each, overstate it (the pace since the walk's start
//!    put a 100 Ki-element sum at 4× the loop's time, and split calls too
//!    short to gain from it). From
//!    a thread outside the pool, the rest hops in (step 1) once it is
//!    estimated at [`WORTH_A_HOP`] or more, at the latest timed step's pace
//!    and at the pace of the timed step before it, or the walk's whole pace
//!    at its first timed look ([`hop_rest`]): a hop costs a wake-up on each
//!    side (step 9 says why a shorter rest is not shared with an awake
//!    worker). Meanwhile `Pool::current()` names the pool on that thread, as
//!    for a map's chunk the caller runs (see `Pool::map`). So a call too
//!    small to pay for a second core costs the loop and a clock read or two
//!    (before: 17 loops at 10,000 elements, from splits, steals and a
//!    wake-up per call). On a worker, a rest worth a steal
//!    ([`WORTH_A_STEAL`]) keeps the pool's idle workers lingering, awake,
//!    for [`LINGER`] (`sleep.rs`, step 6; from outside, a hop does), and
//!    if none is awake the walk wakes one, once per call, even
//!    where the rest does not pay for that wake-up: a call of 100 Ki
//!    elements (~18 µs) never paid a wake-up and ran at the loop's speed
//!    each time; in a loop of such calls, the helper woken by one call
//!    takes half of the next at once (100 Ki `for_each` inside `install`:
//!    13.4 µs a call, the loop 16 µs, with half of each call on the other
//!    worker; the helper started its half 2.4 µs after the fork until its
//!    search polled every ~250 ns while lingering: 11.3 µs).
//! 1. A call from outside the pool (or from a worker of another pool) whose
//!    rest is worth it hops in once (`Pool::install_then_wait`, where a
//!    caller outside every pool waits for a rest of at most
//!    [`YIELD_WAIT_MAX`] yielding its CPU: see there); on one of the pool's
//!    own workers it forks directly. An input too short to split at
//!    all (fewer than twice the minimum length) runs on the calling thread.
//! 2. The splitter starts with a budget of [`SPLITS_PER_WORKER`] splits per
//!    worker. Each split halves the budget; a part that finds the budget at
//!    zero runs as one sequential leaf. So an undisturbed call cuts the
//!    input into about `2 × SPLITS_PER_WORKER × workers` leaves. Rayon
//!    starts from one split per worker (about two leaves each), which suits
//!    its eager `join`: every fork is on the deque at once, for any idle
//!    worker to take. corepool's `join` publishes a fork only when a worker
//!    is hungry *at the moment of the fork* (join.rs), so a worker that runs
//!    out of work can only be fed at the next fork of a busy one: more,
//!    smaller leaves bound that wait to one leaf (1/32 of the input on two
//!    workers). An unpublished fork is a frame link and one relaxed load
//!    (join.rs), so the extra leaves should cost little on inputs worth
//!    splitting (not yet measured on a quiet machine).
//! 3. When the second half of a split runs on another worker than the one
//!    that forked it, it was stolen: some worker was idle. The stolen half
//!    resets its budget to (at least) the starting budget, so it splits again
//!    and feeds the idle workers. This is rayon's adaptive splitter
//!    (`rayon/src/iter/plumbing/mod.rs`, `Splitter::try_split`).
//! 4. A part shorter than twice the minimum length is never split, whatever
//!    the budget, so tiny inputs are not cut into pieces worth less than a
//!    join (default minimum: 1 item; [`Par::with_min_len`](super::Par::with_min_len)
//!    raises it).
//! 5. Panics: `Pool::join` runs both halves to the end before it re-raises a
//!    panic of either, dropping the other half's result while it unwinds, so
//!    a panicking leaf never leaves another leaf running on borrowed data, and
//!    finished leaves' results (such as the collector's written elements) are
//!    dropped exactly once.
//! 6. After the pool has shut down, `install` runs its closure on the
//!    calling thread: the driver sees that it is not on a worker and runs the
//!    whole input as one leaf there.
//! 7. A leaf is walked in [`LEAF_STEPS`] pieces, combined left to right as
//!    any two adjacent parts are. Between pieces it looks (one relaxed load)
//!    whether a worker is searching; if so, the rest of the leaf is split
//!    again with a fresh budget, and its first fork is exposed for that
//!    worker. (A parked worker is not a reason: it is fed by the exposure of
//!    the busy worker's oldest fork, join.rs "Late idlers", and waking it
//!    per check cost short calls a futex each.) A worker blocked in a
//!    join's wait (`sleep.rs`, step 8) is one once the rest is worth its
//!    wake-up, [`WORTH_A_WAKE`] at the pace of the piece since the previous
//!    look that saw it listed ([`helper_worth_a_wake`]): the leaf wakes it
//!    and splits. A step is never shorter than the minimum length: the
//!    last step takes the remainder when cutting it would leave less than a
//!    step, so `fold`'s `init()` and
//!    `map_init`'s state always cover at least `with_min_len` items.
//!    **Except after forced splits.** Where `with_max_len` cut an input
//!    longer than its bound, the caller chose the pieces' size, there are
//!    at least two of them, each a fork a hungry worker can take, and a
//!    leaf runs whole, as rayon's do. Walking such leaves in steps and
//!    re-splitting their rests for a searching worker cut rayon-demo's
//!    increment-all with `with_max_len(100)` (1,024 leaves of 100 `usize`s
//!    a call) into pieces of a few items and ran it at 1.11–1.17× rayon's
//!    time; run whole, 0.54× (two alternations, `demos_ratio 7
//!    increment-all-max`, 2026-12-06). Re-splitting was most of it: steps
//!    without the re-split ran at 0.82×.
//! 8. **Aligned cuts.** A vector loop over a piece that starts one item off
//!    a 16- or 32-byte boundary splits its loads and stores across cache
//!    lines: the walk's steps once started at item 1, 3, 7, … and ran adding
//!    one to 100 Ki `u64` in 23.7 µs where the same loop took 16.8 µs on the
//!    same worker. Steps therefore start at multiples of powers of two
//!    (step 0), and halves and leaf steps are cut at multiples of
//!    [`ALIGN_ITEMS`] items of the whole input (`cut`, `aligned_len`) when
//!    that moves the cut by a sixteenth of the part or less and keeps both
//!    sides at least the minimum length.
//! 9. **Not shared from outside.** A caller outside the pool with a rest
//!    worth a steal but not a hop could keep half and hand the other half
//!    to a lingering worker (tried: a scoped task, taken back if unstarted).
//!    Measured here it lost to walking alone: 100 Ki `for_each` and `sum`
//!    from outside took 1.2–1.5× as long, 1 Mi 1.25×. The caller's thread is
//!    not pinned, the workers are, and with three threads wanting two CPUs
//!    (the caller, the helper, a worker lingering for the next call) the
//!    kernel often put the caller beside the helper. So an outside call
//!    walks alone below [`WORTH_A_HOP`], and keeps nobody awake for it.
//! 10. **Both halves end together.** A walk forks its rest so that the
//!     walker keeps half of what is left plus the items worth [`HANDOVER`]
//!     at the walk's pace ([`handover_lead`], `fork_cut`): the other worker
//!     starts its half a few hundred nanoseconds after the fork, and the
//!     walker that ends first waits about as long again to see the thief's
//!     end. Marks in a probe build, a loop of 100 Ki-element `for_each`
//!     calls inside `install` (20,000 calls, medians): cut at the middle of
//!     the rest, the thief's half ended 560–720 ns after the walker's; with
//!     the lead both ended within ~150 ns of each other and a call took
//!     7.4–7.6 µs instead of 7.9–8.0. Until 2026-12-05 the cut was at the
//!     middle of the walk's *whole* part, so that the walker's share (the
//!     steps it had walked and what it kept) equalled the thief's, whose
//!     start was the later one: the thief's half ended ~850 ns after the
//!     walker's. That rule was made on a VM whose cores had 512 KiB of L2
//!     and a walk that decided after a varying number of items (up to
//!     thousands): a cut at the middle of the rest moved with it, the items
//!     near the cut moved between the two caches, and a loop of 100 Ki
//!     `for_each` calls settled for whole rounds in a slow mode (21–28 µs
//!     a call against 13–15). Now the walk decides at a power-of-two count
//!     of items (nearly always the same one in a loop: 2,048 in 95 % of
//!     those 20,000 calls, 1,024 or 4,096 in the rest), so the cut moves by
//!     at most a few thousand items (tens of KiB) between calls.
//! 11. **Heavy items stay on offer.** Lazily, a walk offers its rest only
//!     at a look, after an item: when items take about a millisecond, a
//!     worker that turns idle waits up to an item for the busy one's next
//!     look, and a part of the last two items ran both on one worker, the
//!     first forked off only after it had run. Prime counting over 200
//!     chunks of 0.1–1.2 ms each (`--bench pool`, `primes/corepool_par`)
//!     ended with one worker idle for 1.2–1.8 ms in every call, 77.2 ms
//!     against rayon's 76.0. So once a walk on a worker has timed its
//!     items at [`WORTH_A_WAKE`] or more each ([`heavy_items`]), it forks
//!     its rest at every look, hungry worker or not, and its halves fork
//!     again before their first item (parts of at most twice
//!     [`HEAVY_BLIND_ITEMS`] all the way down to single items; longer ones
//!     time their own first item, so items that turn cheap end it). These
//!     forks are published at once, pushed on the worker's deque with a
//!     push's wake-up (`Pool::join_offered`; a push and a pop per item of
//!     40 µs or more), so a worker that turns idle takes the oldest, the
//!     biggest piece, at once, and the last item is on offer while the one
//!     before it runs (test
//!     `par_offers_a_heavy_calls_last_item_while_the_one_before_runs`).
//!     Not exposed: a first version left them in the exposure slot, where
//!     an unclaimed one kept a join forked inside an item from being
//!     offered, and such a join whose `a` waits for its `b` never ended
//!     (a second reader's test, `par_item_joins_end_when_a_waits_for_b`).
//!     They are published only while every fork on the worker's list is
//!     (the published frames stay a prefix of the list, join.rs step 3);
//!     otherwise, inside a user's `join` whose `b` waits unpublished, the
//!     walk forks only as steps 0–7 say. A hop from outside carries the
//!     flag, so the first fork in the pool comes before its first item
//!     too. The same calls: 75.9–76.0 ms (rayon's 75.9–76.0 in the same
//!     runs), the idle tail one item's remainder at most.

use std::time::Duration;

use crate::clock::{self, nanos};

use super::source::Divisible;
use crate::pool::Pool;
#[cfg(doc)]
use crate::sleep::LINGER;

/// What to do with the input: a sequential leaf, and how two leaves'
/// results combine (left first).
pub(crate) trait Consumer<P>: Sync {
    /// A leaf's result.
    type Output: Send;

    /// Consumes one part of the input sequentially; `offset` is the index
    /// of its first item in the whole input.
    fn leaf(&self, part: P, offset: usize) -> Self::Output;

    /// Whether the answer is known already (an early-exit method found it):
    /// the driver then stops splitting, and leaves should return at once.
    #[inline]
    fn full(&self) -> bool {
        false
    }

    /// Combines the results of two adjacent parts, `left` before `right`.
    fn combine(&self, left: Self::Output, right: Self::Output) -> Self::Output;
}

/// The starting split budget per worker (step 2).
pub(crate) const SPLITS_PER_WORKER: usize = 8;

/// The split budget of steps 2–4.
#[derive(Debug, Clone, Copy)]
struct Splitter {
    /// Splits left before this part becomes a leaf.
    splits: usize,
    /// The budget a stolen part gets back: the starting budget.
    reset: usize,
    /// Parts shorter than twice this are never split (≥ 1).
    min_len: usize,
    /// Parts longer than this are always split (unless `min_len` forbids);
    /// `usize::MAX` unless the input was longer (`drive`), so that any
    /// other value means the caller chose the pieces' size (step 7).
    max_len: usize,
}

impl Splitter {
    /// Whether a part of `len` items should be split, spending budget.
    #[inline]
    fn try_split(&mut self, len: usize, stolen: bool) -> bool {
        if len / 2 < self.min_len {
            return false;
        }
        if len > self.max_len {
            // Forced, and it spends budget as any split does (as rayon's
            // splitter does): parts cut down to `max_len` were split again
            // with the whole budget, 32 pieces of 3 items out of each part
            // of 100 (100 Ki items with a maximum of 100 ran at 13×
            // rayon's time).
            self.splits /= 2;
            return true;
        }
        if stolen {
            self.splits = self.reset.max(self.splits / 2);
            true
        } else if self.splits > 0 {
            self.splits /= 2;
            true
        } else {
            false
        }
    }
}

/// The first step of a sequential-first walk, in items (step 0); each step
/// doubles, so an input of `n` items reads the clock about `log2(n)` times,
/// and a few heavy items are handed over after the first one.
const FIRST_STEP: usize = 1;

/// Inputs of at most this many items skip the sequential start and are
/// split at once (steps 1–6): few items are likely heavy, and items that
/// wait for each other (a barrier across workers) need every piece offered
/// from the start.
const EAGER_MAX_ITEMS: usize = 64;

/// On a worker: the estimated time left that is worth forking for while the
/// other workers are parked (step 0). Waking a parked worker costs the
/// forker a futex call and the wakee 15–25 µs here before it runs; the rest
/// must outlast that for the fork to pay.
const WORTH_A_WAKE: Duration = Duration::from_micros(40);

/// On a worker: the estimated time left worth forking for when another
/// worker is searching (it takes the fork at once, but the forker may still
/// block for it at the end: a futex on each side when the wait is long).
/// It was 10 µs: a 100 Ki-element `sum` (about 13 µs alone, the fork
/// decided after ~1 µs of walking) then forked in only 60 % of the calls
/// of a loop inside `install`, its estimate landing either side of the
/// line. At 5 µs, interleaved A/B, 3,000 calls × 7 rounds each: 100 Ki
/// `sum` 11.3 → 8.7 µs a call, 50 Ki `for_each` 9.1 → 7.5 µs; 30 Ki, 50 Ki
/// `sum`, 30 Ki `for_each` and the 1 Mi calls level.
const WORTH_A_STEAL: Duration = Duration::from_micros(5);

/// A step that took at least half of [`MIN_SAMPLE`] sets the walk's pace
/// (step 0); on a worker, once the walk has done [`PACE_ITEMS`] items, a
/// step of at least this long does too ([`sets_pace`]).
///
/// Why sooner on a worker: on a cheap loop the first step of 500 ns came
/// at the walk's sixth look, about 1.2 µs in, so a call inside `install`
/// forked that late, and its half started that much later than rayon's,
/// which forks at once (the other worker takes a half ~1.2 µs after the
/// fork on either side): 100 Ki `for_each` inside `install` took 8.9–9.7
/// µs a call against rayon's 8.1–8.7. At 200 ns the fourth look (2,048
/// items, about 0.33 µs in) sets it. A probe build (not kept) switched the
/// line between blocks of calls in one process, rayon's blocks beside them
/// (15 rounds, medians, 2 workers, two runs), 500 → 200 ns: 100 Ki
/// `for_each` inside 9.68 → 9.14 and 8.85 → 8.01 µs (rayon 8.71, 8.14),
/// `sum` 5.56 → 4.91 and 5.82 → 5.16, `map.collect` 11.25 → 10.76 and
/// 11.42 → 10.33; 300 Ki inside 0.6–0.8 µs less; 10 Ki and 30 Ki calls
/// (which never fork) and the 1 Mi ones level within noise; 150 ns
/// measured as 200.
///
/// Why not from outside, and not before [`PACE_ITEMS`]: a second reader
/// found that a 200 ns sample let one slow early step (a cold first item
/// after a pause, a cache or TLB miss of a few hundred nanoseconds) set the
/// pace of the whole call, with the hop rule's second estimate, the walk's
/// whole pace, made of nearly the same step ([`hop_rest`]). With the line
/// at 200 ns for every walk, 16 Ki-item calls from outside (22 µs alone,
/// under [`WORTH_A_HOP`]) made 200 µs apart hopped 22–404 times in 1,000
/// (13–37 at 500 ns), every time when the first item took 150–300 ns, and
/// 4 Ki-item calls inside `install` forked 110–187 times in 200 (4–15),
/// each fork of a call that short paying a wake-up. The items count keeps
/// the sooner pace to walks of thousands of items, whose step a stall of
/// a few hundred nanoseconds at most doubles. The clock's own cost is a
/// few percent of this line where it reads the time-stamp counter (~12 ns
/// here, `clock.rs`), about 15 % where it falls back to `Instant` (~30 ns).
const PACE_SAMPLE: Duration = Duration::from_nanos(200);

/// How many items a walk on a worker has done before a step of
/// [`PACE_SAMPLE`] sets its pace (see there).
const PACE_ITEMS: usize = 1024;

/// Whether a step of `step_time` nanoseconds, ending a walk's first `done`
/// items, sets its pace (step 0; [`PACE_SAMPLE`]).
#[inline]
fn sets_pace(step_time: u64, done: usize, on_worker: bool) -> bool {
    step_time >= nanos(MIN_SAMPLE) / 2
        || (on_worker && done >= PACE_ITEMS && step_time >= nanos(PACE_SAMPLE))
}

/// How long a step of a walk may take before it stops doubling (step 0):
/// the longest an idle worker waits for the walk's next look.
const STEP_TIME: Duration = Duration::from_micros(8);

/// How old a walk should be at its first looks (step 0): its steps grow
/// up to sixteenfold (15 times all before them) while it is younger than
/// half of this, and keep doubling while it is younger than this; a step
/// of half of this sets the pace ([`sets_pace`]).
const MIN_SAMPLE: Duration = Duration::from_micros(1);

/// From outside: the estimated time left that is worth a hop into the pool
/// (step 0). On a pool of one worker a hop gains no second core, and for a
/// while (4842620) such a pool never hopped; but then every pool call
/// inside the items (a `join`, a nested `par`, an `install`) was a call
/// from outside and hopped on its own: 4,000 items each making a `join`
/// took 145–149 ms instead of 0.09–0.17 (a second reader's probe). One hop
/// of the whole rest makes those calls run inline on the worker. A hop
/// costs a wake-up or a handover on each side: with the caller parked while
/// it waited, the calls that hopped took about 21 µs over half the loop's
/// time (`par_sizes`, two workers, 2026-12-04, outside: 1 Mi `sum` 81 →
/// 62 µs, 500 Ki `for_each` 70 → 56); with the caller yielding
/// ([`YIELD_WAIT_MAX`]) about 15 (500 Ki `for_each` 70 → 50). So a rest
/// of about 30 µs breaks even: hopping at 35 µs, interleaved with 60 µs
/// in two runs, 300 Ki `for_each` (42 µs alone) took 34.7 and 35.8 µs
/// against 42.6 and 42.3, `map.collect` (50 µs) 41.9 and 48.0 against 51.0
/// and 51.9, while 200 Ki calls (28–33 µs) came out 0–15 % slower. This
/// line keeps a margin for the estimate's error above that. Before this
/// round's measurements it was 120 µs, set on a VM that ran half as fast
/// to keep ~30 µs calls home: the 1 Mi `sum`, now 82 µs, then walked alone
/// at 1.32–1.44× rayon's time. Then it was 45 µs until the hop's caller
/// learned to yield after its spin (`install.rs`, step 5), which took a
/// loop of `install` + 100 Ki `par` calls from 36 to 17–18 µs: a hop now
/// costs about 11 µs over half the loop's time, so a rest of about 22 µs
/// breaks even. And between 200 and 300 Ki `u64`s a walk alone falls out
/// of its core's cache (2 MiB of L2 here) while two halves fit two: the
/// 300 Ki `for_each` from outside took 52.8–54.0 µs alone, 2.12× and 1.88×
/// rayon's 27.6–28.8. At 25 µs, the 45 µs build and this one alternated
/// twice (`par_sizes --sizes 102400,204800,307200,512000`, outside, ×
/// rayon): 300 Ki `for_each` 2.12/1.88 → 1.03/0.67×, `sum` 0.70/1.45 →
/// 1.11/0.84×, `map.collect` 0.76/0.93 → 1.29/0.84×; 200 Ki `map.collect`
/// 0.99/1.54 → 0.77/0.68×; 100 Ki cells level (0.46–1.17× both ways; they
/// walk alone either way, their estimates near the line); 32 µs sat
/// between. The 200 Ki `for_each` and `sum` stay over rayon's time in
/// every build (1.09–1.42×): rayon's 20 µs is under a hop's cost plus half
/// of the 26 µs loop. But at 25 µs the 100 Ki `map.collect` from outside
/// (a 20–23 µs loop, its estimates near the line) hopped often enough to
/// read 1.06–1.52× rayon in four runs of five (0.74–0.96× at 45 µs), a hop
/// of a rest that short costing more than the half it saves; at 35 µs,
/// the two alternated twice: that cell 1.19/1.52 → 1.10/0.94×, and at 300
/// Ki `for_each` 1.03/1.30 → 1.08/1.19×, `sum` 1.04/1.61 → 1.38/1.00×,
/// `map.collect` 1.06/1.11 → 1.01/0.96×. So the line is 35 µs.
const WORTH_A_HOP: Duration = Duration::from_micros(35);

/// From outside: a hop whose rest is estimated at no more than this on one
/// thread has its caller wait yielding its CPU (`sched_yield` in a loop)
/// until the pool is done or twice that estimate has passed, and park only
/// then (`Pool::install_then_wait`; step 1). Parked, the caller took 16–18 µs
/// from the pool's last store to running again (a futex wake-up onto a CPU
/// where a lingering worker spins: `probe`d marks in the hop, 1 Mi `sum`
/// from outside, 3,500 calls a run, medians); yielding, about 10 µs, since
/// the worker beside it yields every few microseconds while it lingers
/// (`worker.rs`, `LINGER_ROUND`). In `par_sizes`, two interleaved A/B runs:
/// 500 Ki `for_each` from outside 50.3 and 49.9 µs a call against 58.9 and
/// 61.0 parked, `map.collect` 58.0 and 57.0 against 69.0 and 74.8, 1 Mi
/// `sum` 59.9 and 60.7 against 62.9 and 64.7. The wait costs the caller's
/// CPU only where no worker shares it (but counts against a CPU quota),
/// for no longer than the call or twice the estimate, whichever ends
/// first; a longer call pays one wake-up in more than a millisecond and
/// parks at once. Twice, not once: a hop that must wake parked workers
/// often outlasted the one-thread estimate of a 300 Ki `sum` (62 of 88
/// such waits in a probe whose calls were 2 ms apart), and each such wait
/// then paid the parked caller's wake-up after all. The caller consumes
/// the token of the pool's `unpark` whether it saw DONE yielding or parked
/// (`install.rs`, step 5): a user's `park_timeout(2 ms)` right after such
/// calls returned at once after 0 of 200 (146 of 200 before it did).
pub(crate) const YIELD_WAIT_MAX: Duration = Duration::from_millis(1);

/// Runs `consumer` over `input` on `pool`, split adaptively (steps 0–6).
pub(crate) fn drive<P, C>(
    pool: &Pool,
    input: P,
    (min_len, max_len): (usize, usize),
    consumer: &C,
) -> C::Output
where
    P: Divisible,
    C: Consumer<P>,
{
    let min_len = min_len.max(1);
    if input.part_len() / 2 < min_len {
        return consumer.leaf(input, 0);
    }
    let budget = pool.workers().saturating_mul(SPLITS_PER_WORKER);
    let max_len = max_len.max(1);
    let splitter = Splitter {
        splits: budget,
        reset: budget,
        min_len,
        // A bound the input is within changes nothing: no bound (step 7).
        max_len: if input.part_len() > max_len {
            max_len
        } else {
            usize::MAX
        },
    };
    if input.part_len() > splitter.max_len || input.part_len() <= EAGER_MAX_ITEMS {
        // `with_max_len` asks for pieces, and few items are split at once:
        // no sequential start.
        return in_pool(pool, splitter, input, 0, consumer);
    }
    let on_worker = pool.registry().own_worker().is_some();
    // Outside the pool the caller runs the first steps: it lends the pool
    // for `Pool::current`, as a map's caller-run chunk does.
    let _lent = (!on_worker).then(|| crate::map::Lent::to(pool));
    walk(pool, min_len, on_worker, input, 0, consumer)
}

/// Step 0: walks `part` (whose first item is at `offset`) on this thread in
/// growing steps, and splits off half of the rest for another worker — or,
/// from outside, hands the rest to the pool — once that is worth it. Each
/// half walks the same way, so work is split only as far as workers are
/// there to take it (heartbeat-style), never into a fixed number of leaves.
fn walk<P, C>(
    pool: &Pool,
    min_len: usize,
    on_worker: bool,
    part: P,
    mut offset: usize,
    consumer: &C,
) -> C::Output
where
    P: Divisible,
    C: Consumer<P>,
{
    let sleep = &pool.registry().sleep;
    // Readings of the pool's cheap clock (`clock.rs`), in nanoseconds.
    let start = clock::now();
    let mut step = FIRST_STEP.max(min_len);
    let mut done = 0usize;
    // The pace of the latest step long enough to time (ns per item), and
    // of the one such step before it.
    let mut pace: Option<f64> = None;
    let mut pace_before: Option<f64> = None;
    let mut step_start = start;
    let mut acc: Option<C::Output> = None;
    let mut rest = part;
    let join_acc = |acc: Option<C::Output>, next: C::Output| match acc {
        Some(acc) => consumer.combine(acc, next),
        None => next,
    };
    // Whether this walk has woken a helper already (`sleep.rs`, step 6).
    let mut woke_a_helper = false;
    let mut now = start;
    loop {
        let left = rest.part_len();
        if left == 0 || consumer.full() {
            // Done, or an early exit found its answer: a leaf still sees
            // what is left (and returns at once).
            if left > 0 || acc.is_none() {
                acc = Some(join_acc(acc, consumer.leaf(rest, offset)));
            }
            break;
        }
        if done > 0 && left / 2 >= min_len {
            let rest_time = pace.map(|p| (p * left as f64) as u64);
            let hand = match rest_time {
                // From outside: a hop, and the workers linger for the next
                // call's hop (`sleep.rs`, step 6). A shorter call walks on
                // alone and keeps nobody awake: a worker spinning beside it
                // could only take its CPU (step 9).
                // A second estimate must agree ([`hop_rest`]).
                Some(rest_time) if !on_worker => {
                    let elapsed = now.saturating_sub(start);
                    hop_rest(rest_time, pace_before, left, elapsed, done).map(|rest_time| {
                        // Every worker lingers from now until `LINGER`
                        // after the call's expected end (and after its
                        // real end, below): the next call's hop finds
                        // them awake.
                        sleep.linger_for_hop(now, rest_time);
                        // A short call's caller waits for it yielding
                        // its CPU, not parked ([`YIELD_WAIT_MAX`]).
                        Hand::Hop(
                            (rest_time <= nanos(YIELD_WAIT_MAX))
                                .then(|| now.saturating_add(2 * rest_time)),
                        )
                    })
                }
                Some(rest_time) if on_worker && rest_time >= nanos(WORTH_A_STEAL) => {
                    // Worth a helper that is awake: keep idle workers awake
                    // for this call and the next (`sleep.rs`, step 6).
                    sleep.linger_from(now);
                    let worth_a_wake = rest_time >= nanos(WORTH_A_WAKE);
                    if sleep.has_searcher() || (worth_a_wake && sleep.is_hungry()) {
                        Some(Hand::Fork)
                    } else if worth_a_wake && sleep.has_blocked_helper() {
                        // A worker blocked in a join's wait (`sleep.rs`,
                        // step 8) is idle as a sleeper is: woken here, it
                        // finds the fork (exposed, or published: step 11).
                        sleep.wake_helper();
                        Some(Hand::Fork)
                    } else if heavy_items(pace) && can_offer(pool) {
                        // Step 11: nobody is idle now; the fork is
                        // published at once, for one who turns idle
                        // before the next item ends.
                        Some(Hand::Fork)
                    } else {
                        // Too short to pay a wake-up now: wake one anyway,
                        // once, so that a loop's next call has a helper.
                        // (A wake with no work pushed for it: the woken
                        // worker searches, lingers, then parks.)
                        if !woke_a_helper {
                            woke_a_helper = true;
                            sleep.notify_one_for_fork();
                        }
                        None
                    }
                }
                _ => None,
            };
            if let Some(hand) = hand {
                let heavy = heavy_items(pace);
                let tail = match hand {
                    Hand::Fork => {
                        let lead = handover_lead(pace, left);
                        fork_walks(pool, min_len, rest, offset, lead, consumer, heavy, heavy)
                    }
                    Hand::Hop(yield_until) => {
                        hop(pool, min_len, rest, offset, consumer, yield_until, heavy)
                    }
                };
                return join_acc(acc, tail);
            }
        }
        // As in a leaf: no piece shorter than a step (so never shorter than
        // `min_len`); the last takes the remainder.
        let take = if left / 2 < step { left } else { step };
        let (piece, tail) = rest.split_at(take);
        acc = Some(join_acc(acc, consumer.leaf(piece, offset)));
        offset += take;
        done += take;
        rest = tail;
        if take == left {
            // The last piece: nothing left to decide, so no clock read.
            continue;
        }
        // Steps double while they are short, so that a check comes at least
        // every few microseconds: a worker that turns idle is fed soon.
        now = clock::now();
        let step_time = now.saturating_sub(step_start);
        step_start = now;
        if sets_pace(step_time, done, on_worker) {
            pace_before = pace;
            pace = Some(step_time as f64 / take as f64);
        }
        let elapsed = now.saturating_sub(start);
        if elapsed < nanos(MIN_SAMPLE) / 2 {
            // Far too early to time anything: grow by the power of two (at
            // most 16) that brings the walk's age at its next look near
            // `MIN_SAMPLE` at the pace so far, which the clock reads
            // themselves make look slower than it is. Each step is then
            // all before it times one less than that power, so steps still
            // start at powers of two.
            step = done.saturating_mul(early_growth(elapsed) - 1);
        } else if elapsed < nanos(MIN_SAMPLE)
            || u128::from(elapsed) * (step as u128) < STEP_TIME.as_nanos() * (done as u128)
        {
            step = done;
        }
    }
    acc.expect("a walk consumes at least one piece")
}

/// Forks the rest of a walk, `part` (its first item at `offset`), at
/// [`fork_cut`] (the walker keeping `lead` items past the middle), and
/// walks both halves on this pool (steps 0, 10 and 11). With `offer` the
/// fork is published at once where the protocol allows
/// (`Pool::join_offered`); with `heavy` each half forks again before its
/// first item.
#[allow(clippy::too_many_arguments)]
fn fork_walks<P, C>(
    pool: &Pool,
    min_len: usize,
    part: P,
    offset: usize,
    lead: usize,
    consumer: &C,
    offer: bool,
    heavy: bool,
) -> C::Output
where
    P: Divisible,
    C: Consumer<P>,
{
    let cut = fork_cut(offset, part.part_len(), lead, min_len);
    let (left_half, right_half) = part.split_at(cut);
    let mid = offset + cut;
    let left = || walk_on_worker(pool, min_len, left_half, offset, consumer, heavy);
    let right = || walk_on_worker(pool, min_len, right_half, mid, consumer, heavy);
    let (l, r) = if offer {
        pool.join_offered(left, right)
    } else {
        pool.join(left, right)
    };
    consumer.combine(l, r)
}

/// [`walk`] on one of the pool's workers; a `heavy` part, forked off a
/// walk whose items each outlast a wake-up, is forked in two before its
/// first item (step 11).
fn walk_on_worker<P, C>(
    pool: &Pool,
    min_len: usize,
    part: P,
    offset: usize,
    consumer: &C,
    heavy: bool,
) -> C::Output
where
    P: Divisible,
    C: Consumer<P>,
{
    if heavy && part.part_len() / 2 >= min_len && !consumer.full() && can_offer(pool) {
        // Halves of a few items fork again at once; longer ones time their
        // own first items.
        let blind = part.part_len() <= 2 * HEAVY_BLIND_ITEMS;
        return fork_walks(pool, min_len, part, offset, 0, consumer, true, blind);
    }
    walk(pool, min_len, true, part, offset, consumer)
}

/// A heavy part (step 11) of at most twice this many items forks down to
/// single items without timing any (its halves hold at most this many):
/// the last items of a call are then each published while any runs.
const HEAVY_BLIND_ITEMS: usize = 16;

/// Whether a fork made now on this thread, one of `pool`'s workers, would
/// be published at once (`Pool::join_offered`): step 11 forks with nobody
/// hungry only then. Forked lazily instead, the rest would sit in the
/// worker's exposure slot, where a frame nobody claims keeps a join forked
/// inside an item from being offered: one whose `a` waits for its `b`
/// never ended (a second reader's test,
/// `par_item_joins_end_when_a_waits_for_b`).
#[inline(never)]
fn can_offer(pool: &Pool) -> bool {
    pool.registry()
        .own_worker()
        .is_some_and(|worker| worker.forks_published())
}

/// Whether items at `pace` (nanoseconds each, as a walk timed them) each
/// outlast a wake-up ([`WORTH_A_WAKE`]): a walk over such items keeps its
/// rest forked (step 11). Out of line: a walk asks only at its looks.
#[inline(never)]
fn heavy_items(pace: Option<f64>) -> bool {
    pace.is_some_and(|pace| pace >= nanos(WORTH_A_WAKE) as f64)
}

/// Step 1's rule, from outside: the rest (`left` items) is worth a hop
/// when the latest timed step puts it at `rest_time` ≥ [`WORTH_A_HOP`] and
/// a second estimate agrees; then the lower of the two, which sets how long
/// the workers linger. The second estimate is the pace of the timed step
/// before the latest (`pace_before`, ns per item) or, where there is none
/// yet, the walk's whole pace (`done` items in `elapsed` ns).
///
/// One slow step (an interrupt, a page fault, a preemption) must not buy
/// a hop: its wake-ups, and workers lingering past the call's end on the
/// CPUs the caller needs, slow the caller's next calls. A pause ends
/// within one step, so two timed steps rarely both see it; while steps
/// still double, each is as long as all before it, and the whole pace
/// alone (a first version of this rule) could not tell a stall in the
/// latest step apart. The whole pace stays the fallback at the first timed
/// look: without one, a call whose rest is taken before a second timed
/// step (cheap first items, or `with_min_len` steps) would never hop. Two
/// stalls in a row, or a real slowdown, still hop. Hops out of a loop of
/// ~30 µs 100 Ki `map.collect` calls from outside, which should walk
/// alone: BENCHMARKS.md, "Code layout".
#[inline]
fn hop_rest(
    rest_time: u64,
    pace_before: Option<f64>,
    left: usize,
    elapsed: u64,
    done: usize,
) -> Option<u64> {
    let worth = nanos(WORTH_A_HOP);
    if rest_time < worth {
        return None;
    }
    let second = match pace_before {
        // `as` saturates: an estimate past `u64::MAX` nanoseconds is that.
        Some(pace) => (pace * left as f64) as u64,
        None => whole_pace_rest(elapsed, done, left),
    };
    (second >= worth).then_some(rest_time.min(second))
}

/// The time `left` items take at the pace of the walk so far: `elapsed`
/// nanoseconds for `done` items. Out of line: only a hop's first look
/// reads it, and `walk`'s steps are what a short call costs.
#[inline(never)]
fn whole_pace_rest(elapsed: u64, done: usize, left: usize) -> u64 {
    (u128::from(elapsed) * left as u128 / done.max(1) as u128).min(u128::from(u64::MAX)) as u64
}

/// How many times over a walk younger than half of [`MIN_SAMPLE`] grows
/// what it has done by its next look (step 0): the largest power of two, 2
/// to 16, that `elapsed` times it stays within `MIN_SAMPLE`.
#[inline]
fn early_growth(elapsed: u64) -> usize {
    let room = (nanos(MIN_SAMPLE) / elapsed.max(1)).clamp(2, 16) as usize;
    1 << (usize::BITS - 1 - room.leading_zeros())
}

/// Step 1 from outside: the rest (its first item at `offset`) hops into the
/// pool and walks there. Out of line: its drop guard's unwinding path in
/// `walk` itself slowed every call's steps (100 Ki `sum` inside `install`
/// 8.9–12.6 → 11.6–16.0 µs in an interleaved A/B).
#[inline(never)]
fn hop<P, C>(
    pool: &Pool,
    min_len: usize,
    rest: P,
    offset: usize,
    consumer: &C,
    yield_until: Option<u64>,
    heavy: bool,
) -> C::Output
where
    P: Divisible,
    C: Consumer<P>,
{
    // Closes the hop's lingering window when the call ends, by returning
    // or by unwinding: a panic left it open to the estimated end, and
    // every worker spun until then.
    let _returned = HopReturned(&pool.registry().sleep);
    pool.install_then_wait(
        || {
            if pool.registry().own_worker().is_none() {
                // Step 6: the pool has shut down and `install` ran us here.
                return consumer.leaf(rest, offset);
            }
            walk_on_worker(pool, min_len, rest, offset, consumer, heavy)
        },
        yield_until,
    )
}

/// Closes a hop's lingering window when dropped (`Sleep::hop_returned`).
struct HopReturned<'a>(&'a crate::sleep::Sleep);

impl Drop for HopReturned<'_> {
    fn drop(&mut self) {
        self.0.hop_returned(clock::now());
    }
}

/// How a walk hands over the rest of its input after a step (step 0).
enum Hand {
    /// On a worker: forks the rest in two (`Pool::join`).
    Fork,
    /// From outside: hands the whole rest to the pool (step 1); the caller
    /// yields its CPU until it is back or the clock reads this, if given
    /// (twice the walk's estimated rest on one thread: [`YIELD_WAIT_MAX`]),
    /// and only then parks.
    Hop(Option<u64>),
}

/// Steps 1–6 for `part`, whose first item is at `offset`: into the pool
/// (one hop from outside) and split there.
fn in_pool<P, C>(pool: &Pool, splitter: Splitter, part: P, offset: usize, consumer: &C) -> C::Output
where
    P: Divisible,
    C: Consumer<P>,
{
    pool.install(|| {
        if pool.registry().own_worker().is_none() {
            // Step 6: the pool has shut down and `install` ran us here.
            return consumer.leaf(part, offset);
        }
        split(pool, splitter, false, part, offset, consumer)
    })
}

/// One level of the recursion: split `part` and fork, or run it as a leaf.
fn split<P, C>(
    pool: &Pool,
    mut splitter: Splitter,
    stolen: bool,
    part: P,
    offset: usize,
    consumer: &C,
) -> C::Output
where
    P: Divisible,
    C: Consumer<P>,
{
    let len = part.part_len();
    if consumer.full() || !splitter.try_split(len, stolen) {
        return leaf_in_steps(pool, splitter, part, offset, consumer);
    }
    let cut = cut(offset, len, splitter.min_len);
    let (left, right) = part.split_at(cut);
    let forked_on = Pool::current_worker_index();
    let (left, right) = pool.join(
        || split(pool, splitter, false, left, offset, consumer),
        || {
            let stolen = Pool::current_worker_index() != forked_on;
            split(pool, splitter, stolen, right, offset + cut, consumer)
        },
    );
    consumer.combine(left, right)
}

/// Pieces are cut at multiples of this many items of the whole input where
/// that moves a cut little (step 8).
const ALIGN_ITEMS: usize = 64;

/// `len` rounded down to a multiple of [`ALIGN_ITEMS`], when that changes
/// it by an eighth or less (step 8).
#[inline]
fn aligned_len(len: usize) -> usize {
    if len >= 8 * ALIGN_ITEMS {
        len / ALIGN_ITEMS * ALIGN_ITEMS
    } else {
        len
    }
}

/// Where to cut a part of `len` items whose first item is at `offset` in
/// the whole input: at its middle, moved down to a multiple of
/// [`ALIGN_ITEMS`] of the whole input when that moves it by a sixteenth of
/// the part or less and leaves both halves at least `min_len` long
/// (step 8).
#[inline]
fn cut(offset: usize, len: usize, min_len: usize) -> usize {
    let mid = len / 2;
    if len >= 16 * ALIGN_ITEMS {
        let aligned = (offset + mid) / ALIGN_ITEMS * ALIGN_ITEMS - offset;
        if aligned >= min_len && len - aligned >= min_len {
            return aligned;
        }
    }
    mid
}

/// Where a walk forks the `left` items of its rest (the first at
/// `offset`): `lead` items (at most a quarter of
/// the rest) past the middle of the rest, moved down to a multiple of
/// [`ALIGN_ITEMS`] as [`cut`] moves its cuts; [`cut`] where that would leave
/// a side shorter than `min_len` (step 10).
#[inline]
fn fork_cut(offset: usize, left: usize, lead: usize, min_len: usize) -> usize {
    let keep = left / 2 + lead.min(left / 4);
    let mut at = keep;
    if left >= 16 * ALIGN_ITEMS {
        let aligned = (offset + keep) / ALIGN_ITEMS * ALIGN_ITEMS;
        if aligned > offset && keep - (aligned - offset) <= left / 16 {
            at = aligned - offset;
        }
    }
    if at >= min_len && left - at >= min_len {
        return at;
    }
    cut(offset, left, min_len)
}

/// How long after a walk's fork the other worker starts on its half,
/// and sees it end, beyond what the walker's own half costs (step 10).
/// Measured on this 2-core VM (a loop of 100 Ki-element `for_each` calls
/// inside `install`, the other worker lingering): the stolen half's first
/// item came 320–370 ns after the fork (p50 of 20,000 calls), and the
/// walker that finished its half first waited 300–500 ns more for the
/// thief's end to reach it; with the cut at the middle of the rest the
/// thief's half ended 560–720 ns after the walker's. Keeping this much more
/// than half (at the walk's pace) ends both halves together.
const HANDOVER: Duration = Duration::from_nanos(800);

/// The items worth [`HANDOVER`] on each side of a fork, at `pace` ns an
/// item: half of it, since the walker keeps them and the thief loses
/// them (step 10). At most a quarter of the `left` items (`fork_cut`).
#[inline]
fn handover_lead(pace: Option<f64>, left: usize) -> usize {
    match pace {
        Some(pace) if pace > 0.0 => {
            ((nanos(HANDOVER) as f64 / (2.0 * pace)) as usize).min(left / 4)
        }
        _ => 0,
    }
}

/// How many steps a leaf is walked in (step 7).
const LEAF_STEPS: usize = 8;

/// Step 7: whether a leaf with `left` items to go should split them for a
/// blocked helper (`sleep.rs`, step 8), and if so wakes it. A look that
/// sees one listed reads the clock (`seen_at`; a look that sees none clears
/// it); the next, a piece of `step` items later, says yes when the rest at
/// that piece's pace is worth [`WORTH_A_WAKE`]. Out of line: it runs only
/// while a helper is blocked.
#[inline(never)]
fn helper_worth_a_wake(
    sleep: &crate::sleep::Sleep,
    seen_at: &mut Option<u64>,
    step: usize,
    left: usize,
) -> bool {
    if !sleep.has_blocked_helper() {
        // Timed afresh when one is listed again: the reading is the start
        // of the piece that times its rest.
        *seen_at = None;
        return false;
    }
    let now = clock::now();
    let Some(then) = seen_at.replace(now) else {
        return false;
    };
    // `step` ≥ 1: a leaf's steps are at least one item.
    let rest = u128::from(now.saturating_sub(then)) * left as u128 / step as u128;
    if rest < u128::from(nanos(WORTH_A_WAKE)) {
        return false;
    }
    sleep.wake_helper();
    true
}

/// Step 7: a leaf walked in [`LEAF_STEPS`] pieces; between two pieces, if a
/// worker has gone hungry meanwhile, the rest is split again (with a fresh
/// budget) so that the fork feeds it at once instead of after the whole leaf.
fn leaf_in_steps<P, C>(
    pool: &Pool,
    splitter: Splitter,
    part: P,
    mut offset: usize,
    consumer: &C,
) -> C::Output
where
    P: Divisible,
    C: Consumer<P>,
{
    let len = part.part_len();
    let step = aligned_len(len / LEAF_STEPS).max(splitter.min_len).max(1);
    if len < 2 * step || consumer.full() || splitter.max_len != usize::MAX {
        return consumer.leaf(part, offset);
    }
    let sleep = &pool.registry().sleep;
    let (first, mut rest) = part.split_at(step);
    let mut acc = consumer.leaf(first, offset);
    offset += step;
    // When the last look saw a blocked helper listed (a clock reading), to
    // time the piece since (`helper_worth_a_wake`).
    let mut helper_seen_at: Option<u64> = None;
    while rest.part_len() > 0 {
        let left = rest.part_len();
        if left / 2 >= splitter.min_len
            && (sleep.has_searcher() || helper_worth_a_wake(sleep, &mut helper_seen_at, step, left))
        {
            let fresh = Splitter {
                splits: splitter.reset,
                ..splitter
            };
            let tail = split(pool, fresh, true, rest, offset, consumer);
            return consumer.combine(acc, tail);
        }
        // The last step takes whatever is left if a further cut would leave
        // a tail shorter than a step: no piece is shorter than `min_len`.
        let take = if left < 2 * step { left } else { step };
        let (piece, tail) = rest.split_at(take);
        acc = consumer.combine(acc, consumer.leaf(piece, offset));
        offset += take;
        rest = tail;
    }
    acc
}

#[cfg(test)]
mod tests {
    use super::{
        ALIGN_ITEMS, HANDOVER, MIN_SAMPLE, PACE_ITEMS, PACE_SAMPLE, Splitter, WORTH_A_HOP,
        early_growth, fork_cut, handover_lead, hop_rest, nanos, sets_pace,
    };

    #[test]
    fn a_short_step_sets_the_pace_only_on_a_worker_and_only_after_a_thousand_items() {
        let half = nanos(MIN_SAMPLE) / 2;
        let short = nanos(PACE_SAMPLE);
        // Half the sample sets it anywhere, even for one item.
        assert!(sets_pace(half, 1, false));
        assert!(sets_pace(half, 1, true));
        // A shorter step: on a worker, once the walk is long enough.
        assert!(sets_pace(short, PACE_ITEMS, true));
        assert!(!sets_pace(short, PACE_ITEMS - 1, true));
        assert!(!sets_pace(short - 1, PACE_ITEMS, true));
        // From outside (the hop rule's walk): never.
        assert!(!sets_pace(short, PACE_ITEMS, false));
        assert!(!sets_pace(half - 1, 1 << 20, false));
        // A slow first item of a few hundred nanoseconds: not anywhere.
        assert!(!sets_pace(half - 1, 1, true));
    }

    #[test]
    fn early_steps_grow_by_a_power_of_two_that_keeps_the_next_look_within_the_sample() {
        assert_eq!(early_growth(0), 16);
        assert_eq!(early_growth(30), 16);
        assert_eq!(early_growth(100), 8);
        assert_eq!(early_growth(200), 4);
        assert_eq!(early_growth(300), 2);
        // Just under half the sample still doubles, as the later steps do.
        assert_eq!(early_growth(nanos(MIN_SAMPLE) / 2 - 1), 2);
        for elapsed in 1..nanos(MIN_SAMPLE) / 2 {
            let growth = early_growth(elapsed);
            assert!(growth.is_power_of_two() && (2..=16).contains(&growth));
            assert!(growth == 2 || elapsed * growth as u64 <= nanos(MIN_SAMPLE));
        }
    }

    #[test]
    fn one_slow_step_does_not_buy_a_hop_where_the_step_before_says_otherwise() {
        let worth = nanos(WORTH_A_HOP);
        // `left` items at 1 ns an item are exactly a hop's worth.
        let left = usize::try_from(worth).unwrap();
        // A whole pace of 1/6 ns an item (600 items in 100 ns), a sixth of
        // a hop's worth left; and of 2 ns an item, twice its worth.
        let (fast, slow) = ((100, 600), (1_200, 600));
        let hop = |rest, before, (elapsed, done)| hop_rest(rest, before, left, elapsed, done);
        // The latest step says 3× the hop's worth, the step before a sixth
        // of it: one slow step, no hop, whatever the whole pace.
        assert_eq!(hop(3 * worth, Some(1.0 / 6.0), slow), None);
        // The latest step says less than a hop's worth: no hop, whatever
        // the step before and the whole pace say.
        assert_eq!(hop(worth - 1, Some(2.0), slow), None);
        // Both timed steps say so (the one before 2 ns an item, twice the
        // worth): a hop, lingering for the lower estimate.
        assert_eq!(hop(3 * worth, Some(2.0), fast), Some(2 * worth));
        assert_eq!(hop(worth, Some(2.0), fast), Some(worth));
        // At the line, both ways.
        assert_eq!(hop(worth, Some(1.0), fast), Some(worth));
        assert_eq!(hop(worth, Some(0.99), slow), None);
        // No timed step before the latest: the whole pace decides.
        assert_eq!(hop(3 * worth, None, fast), None);
        assert_eq!(hop(3 * worth, None, slow), Some(2 * worth));
        // Nothing done yet, or estimates past `u64::MAX`, do not panic.
        assert_eq!(hop(worth, None, (2, 0)), Some(worth));
        assert_eq!(hop(u64::MAX, Some(f64::MAX), fast), Some(u64::MAX));
        assert_eq!(hop(u64::MAX, None, (u64::MAX, 1)), Some(u64::MAX));
    }

    #[test]
    fn an_undisturbed_split_makes_about_two_leaves_per_unit_of_budget() {
        fn leaves(mut s: Splitter, len: usize) -> usize {
            if s.try_split(len, false) {
                leaves(s, len / 2) + leaves(s, len - len / 2)
            } else {
                1
            }
        }
        let s = |budget| Splitter {
            splits: budget,
            reset: budget,
            min_len: 1,
            max_len: usize::MAX,
        };
        assert_eq!(leaves(s(2), 1 << 20), 4);
        assert_eq!(leaves(s(4), 1 << 20), 8);
        assert_eq!(leaves(s(1), 1 << 20), 2);
        assert_eq!(leaves(s(16), 1 << 20), 32);
        // Never below the minimum length.
        assert_eq!(leaves(s(64), 5), 5);
        assert_eq!(leaves(s(64), 1), 1);
    }

    #[test]
    fn a_stolen_part_gets_its_budget_back() {
        let mut s = Splitter {
            splits: 0,
            reset: 4,
            min_len: 1,
            max_len: usize::MAX,
        };
        assert!(!s.try_split(100, false));
        assert!(s.try_split(100, true));
        assert_eq!(s.splits, 4);
        let mut short = s;
        assert!(!short.try_split(1, true));
        let mut long_min = Splitter { min_len: 60, ..s };
        assert!(!long_min.try_split(100, true));
    }

    #[test]
    fn a_fork_leaves_the_walker_the_handover_past_the_middle_of_the_rest() {
        // 0.25 ns an item: HANDOVER is worth 4 × 800 items, half on each side.
        let lead = handover_lead(Some(0.25), 100_000);
        assert_eq!(lead, (nanos(HANDOVER) * 2) as usize);
        assert_eq!(handover_lead(None, 100_000), 0);
        // At most a quarter of the rest.
        assert_eq!(handover_lead(Some(0.001), 1_000), 250);

        // The rest of a walk that did 2,048 of 102,400 items: the walker
        // keeps half of the 100,352 left plus the lead, cut down to a
        // multiple of ALIGN_ITEMS of the whole input.
        let (offset, left) = (2_048, 100_352);
        let at = fork_cut(offset, left, lead, 1);
        assert_eq!((offset + at) % ALIGN_ITEMS, 0);
        assert!(
            at <= left / 2 + lead && at + ALIGN_ITEMS > left / 2 + lead,
            "{at}"
        );
        // With no lead, the middle of the rest.
        let mid = fork_cut(offset, left, 0, 1);
        assert!(mid <= left / 2 && mid + ALIGN_ITEMS > left / 2, "{mid}");
        // Never past three quarters, and both sides keep `min_len`.
        assert!(fork_cut(0, 1_000, usize::MAX, 1) <= 750);
        let at = fork_cut(0, 10, 4, 4);
        assert!((4..=6).contains(&at), "{at}");
    }
}

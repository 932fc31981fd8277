//! Many items through one closure: [`Pool::map`] (results in input order, as
//! `Executor.map`) and [`Pool::map_unordered`] (in completion order, as
//! `Pool.imap_unordered`), and the same on a [`Scope`] for borrowed data.
//!
//! # Chunking and the window
//!
//! The input is read lazily, on the consuming thread, one *chunk* at a time;
//! each chunk is one task that runs the closure over its items. At most
//! `window` chunks are in flight (default: four per worker), so an endless
//! input or a billion-line file is mapped in bounded memory; a chunk is
//! submitted each time the consumer takes one.
//!
//! Chunk sizes adapt, as joblib's automatic batch size does: the first chunks
//! hold one item; each finished chunk reports how long it took, and the next
//! chunk size moves toward the size that would take [`TARGET_CHUNK_TIME`]
//! (doubling at most per step, never above [`MAX_CHUNK`], and near the end of
//! an input whose length is known, never above an equal share of what is
//! left for twice the workers). Cheap items end up
//! in large chunks, so per-task overhead vanishes; expensive items stay one
//! per task, so they spread over every worker. `chunk_size(n)` fixes the size.
//!
//! # The consumer's share
//!
//! On cheap items the consuming thread is the bottleneck: it reads every
//! item into a chunk and moves every result into whatever it builds, while
//! the workers' share (the closure) is smaller than either. So the
//! consumer's side is kept to a plain loop: a chunk without panics hands its
//! values out through an inlined step as short as `vec::IntoIter`'s
//! (`Values::next`, behind `Delivered::next`;
//! the panic check and the wait for the next chunk sit out of line), `fold`
//! (behind `for_each`, `sum`, `count`) runs over a chunk in one loop, and a
//! worker fills a chunk's results with one `extend`. Measured on 2 workers,
//! 10,000,000 cheap items collected into a `Vec` (`--bench pool`,
//! `map_cheap`): 0.64× the sequential loop's speed before, 0.83× after.
//! What is left is the consumer's own writes: collecting into a fresh `Vec`
//! page-faults in its 80 MB, which is most of the sequential loop's time as
//! well, and only the consumer can do it. `par`, which writes results in
//! place from every worker, is the fast path for data with a length.
//!
//! # Waking the consumer
//!
//! A consumer on a thread outside the pool sleeps while it waits for a
//! chunk, and the worker that ends the chunk wakes it. On a pool with one
//! worker per core that wake-up takes a core from a worker: the consumer
//! runs there until it has handed the chunk out, refilled the window and
//! gone back to sleep. So while chunks are short (the last took at most
//! [`GATHER_BELOW`], 4 ms) and their size has stopped growing, a consumer
//! that finds the chunk it needs unfinished waits instead for the chunk
//! half a window behind it (the fourth of eight in flight on 2 workers),
//! then takes every chunk that has ended and refills the window in one
//! wake-up. The workers still hold the other half of the window meanwhile.
//! The wait for the later chunk is bounded by [`GATHER_LIMIT`]: twice what
//! the items up to it take one after another at the last chunk's pace, at
//! least 2 ms and at most 16 ms. A later chunk whose item waits for the
//! consumer to take an earlier value cannot end first; a wait that runs out
//! stops the gathering for the rest of the map, so such a map pays the
//! limit once. A second reader's items that waited for the consumer with a
//! timeout of their own ended within the limit every time and cost 2 ms a
//! gather (300 items: 270–296 ms against 7–8 without gathering), with a
//! fixed 8 ms limit; with the pace-based one, 5–8 ms against 1.5–7, and a
//! loop of 50 maps of 20 items that wait for the consumer 123–133 ms
//! against 20–28 (the 2 ms floor once a map). A consumer on a worker never
//! gathers: its wait runs the chunks itself.
//!
//! [`MapUnordered`]'s consumer gathers the same way: finding no chunk
//! ready, it waits for half a window of them to be ready
//! ([`ReadyQueue::wait_for_count`]: the chunks that end before wake
//! nobody), bounded by the same limit (for half a window's items at the
//! last chunk's pace) and given up the same way.
//!
//! Measured on 2 workers, primes below 2,000,000 in 200 items of 0.1–1.2
//! ms (the `primes` row of `--bench pool`, ~85 chunks a call), the consumer
//! timed by its own CPU clock and the workers by a timestamp around every
//! item, 25 calls interleaved with rayon's `par_iter`: the consumer went from
//! 77 sleeps and 0.83–1.03 ms of CPU a call to 18–24 sleeps and 0.32–0.45
//! ms. The workers' time between items fell from 0.78–1.0 ms to 0.33–0.6 ms,
//! and the call from 0.5–0.7 ms over rayon's time to 0.1–0.4 ms over. The
//! unordered map on the same items, 15 calls a run, two runs each way: 82–87
//! sleeps and 0.84–0.90 ms of the consumer's CPU a call without gathering,
//! 24–25 and 0.30–0.43 ms with it.
//!
//! # Buffers
//!
//! A chunk's input and values live in two buffers, and a map reuses them:
//! a worker drains the input buffer and hands it back with the values, and
//! the values buffer of a chunk handed out in full carries a later chunk's
//! values (`Feeder::hand_out`, at most `window` spares of each; a spare more
//! than four times too big for the next chunk is dropped, and all of them
//! once the input ends). A fresh pair per chunk cost page faults: the
//! allocator gives a freed buffer of a big chunk's size back to the
//! system, so the next one faults in every 4 KiB again, on the thread that
//! writes it (a worker for values, the consumer for input). Measured on 2 workers,
//! 10,000,000 items of a ~3.6 ns closure summed, interleaved with the
//! loop (`cargo run --release -p corepool-bench --example map_stream`,
//! three runs of each build, alternating): a fresh pair per chunk took
//! 37–52 ms a call with 7,551–15,067 page faults, 0.70–1.00× the loop's
//! speed; reused, 30.5–32.9 ms with ~2,300 (the first buffers of each
//! call), 1.13–1.20×. (rayon's `par_iter` ran 1.61–1.96× in the same runs:
//! it splits a range, where this map reads an iterator on one thread.)
//!
//! # Panics and dropping
//!
//! A panic in the closure ends only its own item: the chunk goes on with the
//! next item, and the panic is re-raised (`resume_unwind`) on the consuming
//! thread when iteration reaches the item that panicked. A caller that
//! catches it and calls `next` again gets the following items, so the results
//! still line up with the inputs (ordered map) and no result is lost
//! (unordered map). A panic of the *input* iterator goes on at once, out of
//! the `next` call that was reading ahead (not at its place in the order):
//! the items of the chunk read before it are still submitted, as a shorter
//! chunk, so a caller that catches it and goes on gets their values (in
//! order, for the ordered map), then those of the items the input gives
//! after the panic. Dropping the iterator cancels every chunk that has not
//! started; payloads nobody took are dropped contained (`unwind.rs`).
//!
//! # Where the closure runs
//!
//! Chunks run on the pool's workers. One exception: a consumer on a thread
//! outside the pool, waiting for a chunk that no worker has started while
//! every worker is busy, runs that chunk itself rather than sleep (see
//! `help_with_chunk`): then the map never stalls behind other work. The
//! unordered map's consumer does so only for the oldest chunk in flight, as
//! the ordered map's waits for nothing else: a newer chunk that no worker
//! has started waits only for workers busy with this map's older chunks,
//! and running it on the consumer put one thread more than there are
//! workers on the map (primes below 2,000,000 in 200 items, 2 workers: 37
//! ms of the consumer's CPU a call, and the call 2.7 % longer, 79.4 ms
//! against the ordered map's 77.3, before the rule; 76.3–77.9 after). While it
//! does, [`Pool::current`] on that thread names the mapping pool (a scoped
//! thread-local, reset when the chunk ends), but
//! [`Pool::current_worker_index`] is `None` and whatever `on_worker_start`
//! set up per worker thread is absent: that state belongs to worker threads.
//!
//! So a map runs on as many threads as the pool has workers, never one
//! more: on a pool of one worker, an unordered map of equal items takes as
//! long as the ordered one (the old rule made the consumer a second worker
//! there, when it happened to find the worker busy: a second reader,
//! helper-86, measured 1,000 items of 200 µs in 100 ms old, 200 ms new and
//! for the ordered map). And, for both maps, an item must not block until a
//! *newer* item of the same map has run, or until the consumer has taken
//! values past its own: with every worker blocked so, nothing runs the
//! newer items and the map never ends (the old rule ran them on the consumer
//! when it found every worker busy, and hung when it had gone to sleep
//! first: the same reader's cases hung 1–8 times in 8 old, 8 in 8 new).
//! Items that wait for the consumer to take *older* values are fine
//! (`tests/map_items_that_wait_for_the_consumer_end.rs`); the old rule could
//! hang on those, running a newer such item on the consumer itself.

// Layer: many (`lib.rs`, "Layers"). It may use the cell, sched and base
// layers, the other many files, and the `Pool` type (to add its methods),
// nothing else of the face.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::iter::Fuse;
use std::panic;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::completion::{Deadline, NextReady, ReadyQueue, Timeout};
use crate::pool::Pool;
use crate::scope::{Scope, ScopeLatch};
use crate::submit::submit_cell;
use crate::task::{Handle, Stage};
use crate::unwind::{self, Payload};
use crate::wait::wait_until;
use crate::worker::WorkerThread;

/// How long one chunk should take when chunk sizes adapt: long enough that a
/// task's own cost and the consumer's wake-up per chunk (a few microseconds,
/// and a CPU taken from a worker each time on a pool with one worker per
/// core) are noise. Near the end of an input with a known length, chunks
/// shrink to an equal share of what is left, so the last ones still spread
/// over every worker. Measured on 2 cores: 1 ms gave a heavy map 1.92× and a
/// cheap one 0.62× over sequential, against 1.90× and 0.51× with 200 µs;
/// later, 2 ms with the shrinking tail took a heavy map (200,000 items of
/// ~2 µs) from 1.94–1.97× to 1.96–1.98×, beside rayon's 1.95–1.98× in the
/// same runs.
pub const TARGET_CHUNK_TIME: Duration = Duration::from_millis(2);

/// The largest automatic chunk, in items.
pub const MAX_CHUNK: usize = 1 << 16;

/// Chunks that take at most this long (and whose size has stopped growing)
/// let a consumer outside the pool wait for several at once: see "Waking
/// the consumer" in the module docs.
const GATHER_BELOW: Duration = Duration::from_millis(4);

/// The longest a consumer waits for a later chunk before it looks at the
/// chunk it needs next: twice what the items up to that chunk take at the
/// last chunk's pace, within these bounds. It bounds what a gathered wait
/// can delay a value, and the wait itself when the later chunk cannot end
/// before the consumer takes an earlier one (its items wait for the
/// consumer).
const GATHER_LIMIT: (Duration, Duration) = (Duration::from_millis(2), Duration::from_millis(16));

/// What one chunk task hands back.
struct ChunkOut<T, U> {
    values: Vec<T>,
    /// Each panicking item's payload, with how many values came before it.
    panics: VecDeque<(usize, Payload)>,
    elapsed: Duration,
    /// The chunk's input buffer, emptied, for a later chunk to fill again.
    items: Vec<U>,
}

/// Drops values one at a time, each contained: where a `Vec` drops its
/// elements, a second panicking destructor while the first one unwinds
/// would abort the process.
fn drop_values<T>(values: impl Iterator<Item = T>) {
    if std::mem::needs_drop::<T>() {
        values.for_each(unwind::drop_contained);
    }
}

/// Drops values and payloads one at a time, each contained.
fn drop_each<T>(values: impl Iterator<Item = T>, panics: &mut VecDeque<(usize, Payload)>) {
    drop_values(values);
    for (_, payload) in panics.drain(..) {
        unwind::drop_payload(payload);
    }
}

impl<T, U> Drop for ChunkOut<T, U> {
    fn drop(&mut self) {
        drop_each(self.values.drain(..), &mut self.panics);
    }
}

/// The chunk being handed out: its values in order, with each panic raised
/// at its own item's place.
struct Delivered<T> {
    values: Values<T>,
    /// How many values the chunk had (those handed out are `total` less what
    /// is left).
    total: usize,
    panics: VecDeque<(usize, Payload)>,
}

impl<T> Delivered<T> {
    fn empty() -> Self {
        Delivered {
            values: Values::new(Vec::new()),
            total: 0,
            panics: VecDeque::new(),
        }
    }

    /// The chunk's values to hand out, and its emptied input buffer.
    fn from_chunk<U>(mut out: ChunkOut<T, U>) -> (Self, Vec<U>) {
        let values = std::mem::take(&mut out.values);
        let delivered = Delivered {
            total: values.len(),
            values: Values::new(values),
            panics: std::mem::take(&mut out.panics),
        };
        (delivered, std::mem::take(&mut out.items))
    }

    /// The next value of the chunk, or `None` when it is used up; re-raises
    /// a panic when its item is next. Small enough to inline into the
    /// consumer's loop: a chunk without panics hands out values as a plain
    /// `vec::IntoIter` would (measured: with the panic check and a count kept
    /// per value out of line, the consumer of a cheap map spent 3 ns per
    /// value here, a third of the whole map's time).
    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.panics.is_empty() {
            return self.values.next();
        }
        self.next_or_raise()
    }

    /// [`next`](Self::next) for a chunk in which some item panicked.
    #[cold]
    fn next_or_raise(&mut self) -> Option<T> {
        let yielded = self.total - self.values.len();
        if self
            .panics
            .front()
            .is_some_and(|(before, _)| *before == yielded)
        {
            if let Some((_, payload)) = self.panics.pop_front() {
                panic::resume_unwind(payload);
            }
        }
        self.values.next()
    }

    /// Folds the values up to the next panic (all of them when none is
    /// left) into `acc`.
    #[inline]
    fn fold_clean<B>(&mut self, acc: B, g: &mut impl FnMut(B, T) -> B) -> B {
        match self.panics.front() {
            None => self.values.by_ref().fold(acc, g),
            Some(&(before, _)) => {
                let clean = before - (self.total - self.values.len());
                self.values.by_ref().take(clean).fold(acc, g)
            }
        }
    }

    /// The calls of `next` this chunk still answers: its values and its
    /// panics not yet raised.
    fn len(&self) -> usize {
        self.values.len() + self.panics.len()
    }
}

/// A chunk in flight: its item count and its task.
type InFlight<'a, T, U> = (usize, Handle<'a, ChunkOut<T, U>>);

impl<T> Drop for Delivered<T> {
    fn drop(&mut self) {
        drop_each(self.values.by_ref(), &mut self.panics);
    }
}

/// A chunk's values handed out in order, as `vec::IntoIter` does (a value
/// costs the consumer's loop a compare, a read and an increment, as there),
/// but giving its buffer back once every value is out (`take_buffer`), for
/// a later chunk's values (see "Buffers" in the module docs).
///
/// Invariant: `buf.len() == 0` and `next <= end <= buf.capacity()`; the
/// values at `next..end` are initialised and owned here, the rest of the
/// buffer holds nothing. While `next < end`, `buf` is never grown, shrunk,
/// moved out or written: `take_buffer` hands it out only once `next ==
/// end`, and nothing else touches it.
struct Values<T> {
    buf: Vec<T>,
    next: usize,
    end: usize,
}

impl<T> Values<T> {
    fn new(mut buf: Vec<T>) -> Self {
        let end = buf.len();
        // SAFETY: a zero length is always valid; the `end` values stay
        // initialised in the buffer and are owned by this `Values` from here
        // on (read out once each by `next`, or dropped by `Drop`).
        unsafe { buf.set_len(0) };
        Values { buf, next: 0, end }
    }

    /// The emptied buffer, once every value is out; `None` before.
    fn take_buffer(&mut self) -> Option<Vec<T>> {
        (self.next == self.end && self.buf.capacity() > 0).then(|| {
            self.next = 0;
            self.end = 0;
            std::mem::take(&mut self.buf)
        })
    }
}

impl<T> Iterator for Values<T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        if self.next == self.end {
            return None;
        }
        // SAFETY: `next < end <= capacity`, and the value at `next` is
        // initialised and not yet read (`new`'s invariant); `next` moves past
        // it before anything else runs, so it is read exactly once.
        let value = unsafe { std::ptr::read(self.buf.as_ptr().add(self.next)) };
        self.next += 1;
        Some(value)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.end - self.next;
        (left, Some(left))
    }
}

impl<T> ExactSizeIterator for Values<T> {}

impl<T> Drop for Values<T> {
    fn drop(&mut self) {
        // The values not handed out, each dropped contained (a panicking
        // destructor is caught, so the loop always reaches the end); the
        // buffer itself is freed by the `Vec`, whose length is zero.
        drop_values(self);
    }
}

/// A chunk's input, as its job holds it: dropped before the job ran (the
/// map dropped, or `shutdown_now`), it drops each item contained, where the
/// `Vec`'s own drop aborted the process at a second panicking destructor.
struct Items<U>(Vec<U>);

impl<U> Drop for Items<U> {
    fn drop(&mut self) {
        drop_values(self.0.drain(..));
    }
}

/// Reads the input and submits chunks; shared by the ordered and unordered
/// iterators.
struct Feeder<'a, I: Iterator, F, T> {
    pool: Pool,
    scope: Option<&'a ScopeLatch>,
    input: Fuse<I>,
    f: Arc<F>,
    fixed: Option<usize>,
    next_size: usize,
    window: usize,
    /// The last finished chunk took at most [`GATHER_BELOW`] and chunk sizes
    /// have stopped growing: a consumer outside the pool may wait for
    /// several chunks at once ([`Map::gather`]).
    gather: bool,
    /// How long an item of the last finished chunk took, on average.
    per_item: Duration,
    /// Items taken from the input so far (a timeout's `total`).
    taken: usize,
    /// Emptied buffers of chunks done with, input and values, that the
    /// next chunks fill again (at most `window` of each): once chunk sizes
    /// settle, a long map allocates no buffer per chunk. (A buffer that a
    /// larger chunk outgrows is freed by the thread that grows it, and the
    /// spares by whoever drops the map.)
    spare_items: Vec<Vec<I::Item>>,
    spare_values: Vec<Vec<T>>,
    /// The input has ended: no more chunks, so no spares.
    ended: bool,
    /// A panic of the input iterator caught while a chunk was read, to
    /// raise once the chunk of the items read before it is in flight
    /// ([`raise_input_panic`](Self::raise_input_panic)).
    panic: Option<Payload>,
}

impl<'a, I, F, T> Feeder<'a, I, F, T>
where
    I: Iterator,
    I::Item: Send + 'a,
    F: Fn(I::Item) -> T + Send + Sync + 'a,
    T: Send + 'a,
{
    fn new(pool: Pool, scope: Option<&'a ScopeLatch>, input: I, f: F) -> Self {
        let window = 4 * pool.workers();
        Feeder {
            pool,
            scope,
            input: input.fuse(),
            f: Arc::new(f),
            fixed: None,
            next_size: 1,
            gather: false,
            per_item: Duration::ZERO,
            taken: 0,
            window,
            spare_items: Vec::new(),
            spare_values: Vec::new(),
            ended: false,
            panic: None,
        }
    }

    /// Makes a finished chunk `current`, the chunk to hand out next (its
    /// predecessor there is used up), after learning from its timing; keeps
    /// the chunk's emptied input buffer and the predecessor's values buffer
    /// for the next chunks, but none once the input has ended (no chunk
    /// will need them).
    fn hand_out(&mut self, out: ChunkOut<T, I::Item>, current: &mut Delivered<T>) {
        self.learn((out.values.len() + out.panics.len()).max(1), out.elapsed);
        let (delivered, items) = Delivered::from_chunk(out);
        let mut spent = std::mem::replace(current, delivered);
        if self.ended {
            return;
        }
        if items.capacity() > 0 && self.spare_items.len() < self.window {
            debug_assert!(items.is_empty());
            self.spare_items.push(items);
        }
        if self.spare_values.len() < self.window {
            self.spare_values.extend(spent.values.take_buffer());
        }
    }

    /// Reads the next chunk of input and submits it; `None` at the end.
    ///
    /// A panic of the input iterator does not lose the items read before
    /// it: they are submitted as a shorter chunk, and the panic waits in
    /// `self.panic` for the caller to raise once that chunk is in flight.
    /// With nothing read before it, the panic goes on at once.
    fn submit_next(&mut self) -> Option<InFlight<'a, T, I::Item>> {
        let size = self
            .fixed
            .unwrap_or_else(|| self.tail_capped(self.next_size));
        let mut items = spare(&mut self.spare_items, size);
        // `extend` keeps what it wrote before a panic (the `Vec`'s length
        // follows each write, or a guard sets it as the panic unwinds; the
        // chunk job below relies on the same), so the items read before one
        // stay in `items`; tests/map_keeps_the_items_read_before_an_input_panic.rs
        // checks it. (A loop of `push` made a cheap map's consumer twice as
        // slow: 10,000,000 items summed, 6-8 ms against 15-17 ms.)
        let read = unwind::halt_unwinding(|| items.extend(self.input.by_ref().take(size)));
        self.taken += items.len();
        if let Err(payload) = read {
            if items.is_empty() {
                panic::resume_unwind(payload);
            }
            self.panic = Some(payload);
        }
        if items.is_empty() {
            // The input has ended: the spares go now rather than with the
            // map (which may be kept, read to the end).
            self.ended = true;
            self.spare_items = Vec::new();
            self.spare_values = Vec::new();
            return None;
        }
        let len = items.len();
        let mut values = spare(&mut self.spare_values, len);
        let mut items = Items(items);
        let f = self.f.clone();
        let job = move || {
            let start = Instant::now();
            values.reserve(len);
            let mut panics = VecDeque::new();
            let mut drain = items.0.drain(..);
            // One catch per chunk while nothing panics; after a panic the
            // chunk goes on with the next item (the drain lives outside the
            // catch, so unwinding drops none of the items left). `extend`
            // over the drain writes in one tight loop (vectorised where `f`
            // allows) and keeps the values written before a panic.
            while let Err(payload) = unwind::halt_unwinding(|| {
                values.extend(drain.by_ref().map(&*f));
            }) {
                panics.push_back((values.len(), payload));
            }
            drop(drain);
            ChunkOut {
                values,
                panics,
                elapsed: start.elapsed(),
                items: std::mem::take(&mut items.0),
            }
        };
        Some((len, submit_cell(self.pool.registry(), job, self.scope)))
    }

    /// Raises the input's panic that [`submit_next`](Self::submit_next)
    /// caught, if any: the maps call it once the chunk it returned is in
    /// flight, so the items read before the panic are yielded by the calls
    /// after it.
    fn raise_input_panic(&mut self) {
        if let Some(payload) = self.panic.take() {
            panic::resume_unwind(payload);
        }
    }

    /// An adaptive chunk `size`, made smaller near the end of an input that
    /// says how long it is: at most an equal share of what is left for
    /// twice the pool's workers, so the last chunks spread over every
    /// worker instead of one long chunk finishing alone.
    fn tail_capped(&self, size: usize) -> usize {
        match self.input.size_hint() {
            (_, Some(left)) => size.min((left / (2 * self.pool.workers())).max(1)),
            _ => size,
        }
    }

    /// Learns from a finished chunk of `len` items that took `elapsed`.
    fn learn(&mut self, len: usize, elapsed: Duration) {
        self.gather = elapsed <= GATHER_BELOW;
        if len == 0 {
            return;
        }
        let per_item = elapsed.as_nanos().max(1) / len as u128;
        self.per_item = Duration::from_nanos(u64::try_from(per_item).unwrap_or(u64::MAX));
        if self.fixed.is_some() {
            return;
        }
        let ideal =
            (TARGET_CHUNK_TIME.as_nanos() / per_item.max(1)).clamp(1, MAX_CHUNK as u128) as usize;
        self.next_size = if ideal > self.next_size {
            // Still growing: the chunks in flight are shorter than the
            // next ones, and the window is refilled chunk by chunk.
            self.gather &= ideal <= self.next_size * 2;
            ideal.min(self.next_size * 2)
        } else {
            ideal.max(self.next_size / 2).max(1)
        };
    }

    fn input_hint(&self) -> (usize, Option<usize>) {
        self.input.size_hint()
    }

    /// How many chunks a consumer that found none ready waits for at once
    /// (half the window; see "Waking the consumer" in the module docs), or
    /// `None` when it waits for the next one alone: chunks are long or still
    /// growing, a gathering wait of this map ran out before (`stalled`), the
    /// window is too small to keep the workers busy meanwhile, or the
    /// consumer is a worker, whose wait runs the chunks itself and is woken
    /// by nobody.
    fn gather_half(&self, stalled: bool, in_flight: usize) -> Option<usize> {
        let half = self.window / 2;
        let gathers = self.gather
            && !stalled
            && half >= 2
            && in_flight > half
            && WorkerThread::current().is_none();
        gathers.then_some(half)
    }

    /// The longest a gathering wait lasts ([`GATHER_LIMIT`]): twice what
    /// `items` take one after another at the last chunk's pace.
    fn gather_limit(&self, items: usize) -> Duration {
        let (low, high) = GATHER_LIMIT;
        u32::try_from(items.saturating_mul(2))
            .ok()
            .and_then(|n| self.per_item.checked_mul(n))
            .map_or(high, |limit| limit.clamp(low, high))
    }
}

/// A spare buffer for a chunk of `size` items, or a new one. A spare more
/// than four times too big is dropped instead: chunks shrink (items turned
/// dear, or the end of the input is near), and a map should not go on
/// holding buffers sized for its largest chunks.
fn spare<V>(spares: &mut Vec<Vec<V>>, size: usize) -> Vec<V> {
    match spares.pop() {
        Some(buffer) if buffer.capacity() / 4 <= size => buffer,
        _ => Vec::new(),
    }
}

/// The result of waiting for a chunk: its values, or the reason there are none.
fn collect_chunk<T: Send, U: Send>(handle: Handle<'_, ChunkOut<T, U>>) -> ChunkOut<T, U> {
    match handle.join() {
        Ok(out) => out,
        Err(err) if err.is_panic() => panic::resume_unwind(err.into_panic()),
        // The chunk closure catches the user's panics itself, and the
        // iterator never cancels a chunk it still waits for, so only a pool
        // that shut down leaves a chunk without output: refused after
        // `shutdown`, or cancelled unstarted (or stopped, if the closure
        // heeded `is_cancelled`) by `shutdown_now`.
        Err(err) => panic!("Pool::map: the pool was shut down while mapping ({err})"),
    }
}

/// Ordered results of [`Pool::map`] or [`Scope::map`].
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let mut squares = pool.map(1..=4u64, |x| x * x); // nothing runs before the first `next`
/// assert_eq!(squares.next(), Some(1));
/// assert_eq!(squares.collect::<Vec<_>>(), [4, 9, 16]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use = "iterators are lazy: nothing is submitted until the first next()"]
pub struct Map<'a, I: Iterator, F, T> {
    feeder: Feeder<'a, I, F, T>,
    in_flight: VecDeque<InFlight<'a, T, I::Item>>,
    in_flight_items: usize,
    current: Delivered<T>,
    /// A gathering wait ran out ([`gather`](Self::gather)): the map's items
    /// may wait for its consumer, and it gathers no more.
    gather_stalled: bool,
}

impl<'a, I, F, T> Map<'a, I, F, T>
where
    I: Iterator,
    I::Item: Send + 'a,
    F: Fn(I::Item) -> T + Send + Sync + 'a,
    T: Send + 'a,
{
    fn new(pool: Pool, scope: Option<&'a ScopeLatch>, input: I, f: F) -> Self {
        Map {
            feeder: Feeder::new(pool, scope, input, f),
            in_flight: VecDeque::new(),
            in_flight_items: 0,
            current: Delivered::empty(),
            gather_stalled: false,
        }
    }

    /// Fixes the number of items per task instead of adapting it.
    ///
    /// # Panics
    ///
    /// If `items` is 0, as [`slice::chunks`] does.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let out: Vec<u32> = pool.map(0..10u32, |x| x * 3).chunk_size(4).collect();
    /// assert_eq!(out[9], 27);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn chunk_size(mut self, items: usize) -> Self {
        assert!(items > 0, "chunk_size must be positive");
        self.feeder.fixed = Some(items);
        self
    }

    /// Sets how many chunks may be in flight at once (default: four per
    /// worker). Memory in use is bounded by `window` chunks of input and
    /// results, and as many emptied buffers that later chunks fill again
    /// (each at most four times the size of the chunk that takes it; none
    /// once the input has ended).
    ///
    /// # Panics
    ///
    /// If `chunks` is 0.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let out: Vec<u32> = pool.map(0..10u32, |x| x + 1).window(2).collect();
    /// assert_eq!(out, (1..=10).collect::<Vec<_>>());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn window(mut self, chunks: usize) -> Self {
        assert!(chunks > 0, "window must be positive");
        self.feeder.window = chunks;
        self
    }

    fn fill(&mut self) {
        while self.in_flight.len() < self.feeder.window {
            match self.feeder.submit_next() {
                Some((len, handle)) => {
                    self.in_flight_items += len;
                    self.in_flight.push_back((len, handle));
                    self.feeder.raise_input_panic();
                }
                None => break,
            }
        }
    }

    /// Gives the whole iteration a deadline of `timeout` from now, like
    /// `Executor.map(..., timeout=...)`: it yields `Ok(value)` as before and,
    /// if the deadline passes while it waits for a chunk, one
    /// `Err(Timeout)` and then nothing; the chunks not started are
    /// cancelled when it is dropped.
    ///
    /// ```
    /// use corepool::{Pool, Timeout};
    /// use std::time::Duration;
    ///
    /// let pool = Pool::builder().workers(1).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let rx = std::sync::Mutex::new(rx);
    /// // Item 1 waits for a message sent only after the deadline.
    /// let mut out = pool
    ///     .map(0..3u32, move |i| if i == 1 { rx.lock().unwrap().recv().unwrap(); i } else { i })
    ///     .chunk_size(1);
    /// assert_eq!(out.next(), Some(0));
    /// // A deadline for the rest.
    /// let mut rest = out.within(Duration::from_millis(20));
    /// assert!(matches!(rest.next().unwrap(), Err(Timeout { .. })));
    /// assert!(rest.next().is_none());
    /// tx.send(()).unwrap();
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn within(self, timeout: Duration) -> MapWithin<'a, I, F, T> {
        MapWithin {
            deadline: Deadline::after(timeout),
            map: self,
        }
    }

    /// On a thread outside the pool, before it waits for the front chunk
    /// while that is unfinished: waits for the chunk half a window behind
    /// it, for at most [`GATHER_LIMIT`], when chunks are short (see "Waking
    /// the consumer" in the module docs). A worker's wait runs the chunks
    /// it waits for instead, and is woken by nobody. Once such a wait runs
    /// out, the map gathers no more: its items may wait for the consumer,
    /// and each gathering wait would cost them the limit.
    fn gather(&mut self) {
        let Some(half) = self
            .feeder
            .gather_half(self.gather_stalled, self.in_flight.len())
        else {
            return;
        };
        if self.in_flight[0].1.is_finished() {
            return;
        }
        // The items up to the later chunk: chunks in flight differ in size
        // while the sizes settle.
        let ahead: usize = self.in_flight.iter().take(half).map(|(len, _)| len).sum();
        let deadline = Instant::now() + self.feeder.gather_limit(ahead);
        let (_, later) = &self.in_flight[half - 1];
        self.gather_stalled = !later.wait_until(Some(deadline));
    }

    /// The next value, or `Err` when `deadline` passes first.
    fn next_until(&mut self, deadline: Option<Instant>) -> Option<Result<T, Timeout>> {
        loop {
            if let Some(value) = self.current.next() {
                return Some(Ok(value));
            }
            self.fill();
            let (_, front) = self.in_flight.front()?;
            if deadline.is_none() {
                // With a deadline the consumer stays free to notice it.
                help_with_chunk(&self.feeder.pool, front);
                self.gather();
            }
            let (_, front) = self.in_flight.front()?;
            if !front.wait_until(deadline) {
                return Some(Err(Timeout {
                    unfinished: self.in_flight_items,
                    total: self.feeder.taken,
                }));
            }
            let (len, handle) = self.in_flight.pop_front()?;
            self.in_flight_items -= len;
            self.feeder
                .hand_out(collect_chunk(handle), &mut self.current);
            self.fill();
        }
    }
}

/// What [`Map`] and [`MapUnordered`] share as iterators: a chunk being
/// handed out, and a wait for the next one.
trait Chunked<T>: Iterator<Item = T> + Sized {
    /// The chunk being handed out.
    fn current(&mut self) -> &mut Delivered<T>;

    /// The next value, or `Err` when `deadline` passes first.
    fn wait_next(&mut self, deadline: Option<Instant>) -> Option<Result<T, Timeout>>;

    /// `next`: the chunk's next value (inlined into the consumer's loop),
    /// else the first of the next chunk.
    #[inline]
    fn next_value(&mut self) -> Option<T> {
        if let Some(value) = self.current().next() {
            return Some(value);
        }
        self.first_of_next_chunk()
    }

    /// The first value of the next chunk, waiting for it (the slow half of
    /// `next`, kept out of the consumer's loop).
    #[inline(never)]
    fn first_of_next_chunk(&mut self) -> Option<T> {
        self.wait_next(None)
            .map(|r| r.unwrap_or_else(|_| unreachable!("no deadline, no timeout")))
    }

    /// `fold`: each chunk in one loop up to its next panic, which `next`
    /// raises.
    fn fold_values<B, G>(mut self, init: B, mut g: G) -> B
    where
        G: FnMut(B, T) -> B,
    {
        let mut acc = init;
        loop {
            acc = self.current().fold_clean(acc, &mut g);
            match self.next_value() {
                Some(value) => acc = g(acc, value),
                None => return acc,
            }
        }
    }
}

/// The two iterators' `Chunked` impls, alike but for the type.
macro_rules! chunked {
    ($($map:ident),*) => {$(
        impl<'a, I, F, T> Chunked<T> for $map<'a, I, F, T>
        where
            I: Iterator,
            I::Item: Send + 'a,
            F: Fn(I::Item) -> T + Send + Sync + 'a,
            T: Send + 'a,
        {
            fn current(&mut self) -> &mut Delivered<T> {
                &mut self.current
            }

            fn wait_next(&mut self, deadline: Option<Instant>) -> Option<Result<T, Timeout>> {
                self.next_until(deadline)
            }
        }
    )*};
}

chunked!(Map, MapUnordered);

/// On a thread that is not a pool worker (the usual consumer of a map), runs
/// the chunk it waits for here when no worker took it and every worker is
/// busy (none searching or asleep): then the consumer would only sleep, and
/// a pool busy with other work still makes progress on the map. While some
/// worker is idle the consumer leaves the chunks to the workers: running one
/// more thread than there are cores only slows everyone (measured: a heavy
/// map fell from 1.9× to 1.5× over sequential when the consumer always
/// helped). A worker consumer needs none of this: its wait already runs the
/// chunks it waits for (`WorkerThread::wait_for`). Not used under a deadline
/// (`within`), where the consumer must stay free to notice it.
///
/// While the chunk runs here, [`Pool::current`] on this thread names `pool`
/// ([`lent_pool`]); worker-thread state (`on_worker_start`, the worker index)
/// is not there.
fn help_with_chunk<T: Send, U: Send>(pool: &Pool, front: &Handle<'_, ChunkOut<T, U>>) -> bool {
    if WorkerThread::current().is_some()
        || pool.registry().sleep.is_hungry()
        || front.header().stage() != Stage::Scheduled
    {
        return false;
    }
    let _lent = Lent::to(pool);
    front.run_here()
}

thread_local! {
    /// The pool whose map chunk this thread, which is none of its workers,
    /// is running (`help_with_chunk`); `None` otherwise.
    static LENT_TO: std::cell::RefCell<Option<Pool>> = const { std::cell::RefCell::new(None) };
}

/// The pool whose map chunk this non-worker thread is running now, for
/// [`Pool::current`].
pub(crate) fn lent_pool() -> Option<Pool> {
    LENT_TO
        .try_with(|lent| lent.borrow().clone())
        .ok()
        .flatten()
}

/// Sets [`lent_pool`] until dropped, then restores what it was (a chunk may
/// consume another pool's map on this thread, nested).
pub(crate) struct Lent(Option<Pool>);

impl Lent {
    pub(crate) fn to(pool: &Pool) -> Lent {
        let previous = LENT_TO
            .try_with(|lent| lent.replace(Some(pool.clone())))
            .ok()
            .flatten();
        Lent(previous)
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        let previous = self.0.take();
        // The map holds its own clone of the pool: this is never the last.
        let _ = LENT_TO.try_with(|lent| lent.replace(previous));
    }
}

/// [`Map`] with a deadline; see [`Map::within`].
///
/// ```
/// use std::time::Duration;
///
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let all: Result<Vec<u32>, corepool::Timeout> =
///     pool.map(0..5u32, |x| x * 2).within(Duration::from_secs(60)).collect();
/// assert_eq!(all.unwrap(), [0, 2, 4, 6, 8]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use = "iterators are lazy"]
pub struct MapWithin<'a, I: Iterator, F, T> {
    map: Map<'a, I, F, T>,
    deadline: Deadline,
}

impl<'a, I, F, T> Iterator for MapWithin<'a, I, F, T>
where
    I: Iterator,
    I::Item: Send + 'a,
    F: Fn(I::Item) -> T + Send + Sync + 'a,
    T: Send + 'a,
{
    type Item = Result<T, Timeout>;

    fn next(&mut self) -> Option<Self::Item> {
        let map = &mut self.map;
        self.deadline.next(|at| map.next_until(at))
    }
}

/// [`MapUnordered`] with a deadline; see [`MapUnordered::within`].
///
/// ```
/// use std::time::Duration;
///
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let mut within = pool.map_unordered(0..4u32, |x| x + 1).within(Duration::from_secs(60));
/// let total: u32 = within.by_ref().map(Result::unwrap).sum();
/// assert_eq!(total, 10);
/// assert!(within.next().is_none());
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use = "iterators are lazy"]
pub struct MapUnorderedWithin<'a, I: Iterator, F, T> {
    map: MapUnordered<'a, I, F, T>,
    deadline: Deadline,
}

impl<'a, I, F, T> Iterator for MapUnorderedWithin<'a, I, F, T>
where
    I: Iterator,
    I::Item: Send + 'a,
    F: Fn(I::Item) -> T + Send + Sync + 'a,
    T: Send + 'a,
{
    type Item = Result<T, Timeout>;

    fn next(&mut self) -> Option<Self::Item> {
        let map = &mut self.map;
        self.deadline.next(|at| map.next_until(at))
    }
}

impl<I: Iterator, F, T> fmt::Debug for MapUnorderedWithin<'_, I, F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapUnorderedWithin")
            .field("map", &self.map)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl<I: Iterator, F, T> fmt::Debug for MapWithin<'_, I, F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapWithin")
            .field("map", &self.map)
            .field("deadline", &self.deadline)
            .finish_non_exhaustive()
    }
}

impl<'a, I, F, T> Iterator for Map<'a, I, F, T>
where
    I: Iterator,
    I::Item: Send + 'a,
    F: Fn(I::Item) -> T + Send + Sync + 'a,
    T: Send + 'a,
{
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        self.next_value()
    }

    fn fold<B, G>(self, init: B, g: G) -> B
    where
        G: FnMut(B, T) -> B,
    {
        self.fold_values(init, g)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let here = self.current.len() + self.in_flight_items;
        let (lo, hi) = self.feeder.input_hint();
        (
            here.saturating_add(lo),
            hi.and_then(|hi| hi.checked_add(here)),
        )
    }
}

/// `len` counts the items not yet handed out, a panicking item among
/// them: `next` raises that item's panic in its place (see "Panics and
/// dropping" in the module docs), so `len` is how many more calls of
/// `next` return a value or panic before the first `None`.
impl<'a, I, F, T> ExactSizeIterator for Map<'a, I, F, T>
where
    I: ExactSizeIterator,
    I::Item: Send + 'a,
    F: Fn(I::Item) -> T + Send + Sync + 'a,
    T: Send + 'a,
{
}

impl<I: Iterator, F, T> Drop for Map<'_, I, F, T> {
    fn drop(&mut self) {
        for (_, handle) in &self.in_flight {
            handle.cancel_quietly();
        }
    }
}

impl<I: Iterator, F, T> fmt::Debug for Map<'_, I, F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Map")
            .field("chunks_in_flight", &self.in_flight.len())
            .field("items_in_flight", &self.in_flight_items)
            .finish_non_exhaustive()
    }
}

/// Results of [`Pool::map_unordered`] or [`Scope::map_unordered`], in
/// completion order.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let total: u64 = pool.map_unordered(1..=4u64, |x| x * x).sum(); // in completion order
/// assert_eq!(total, 30);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use = "iterators are lazy: nothing is submitted until the first next()"]
pub struct MapUnordered<'a, I: Iterator, F, T> {
    feeder: Feeder<'a, I, F, T>,
    in_flight: HashMap<usize, InFlight<'a, T, I::Item>>,
    in_flight_items: usize,
    next_id: usize,
    ready: Arc<ReadyQueue>,
    current: Delivered<T>,
    /// A gathering wait ran out ([`gather`](Self::gather)), as
    /// [`Map`]'s.
    gather_stalled: bool,
}

impl<'a, I, F, T> MapUnordered<'a, I, F, T>
where
    I: Iterator,
    I::Item: Send + 'a,
    F: Fn(I::Item) -> T + Send + Sync + 'a,
    T: Send + 'a,
{
    fn new(pool: Pool, scope: Option<&'a ScopeLatch>, input: I, f: F) -> Self {
        MapUnordered {
            feeder: Feeder::new(pool, scope, input, f),
            in_flight: HashMap::new(),
            in_flight_items: 0,
            next_id: 0,
            ready: Arc::new(ReadyQueue::default()),
            current: Delivered::empty(),
            gather_stalled: false,
        }
    }

    /// Fixes the number of items per task; see [`Map::chunk_size`].
    ///
    /// # Panics
    ///
    /// If `items` is 0.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let mut out: Vec<u32> = pool.map_unordered(0..10u32, |x| x * 3).chunk_size(4).collect();
    /// out.sort();
    /// assert_eq!(out[9], 27);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn chunk_size(mut self, items: usize) -> Self {
        assert!(items > 0, "chunk_size must be positive");
        self.feeder.fixed = Some(items);
        self
    }

    /// Sets how many chunks may be in flight at once; see [`Map::window`].
    ///
    /// # Panics
    ///
    /// If `chunks` is 0.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let total: u32 = pool.map_unordered(0..10u32, |x| x + 1).window(2).sum();
    /// assert_eq!(total, 55);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn window(mut self, chunks: usize) -> Self {
        assert!(chunks > 0, "window must be positive");
        self.feeder.window = chunks;
        self
    }

    fn fill(&mut self) {
        while self.in_flight.len() < self.feeder.window {
            match self.feeder.submit_next() {
                Some((len, handle)) => {
                    let id = self.next_id;
                    self.next_id += 1;
                    let _ = self.ready.watch(id, handle.header());
                    self.in_flight_items += len;
                    self.in_flight.insert(id, (len, handle));
                    self.feeder.raise_input_panic();
                }
                None => break,
            }
        }
    }

    /// [`Map::within`] for completion order: values as chunks finish, then
    /// one `Err(Timeout)` if the deadline passes first, then nothing.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let pool = corepool::Pool::new()?;
    /// let all: Result<Vec<u32>, _> =
    ///     pool.map_unordered(0..10u32, |x| x + 1).within(Duration::from_secs(60)).collect();
    /// assert_eq!(all.unwrap().len(), 10);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn within(self, timeout: Duration) -> MapUnorderedWithin<'a, I, F, T> {
        MapUnorderedWithin {
            deadline: Deadline::after(timeout),
            map: self,
        }
    }

    /// On a thread outside the pool that found no chunk ready: waits for
    /// half a window of them, for at most [`GATHER_LIMIT`], when chunks are
    /// short ([`Map::gather`], "Waking the consumer" in the module docs).
    /// Returns whether it waited; once a wait runs out, the map gathers no
    /// more.
    fn gather(&mut self) -> bool {
        let Some(half) = self
            .feeder
            .gather_half(self.gather_stalled, self.in_flight.len())
        else {
            return false;
        };
        // Chunks in flight are about the same size once sizes settle.
        let ahead = self.in_flight_items.saturating_mul(half) / self.in_flight.len();
        let deadline = Instant::now() + self.feeder.gather_limit(ahead);
        self.gather_stalled = !self.ready.wait_for_count(half, deadline);
        true
    }

    /// The next value, or `Err` when `deadline` passes first.
    fn next_until(&mut self, deadline: Option<Instant>) -> Option<Result<T, Timeout>> {
        loop {
            if let Some(value) = self.current.next() {
                return Some(Ok(value));
            }
            self.fill();
            if self.in_flight.is_empty() {
                return None;
            }
            let id = loop {
                if let Some(id) = self.ready.pop() {
                    break id;
                }
                if deadline.is_none() {
                    // Off the pool, with every worker busy, run the oldest
                    // chunk here if no worker has started it, rather than
                    // sleep (see `help_with_chunk`). Only the oldest: a
                    // newer chunk waits only for workers busy with this
                    // map's older chunks, and running it here would put
                    // one more thread than there are workers on them.
                    let oldest = self.in_flight.iter().min_by_key(|(id, _)| **id);
                    if oldest
                        .is_some_and(|(_, (_, handle))| help_with_chunk(&self.feeder.pool, handle))
                    {
                        continue;
                    }
                    if self.gather() {
                        continue;
                    }
                }
                let in_flight = &self.in_flight;
                let claim = |worker: &WorkerThread| {
                    in_flight.values().any(|(_, handle)| handle.claim(worker))
                };
                let next = NextReady {
                    queue: &self.ready,
                    claim: &claim,
                };
                if !wait_until(&next, deadline) {
                    return Some(Err(Timeout {
                        unfinished: self.in_flight_items,
                        total: self.feeder.taken,
                    }));
                }
            };
            let Some((len, handle)) = self.in_flight.remove(&id) else {
                continue;
            };
            self.in_flight_items -= len;
            self.feeder
                .hand_out(collect_chunk(handle), &mut self.current);
            self.fill();
        }
    }
}

impl<'a, I, F, T> Iterator for MapUnordered<'a, I, F, T>
where
    I: Iterator,
    I::Item: Send + 'a,
    F: Fn(I::Item) -> T + Send + Sync + 'a,
    T: Send + 'a,
{
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        self.next_value()
    }

    fn fold<B, G>(self, init: B, g: G) -> B
    where
        G: FnMut(B, T) -> B,
    {
        self.fold_values(init, g)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let here = self.current.len() + self.in_flight_items;
        let (lo, hi) = self.feeder.input_hint();
        (
            here.saturating_add(lo),
            hi.and_then(|hi| hi.checked_add(here)),
        )
    }
}

/// `len` counts the items not yet handed out, a panicking item among
/// them: `next` raises that item's panic in its place (see "Panics and
/// dropping" in the module docs), so `len` is how many more calls of
/// `next` return a value or panic before the first `None`.
impl<'a, I, F, T> ExactSizeIterator for MapUnordered<'a, I, F, T>
where
    I: ExactSizeIterator,
    I::Item: Send + 'a,
    F: Fn(I::Item) -> T + Send + Sync + 'a,
    T: Send + 'a,
{
}

impl<I: Iterator, F, T> Drop for MapUnordered<'_, I, F, T> {
    fn drop(&mut self) {
        for (_, handle) in self.in_flight.values() {
            handle.cancel_quietly();
        }
    }
}

impl<I: Iterator, F, T> fmt::Debug for MapUnordered<'_, I, F, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MapUnordered")
            .field("chunks_in_flight", &self.in_flight.len())
            .field("items_in_flight", &self.in_flight_items)
            .finish_non_exhaustive()
    }
}

impl Pool {
    /// Maps `f` over `items` on the pool and yields the results **in input
    /// order**, like Python's `Executor.map`.
    ///
    /// The input is read lazily with a bounded window of chunks in flight, so
    /// an endless input works (`pool.map(0.., f).take(n)`); chunk sizes adapt
    /// to the cost of an item (see [`Map::chunk_size`] to fix them). A panic
    /// in `f` is re-raised here when iteration reaches its item; the results
    /// before it are delivered first, and a caller that catches the panic and
    /// goes on iterating gets the results after it, still in input order
    /// (the panic ends only its own item). Dropping the iterator cancels the chunks
    /// that have not started. The iterator is an [`ExactSizeIterator`] when
    /// the input is, so progress bars can show a length.
    ///
    /// Nothing is submitted until the first call to `next`.
    ///
    /// # Where `f` runs
    ///
    /// On the pool's workers, with one exception: when the thread consuming
    /// the iterator is not one of the pool's workers, every worker is busy
    /// (none idle or looking for work), and the chunk it waits for has not
    /// started, the consumer runs that chunk itself instead of sleeping, so a
    /// map never stalls behind other work. There, [`Pool::current`] names
    /// this pool while the chunk runs, but [`Pool::current_worker_index`] is
    /// `None` and what [`on_worker_start`](crate::PoolBuilder::on_worker_start)
    /// set up is missing: that hook runs once per worker thread, and its
    /// thread-local state belongs to that thread. Keep per-thread state that
    /// `f` needs in something `f` reaches itself (a `thread_local!` with a
    /// lazy initialiser works on every thread).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// // Wherever a chunk runs, `f` sees the pool it belongs to.
    /// let seen: Vec<usize> =
    ///     pool.map(0..4, |_| corepool::Pool::current().unwrap().workers()).collect();
    /// assert_eq!(seen, [2, 2, 2, 2]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// Re-raises a panic of `f` at its item. Panics if the pool shuts down
    /// while the map still needs to submit chunks (a pool that refuses work
    /// cannot deliver the rest of the results).
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let squares: Vec<u64> = pool.map(0..1000u64, |x| x * x).collect();
    /// assert_eq!(squares[999], 998_001);
    /// let firsts: Vec<u64> = pool.map(0u64.., |x| x + 1).take(3).collect();
    /// assert_eq!(firsts, [1, 2, 3]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn map<I, F, T>(&self, items: I, f: F) -> Map<'static, I::IntoIter, F, T>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        Map::new(self.clone(), None, items.into_iter(), f)
    }

    /// Like [`map`](Pool::map), but yields each result as soon as its chunk
    /// finishes (completion order, like `Pool.imap_unordered`). `f` runs where
    /// [`map`](Pool::map)'s does: on the workers, or on a
    /// consumer outside the pool while every worker is busy.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let mut out: Vec<u32> = pool.map_unordered(1..=5u32, |x| x * 2).collect();
    /// out.sort();
    /// assert_eq!(out, [2, 4, 6, 8, 10]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn map_unordered<I, F, T>(&self, items: I, f: F) -> MapUnordered<'static, I::IntoIter, F, T>
    where
        I: IntoIterator,
        I::Item: Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        T: Send + 'static,
    {
        MapUnordered::new(self.clone(), None, items.into_iter(), f)
    }
}

impl<'scope> Scope<'scope, '_> {
    /// [`Pool::map`] for borrowed items and closures. `f` runs where
    /// [`Pool::map`](Pool::map)'s does.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let words = vec![String::from("ab"), String::from("cde")];
    /// let lens: Vec<usize> = pool.scope(|s| s.map(&words, |w| w.len()).collect());
    /// assert_eq!(lens, [2, 3]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn map<I, F, T>(&'scope self, items: I, f: F) -> Map<'scope, I::IntoIter, F, T>
    where
        I: IntoIterator,
        I::Item: Send + 'scope,
        F: Fn(I::Item) -> T + Send + Sync + 'scope,
        T: Send + 'scope,
    {
        Map::new(
            self.pool().clone(),
            Some(self.latch()),
            items.into_iter(),
            f,
        )
    }

    /// [`Pool::map_unordered`] for borrowed items and closures. `f` runs where
    /// [`Pool::map`](Pool::map)'s does.
    ///
    /// ```
    /// let pool = corepool::Pool::new()?;
    /// let words = vec!["ab", "cde"];
    /// let mut lens: Vec<usize> = pool.scope(|s| s.map_unordered(&words, |w| w.len()).collect());
    /// lens.sort();
    /// assert_eq!(lens, [2, 3]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn map_unordered<I, F, T>(
        &'scope self,
        items: I,
        f: F,
    ) -> MapUnordered<'scope, I::IntoIter, F, T>
    where
        I: IntoIterator,
        I::Item: Send + 'scope,
        F: Fn(I::Item) -> T + Send + Sync + 'scope,
        T: Send + 'scope,
    {
        MapUnordered::new(
            self.pool().clone(),
            Some(self.latch()),
            items.into_iter(),
            f,
        )
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn values_give_their_buffer_back_only_once_every_value_is_out() {
        let mut buf = Vec::with_capacity(8);
        buf.extend(["a", "b", "c"].map(String::from));
        let mut values = Values::new(buf);
        assert_eq!(values.len(), 3);
        assert_eq!(values.next().as_deref(), Some("a"));
        assert!(values.take_buffer().is_none(), "two values are left");
        assert_eq!(values.len(), 2);
        assert_eq!(values.by_ref().collect::<Vec<_>>(), ["b", "c"]);
        let back = values.take_buffer().expect("every value is out");
        assert!(back.is_empty());
        assert!(back.capacity() >= 8, "the allocation comes back");
        assert!(values.next().is_none());
        assert!(values.take_buffer().is_none(), "given back once");
    }

    #[test]
    fn values_left_unread_are_dropped_once_each() {
        let live = Arc::new(());
        let mut values = Values::new(vec![live.clone(), live.clone(), live.clone()]);
        drop(values.next());
        assert_eq!(Arc::strong_count(&live), 3);
        drop(values);
        assert_eq!(Arc::strong_count(&live), 1);
    }

    #[test]
    fn a_map_keeps_at_most_a_window_of_spares_and_none_after_the_input_ends() {
        let pool = Pool::builder().workers(1).build().unwrap();
        let mut map = pool.map(0..1_000u32, |x| x + 1).chunk_size(4).window(2);
        let firsts: Vec<u32> = map.by_ref().take(100).collect();
        assert_eq!(firsts, (1..=100).collect::<Vec<_>>());
        // (Spares are taken again at once by the next chunks: that they are
        // is tests/map_reuses_chunk_buffers.rs.)
        let feeder = &map.feeder;
        assert!(feeder.spare_items.len() <= 2 && feeder.spare_values.len() <= 2);
        assert!(!feeder.ended);
        assert!(map.by_ref().eq(101..=1_000));
        assert!(map.feeder.ended);
        assert!(map.feeder.spare_items.is_empty() && map.feeder.spare_values.is_empty());
    }

    #[test]
    fn a_spare_far_bigger_than_the_chunk_is_dropped() {
        let mut spares = vec![Vec::<u64>::with_capacity(64)];
        assert!(spare(&mut spares, 8).capacity() < 64, "eight times too big");
        spares.push(Vec::with_capacity(64));
        assert!(spare(&mut spares, 16).capacity() >= 64, "four times: kept");
        assert_eq!(spare(&mut spares, 16).capacity(), 0, "none left: a new one");
    }

    #[test]
    fn chunks_shrink_to_a_share_of_what_is_left_only_near_the_end() {
        let pool = Pool::builder().workers(2).build().unwrap();
        let mut feeder = Feeder::new(pool, None, 0..100usize, |x: usize| x);
        // 100 left for 4 shares: at most 25.
        assert_eq!(feeder.tail_capped(64), 25);
        assert_eq!(feeder.tail_capped(8), 8);
        feeder.input.by_ref().take(98).for_each(drop);
        // 2 left: chunks of one, never zero.
        assert_eq!(feeder.tail_capped(64), 1);
        // An upper bound caps as a length does (a filter's: the most it
        // could yield, so a looser cap); no bound, no cap.
        let unknown = Feeder::new(
            Pool::builder().workers(2).build().unwrap(),
            None,
            (0..100usize).filter(|x| x % 2 == 0),
            |x: usize| x,
        );
        assert_eq!(unknown.tail_capped(64), 25);
        let endless = Feeder::new(
            Pool::builder().workers(2).build().unwrap(),
            None,
            0usize..,
            |x: usize| x,
        );
        assert_eq!(endless.tail_capped(64), 64);
    }
}

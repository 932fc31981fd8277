//! Many process-pool tasks at once: [`ProcessMap`] and
//! [`ProcessMapUnordered`] (a bounded window of tasks over an input
//! iterator), [`as_completed`] and [`wait`], shaped like the thread pool's.

use std::collections::VecDeque;
use std::fmt;
use std::iter::FusedIterator;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::call::{BatchOut, FnRef, Outcomes};
use super::error::{ErrorKind, ProcessError, Signature};
use super::pool::ProcessPool;
use super::task::{ProcessTask, ReadyQueue, Reply};
use super::wire;
use crate::unwind::{Payload, halt_unwinding};
use crate::{Timeout, WaitFor, Waited};

/// One item of [`ProcessAsCompleted`]: a task's index and its outcome.
///
/// ```
/// # fn main() {
/// use corepool::process::{self, ProcessCompleted, ProcessPool};
/// fn double(x: u32) -> u32 {
///     x * 2
/// }
/// process::init();
/// let pool = ProcessPool::builder().workers(2).build().unwrap();
/// let mut done = process::as_completed(vec![pool.submit(double, 21)]);
/// let (index, result): ProcessCompleted<u32> = done.next().unwrap();
/// assert_eq!((index, result.unwrap()), (0, 42));
/// # }
/// ```
pub type ProcessCompleted<R> = (usize, Result<R, ProcessError>);

/// How long one batch of a [`ProcessMap`] or [`ProcessMapUnordered`] should
/// take in its worker when batch sizes adapt: long enough that the round
/// trip (tens of microseconds) is noise, short enough that the workers stay
/// balanced at the end of the input.
///
/// ```
/// assert_eq!(corepool::process::TARGET_BATCH_TIME.as_millis(), 1);
/// ```
pub const TARGET_BATCH_TIME: Duration = Duration::from_millis(1);

/// How much an automatic batch may grow from one finished batch to the
/// next: a round trip costs tens of microseconds, so a map of cheap items
/// should reach its full batch size in a few steps.
const GROWTH: usize = 8;

/// The largest automatic batch of a process map, in items.
///
/// ```
/// assert_eq!(corepool::process::MAX_BATCH, 65536);
/// ```
pub const MAX_BATCH: usize = 1 << 16;

/// The most argument bytes an automatic batch carries (it ends after the
/// item that reaches this): past a few tens of kilobytes a batch only makes
/// its worker wait longer while the map's thread encodes it, and the
/// workers fall out of step at the end of the input. Cheap items then
/// travel a few thousand to a batch whatever [`TARGET_BATCH_TIME`] asks.
const MAX_AUTO_BATCH_BYTES: usize = 48 << 10;

/// What a map has in flight: one item as a task of its own, or a batch of
/// items as one task (with a copy of its argument, the items' encodings,
/// kept for a retry).
enum Unit<R> {
    Single(ProcessTask<R>),
    Batch {
        task: ProcessTask<BatchOut<R>>,
        arg: Vec<u8>,
        n: usize,
    },
}

impl<R: DeserializeOwned + Send + 'static> Unit<R> {
    fn len(&self) -> usize {
        match self {
            Unit::Single(_) => 1,
            Unit::Batch { n, .. } => *n,
        }
    }

    fn watch(&self, queue: &Arc<ReadyQueue>, index: usize) {
        match self {
            Unit::Single(task) => task.watch(queue, index),
            Unit::Batch { task, .. } => task.watch(queue, index),
        }
    }
}

/// What a finished unit gives: its items' results in order, or the tasks
/// that run its items again, one item each (its batch crashed).
enum Resolved<R> {
    /// The items' outcomes, and the id of the task that ran them.
    Done(Outcomes<R>, u64),
    Retry(Vec<ProcessTask<R>>),
}

/// Results waiting to be yielded, a finished unit's at a time, moved out
/// one by one (an error becomes a [`ProcessError`] naming its unit's task
/// only when it is yielded).
struct Ready<R> {
    units: VecDeque<(Outcomes<R>, u64)>,
    signature: Signature,
}

impl<R> Ready<R> {
    fn new(signature: Signature) -> Self {
        Ready {
            units: VecDeque::new(),
            signature,
        }
    }

    fn push(&mut self, items: Outcomes<R>, id: u64) {
        self.units.push_back((items, id));
    }

    fn pop(&mut self) -> Option<Result<R, ProcessError>> {
        loop {
            let (items, id) = self.units.front_mut()?;
            match items.take() {
                Some(result) => {
                    let (id, signature) = (*id, self.signature);
                    return Some(result.map_err(|kind| ProcessError::new(id, signature, kind)));
                }
                None => {
                    self.units.pop_front();
                }
            }
        }
    }

    fn len(&self) -> usize {
        self.units.iter().map(|(items, _)| items.len()).sum()
    }
}

/// The part both maps share: reads the input, cuts it into batches, sends
/// them, and turns a finished batch into its items' results.
struct Batcher<I, A, R> {
    pool: ProcessPool,
    f: fn(A) -> R,
    items: I,
    /// An item read but left out of the last batch (it did not fit the
    /// frame, or cannot be encoded).
    carry: Option<A>,
    /// The function with its plain and its batch trampoline; `None` when
    /// it is not in the executable (then every item fails, via `submit`).
    refs: Option<(FnRef, FnRef)>,
    chunk: usize,
    fixed: bool,
    /// The size of the last batch's argument, to size the next one's.
    bytes_hint: usize,
    /// A panic of the input iterator (or of an item's `Serialize` or `Drop`)
    /// caught while a batch was read, to raise once the batch of the items
    /// read before it has been sent and is in the map's window.
    panic: Option<Payload>,
}

impl<I, A, R> Batcher<I, A, R>
where
    I: Iterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    fn new(pool: ProcessPool, f: fn(A) -> R, items: I) -> Self {
        let refs = FnRef::new(f).zip(FnRef::batch(f));
        Batcher {
            pool,
            f,
            items,
            carry: None,
            refs,
            chunk: 1,
            fixed: false,
            bytes_hint: 0,
            panic: None,
        }
    }

    fn signature() -> Signature {
        (std::any::type_name::<A>(), std::any::type_name::<R>())
    }

    fn chunk_size(&mut self, items: usize) {
        self.fixed = items > 0;
        self.chunk = items.max(1);
    }

    /// Items read from the input but not sent yet.
    fn carried(&self) -> usize {
        usize::from(self.carry.is_some())
    }

    /// The next unit, sent; `None` at the end of the input.
    ///
    /// A panic while the batch is read (the input iterator's, or an item's
    /// `Serialize` or `Drop`) does not lose the items read before it: they
    /// go as a shorter batch, and the panic waits in `self.panic` for the
    /// caller to raise once that batch is in its window
    /// ([`raise_input_panic`](Self::raise_input_panic)). With nothing read
    /// before it, the panic goes on at once.
    fn next_unit(&mut self) -> Option<Unit<R>> {
        let Some((_, batch)) = self.refs else {
            let item = self.items.next()?;
            return Some(Unit::Single(self.pool.submit(self.f, item)));
        };
        // A batch call's argument: each item's length (u32) and bytes; the
        // whole must fit a call frame, so it never reaches the wire
        // otherwise.
        let room = self.pool.max_frame().saturating_sub(wire::CALL_HEADER);
        let mut arg = Vec::with_capacity(self.bytes_hint.min(MAX_AUTO_BATCH_BYTES) + 64);
        let mut n = 0;
        // The length of `arg` after its last whole item.
        let mut whole = 0;
        let read = halt_unwinding(|| {
            while n < self.chunk && (self.fixed || arg.len() < MAX_AUTO_BATCH_BYTES) {
                let Some(item) = self.carry.take().or_else(|| self.items.next()) else {
                    break;
                };
                let start = arg.len();
                arg.extend_from_slice(&[0; 4]);
                let left = room.saturating_sub(arg.len());
                match wire::encode_append(&item, &mut arg, left) {
                    Ok(()) => {
                        let len = (arg.len() - start - 4) as u32;
                        arg[start..start + 4].copy_from_slice(&len.to_le_bytes());
                        // Counted once dropped: an item whose `Drop` panics
                        // is the panicking item, left out as one whose
                        // `Serialize` panics.
                        drop(item);
                        n += 1;
                        whole = arg.len();
                    }
                    Err(_) if n == 0 => {
                        arg.truncate(start);
                        // Alone: an item that fits a call but not a batch
                        // frame goes as a task of its own; one that fits
                        // neither (or cannot be encoded) fails with its
                        // typed error, unsent.
                        return Some(Unit::Single(self.pool.submit_with(self.f, &item, None)));
                    }
                    Err(_) => {
                        // It goes first in the next unit (alone, if it must).
                        arg.truncate(start);
                        self.carry = Some(item);
                        break;
                    }
                }
            }
            None
        });
        match read {
            Ok(Some(single)) => return Some(single),
            Ok(None) => {}
            Err(payload) if n == 0 => std::panic::resume_unwind(payload),
            Err(payload) => {
                // The panicking item's bytes, if any, are cut off.
                arg.truncate(whole);
                self.panic = Some(payload);
            }
        }
        if n == 0 {
            return None;
        }
        self.bytes_hint = arg.len();
        // The timeout of a batch is the items' timeout times their number.
        let timeout = self
            .pool
            .default_timeout()
            .map(|t| t.saturating_mul(u32::try_from(n).unwrap_or(u32::MAX)));
        let task =
            self.pool
                .submit_encoded(batch, Self::signature(), arg.clone(), timeout, Reply::Batch);
        Some(Unit::Batch { task, arg, n })
    }

    /// Raises the panic [`next_unit`](Self::next_unit) caught, if any: the
    /// maps call it once the unit it returned is in their window, so the
    /// items read before the panic are yielded by the calls after it.
    fn raise_input_panic(&mut self) {
        if let Some(payload) = self.panic.take() {
            std::panic::resume_unwind(payload);
        }
    }

    /// Waits for `unit` and gives its results, or the retries of its items.
    fn resolve(&mut self, unit: Unit<R>) -> Resolved<R> {
        let (task, arg, n) = match unit {
            Unit::Single(task) => {
                let id = task.id();
                let result = task.join().map_err(|e| e.kind().clone());
                return Resolved::Done(Outcomes::from_results([result]), id);
            }
            Unit::Batch { task, arg, n } => (task, arg, n),
        };
        let id = task.id();
        let error = |kind| ProcessError::new(id, Self::signature(), kind);
        let outcome = task.join();
        let outcome: Result<(), ProcessError> = match outcome {
            Ok(out) if out.items.len() == n => {
                self.adapt(out.nanos, n);
                return Resolved::Done(out.items, id);
            }
            Ok(_) => Err(error(ErrorKind::Protocol(
                "a batch reply with the wrong number of items".into(),
            ))),
            Err(err) => Err(err),
        };
        match outcome {
            Err(err)
                if matches!(
                    err.kind(),
                    ErrorKind::Cancelled | ErrorKind::Shutdown | ErrorKind::Spawn(_)
                ) =>
            {
                Resolved::Done(
                    Outcomes::from_results((0..n).map(|_| Err(err.kind().clone()))),
                    id,
                )
            }
            // A crash, a timeout, a reply over the frame limit, anything
            // else: each item is sent again as a task of its own.
            _ => {
                if !self.fixed {
                    self.chunk = (self.chunk / 2).max(1);
                }
                let Some((single, _)) = self.refs else {
                    unreachable!("a batch was sent, so the function resolved")
                };
                let mut tasks = Vec::with_capacity(n);
                let mut rest = &arg[..];
                while let Some((len, tail)) = rest.split_first_chunk::<4>() {
                    let len = (u32::from_le_bytes(*len) as usize).min(tail.len());
                    let (item, tail) = tail.split_at(len);
                    rest = tail;
                    let item = item.to_vec();
                    tasks.push(self.pool.submit_encoded(
                        single,
                        Self::signature(),
                        item,
                        None,
                        Reply::Value,
                    ));
                }
                Resolved::Retry(tasks)
            }
        }
    }

    /// Moves the batch size toward [`TARGET_BATCH_TIME`], growing at most
    /// `GROWTH`-fold.
    fn adapt(&mut self, nanos: u64, n: usize) {
        if self.fixed || n == 0 {
            return;
        }
        let per_item = (u128::from(nanos) / n as u128).max(1);
        let wanted = (TARGET_BATCH_TIME.as_nanos() / per_item).clamp(1, MAX_BATCH as u128) as usize;
        self.chunk = wanted.min(self.chunk.saturating_mul(GROWTH));
    }
}

/// The iterator of [`ProcessPool::map`]: results in input order.
///
/// Items travel in batches, one round trip per batch (see
/// [`chunk_size`](Self::chunk_size)); a panic in one item fails only that
/// item. **A crash or a timeout costs its batch a second run**: the worker
/// process dies with no word on which item it was running, so every item of
/// the batch is sent again, each as a task of its own on a fresh worker
/// (with the pool's per-task timeout; a batch's own timeout is that
/// timeout times its number of items). The items that had finished before
/// the crash run twice; the one that crashes (or hangs) again fails alone
/// with its own [`ErrorKind::Signal`], [`ErrorKind::Exit`] or
/// [`ErrorKind::Timeout`], and every other item gets its result. A batch
/// whose results would pass the frame limit is retried the same way (each
/// item then succeeds or fails alone with [`ErrorKind::ResultTooLarge`]);
/// a batch is never sent over the limit, it is cut before it. A cancelled
/// batch (the pool shut down) fails each of its items with that error.
///
/// **A panic while the input is read** — the input iterator's, or an
/// argument's `Serialize` or `Drop`, which run in this process as batches
/// are filled — goes on at once out of the `next` call that was reading
/// ahead (not at its place in the order). No item read before it is lost:
/// they were sent as a shorter batch, so a caller that catches the panic
/// and calls `next` again gets every result before the panicking item, in
/// order, then the results of the items the input gives after it (the
/// panicking item has no result).
///
/// ```
/// # fn main() {
/// use corepool::process::{self, ProcessPool};
/// fn square(x: u64) -> u64 {
///     x * x
/// }
/// process::init();
/// let pool = ProcessPool::builder().workers(2).build().unwrap();
/// let squares = pool.map(square, [1, 2, 3, 4]);
/// assert_eq!(squares.len(), 4);
/// assert_eq!(squares.map(Result::unwrap).collect::<Vec<_>>(), [1, 4, 9, 16]);
/// # }
/// ```
#[must_use = "iterators are lazy"]
pub struct ProcessMap<I, A, R> {
    batcher: Batcher<I, A, R>,
    window: VecDeque<Unit<R>>,
    ready: Ready<R>,
    /// Items in `window`.
    queued: usize,
    size: usize,
}

impl<I, A, R> fmt::Debug for ProcessMap<I, A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessMap")
            .field("in_flight", &self.window.len())
            .field("window", &self.size)
            .field("chunk", &self.batcher.chunk)
            .finish()
    }
}

impl<I, A, R> ProcessMap<I, A, R>
where
    I: Iterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    pub(crate) fn new(pool: ProcessPool, f: fn(A) -> R, items: I, size: usize) -> Self {
        ProcessMap {
            batcher: Batcher::new(pool, f, items),
            window: VecDeque::new(),
            ready: Ready::new(Batcher::<I, A, R>::signature()),
            queued: 0,
            size: size.max(1),
        }
    }

    /// How many batches may be sent ahead of the one being waited for
    /// (default: four per worker); at least one.
    ///
    /// ```
    /// # fn main() {
    /// # fn id(x: u8) -> u8 { x }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let v: Vec<u8> = pool.map(id, [1, 2, 3]).window(1).map(Result::unwrap).collect();
    /// assert_eq!(v, [1, 2, 3]);
    /// # }
    /// ```
    pub fn window(mut self, tasks: usize) -> Self {
        self.size = tasks.max(1);
        self
    }

    /// Sends exactly `items` items per batch (fewer only at the end of the
    /// input, or where a batch would pass the frame limit), instead of
    /// adapting: by default batches start with one item and grow (at most
    /// eightfold per finished batch, up to [`MAX_BATCH`]) toward what takes
    /// [`TARGET_BATCH_TIME`] in a worker, and end after the item that
    /// brings their encoded items to 48 KiB (tiny items then travel a few
    /// thousand to a batch, so the workers start while the next batches
    /// are encoded); a batch that crashes halves the size. `chunk_size(1)` sends one item per round trip (as a batch of
    /// one); `chunk_size(0)` means adaptive.
    ///
    /// ```
    /// # fn main() {
    /// # fn id(x: u32) -> u32 { x }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let v: Vec<u32> = pool.map(id, 0..100).chunk_size(10).map(Result::unwrap).collect();
    /// assert_eq!(v, (0..100).collect::<Vec<_>>());
    /// # }
    /// ```
    pub fn chunk_size(mut self, items: usize) -> Self {
        self.batcher.chunk_size(items);
        self
    }
}

impl<I, A, R> Iterator for ProcessMap<I, A, R>
where
    I: Iterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    type Item = Result<R, ProcessError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(result) = self.ready.pop() {
                return Some(result);
            }
            while self.window.len() < self.size {
                match self.batcher.next_unit() {
                    Some(unit) => {
                        self.queued += unit.len();
                        self.window.push_back(unit);
                        self.batcher.raise_input_panic();
                    }
                    None => break,
                }
            }
            let unit = self.window.pop_front()?;
            self.queued -= unit.len();
            match self.batcher.resolve(unit) {
                Resolved::Done(results, id) => self.ready.push(results, id),
                Resolved::Retry(tasks) => {
                    for task in tasks.into_iter().rev() {
                        self.queued += 1;
                        self.window.push_front(Unit::Single(task));
                    }
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (lo, hi) = self.batcher.items.size_hint();
        let n = self.queued + self.ready.len() + self.batcher.carried();
        (lo.saturating_add(n), hi.and_then(|hi| hi.checked_add(n)))
    }
}

impl<I, A, R> ExactSizeIterator for ProcessMap<I, A, R>
where
    I: ExactSizeIterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
}

impl<I, A, R> FusedIterator for ProcessMap<I, A, R>
where
    I: FusedIterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
}

impl<I, A, R> Drop for ProcessMap<I, A, R> {
    fn drop(&mut self) {
        // The tasks not started never will; running ones finish, detached.
        for unit in &self.window {
            match unit {
                Unit::Single(task) => task.cancel_queued(),
                Unit::Batch { task, .. } => task.cancel_queued(),
            };
        }
    }
}

/// The iterator of [`ProcessPool::map_unordered`]: results as they finish
/// (a batch's results together, in its input order). Batches, crashes and
/// timeouts as for [`ProcessMap`]: a crashed batch's items are each sent
/// again alone, and the one that crashes again fails alone. A panic while
/// the input is read goes on at once, as for [`ProcessMap`]; a caller that
/// catches it and goes on gets the result of every other item.
///
/// ```
/// # fn main() {
/// use corepool::process::{self, ProcessPool};
/// fn cube(x: u64) -> u64 {
///     x * x * x
/// }
/// process::init();
/// let pool = ProcessPool::builder().workers(2).build().unwrap();
/// let total: u64 = pool.map_unordered(cube, 1..=3).map(Result::unwrap).sum();
/// assert_eq!(total, 36);
/// # }
/// ```
#[must_use = "iterators are lazy"]
pub struct ProcessMapUnordered<I, A, R> {
    batcher: Batcher<I, A, R>,
    tasks: Vec<Option<Unit<R>>>,
    free: Vec<usize>,
    queue: Arc<ReadyQueue>,
    ready: Ready<R>,
    in_flight: usize,
    /// Items in `tasks`.
    queued: usize,
    size: usize,
}

impl<I, A, R> fmt::Debug for ProcessMapUnordered<I, A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessMapUnordered")
            .field("in_flight", &self.in_flight)
            .field("window", &self.size)
            .field("chunk", &self.batcher.chunk)
            .finish()
    }
}

impl<I, A, R> ProcessMapUnordered<I, A, R>
where
    I: Iterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    pub(crate) fn new(pool: ProcessPool, f: fn(A) -> R, items: I, size: usize) -> Self {
        ProcessMapUnordered {
            batcher: Batcher::new(pool, f, items),
            tasks: Vec::new(),
            free: Vec::new(),
            queue: Arc::default(),
            ready: Ready::new(Batcher::<I, A, R>::signature()),
            in_flight: 0,
            queued: 0,
            size: size.max(1),
        }
    }

    /// How many batches may be in flight at once (default: four per
    /// worker); at least one.
    ///
    /// ```
    /// # fn main() {
    /// # fn id(x: u8) -> u8 { x }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let n = pool.map_unordered(id, [1, 2, 3]).window(2).count();
    /// assert_eq!(n, 3);
    /// # }
    /// ```
    pub fn window(mut self, tasks: usize) -> Self {
        self.size = tasks.max(1);
        self
    }

    /// Items per batch, as [`ProcessMap::chunk_size`]; `0` means adaptive
    /// (the default).
    ///
    /// ```
    /// # fn main() {
    /// # fn id(x: u32) -> u32 { x }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let mut v: Vec<u32> = pool.map_unordered(id, 0..100).chunk_size(7).map(Result::unwrap).collect();
    /// v.sort();
    /// assert_eq!(v, (0..100).collect::<Vec<_>>());
    /// # }
    /// ```
    pub fn chunk_size(mut self, items: usize) -> Self {
        self.batcher.chunk_size(items);
        self
    }

    fn add(&mut self, unit: Unit<R>) {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                self.tasks.push(None);
                self.tasks.len() - 1
            }
        };
        unit.watch(&self.queue, index);
        self.queued += unit.len();
        self.tasks[index] = Some(unit);
        self.in_flight += 1;
    }
}

impl<I, A, R> Iterator for ProcessMapUnordered<I, A, R>
where
    I: Iterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
    type Item = Result<R, ProcessError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(result) = self.ready.pop() {
                return Some(result);
            }
            while self.in_flight < self.size {
                let Some(unit) = self.batcher.next_unit() else {
                    break;
                };
                self.add(unit);
                self.batcher.raise_input_panic();
            }
            if self.in_flight == 0 {
                return None;
            }
            let index = self.queue.pop(None).expect("no deadline");
            let unit = self.tasks[index]
                .take()
                .expect("each task is reported once");
            self.free.push(index);
            self.in_flight -= 1;
            self.queued -= unit.len();
            match self.batcher.resolve(unit) {
                Resolved::Done(results, id) => self.ready.push(results, id),
                Resolved::Retry(tasks) => {
                    for task in tasks {
                        self.add(Unit::Single(task));
                    }
                }
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (lo, hi) = self.batcher.items.size_hint();
        let n = self.queued + self.ready.len() + self.batcher.carried();
        (lo.saturating_add(n), hi.and_then(|hi| hi.checked_add(n)))
    }
}

impl<I, A, R> ExactSizeIterator for ProcessMapUnordered<I, A, R>
where
    I: ExactSizeIterator<Item = A>,
    A: Serialize + DeserializeOwned + 'static,
    R: Serialize + DeserializeOwned + Send + 'static,
{
}

impl<I, A, R> Drop for ProcessMapUnordered<I, A, R> {
    fn drop(&mut self) {
        for unit in self.tasks.iter().flatten() {
            match unit {
                Unit::Single(task) => task.cancel_queued(),
                Unit::Batch { task, .. } => task.cancel_queued(),
            };
        }
    }
}

/// Yields `(index, result)` for each task as it ends; see [`as_completed`].
///
/// ```
/// # fn main() {
/// use corepool::process::{self, ProcessAsCompleted, ProcessPool};
/// fn negate(x: i32) -> i32 {
///     -x
/// }
/// process::init();
/// let pool = ProcessPool::builder().workers(2).build().unwrap();
/// let tasks: Vec<_> = (1..=3).map(|i| pool.submit(negate, i)).collect();
/// let done: ProcessAsCompleted<i32> = process::as_completed(tasks);
/// let mut values: Vec<i32> = done.map(|(_, result)| result.unwrap()).collect();
/// values.sort();
/// assert_eq!(values, [-3, -2, -1]);
/// # }
/// ```
#[must_use = "iterators are lazy"]
#[derive(Debug)]
pub struct ProcessAsCompleted<R> {
    tasks: Vec<Option<ProcessTask<R>>>,
    queue: Arc<ReadyQueue>,
    remaining: usize,
    deadline: Option<Instant>,
}

/// Takes each task's result as soon as it ends, like Python's
/// `concurrent.futures.as_completed` and the thread pool's
/// [`as_completed`](crate::as_completed): `(index, result)` where `index` is
/// the task's position in `tasks`; tasks that ended before the call come
/// first.
///
/// ```
/// # fn main() {
/// use corepool::process::{self, ProcessPool};
/// fn tenfold(x: u64) -> u64 {
///     x * 10
/// }
/// process::init();
/// let pool = ProcessPool::builder().workers(2).build().unwrap();
/// let tasks: Vec<_> = (0..4).map(|i| pool.submit(tenfold, i)).collect();
/// let mut seen: Vec<(usize, u64)> =
///     process::as_completed(tasks).map(|(i, r)| (i, r.unwrap())).collect();
/// seen.sort();
/// assert_eq!(seen, [(0, 0), (1, 10), (2, 20), (3, 30)]);
/// # }
/// ```
pub fn as_completed<R>(tasks: impl IntoIterator<Item = ProcessTask<R>>) -> ProcessAsCompleted<R>
where
    R: DeserializeOwned + Send + 'static,
{
    let tasks: Vec<Option<ProcessTask<R>>> = tasks.into_iter().map(Some).collect();
    let queue = Arc::new(ReadyQueue::default());
    for (index, task) in tasks.iter().enumerate() {
        task.as_ref().expect("just filled").watch(&queue, index);
    }
    ProcessAsCompleted {
        remaining: tasks.len(),
        tasks,
        queue,
        deadline: None,
    }
}

impl<R: DeserializeOwned + Send + 'static> ProcessAsCompleted<R> {
    /// How many tasks have not been yielded yet.
    ///
    /// ```
    /// # fn main() {
    /// # fn one(_: ()) -> u8 { 1 }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let done = corepool::process::as_completed(vec![pool.submit(one, ())]);
    /// assert_eq!(done.remaining(), 1);
    /// # }
    /// ```
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// The next task to end, waiting at most until `timeout` from now;
    /// `None` when every task has been yielded, `Some(Err(Timeout))` when the
    /// time passed first (the iterator stays usable).
    ///
    /// ```
    /// # fn main() {
    /// use std::time::Duration;
    /// fn hang(_: ()) {
    ///     loop {
    ///         std::thread::park();
    ///     }
    /// }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let mut done = corepool::process::as_completed(vec![pool.submit(hang, ())]);
    /// let next = done.next_timeout(Duration::from_millis(20));
    /// assert_eq!(next.unwrap().unwrap_err(), corepool::Timeout { unfinished: 1, total: 1 });
    /// for (_, task) in done.into_pending() {
    ///     task.cancel();
    /// }
    /// # }
    /// ```
    pub fn next_timeout(
        &mut self,
        timeout: Duration,
    ) -> Option<Result<ProcessCompleted<R>, Timeout>> {
        self.next_until(Instant::now().checked_add(timeout))
    }

    /// The tasks not yielded yet, with their indices, ascending.
    ///
    /// ```
    /// # fn main() {
    /// # fn one(_: ()) -> u8 { 1 }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let done = corepool::process::as_completed(vec![pool.submit(one, ())]);
    /// assert_eq!(done.into_pending().len(), 1);
    /// # }
    /// ```
    pub fn into_pending(self) -> Vec<(usize, ProcessTask<R>)> {
        self.tasks
            .into_iter()
            .enumerate()
            .filter_map(|(i, t)| t.map(|t| (i, t)))
            .collect()
    }

    fn next_until(
        &mut self,
        deadline: Option<Instant>,
    ) -> Option<Result<ProcessCompleted<R>, Timeout>> {
        if self.remaining == 0 {
            return None;
        }
        match self.queue.pop(deadline) {
            Some(index) => {
                let task = self.tasks[index]
                    .take()
                    .expect("each task is reported once");
                self.remaining -= 1;
                Some(Ok((index, task.join())))
            }
            None => Some(Err(Timeout {
                unfinished: self.remaining,
                total: self.tasks.len(),
            })),
        }
    }
}

impl<R: DeserializeOwned + Send + 'static> Iterator for ProcessAsCompleted<R> {
    type Item = ProcessCompleted<R>;

    fn next(&mut self) -> Option<Self::Item> {
        self.next_until(self.deadline)
            .map(|r| r.expect("no deadline, no timeout"))
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.remaining, Some(self.remaining))
    }
}

impl<R: DeserializeOwned + Send + 'static> ExactSizeIterator for ProcessAsCompleted<R> {}

/// Waits for some or all of `tasks` to end, like Python's
/// `concurrent.futures.wait` and the thread pool's [`wait`](crate::wait), at
/// most `timeout` (forever with `None`); answers with indices. With
/// [`WaitFor::FirstPanic`] it returns at the first task that failed in any
/// way (panic, crash, timeout, codec error), not counting cancellations.
///
/// ```
/// # fn main() {
/// use corepool::WaitFor;
/// use corepool::process::{self, ProcessPool};
/// fn one(_: ()) -> u8 {
///     1
/// }
/// process::init();
/// let pool = ProcessPool::builder().workers(2).build().unwrap();
/// let tasks: Vec<_> = (0..3).map(|_| pool.submit(one, ())).collect();
/// let waited = process::wait(&tasks, WaitFor::AllCompleted, None);
/// assert_eq!(waited.done, [0, 1, 2]);
/// assert!(waited.pending.is_empty());
/// # }
/// ```
pub fn wait<R>(tasks: &[ProcessTask<R>], mode: WaitFor, timeout: Option<Duration>) -> Waited
where
    R: DeserializeOwned + Send + 'static,
{
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    let queue = Arc::new(ReadyQueue::default());
    for (index, task) in tasks.iter().enumerate() {
        task.watch(&queue, index);
    }
    let mut done = vec![false; tasks.len()];
    let mut count = 0;
    let mut failed = false;
    loop {
        let satisfied = match mode {
            WaitFor::AllCompleted => count == tasks.len(),
            WaitFor::FirstCompleted => count > 0 || tasks.is_empty(),
            WaitFor::FirstPanic => failed || count == tasks.len(),
        };
        if satisfied {
            break;
        }
        let Some(index) = queue.pop(deadline) else {
            break;
        };
        if !done[index] {
            done[index] = true;
            count += 1;
            failed |= tasks[index].failed();
        }
    }
    // Tasks that ended meanwhile count too; the others forget this queue,
    // so that waiting again and again on a long task does not pile up
    // watchers.
    for task in tasks {
        task.unwatch(&queue);
    }
    while let Some(index) = queue.pop(Some(Instant::now())) {
        done[index] = true;
    }
    let (done, pending): (Vec<usize>, Vec<usize>) = (0..tasks.len()).partition(|&i| done[i]);
    Waited { done, pending }
}

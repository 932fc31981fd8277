//! The pool's shared queue of tasks pushed from outside: an unbounded
//! multi-producer, multi-consumer FIFO made of blocks of slots, whose blocks
//! are recycled instead of freed.
//!
//! # Why not crossbeam's `Injector`
//!
//! crossbeam-deque's `Injector` has the same shape (a list of blocks of 63
//! slots, the design of crossbeam's unbounded channel), but the thread that
//! pushes allocates each block and the worker that takes its last task frees
//! it. For a stream of tasks submitted from one thread outside the pool that
//! is one `calloc` on the submitter and one `free` on a worker every 63
//! tasks, both in the submitter's glibc arena and at nearly the same
//! instant (the worker follows the submitter a few tasks behind), and a
//! block of 1.5 KiB is too big for glibc's per-thread cache, so both take
//! the arena's lock. A contended glibc lock sleeps at once: the worker
//! slept in `free` (57 % of one worker's context switches in a profile of
//! 200,000 tiny submits, each joined, on 2 workers), the submitter paid a
//! futex wake to let it go on, and meanwhile the pool counted the sleeping
//! worker as running, so pushes woke the other worker, on the submitter's
//! own CPU. Here a block whose tasks have all been taken goes to one of two
//! spare slots, and the next block the queue needs comes from there: a
//! queue whose backlog stays within two laps allocates and frees nothing.
//! A longer backlog allocates its extra blocks at the tail as it grows and
//! frees them at the head as it drains (helper-94: with a backlog of 1,000
//! tasks, 79 % of retired blocks were freed), but those calls come far
//! apart in time, not in lockstep. More spares measured no faster (64
//! against 2, alternated three times in the probe of "Measured": inside
//! the noise). (A fixed ring,
//! `crossbeam_queue::ArrayQueue`, was tried first: as fast while it held the
//! whole backlog, but the backlog of that stream reached 75,000 tasks, and a
//! locked overflow behind a ring of 4,096 was slower than the old queue.)
//!
//! # Measured
//!
//! 200,000 tiny tasks submitted from outside, each joined, on 2 workers
//! (2026-12-07, 02:24–02:27 UTC, `--bench pool -- submit_outside`, the
//! build before and this one alternated three times): 21.9, 19.1 and
//! 24.9 ms a round before, 16.0, 18.1 and 19.7 after, rayon's `spawn` +
//! latch 39.0–53.2 ms in the same runs (0.34–0.46× rayon after, 0.45–0.57×
//! before in this quiet stretch). A throwaway probe of the same loop (30
//! rounds a run, medians): 20.5–26.0 ms before, 16.1–17.3 after, alternated
//! three times.
//!
//! # The protocol
//!
//! Positions count up forever: position `p` is slot `p % LAP` of lap
//! `p / LAP`, and each lap has its own block of [`BLOCK_CAP`] slots
//! (`LAP - 1`: offset `BLOCK_CAP` of a lap is a marker, never a slot).
//! `tail` and `head` each hold a position (shifted left by [`SHIFT`]) and
//! the block of its lap. Each slot has a `state` word with three bits:
//! `WRITE` (its task is in), `READ` (its taker is done with it) and
//! `DESTROY` (the block is being retired; the slot's taker must finish that).
//!
//! 1. **Push.** A producer claims the tail's position with a
//!    compare-exchange of `tail.index`. If it claimed the lap's last slot, it
//!    also installs the next lap's block (taken before the exchange, so
//!    that nobody waits on an allocation): the block pointer, then the
//!    index past the marker, then the old block's `next`. Until the index
//!    moves past the marker, other producers wait. It then writes the task
//!    and sets `WRITE` (release).
//! 2. **Take.** A taker reads `head`. Unless the head's index carries
//!    `HAS_NEXT` (a later lap is known to exist), it compares it with the
//!    tail after a `SeqCst` fence: equal positions mean empty, and a tail
//!    in a later lap means `HAS_NEXT`. It claims the position with a
//!    compare-exchange of `head.index` (a failure is [`Steal::Retry`]). If
//!    it claimed the lap's last slot, it waits for the old block's `next`
//!    and moves `head` to the next lap. It waits for `WRITE` (acquire),
//!    reads the task, and retires the block if that was its last slot;
//!    otherwise it sets `READ` and, if it finds `DESTROY`, finishes the
//!    retirement that another taker began.
//! 3. **Retire.** The taker of a lap's last slot walks the lap's other
//!    slots from the last to the first. At a slot whose taker has not set
//!    `READ`, it sets `DESTROY` and stops: that taker, when it sets `READ`,
//!    sees `DESTROY` and walks on from its own slot down. The walk that
//!    reaches the first slot finds every slot read: no thread touches the
//!    block any more, and it is recycled.
//! 4. **Recycle.** The retiring thread resets the block (no `next`, every
//!    state zero) and parks it in the first empty spare slot (a
//!    compare-exchange from null, release), or frees it when both are
//!    full. A producer that needs a block swaps a spare slot to null
//!    (acquire: it sees the reset) and allocates only when none holds one.
//!
//! # Why a recycled block is safe
//!
//! No thread dereferences a block before it has claimed a position in it
//! (a producer's or taker's exchange on the index), and a position is
//! claimed once: positions only grow, so an exchange with a stale index
//! fails, and a stale block pointer read beside it is never used. The
//! claimer of a position is done with the block when it sets `WRITE` (a
//! producer) or `READ` (a taker); the walk of step 3 reaches the end only
//! when every taker of the lap has set `READ`, and every taker waited for
//! its producer's `WRITE` first. So when a block is reset nobody will touch
//! it again through its old lap, which is exactly what `free` relied on:
//! reuse here is what reuse of the address by `malloc` was. The loom
//! models below check it with laps of two slots.
//!
//! # Order
//!
//! Tasks leave in the order their positions were claimed: one push that
//! ends before another begins claims the earlier position, so tasks start
//! in submission order (`tests/external_order.rs`).
//!
//! # Emptiness and the sleep protocol
//!
//! A worker going to sleep looks at the queues after its `SeqCst` fence
//! (`sleep.rs`, "Why no wake-up is lost"). [`Injector::is_empty`] compares
//! the two positions with `SeqCst` loads; a push's claim is a `SeqCst`
//! exchange of the tail before the pusher's fence, so a look after that
//! fence sees the position claimed, even before the task is written (a
//! taker then waits for `WRITE`). During a lap change the head may rest on
//! the marker; the positions then differ and the queue reads non-empty,
//! which only costs the looker another look.
//!
//! # Layer
//!
//! base (`lib.rs`, "Layers"): a data structure; the registry (sched) holds
//! one, and it knows nothing of what it holds.

use std::marker::PhantomData;
use std::mem::MaybeUninit;
use std::ptr;

use crossbeam_deque::{Steal, Worker};

use crate::sync::{AtomicPtr, AtomicUsize, Ordering, fence};
use crate::util::Padded;

/// Positions a lap spans: its slots and the marker. Two slots a lap under
/// loom, so that the models cross laps and recycle blocks.
#[cfg(not(loom))]
const LAP: usize = 64;
#[cfg(loom)]
const LAP: usize = 3;
/// Slots a block holds.
const BLOCK_CAP: usize = LAP - 1;
/// Low bits of an index that are not part of its position.
const SHIFT: usize = 1;
/// In `head.index`: a later lap's block is installed.
const HAS_NEXT: usize = 1;

/// Slot state: the task is written.
const WRITE: usize = 1;
/// Slot state: the task was read; its taker is done with the slot.
const READ: usize = 2;
/// Slot state: the block's retirement stopped here; the taker continues it.
const DESTROY: usize = 4;

/// Blocks a queue keeps for reuse (step 4): one for the lap the producers
/// will need next, one more for a retirement that overlaps it.
const SPARES: usize = 2;

/// The most tasks [`Injector::steal_batch_with_limit_and_pop`] puts on a
/// deque at once.
pub(crate) const BATCH_MAX: usize = 7;

/// Spins before a waiting thread starts yielding its CPU: the thread it
/// waits for may have been preempted between its claim and its write.
const SPINS_BEFORE_YIELD: u32 = 64;

/// `UnsafeCell` as loom sees it: loom's checks each access.
#[cfg(loom)]
use loom::cell::UnsafeCell;

#[cfg(not(loom))]
#[derive(Debug)]
struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }
    fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
        f(self.0.get())
    }
    fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Waits a little longer: a spin hint at first, then a yield (always a
/// yield under loom, which must see every spin loop give way).
struct Wait(u32);

impl Wait {
    fn new() -> Self {
        Wait(0)
    }
    fn once(&mut self) {
        if cfg!(loom) || self.0 >= SPINS_BEFORE_YIELD {
            crate::sync::yield_now();
        } else {
            self.0 += 1;
            std::hint::spin_loop();
        }
    }
}

struct Slot<T> {
    task: UnsafeCell<MaybeUninit<T>>,
    state: AtomicUsize,
}

impl<T> Slot<T> {
    fn new() -> Self {
        Slot {
            task: UnsafeCell::new(MaybeUninit::uninit()),
            state: AtomicUsize::new(0),
        }
    }

    fn wait_write(&self) {
        let mut wait = Wait::new();
        // Acquire: pairs with the producer's release when it sets `WRITE`:
        // the task is then visible.
        while self.state.load(Ordering::Acquire) & WRITE == 0 {
            wait.once();
        }
    }
}

struct Block<T> {
    next: AtomicPtr<Block<T>>,
    slots: [Slot<T>; BLOCK_CAP],
}

impl<T> Block<T> {
    fn allocate() -> *mut Block<T> {
        Box::into_raw(Box::new(Block {
            next: AtomicPtr::new(ptr::null_mut()),
            slots: std::array::from_fn(|_| Slot::new()),
        }))
    }

    fn wait_next(&self) -> *mut Block<T> {
        let mut wait = Wait::new();
        loop {
            // Acquire: pairs with the release of the producer that
            // installed the next block (step 1): its reset is visible.
            let next = self.next.load(Ordering::Acquire);
            if !next.is_null() {
                return next;
            }
            wait.once();
        }
    }
}

/// A position and the block of its lap.
struct Position<T> {
    index: AtomicUsize,
    block: AtomicPtr<Block<T>>,
}

/// The shared queue (see the module docs).
pub(crate) struct Injector<T> {
    head: Padded<Position<T>>,
    tail: Padded<Position<T>>,
    /// Retired blocks kept for reuse, or null (step 4).
    spares: Padded<[AtomicPtr<Block<T>>; SPARES]>,
    _owns: PhantomData<T>,
}

// SAFETY: the queue hands each `T` from the thread that pushed it to the
// one thread that takes it (a position is claimed once), so `T: Send`
// suffices for both; the blocks are shared only through the protocol above.
unsafe impl<T: Send> Send for Injector<T> {}
// SAFETY: as above.
unsafe impl<T: Send> Sync for Injector<T> {}

impl<T> std::fmt::Debug for Injector<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Injector")
            .field(
                "head",
                &(self.head.0.index.load(Ordering::Relaxed) >> SHIFT),
            )
            .field(
                "tail",
                &(self.tail.0.index.load(Ordering::Relaxed) >> SHIFT),
            )
            .finish()
    }
}

impl<T> Injector<T> {
    /// An empty queue with its first block.
    pub(crate) fn new() -> Self {
        let block = Block::allocate();
        Injector {
            head: Padded(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(block),
            }),
            tail: Padded(Position {
                index: AtomicUsize::new(0),
                block: AtomicPtr::new(block),
            }),
            spares: Padded(std::array::from_fn(|_| AtomicPtr::new(ptr::null_mut()))),
            _owns: PhantomData,
        }
    }

    /// A block for the next lap: a spare if there is one (step 4).
    fn fresh_block(&self) -> *mut Block<T> {
        for spare in self.spares.0.iter() {
            // A plain load first: an empty slot costs no locked instruction.
            if spare.load(Ordering::Relaxed).is_null() {
                continue;
            }
            // Acquire: pairs with the release that parked it, after its reset.
            let block = spare.swap(ptr::null_mut(), Ordering::Acquire);
            if !block.is_null() {
                return block;
            }
        }
        Block::allocate()
    }

    /// Resets `block` and parks it as a spare, or frees it (step 4).
    ///
    /// # Safety
    ///
    /// No other thread touches `block` any more, and it came from
    /// [`Block::allocate`].
    unsafe fn recycle(&self, block: *mut Block<T>) {
        // SAFETY: the caller's: nobody else refers to the block.
        let reset = unsafe { &*block };
        reset.next.store(ptr::null_mut(), Ordering::Relaxed);
        for slot in reset.slots.iter() {
            slot.state.store(0, Ordering::Relaxed);
        }
        for spare in self.spares.0.iter() {
            // Release: pairs with `fresh_block`'s acquire; the reset above
            // is seen by the producer that takes the block.
            if spare
                .compare_exchange(ptr::null_mut(), block, Ordering::Release, Ordering::Relaxed)
                .is_ok()
            {
                return;
            }
        }
        // SAFETY: as above; it was boxed by `Block::allocate`.
        drop(unsafe { Box::from_raw(block) });
    }

    /// Appends `task` (step 1).
    pub(crate) fn push(&self, task: T) {
        let mut wait = Wait::new();
        // Acquire (both): pair with the releases of the producer that moved
        // the tail to a new lap; its block pointer is then this lap's.
        let mut tail = self.tail.0.index.load(Ordering::Acquire);
        let mut block = self.tail.0.block.load(Ordering::Acquire);
        let mut next_block: *mut Block<T> = ptr::null_mut();
        loop {
            let offset = (tail >> SHIFT) % LAP;
            if offset == BLOCK_CAP {
                // Another producer is installing the next lap's block.
                wait.once();
                tail = self.tail.0.index.load(Ordering::Acquire);
                block = self.tail.0.block.load(Ordering::Acquire);
                continue;
            }
            if offset + 1 == BLOCK_CAP && next_block.is_null() {
                next_block = self.fresh_block();
            }
            let new_tail = tail + (1 << SHIFT);
            // SeqCst: the claim is what a sleeper's look after its fence
            // must see ("Emptiness and the sleep protocol"), and what a
            // taker's fenced load of the tail compares with.
            match self.tail.0.index.compare_exchange_weak(
                tail,
                new_tail,
                Ordering::SeqCst,
                Ordering::Acquire,
            ) {
                Ok(_) => {
                    if offset + 1 == BLOCK_CAP {
                        let next_index = new_tail.wrapping_add(1 << SHIFT);
                        // Release (all three): pair with the acquires of
                        // producers (tail) and takers (`next`, then head),
                        // which then see the block reset.
                        self.tail.0.block.store(next_block, Ordering::Release);
                        self.tail.0.index.store(next_index, Ordering::Release);
                        // SAFETY: this producer claimed a position in
                        // `block`'s lap, so the block is not retired before
                        // its slot is written (module docs, "Why a recycled
                        // block is safe").
                        unsafe { (*block).next.store(next_block, Ordering::Release) };
                        next_block = ptr::null_mut();
                    }
                    // SAFETY: as above; `offset < BLOCK_CAP`, and the slot
                    // is this producer's alone until it sets `WRITE`.
                    let slot = unsafe { (*block).slots.get_unchecked(offset) };
                    slot.task.with_mut(|cell| {
                        // SAFETY: the slot is this producer's (claimed above).
                        unsafe { cell.write(MaybeUninit::new(task)) }
                    });
                    // Release: pairs with the taker's acquire in
                    // `wait_write`: the task is written before the bit.
                    slot.state.fetch_or(WRITE, Ordering::Release);
                    if !next_block.is_null() {
                        // Taken for a lap change another producer made.
                        // SAFETY: nobody else has seen it.
                        unsafe { self.recycle(next_block) };
                    }
                    return;
                }
                Err(now) => {
                    tail = now;
                    block = self.tail.0.block.load(Ordering::Acquire);
                    wait.once();
                }
            }
        }
    }

    /// Whether the queue holds no task ("Emptiness and the sleep protocol").
    pub(crate) fn is_empty(&self) -> bool {
        // SeqCst (both): ordered with the sleeper's fence and the pushers'
        // claims (module docs).
        let head = self.head.0.index.load(Ordering::SeqCst);
        let tail = self.tail.0.index.load(Ordering::SeqCst);
        head >> SHIFT == tail >> SHIFT
    }

    /// Takes the oldest task (step 2). `Retry` when another taker claimed
    /// the same position first.
    pub(crate) fn steal(&self) -> Steal<T> {
        let mut wait = Wait::new();
        let (head, block, offset) = loop {
            // Acquire (both): pair with the releases of the taker that moved
            // the head to a new lap.
            let head = self.head.0.index.load(Ordering::Acquire);
            let block = self.head.0.block.load(Ordering::Acquire);
            let offset = (head >> SHIFT) % LAP;
            if offset != BLOCK_CAP {
                break (head, block, offset);
            }
            // Another taker is moving the head to the next lap.
            wait.once();
        };
        let mut new_head = head + (1 << SHIFT);
        if new_head & HAS_NEXT == 0 {
            // SeqCst: with the producers' SeqCst claims, the tail read below
            // is at least as new as any claim ordered before this fence.
            fence(Ordering::SeqCst);
            let tail = self.tail.0.index.load(Ordering::Relaxed);
            if head >> SHIFT == tail >> SHIFT {
                return Steal::Empty;
            }
            if (head >> SHIFT) / LAP != (tail >> SHIFT) / LAP {
                new_head |= HAS_NEXT;
            }
        }
        // SeqCst: the claim, ordered with the other takers' and with
        // `is_empty`'s loads.
        if self
            .head
            .0
            .index
            .compare_exchange_weak(head, new_head, Ordering::SeqCst, Ordering::Acquire)
            .is_err()
        {
            return Steal::Retry;
        }
        // SAFETY: this taker claimed position `head` in `block`'s lap, so
        // the block is not retired before this taker sets `READ` or retires
        // it itself (module docs, "Why a recycled block is safe").
        let lap_block = unsafe { &*block };
        if offset + 1 == BLOCK_CAP {
            let next = lap_block.wait_next();
            let mut next_index = (new_head & !HAS_NEXT).wrapping_add(1 << SHIFT);
            // SAFETY: `next` is the next lap's block, installed by the
            // producer that claimed this lap's last slot; it is retired only
            // after positions in its lap are claimed, which needs the head
            // moved there below.
            if !unsafe { &*next }.next.load(Ordering::Relaxed).is_null() {
                next_index |= HAS_NEXT;
            }
            // Release (both): pair with the takers' acquires of the head.
            self.head.0.block.store(next, Ordering::Release);
            self.head.0.index.store(next_index, Ordering::Release);
        }
        // SAFETY: `offset < BLOCK_CAP`.
        let slot = unsafe { lap_block.slots.get_unchecked(offset) };
        slot.wait_write();
        // SAFETY: `WRITE` is set (acquire): the producer wrote the task and
        // is done with the slot; this taker is its only reader.
        let task = slot.task.with(|cell| unsafe { cell.read().assume_init() });
        // The lap's last slot retires the block (step 3); any other sets
        // `READ` and finishes a retirement that stopped at it. AcqRel: the
        // release half tells the retiring walk this taker is done; the
        // acquire half sees the walk's `DESTROY` before continuing it.
        if offset + 1 == BLOCK_CAP || slot.state.fetch_or(READ, Ordering::AcqRel) & DESTROY != 0 {
            // SAFETY: this taker has claimed a slot of the block and is done
            // with it; `retire` stops at any slot still in use.
            unsafe { self.retire(block, offset) };
        }
        Steal::Success(task)
    }

    /// Step 3 from slot `below - 1` down: stops at a slot still in use
    /// (marking it `DESTROY`), else recycles the block.
    ///
    /// # Safety
    ///
    /// The caller claimed slot `below` of `block`'s lap (or its last) and is
    /// done with it.
    unsafe fn retire(&self, block: *mut Block<T>, below: usize) {
        // SAFETY: slot `below`'s taker (the caller) has not finished the
        // walk, so the block is alive.
        let lap_block = unsafe { &*block };
        for slot in lap_block.slots[..below].iter().rev() {
            // Acquire: pairs with that slot's taker's release of `READ`.
            // AcqRel on the mark: the release half hands the walk to that
            // taker; the acquire half sees a `READ` that raced with it.
            if slot.state.load(Ordering::Acquire) & READ == 0
                && slot.state.fetch_or(DESTROY, Ordering::AcqRel) & READ == 0
            {
                return;
            }
        }
        // SAFETY: every slot of the lap has been read and its taker is done
        // with it; no producer touches a block after its `WRITE`.
        unsafe { self.recycle(block) };
    }

    /// Takes the oldest task and up to `limit - 1` more (at most
    /// [`BATCH_MAX`]) onto `dest`, a LIFO deque, newest first, so that its
    /// pops hand them back oldest first: for a worker that is the only
    /// taker, which then runs them in order (`worker.rs`, `INJECTOR_BATCH`).
    pub(crate) fn steal_batch_with_limit_and_pop(
        &self,
        dest: &Worker<T>,
        limit: usize,
    ) -> Steal<T> {
        let first = match self.steal() {
            Steal::Success(task) => task,
            other => return other,
        };
        let mut rest: [Option<T>; BATCH_MAX] = std::array::from_fn(|_| None);
        let mut taken = 0;
        while taken + 1 < limit.min(BATCH_MAX + 1) {
            match self.steal() {
                Steal::Success(task) => {
                    rest[taken] = Some(task);
                    taken += 1;
                }
                Steal::Empty | Steal::Retry => break,
            }
        }
        for task in rest[..taken].iter_mut().rev() {
            if let Some(task) = task.take() {
                dest.push(task);
            }
        }
        Steal::Success(first)
    }
}

impl<T> Drop for Injector<T> {
    fn drop(&mut self) {
        let mut head = self.head.0.index.load(Ordering::Relaxed) & !HAS_NEXT;
        let tail = self.tail.0.index.load(Ordering::Relaxed);
        let mut block = self.head.0.block.load(Ordering::Relaxed);
        // `&mut self`: every push and take has ended, so every claimed
        // position's task is written, and the ones from head to tail were
        // never taken; the blocks of their laps are the queue's alone.
        while head >> SHIFT != tail >> SHIFT {
            let offset = (head >> SHIFT) % LAP;
            if offset < BLOCK_CAP {
                // SAFETY: `block` is this lap's (the walk follows `next` at
                // each marker), and `offset` is a slot of it.
                let slot = unsafe { (*block).slots.get_unchecked(offset) };
                slot.task.with_mut(|cell| {
                    // SAFETY: the slot holds a written task nobody took, and
                    // nothing else can reach it any more.
                    unsafe { ptr::drop_in_place((*cell).as_mut_ptr()) }
                });
            } else {
                // SAFETY: the lap is walked; its block came from
                // `Block::allocate` and nothing else refers to it.
                let next = unsafe { (*block).next.load(Ordering::Relaxed) };
                // SAFETY: as above.
                drop(unsafe { Box::from_raw(block) });
                block = next;
            }
            head = head.wrapping_add(1 << SHIFT);
        }
        // SAFETY: the tail's block, which no lap walked above frees.
        drop(unsafe { Box::from_raw(block) });
        for spare in self.spares.0.iter() {
            let spare = spare.load(Ordering::Relaxed);
            if !spare.is_null() {
                // SAFETY: a retired block, parked here by `recycle`; nothing
                // else refers to it.
                drop(unsafe { Box::from_raw(spare) });
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize as StdUsize;

    fn take(queue: &Injector<usize>) -> Option<usize> {
        loop {
            match queue.steal() {
                Steal::Success(v) => return Some(v),
                Steal::Empty => return None,
                Steal::Retry => {}
            }
        }
    }

    #[test]
    fn fifo_across_many_laps_on_one_thread() {
        let queue = Injector::new();
        assert!(queue.is_empty());
        let mut next = 0;
        for round in 0..50 {
            for i in 0..(round * 7) {
                queue.push(round * 1000 + i);
            }
            assert_eq!(queue.is_empty(), round == 0);
            for i in 0..(round * 7) {
                assert_eq!(take(&queue), Some(round * 1000 + i));
                next += 1;
            }
            assert!(queue.is_empty());
            assert_eq!(take(&queue), None);
        }
        assert!(next > 10 * LAP);
    }

    #[test]
    fn every_task_is_taken_once_in_each_producers_order() {
        const PER: usize = 40_000;
        let queue = Arc::new(Injector::new());
        let producers: Vec<_> = (0..2)
            .map(|p| {
                let queue = queue.clone();
                std::thread::spawn(move || {
                    for i in 0..PER {
                        queue.push(p * PER + i);
                    }
                })
            })
            .collect();
        let taken = Arc::new(StdUsize::new(0));
        let consumers: Vec<_> = (0..3)
            .map(|_| {
                let (queue, taken) = (queue.clone(), taken.clone());
                std::thread::spawn(move || {
                    let mut got = Vec::new();
                    while taken.load(Ordering::SeqCst) < 2 * PER {
                        if let Some(v) = take(&queue) {
                            taken.fetch_add(1, Ordering::SeqCst);
                            got.push(v);
                        }
                    }
                    got
                })
            })
            .collect();
        for p in producers {
            p.join().unwrap();
        }
        let mut all = Vec::new();
        for c in consumers {
            let got = c.join().unwrap();
            // Each consumer sees each producer's tasks in push order.
            for p in 0..2 {
                let mine: Vec<_> = got.iter().filter(|&&v| v / PER == p).collect();
                assert!(mine.windows(2).all(|w| w[0] < w[1]));
            }
            all.extend(got);
        }
        all.sort_unstable();
        assert_eq!(all, (0..2 * PER).collect::<Vec<_>>());
        assert!(queue.is_empty());
    }

    #[test]
    fn a_batch_comes_back_from_a_lifo_deque_in_order() {
        let queue = Injector::new();
        for i in 0..20 {
            queue.push(i);
        }
        let deque = Worker::new_lifo();
        let mut order = Vec::new();
        while let Steal::Success(first) = queue.steal_batch_with_limit_and_pop(&deque, 4) {
            order.push(first);
            while let Some(next) = deque.pop() {
                order.push(next);
            }
        }
        assert_eq!(order, (0..20).collect::<Vec<_>>());
        // A limit above the most a batch takes is capped, not overrun.
        for i in 0..20 {
            queue.push(i);
        }
        assert!(matches!(
            queue.steal_batch_with_limit_and_pop(&deque, 100),
            Steal::Success(0)
        ));
        assert_eq!(deque.len(), BATCH_MAX);
        assert_eq!(deque.pop(), Some(1));
    }

    #[test]
    fn dropping_the_queue_drops_what_it_holds() {
        let marker = Arc::new(());
        let queue = Injector::new();
        for _ in 0..(3 * LAP + 5) {
            queue.push(marker.clone());
        }
        for _ in 0..LAP {
            assert!(matches!(queue.steal(), Steal::Success(_)));
        }
        assert_eq!(Arc::strong_count(&marker), 1 + 2 * LAP + 5);
        drop(queue);
        assert_eq!(Arc::strong_count(&marker), 1);
    }
}

/// Model checks of the queue with laps of two slots
/// (`RUSTFLAGS="--cfg loom"`): tasks cross laps and blocks are recycled.
#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use loom::sync::Arc;
    use loom::sync::atomic::AtomicBool;

    /// Up to `attempts` takes, each a single `steal` (no waiting for an
    /// empty queue, which would leave loom a spin loop to explore).
    fn try_take(queue: &Injector<usize>, attempts: usize) -> Vec<usize> {
        (0..attempts)
            .filter_map(|_| match queue.steal() {
                Steal::Success(task) => Some(task),
                Steal::Empty | Steal::Retry => None,
            })
            .collect()
    }

    /// Takes what is left, once nothing pushes or takes any more.
    fn drain(queue: &Injector<usize>) -> Vec<usize> {
        let left = try_take(queue, 8);
        assert!(queue.is_empty());
        left
    }

    /// Two producers and a taker racing with them, across a lap change (a
    /// recycled block): every task is taken once, each producer's in its
    /// order. The taker is spawned: loom 0.7 never showed a main thread
    /// that only reads the values a spawned thread wrote (tokio-rs/loom#392;
    /// helper-94 found the first version of this model never took a task),
    /// so the model also checks that the taker took one in some execution.
    #[test]
    fn two_producers_and_a_taker_across_a_lap() {
        static TOOK: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
        // Unbounded, this model does not end in minutes; one preemption
        // explored 37,642 executions for helper-94.
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(1);
        model.check(|| {
            let queue = Arc::new(Injector::new());
            let producers: Vec<_> = (0..2)
                .map(|p| {
                    let queue = queue.clone();
                    loom::thread::spawn(move || {
                        queue.push(p * 10);
                        queue.push(p * 10 + 1);
                    })
                })
                .collect();
            let taker = {
                let queue = queue.clone();
                loom::thread::spawn(move || try_take(&queue, 2))
            };
            let mut got = taker.join().unwrap();
            if !got.is_empty() {
                TOOK.store(true, std::sync::atomic::Ordering::Relaxed);
            }
            for p in producers {
                p.join().unwrap();
            }
            got.extend(drain(&queue));
            for p in 0..2 {
                let mine: Vec<_> = got.iter().filter(|&&t| t / 10 == p).copied().collect();
                assert_eq!(mine, vec![p * 10, p * 10 + 1]);
            }
        });
        assert!(
            TOOK.load(std::sync::atomic::Ordering::Relaxed),
            "the taker raced with the pushes"
        );
    }

    /// One producer and two takers racing over a lap change, in a lap whose
    /// block is a recycled one: each task is taken exactly once, and each
    /// taker's in order.
    #[test]
    fn two_takers_share_a_lap_change_in_a_recycled_block() {
        // Unbounded, this model ran for more than ten minutes; three
        // preemptions explore it in about half a minute, and still find a
        // block recycled without its reset (checked by removing it).
        let mut model = loom::model::Builder::new();
        model.preemption_bound = Some(3);
        model.check(|| {
            let queue = Arc::new(Injector::new());
            // Lap 0 filled and emptied: its block is retired to a spare, and
            // the push of 3 (lap 1's last slot) installs it for lap 2.
            queue.push(0);
            queue.push(1);
            assert_eq!(try_take(&queue, 2), [0, 1]);
            queue.push(2);
            queue.push(3);
            let producer = {
                let queue = queue.clone();
                loom::thread::spawn(move || {
                    queue.push(4);
                    queue.push(5);
                })
            };
            let taker = {
                let queue = queue.clone();
                loom::thread::spawn(move || try_take(&queue, 2))
            };
            let mine = try_take(&queue, 2);
            let theirs = taker.join().unwrap();
            producer.join().unwrap();
            assert!(mine.windows(2).all(|w| w[0] < w[1]));
            assert!(theirs.windows(2).all(|w| w[0] < w[1]));
            let mut all: Vec<_> = mine
                .into_iter()
                .chain(theirs)
                .chain(drain(&queue))
                .collect();
            all.sort_unstable();
            assert_eq!(all, [2, 3, 4, 5]);
        });
    }

    /// The sleep protocol's race (`sleep.rs`, "Why no wake-up is lost"):
    /// a pusher does push, fence, load; a sleeper does store, fence, look.
    /// One of them sees the other.
    #[test]
    fn a_look_after_the_fence_sees_a_push_or_the_pusher_sees_the_sleeper() {
        loom::model(|| {
            let queue = Arc::new(Injector::new());
            let sleeping = Arc::new(AtomicBool::new(false));
            // Fill the first lap so that the push below changes laps.
            queue.push(0);
            let pusher = {
                let (queue, sleeping) = (queue.clone(), sleeping.clone());
                loom::thread::spawn(move || {
                    queue.push(1);
                    fence(Ordering::SeqCst);
                    sleeping.load(Ordering::Relaxed)
                })
            };
            assert_eq!(try_take(&queue, 1), [0]);
            sleeping.store(true, Ordering::Relaxed);
            fence(Ordering::SeqCst);
            let saw_task = !queue.is_empty();
            let saw_sleeper = pusher.join().unwrap();
            assert!(saw_task || saw_sleeper);
        });
    }
}

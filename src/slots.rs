//! Recycled memory for spawned jobs and task cells: a worker that spawns
//! takes a block from its own cache instead of `malloc`, and a worker that
//! runs a job puts its block in its own cache instead of `free`; task cells
//! do the same on every thread (see "Task cells").
//!
//! # Why
//!
//! A job spawned on a worker (`Scope::spawn`, `Pool::spawn` from a task) is
//! a boxed closure that is usually run, and freed, by a thief on another
//! thread. With the system allocator that is a cross-thread free for every
//! job: the spawner's thread cache runs dry and refills from its arena,
//! the thief's fills up and flushes into the spawner's arena under its lock.
//! A profile of 200,000 tiny spawns in a scope on 2 workers put ~30 % of the
//! workers' time in `malloc` and `free`. Handing each block back to the
//! worker that allocated it (a lock-free list per worker) removed those
//! calls but not the cost: the spawner then read each block's link while
//! its line still sat in the thief's cache, and that read was half of a
//! spawn's time.
//!
//! # How
//!
//! Every block of a class ([`Jobs`], [`Cells`]) has the class's size and
//! alignment ([`Class::LAYOUT`]) and belongs to nobody: it is memory of the global allocator, and any thread may free
//! it there. A job that fits and is spawned on a worker is placed in one,
//! from that worker's cache (a job spawned from outside the pool is boxed:
//! its thread would allocate every block anew while the workers piled
//! them up). When the job is run, cancelled or released, its block goes to
//! the cache of the worker that does that, or back to the allocator on any
//! other thread.
//!
//! A worker's cache ([`SlotCache`]) is an array of block pointers, so
//! taking a block reads no memory another thread wrote last (the block's
//! own line is only written, which does not stall the worker as a read
//! does). Caches exchange full *magazines* of [`Class::MAGAZINE`] blocks
//! through their pool's [`Depot`] under a lock, once per magazine: a
//! thief's cache fills up with the blocks of the jobs it runs and hands a
//! magazine to the depot; a spawner's cache runs dry and takes one.
//!
//! # What is kept
//!
//! A cache holds at most two magazines; a depot at most [`DEPOT_BLOCKS`]
//! blocks (beyond that, a full magazine's blocks go back to the
//! allocator). A
//! worker that has been parked for a while (`sleep.rs`, step 7) frees its
//! cache down to [`KEEP_PARKED`] blocks and empties the depot, in pieces:
//! an idle pool holds a few KiB. Freeing at every park instead lost the
//! blocks between two bursts of spawns a few microseconds apart.
//!
//! # Task cells
//!
//! A task cell (`task/cell.rs`) is shared by its handle and its queue
//! entry, and is freed by whichever lets go last: the thread that joins a
//! task, most often, and that thread submitted it too. A `submit` from
//! outside the pool therefore allocates on a thread that is not a worker,
//! and 200,000 of them held until joined grew glibc's heap by 25 MB, which
//! it gave back to the system at the end of each round and page-faulted in
//! again in the next: 62 ms a round against 38 ms with glibc's trimming
//! turned off (`--bench pool -- submit_outside`, 2026-12-06). So cells that
//! fit live in blocks of their own class ([`Cells`], 128 bytes), cached per
//! thread on every thread (a thread-local [`SlotCache`], at most two
//! magazines of 64 blocks: 16 KiB). Threads outside the pool trade them
//! through one process-wide depot ([`CELL_DEPOT`]): the joining thread's
//! frees feed its next submits. A worker's cache overflows into the
//! allocator instead: a worker frees the cells of tasks whose handles were
//! dropped (fire and forget, 20,000 in the idle benchmark's burst), and
//! had those gone to the depot, the parked workers' chore below would have
//! freed them one by one in what should be idle time (2.9 ms of CPU in the
//! idle second after that burst, against 0.06).
//!
//! What the depot holds is given back once the pools have been idle for
//! half a second: a worker that has been parked that long empties it
//! (`worker.rs`, `sleep.rs` step 7), a piece at a time, and once 4 MiB
//! or more have been freed that way it ends with glibc's `malloc_trim`
//! (the blocks threads' caches keep may sit at the top of the heap, where
//! they stop glibc from shrinking it). A worker that
//! parks with no chore leaves its pool's name in [`TRIMMER`], and a thread
//! outside the pool that stocks the empty depot wakes one of its workers,
//! which parks again with the chore: handles joined long after the workers
//! went to sleep, or promises settled beside an idle pool, stocked it for
//! good before (a second reader's reproducers: 28 MB live for good; now
//! 111 KiB and 2.7 MB resident 2 s later). The latest worker to park with
//! no chore is named (a pool named earlier may have shut down or be busy
//! for good), one wake-up is sent until a worker parks again or finds the
//! depot empty ([`TRIM_ASKED`]), and a worker parking with no chore looks
//! at the depot in its last look before it sleeps. Where no live pool is
//! named (the one named has left, or no worker has parked yet), the
//! stocking thread empties the depot itself, and so it does where the
//! pool named has no worker asleep or searching (all busy). Every worker
//! empties it as it exits (a worker woken for it may find its pool
//! shutting down), and a thread outside the pool stocks it only while a
//! worker is alive. The price: bursts of submits more than
//! half a second apart fault their cells in again, as every burst did
//! before (200,000 submits joined, bursts 700 ms apart: 61–86 ms a burst,
//! 58–68 with `Arc` cells; 300 ms apart: 35–42, against 62–69).
//!
//! # Layer
//!
//! `sched` (`lib.rs`, "Layers"): used by `job.rs`, `worker.rs`,
//! `registry.rs` and the task cells; it knows nothing about jobs or cells
//! but their size.

use std::alloc::Layout;
use std::cell::RefCell;
use std::marker::PhantomData;
use std::ptr::NonNull;
use std::sync::{Arc, Weak};

use crate::registry::Registry;

#[cfg(not(loom))]
use crate::sync::AtomicBool;
use crate::sync::{AtomicUsize, Mutex, Ordering};

/// A kind of block: its layout, and how many a magazine holds.
pub(crate) trait Class: 'static {
    /// Size and alignment of every block of the class.
    const LAYOUT: Layout;
    /// Blocks per magazine: what a cache hands to or takes from the depot
    /// at once.
    const MAGAZINE: usize;
}

/// The blocks of spawned jobs.
#[derive(Debug)]
pub(crate) enum Jobs {}

impl Class for Jobs {
    /// A job whose closure takes up to 7 words fits (the job's header takes
    /// one; a scope's bookkeeping takes three of the seven, so a scoped
    /// closure may capture four). Measured against 128-byte blocks (200,000
    /// tiny spawns in a scope, interleaved with rayon in one run):
    /// 0.35-0.41x rayon's time against 0.39-0.41x, and in criterion
    /// 0.32-0.44x against 0.59-0.62x: a burst's blocks outgrow the caches,
    /// and half the size is half the memory traffic.
    const LAYOUT: Layout = layout(64);
    const MAGAZINE: usize = 256;
}

/// The blocks of task cells (see "Task cells" above): the cell of a
/// closure that captures three words and returns one takes 120 bytes and
/// fits, as does one that captures a word and returns a `String`
/// (`task/cell_tests.rs`). Smaller magazines than the jobs' keep what a
/// thread outside the pool holds small.
#[derive(Debug)]
pub(crate) enum Cells {}

impl Class for Cells {
    const LAYOUT: Layout = layout(128);
    const MAGAZINE: usize = 64;
}

const fn layout(size: usize) -> Layout {
    match Layout::from_size_align(size, 16) {
        Ok(layout) => layout,
        Err(_) => panic!("a valid layout"),
    }
}

/// Blocks a depot holds, in full magazines: 16 MiB of job blocks per pool
/// (enough that a burst of 200,000 spawns recycles all its blocks), 32 MiB
/// of cell blocks in the process.
const DEPOT_BLOCKS: usize = 1 << 18;

/// How many blocks ahead of use a cache prefetches.
const PREFETCH_AHEAD: usize = 4;

/// Blocks a worker keeps when it has been parked a while.
pub(crate) const KEEP_PARKED: usize = 64;

/// Whether a value of type `T` fits in a job block.
pub(crate) const fn fits<T>() -> bool {
    fits_layout::<Jobs>(Layout::new::<T>())
}

/// Whether a value of `layout` fits in a block of class `C`.
pub(crate) const fn fits_layout<C: Class>(layout: Layout) -> bool {
    layout.size() <= C::LAYOUT.size() && layout.align() <= C::LAYOUT.align()
}

/// A free block of class `C`, owned by whoever holds the value and given
/// back to the allocator when it is dropped.
#[derive(Debug)]
pub(crate) struct Block<C: Class = Jobs>(NonNull<u8>, PhantomData<C>);

// SAFETY: a free block is plain memory of the global allocator that nobody
// else points to; whichever thread holds it may use or free it.
unsafe impl<C: Class> Send for Block<C> {}

impl<C: Class> Block<C> {
    /// A new block from the global allocator (which aborts on out-of-memory,
    /// as `Box::new` does).
    fn alloc() -> Self {
        // SAFETY: the layout has a non-zero size.
        let ptr = unsafe { std::alloc::alloc(C::LAYOUT) };
        let ptr = NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(C::LAYOUT));
        Block(ptr, PhantomData)
    }

    /// Gives up ownership: the caller keeps the memory until
    /// [`Block::from_raw`] takes it back.
    pub(crate) fn into_raw(self) -> NonNull<u8> {
        std::mem::ManuallyDrop::new(self).0
    }

    /// Takes back a block given up with [`Block::into_raw`].
    ///
    /// # Safety
    ///
    /// `ptr` comes from `into_raw`, is taken back once, and nothing uses it
    /// any more.
    pub(crate) unsafe fn from_raw(ptr: NonNull<u8>) -> Self {
        Block(ptr, PhantomData)
    }
}

impl Block<Jobs> {
    /// Gives the block to this thread's worker's cache if it is a worker,
    /// else to the allocator.
    pub(crate) fn release(self) {
        if let Some(worker) = crate::worker::WorkerThread::current() {
            worker.slots().put(self, &worker.registry().depot);
        }
    }
}

impl<C: Class> Drop for Block<C> {
    fn drop(&mut self) {
        // SAFETY: a block is allocated with this layout and owned by `self`.
        unsafe { std::alloc::dealloc(self.0.as_ptr(), C::LAYOUT) };
    }
}

/// Magazines shared by caches (a pool's workers' for jobs, every thread's
/// for cells): full ones, and the empty arrays caches gave up for them (so
/// that an exchange allocates nothing: an array freed on another thread
/// than the one that allocated it is what the blocks are here to avoid).
#[derive(Debug)]
pub(crate) struct Depot<C: Class = Jobs> {
    shelves: Mutex<Shelves<C>>,
    /// How many full magazines there are, for a look without the lock (a
    /// hint: a cache that misses one asks the allocator, nothing else).
    len: AtomicUsize,
}

#[derive(Debug)]
struct Shelves<C: Class> {
    full: Vec<Vec<Block<C>>>,
    empty: Vec<Vec<Block<C>>>,
}

/// The process's depot of cell blocks (see "Task cells" above).
#[cfg(not(loom))]
pub(crate) static CELL_DEPOT: Depot<Cells> = Depot::new();

impl<C: Class> Depot<C> {
    /// The capacity of every cache's array: two magazines.
    const CACHE_CAPACITY: usize = 2 * C::MAGAZINE;

    /// Full magazines the depot holds at most.
    const MAX_FULL: usize = DEPOT_BLOCKS / C::MAGAZINE;

    #[cfg(not(loom))]
    pub(crate) const fn new() -> Self {
        Depot {
            shelves: Mutex::new(Shelves {
                full: Vec::new(),
                empty: Vec::new(),
            }),
            len: AtomicUsize::new(0),
        }
    }

    #[cfg(loom)]
    pub(crate) fn new() -> Self {
        Depot {
            shelves: Mutex::new(Shelves {
                full: Vec::new(),
                empty: Vec::new(),
            }),
            len: AtomicUsize::new(0),
        }
    }

    /// Swaps the empty array `mine` for a full magazine, if there is one.
    fn take(&self, mine: &mut Vec<Block<C>>) {
        if self.len.load(Ordering::Relaxed) == 0 {
            return;
        }
        let mut shelves = self.shelves.lock();
        if let Some(full) = shelves.full.pop() {
            self.len.store(shelves.full.len(), Ordering::Relaxed);
            let empty = std::mem::replace(mine, full);
            shelves.empty.push(empty);
        }
    }

    /// Moves the newest [`Class::MAGAZINE`] blocks of `mine` to a full
    /// magazine here, or to the allocator when the depot holds enough.
    /// Returns how many full magazines the depot holds after, or 0 where
    /// the blocks went to the allocator.
    fn put(&self, mine: &mut Vec<Block<C>>) -> usize {
        let at = mine.len() - C::MAGAZINE;
        let mut shelves = self.shelves.lock();
        if shelves.full.len() >= Self::MAX_FULL {
            drop(shelves);
            mine.truncate(at);
            return 0;
        }
        let mut magazine = shelves
            .empty
            .pop()
            .unwrap_or_else(|| Vec::with_capacity(Self::CACHE_CAPACITY));
        magazine.extend(mine.drain(at..));
        shelves.full.push(magazine);
        self.len.store(shelves.full.len(), Ordering::Relaxed);
        shelves.full.len()
    }

    /// Whether full magazines are here (a hint, read without the lock).
    pub(crate) fn is_stocked(&self) -> bool {
        self.len.load(Ordering::Relaxed) > 0
    }

    /// Frees one full magazine's blocks and the spare arrays (outside the
    /// lock); says whether it took a magazine, and whether full magazines
    /// are left.
    pub(crate) fn trim_one(&self) -> (bool, bool) {
        let (full, empty) = {
            let mut shelves = self.shelves.lock();
            let full = shelves.full.pop();
            self.len.store(shelves.full.len(), Ordering::Relaxed);
            (full, std::mem::take(&mut shelves.empty))
        };
        let took = full.is_some();
        drop((full, empty));
        (took, self.len.load(Ordering::Relaxed) > 0)
    }
}

/// One worker's blocks; see the module doc. Used by its own thread only
/// (the worker is `!Sync`). The `RefCell` is never found borrowed unless a
/// global allocator spawns or runs jobs from inside `alloc`; then the
/// allocator serves instead.
#[derive(Debug)]
pub(crate) struct SlotCache<C: Class = Jobs> {
    blocks: RefCell<Vec<Block<C>>>,
}

impl<C: Class> SlotCache<C> {
    pub(crate) fn new() -> Self {
        SlotCache {
            blocks: RefCell::new(Vec::with_capacity(Depot::<C>::CACHE_CAPACITY)),
        }
    }

    /// A free block: from this cache, else a magazine from `depot`, else
    /// the allocator.
    #[inline]
    pub(crate) fn take(&self, depot: &Depot<C>) -> Block<C> {
        let Ok(mut blocks) = self.blocks.try_borrow_mut() else {
            return Block::alloc();
        };
        if blocks.is_empty() {
            depot.take(&mut blocks);
        }
        let Some(block) = blocks.pop() else {
            return Block::alloc();
        };
        // The blocks were most likely last touched by another worker: start
        // fetching the line of the one a few spawns ahead, so that it is
        // here by then (a spawn's push ends in a fence, which waits for
        // every store before it, a store to a line still elsewhere too).
        if let Some(ahead) = blocks.len().checked_sub(PREFETCH_AHEAD) {
            prefetch(blocks[ahead].0);
        }
        block
    }

    /// Keeps a free block; hands a magazine to `depot` when full.
    #[inline]
    pub(crate) fn put(&self, block: Block<C>, depot: &Depot<C>) {
        let _ = self.put_or_free(block, Some(depot));
    }

    /// Keeps a free block; when full, hands a magazine to `depot`, or with
    /// none frees a magazine's worth. Returns how many full magazines the
    /// depot holds after a hand-over (0 where there was none).
    #[inline]
    fn put_or_free(&self, block: Block<C>, depot: Option<&Depot<C>>) -> usize {
        let Ok(mut blocks) = self.blocks.try_borrow_mut() else {
            drop(block);
            return 0;
        };
        let full = Depot::<C>::CACHE_CAPACITY;
        let mut stocked = 0;
        if blocks.len() >= full {
            match depot {
                Some(depot) => stocked = depot.put(&mut blocks),
                None => blocks.truncate(full - C::MAGAZINE),
            }
        }
        blocks.push(block);
        stocked
    }

    /// Whether [`SlotCache::trim_some`] would free anything.
    pub(crate) fn wants_trim(&self, depot: &Depot<C>) -> bool {
        self.blocks.borrow().len() > KEEP_PARKED || depot.is_stocked()
    }

    /// Frees this cache's blocks beyond [`KEEP_PARKED`], or one magazine of
    /// the depot's, and says whether there is more to free; for a worker
    /// that has been parked a while (`sleep.rs`, step 7).
    pub(crate) fn trim_some(&self, depot: &Depot<C>) -> bool {
        let mut blocks = self.blocks.borrow_mut();
        if blocks.len() <= KEEP_PARKED {
            drop(blocks);
            return depot.trim_one().1;
        }
        blocks.truncate(KEEP_PARKED);
        depot.len.load(Ordering::Relaxed) > 0
    }
}

#[cfg(not(loom))]
thread_local! {
    /// This thread's cell blocks (see "Task cells" above).
    static CELL_CACHE: SlotCache<Cells> = SlotCache::new();
}

/// Memory for a task cell of `layout`: a cell block when the cell fits
/// one (from this thread's cache, else the depot, else the allocator),
/// else the allocator's, as a `Box` would give. Aborts on out-of-memory,
/// as `Box::new` does.
pub(crate) fn alloc_cell(layout: Layout) -> NonNull<u8> {
    #[cfg(not(loom))]
    if fits_layout::<Cells>(layout) {
        // A thread whose cache is gone (in its thread-local destructors)
        // asks the allocator.
        let block = CELL_CACHE
            .try_with(|cache| cache.take(&CELL_DEPOT))
            .unwrap_or_else(|_| Block::alloc());
        return block.into_raw();
    }
    assert!(layout.size() > 0, "a task cell has a header");
    // SAFETY: the layout has a non-zero size.
    let ptr = unsafe { std::alloc::alloc(layout) };
    NonNull::new(ptr).unwrap_or_else(|| std::alloc::handle_alloc_error(layout))
}

/// Frees memory that [`alloc_cell`] gave: a cell block goes to this
/// thread's cache (or, in its thread-local destructors, to the allocator).
///
/// # Safety
///
/// `ptr` came from `alloc_cell(layout)`, with the same `layout`, is freed
/// once, and nothing uses it any more.
pub(crate) unsafe fn free_cell(ptr: NonNull<u8>, layout: Layout) {
    #[cfg(not(loom))]
    if fits_layout::<Cells>(layout) {
        // SAFETY: `alloc_cell` gave a cell block for this layout (the same
        // test chose it); the caller gives it back once.
        let block = unsafe { Block::<Cells>::from_raw(ptr) };
        // A worker's spare blocks go back to the allocator, not to the
        // depot: a worker frees the cells of tasks whose handles are gone
        // (fire and forget), while their submitter allocates, and blocks
        // piling up in the depot would be freed only when the workers idle,
        // as CPU in their idle time ("Task cells" above). With no worker
        // alive in the process (promises alone, or every pool dropped),
        // nobody would ever empty the depot: the blocks go back to the
        // allocator too. Where the cache is gone, the closure is dropped
        // unrun, and the block with it: back to the allocator.
        let to_depot = crate::worker::WorkerThread::current().is_none()
            && WORKERS_ALIVE.load(Ordering::SeqCst) > 0;
        let stocked = CELL_CACHE
            .try_with(move |cache| cache.put_or_free(block, to_depot.then_some(&CELL_DEPOT)))
            .unwrap_or(0);
        if stocked == 0 {
            return;
        }
        // The last worker may have left since the look above. SeqCst: pairs
        // with `worker_exiting`'s decrement and drain; the depot's lock
        // orders this put and that drain, and whichever comes second sees
        // the other (the drain sees this magazine, or this load sees no
        // worker left and empties the depot here).
        if WORKERS_ALIVE.load(Ordering::SeqCst) == 0 {
            drain_cells(true);
        } else if stocked == 1 {
            // The depot was empty: its blocks need a worker's chore.
            wake_trimmer();
        }
        return;
    }
    // SAFETY: the caller's contract: allocated by the allocator with
    // `layout`, freed once.
    unsafe { std::alloc::dealloc(ptr.as_ptr(), layout) };
}

/// Worker threads alive in the process, of every pool: while there are
/// none, nobody empties the cell depot, so a thread outside the pool that
/// stocks it empties it at once.
#[cfg(not(loom))]
static WORKERS_ALIVE: AtomicUsize = AtomicUsize::new(0);

/// A worker thread starts (`worker.rs`).
pub(crate) fn worker_started() {
    #[cfg(not(loom))]
    WORKERS_ALIVE.fetch_add(1, Ordering::SeqCst);
}

/// A worker thread leaves: it empties the cell depot, and a thread outside
/// the pool that stocks it after the last one has left sees none alive
/// (see `free_cell`).
///
/// Every exiting worker empties it, not only the last: a worker woken for
/// the depot ([`wake_trimmer`]) that finds its pool shutting down exits
/// instead of parking with the chore, and the wake-up was the depot's only
/// one ([`TRIM_ASKED`] stays set, and the depot is never found empty again
/// to ask for another). A third reader (helper-88) left 41 MB allocated for
/// good that way, beside another pool parked with no chore. Emptying it
/// also clears `TRIM_ASKED`; an empty depot costs a look under its lock.
pub(crate) fn worker_exiting(registry: &Arc<Registry>) {
    #[cfg(not(loom))]
    {
        // A pool that is leaving wakes nobody for the depot: the next
        // worker to park with no chore is named instead.
        let mut trimmer = TRIMMER.lock();
        if names(&trimmer, registry) {
            *trimmer = None;
        }
        drop(trimmer);
        // SeqCst: pairs with `free_cell`'s loads (see there); the drain
        // comes after the decrement, so the last worker's sees every
        // magazine stocked while a worker was alive.
        WORKERS_ALIVE.fetch_sub(1, Ordering::SeqCst);
        drain_cells(true);
    }
    #[cfg(loom)]
    let _ = registry;
}

/// Frees every magazine of the process's cell depot; with `release`, then
/// hands the allocator's free memory back to the system ([`trim_cells`]).
#[cfg(not(loom))]
fn drain_cells(release: bool) {
    while trim_cells_then(release) {}
}

/// Whether the process's cell depot holds blocks to free (`worker.rs`'s
/// idle chore).
pub(crate) fn cells_stocked() -> bool {
    #[cfg(not(loom))]
    return CELL_DEPOT.is_stocked();
    #[cfg(loom)]
    return false;
}

/// Frees one magazine of the process's cell depot; says whether more are
/// left. Freeing the last one, after [`RELEASE_AFTER_MAGAZINES`] or more,
/// also hands the allocator's free memory back to the system (glibc's
/// `malloc_trim`): the blocks that threads' caches
/// keep may sit at the top of glibc's heap, where they stop it from
/// shrinking the heap as it did when every cell was freed (a second
/// reader's burst of 200,000 submits, joined, then idle: 34 MB resident
/// after the depot was emptied, 2.7 MB after `malloc_trim`).
pub(crate) fn trim_cells() -> bool {
    #[cfg(not(loom))]
    return trim_cells_then(true);
    #[cfg(loom)]
    return false;
}

/// Cell magazines freed since the allocator last handed memory back.
#[cfg(not(loom))]
static TRIMMED: AtomicUsize = AtomicUsize::new(0);

/// How many freed magazines (of 64 blocks: 8 KiB each) make it worth
/// handing the allocator's free memory back: 4 MiB.
#[cfg(not(loom))]
const RELEASE_AFTER_MAGAZINES: usize = 512;

/// [`trim_cells`], handing free memory back only with `release`.
#[cfg(not(loom))]
fn trim_cells_then(release: bool) -> bool {
    let (took, more) = CELL_DEPOT.trim_one();
    if took {
        let trimmed = TRIMMED.fetch_add(1, Ordering::Relaxed) + 1;
        // Only the thread that took the last magazine (a second reader
        // counted 16 calls in 8 idle spells of 2 workers), and only after a
        // burst's worth: `malloc_trim` walks the whole heap (~0.4 ms here),
        // which a few magazines freed after a fire-and-forget burst are not
        // worth (the idle benchmark's idle second read 0.49 ms once that
        // way).
        if release && !more && trimmed >= RELEASE_AFTER_MAGAZINES {
            TRIMMED.store(0, Ordering::Relaxed);
            release_free_memory();
        }
    }
    if !more {
        // Emptied: the next stock asks for a chore again.
        TRIM_ASKED.store(false, Ordering::SeqCst);
    }
    more
}

/// The registry of a worker that parked with no chore (the latest to): a
/// thread outside the pool that stocks the empty cell depot wakes one of
/// its workers ([`wake_trimmer`]), which then parks again with the chore
/// (`sleep.rs`, step 7), so that blocks freed after every worker went to
/// sleep do not stay for good.
#[cfg(not(loom))]
static TRIMMER: Mutex<Option<Weak<Registry>>> = Mutex::new(None);

/// Whether `trimmer` (what [`TRIMMER`] holds) names `registry`'s pool.
#[cfg(not(loom))]
fn names(trimmer: &Option<Weak<Registry>>, registry: &Arc<Registry>) -> bool {
    trimmer
        .as_ref()
        .is_some_and(|weak| std::ptr::eq(weak.as_ptr(), Arc::as_ptr(registry)))
}

/// A worker parks with no chore: its pool is named in [`TRIMMER`], to be
/// woken to empty the cell depot (a look at the slot, and a store only
/// where it names another pool), and a wake-up sent for the depot is
/// spent ([`TRIM_ASKED`]).
pub(crate) fn parked_without_chore(registry: &Arc<Registry>) {
    #[cfg(not(loom))]
    {
        // The latest to park is named: a pool named before may have shut
        // down or be busy for good (a third reader's reproducers left 28
        // MB in the depot that way while another pool idled).
        if let Some(mut trimmer) = TRIMMER.try_lock()
            && !names(&trimmer, registry)
        {
            *trimmer = Some(Arc::downgrade(registry));
        }
        // A wake-up sent for the depot has been spent (this worker may be
        // the one woken): the next stock sends another. SeqCst: pairs with
        // `wake_trimmer`'s swap.
        TRIM_ASKED.store(false, Ordering::SeqCst);
    }
    #[cfg(loom)]
    let _ = registry;
}

/// A wake-up was sent for the cell depot ([`wake_trimmer`]) and no worker
/// has parked with no chore, nor found the depot empty after a chore,
/// since: later stocks send none. Without it, every refill of the depot
/// woke an idle pool (a thread settling bursts of 200 promises beside it:
/// 31,000–41,000 wake-ups and 310–340 ms of the workers' CPU a second).
#[cfg(not(loom))]
static TRIM_ASKED: AtomicBool = AtomicBool::new(false);

/// Wakes a sleeping worker of [`TRIMMER`]'s pool, so that it parks again
/// with the chore that empties the cell depot. Where no pool is named, the
/// one named is shutting down, or none of its workers is asleep or
/// searching (all busy: none would park soon, and a second reader's pool
/// busy for 6 s held 41 MB meanwhile), nobody would empty it soon: this
/// thread does, and the next worker to park with no chore is named. (A
/// searching worker parks with the chore: a chore-less park's last look
/// includes the depot.)
#[cfg(not(loom))]
fn wake_trimmer() {
    if TRIM_ASKED.swap(true, Ordering::SeqCst) {
        return;
    }
    let registry = TRIMMER.lock().as_ref().and_then(Weak::upgrade);
    let woken =
        registry.is_some_and(|registry| registry.sleep.is_hungry() && !registry.sleep.notify_one());
    if !woken {
        // Without `malloc_trim`: this may happen at every refill while
        // no worker is named (a pool's start), where a walk of the heap
        // each time would cost more than it gives back.
        *TRIMMER.lock() = None;
        drain_cells(false);
        TRIM_ASKED.store(false, Ordering::SeqCst);
    }
}

/// Asks the allocator to hand its free memory back to the system, where
/// that is glibc's (elsewhere, nothing).
#[cfg(not(loom))]
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu", not(miri)))]
    // SAFETY: `malloc_trim` takes a size and touches only the allocator's
    // own free lists, under its locks; any thread may call it.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// Asks the CPU to bring `ptr`'s cache line in, for writing soon.
#[inline(always)]
fn prefetch(ptr: NonNull<u8>) {
    #[cfg(all(target_arch = "x86_64", not(miri)))]
    // SAFETY: a prefetch never faults, whatever the address.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_ET0 }>(
            ptr.as_ptr().cast_const().cast(),
        );
    }
    #[cfg(any(not(target_arch = "x86_64"), miri))]
    let _ = ptr;
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const MAGAZINE: usize = Jobs::MAGAZINE;
    const CACHE_CAPACITY: usize = Depot::<Jobs>::CACHE_CAPACITY;
    const DEPOT_MAX: usize = Depot::<Jobs>::MAX_FULL;

    fn blocks(n: usize) -> Vec<Block> {
        (0..n).map(|_| Block::<Jobs>::alloc()).collect()
    }

    #[test]
    fn a_full_cache_hands_a_magazine_to_the_depot_and_a_dry_one_takes_it() {
        let depot = Depot::<Jobs>::new();
        let (giver, taker) = (SlotCache::<Jobs>::new(), SlotCache::<Jobs>::new());
        let given: Vec<usize> = blocks(2 * MAGAZINE + 1)
            .into_iter()
            .map(|block| {
                let addr = block.0.as_ptr() as usize;
                giver.put(block, &depot);
                addr
            })
            .collect();
        assert_eq!(giver.blocks.borrow().len(), MAGAZINE + 1);
        assert_eq!(depot.len.load(Ordering::Relaxed), 1);
        // The dry cache takes the magazine: blocks the giver freed, newest
        // first, without asking the allocator.
        let taken: Vec<Block> = (0..MAGAZINE).map(|_| taker.take(&depot)).collect();
        assert_eq!(depot.len.load(Ordering::Relaxed), 0);
        let expected: Vec<usize> = given[MAGAZINE..2 * MAGAZINE]
            .iter()
            .rev()
            .copied()
            .collect();
        let got: Vec<usize> = taken.iter().map(|b| b.0.as_ptr() as usize).collect();
        assert_eq!(got, expected);
        drop(taken);
    }

    #[test]
    fn a_full_depot_sends_magazines_back_to_the_allocator() {
        let depot = Depot::<Jobs>::new();
        for _ in 0..DEPOT_MAX + 3 {
            let mut mine = blocks(MAGAZINE + 1);
            depot.put(&mut mine);
            assert_eq!(mine.len(), 1, "a magazine's worth left the cache");
        }
        assert_eq!(depot.shelves.lock().full.len(), DEPOT_MAX);
        assert_eq!(depot.len.load(Ordering::Relaxed), DEPOT_MAX);
    }

    #[test]
    fn exchanges_reuse_the_arrays_they_free() {
        let depot = Depot::<Jobs>::new();
        let (giver, taker) = (SlotCache::<Jobs>::new(), SlotCache::<Jobs>::new());
        for round in 0..3 {
            // One more than a cache holds: a magazine goes to the depot.
            for block in blocks(CACHE_CAPACITY + 1) {
                giver.put(block, &depot);
            }
            let taken: Vec<Block> = (0..MAGAZINE).map(|_| taker.take(&depot)).collect();
            // The taker's empty array went to the depot for the next put.
            assert_eq!(depot.shelves.lock().empty.len(), 1, "round {round}");
            drop(taken);
            giver.blocks.borrow_mut().clear();
        }
    }

    #[test]
    fn trimming_keeps_a_few_blocks_and_empties_the_depot_piece_by_piece() {
        let depot = Depot::<Jobs>::new();
        let cache = SlotCache::<Jobs>::new();
        assert!(!cache.wants_trim(&depot), "nothing to free");
        for block in blocks(2 * MAGAZINE) {
            cache.put(block, &depot);
        }
        depot.put(&mut blocks(MAGAZINE));
        depot.put(&mut blocks(MAGAZINE));
        assert!(cache.wants_trim(&depot));
        // First the cache's own excess, then one magazine per piece.
        assert!(cache.trim_some(&depot));
        assert_eq!(cache.blocks.borrow().len(), KEEP_PARKED);
        assert!(cache.trim_some(&depot));
        assert!(
            !cache.trim_some(&depot),
            "the last piece says it was the last"
        );
        assert_eq!(depot.len.load(Ordering::Relaxed), 0);
        assert!(!cache.wants_trim(&depot));
        assert_eq!(cache.blocks.borrow().len(), KEEP_PARKED);
    }

    #[test]
    fn a_full_cache_without_a_depot_frees_a_magazines_worth() {
        let cache = SlotCache::<Cells>::new();
        let full = Depot::<Cells>::CACHE_CAPACITY;
        for _ in 0..=full {
            cache.put_or_free(Block::<Cells>::alloc(), None);
        }
        assert_eq!(cache.blocks.borrow().len(), full - Cells::MAGAZINE + 1);
    }

    #[test]
    fn cell_blocks_freed_outside_the_pool_come_back_to_its_allocations() {
        // This test's thread is no worker: its frees fill its cache (two
        // magazines) and overflow into the process's depot, and its
        // allocations take them back.
        let layout = Layout::from_size_align(100, 8).unwrap();
        let cells: Vec<NonNull<u8>> = (0..3 * Cells::MAGAZINE)
            .map(|_| alloc_cell(layout))
            .collect();
        let freed: std::collections::HashSet<usize> =
            cells.iter().map(|p| p.as_ptr() as usize).collect();
        for cell in cells {
            // SAFETY: from `alloc_cell` with this layout, freed once.
            unsafe { free_cell(cell, layout) };
        }
        // Other tests' threads share the depot (and exiting workers empty
        // it), so only the cache's two magazines are sure to come back.
        let again: Vec<NonNull<u8>> = (0..3 * Cells::MAGAZINE)
            .map(|_| alloc_cell(layout))
            .collect();
        let reused = again
            .iter()
            .filter(|p| freed.contains(&(p.as_ptr() as usize)))
            .count();
        assert!(reused >= 2 * Cells::MAGAZINE, "reused {reused}");
        for cell in again {
            // SAFETY: as above.
            unsafe { free_cell(cell, layout) };
        }
    }

    #[test]
    fn a_borrowed_cache_falls_back_to_the_allocator() {
        let depot = Depot::<Jobs>::new();
        let cache = SlotCache::<Jobs>::new();
        cache.put(Block::<Jobs>::alloc(), &depot);
        let _held = cache.blocks.borrow_mut();
        // As a global allocator that spawned from inside `alloc` would find
        // it: no panic, no reentrant borrow.
        let block = cache.take(&depot);
        cache.put(block, &depot);
    }
}

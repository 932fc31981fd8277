//! Data parallelism over indexed input: [`Pool::par`] splits a range, a
//! slice, a `Vec` or a zip of two across the pool's workers, and maps,
//! mutates, collects or reduces it in place.
//!
//! ```
//! let pool = corepool::Pool::builder().workers(2).build()?;
//!
//! let squares: Vec<u64> = pool.par(0..1_000u64).map(|x| x * x).collect();   // into a Vec
//! let mut data = vec![1u32; 10_000];
//! pool.par(&mut data).for_each(|x| *x += 1);                                 // in place
//! pool.par_chunks_mut(&mut data, 4096).for_each(|chunk| chunk.sort());       // chunks
//! let (a, b) = (vec![1.0f64; 1000], vec![2.0f64; 1000]);
//! let dot: f64 = pool.par(&a).zip(&b).map(|(x, y)| x * y).sum();            // zip, reduce
//! assert_eq!((squares[999], data[0], dot), (998_001, 2, 2000.0));
//! # Ok::<(), corepool::BuildError>(())
//! ```
//!
//! # The design, and why
//!
//! - **One type.** Every input goes through [`Pool::par`] (chunks of a
//!   slice through [`Pool::par_chunks`] and [`Pool::par_chunks_mut`], named
//!   after `slice::chunks` and `slice::chunks_mut`), or through the
//!   [prelude](crate::prelude)'s rayon-named `par_iter()` /
//!   `into_par_iter()` / … on the current or default pool, and every
//!   operation is an inherent method of the one type they return, [`Par`]:
//!   one page of docs (the prelude's lists every method, and what differs
//!   from rayon). Adaptors (`filter`, `flat_map_iter`, …) are applied to each
//!   piece's sequential iterator (`pipe.rs`); those that need positions
//!   (`zip`, `enumerate`, `rev`, …) wrap the input (`adapt.rs`). [`Pool::map`] stays what it is — a lazy,
//!   bounded, cancellable stream over *any* iterator with `'static`
//!   closures. The rule a user needs: *the data is in memory and has a
//!   length → `par`; an iterator, an endless input, or results to consume
//!   while others are computed → `map`*.
//! - **Nothing to tune.** The input is split by fork-join on [`Pool::join`],
//!   adaptively, as rayon's splitter does (`drive.rs`): a fixed number of
//!   pieces per worker up front (16, enough that a worker running out of
//!   work waits at most one small piece for a fork to take), and a piece
//!   that another worker steals splits again, so idle workers get work and
//!   busy ones are not interrupted. There is no
//!   chunk size to guess; [`Par::with_min_len`] exists for items so cheap
//!   that even a few thousand per piece are not worth a join, and is rarely
//!   needed.
//! - **No consumer thread, no copies.** [`collect`](Par::collect) allocates
//!   the output once and each piece writes its results into its own part of
//!   it (`collect.rs`, with the safety argument); `for_each`, `sum`,
//!   `reduce`, `fold_reduce`, `min`, `max` combine per-piece results up the join
//!   tree. Nothing goes through a channel or a per-item allocation.
//! - **Borrowing without a scope.** Every method returns only after every
//!   piece has finished, so closures and inputs may borrow the caller's
//!   stack (`&mut` slices included), as with `std::thread::scope`, without
//!   writing one.
//! - **Where it runs.** Called from outside the pool, a call over more
//!   than 64 items (without `with_max_len`) starts on the calling thread
//!   and hands the rest of its input to the pool in one hop
//!   ([`Pool::install`]) once its measured pace says that pays; fewer
//!   items, or a `with_max_len` call, hop in at once. Called on one of
//!   the pool's workers (inside a task, a `join`, or
//!   another `par`), it runs right there, nesting freely. An input too short to split (fewer than two
//!   items, or than twice the minimum length) runs on the calling thread.
//!   After [`shutdown`](Pool::shutdown) everything runs on the calling
//!   thread.
//! - **Panics.** A panic in a closure is re-raised from the method, after
//!   every piece has stopped; items and results already made are dropped
//!   exactly once, and no partly written `Vec` is ever returned.
//! - **Order.** `collect` keeps input order. `reduce`, `fold` and `sum`
//!   combine pieces left before right, but where the input is cut varies
//!   from run to run: give them an associative operation (integer sums are;
//!   floating-point sums may differ from the sequential sum in the last
//!   bits). `for_each` runs items in no particular order.
//!
//! The inputs accepted are listed under [`IntoPar`]: integer ranges
//! (`a..b` and `a..=b`) of every width up to 128 bits, `&[T]`, `&mut [T]`,
//! `&Vec<T>`, `&mut Vec<T>`, arrays by reference, and `Vec<T>` by value
//! (items moved out). The parallel sorts are in `sort.rs`, reached through
//! [`ParallelSliceMut`].

// Layer: many (`lib.rs`, "Layers"), every file of `par/`. It may use the
// cell, sched and base layers and the `Pool` type (to add its methods and
// reach the default pool), nothing else of the face.

mod adapt;
mod collect;
mod drive;
mod entry;
mod find;
mod from_par;
mod pipe;
mod reduce;
mod sort;
mod source;

use std::fmt;

use crate::pool::Pool;

pub use adapt::{Chain, Cut, Enumerate, Mapped, Rev, StepBy, VecChunks};
pub(crate) use drive::YIELD_WAIT_MAX;
pub use entry::{
    IntoParallelIterator, IntoParallelRefIterator, IntoParallelRefMutIterator, IntoSource,
    ParallelBridge, ParallelSlice, ParallelSliceMut,
};
pub use from_par::FromPar;
pub use pipe::{
    Cloned, Copied, Filter, FilterMap, FlatMapIter, Flatten, Fold, FoldIter, FoldWith, Identity,
    Indexed, Inspect, MapInit, MapWith, Pipe, Then,
};
use source::Source;
pub use source::{Chunks, ChunksMut, Zip};

/// An input [`Pool::par`] accepts. Sealed: the implementations are the
/// whole list.
///
/// | input | items |
/// |---|---|
/// | `a..b` and `a..=b` of every integer type up to 128 bits | the integers |
/// | `&[T]`, `&Vec<T>`, `&[T; N]` | `&T` |
/// | `&mut [T]`, `&mut Vec<T>`, `&mut [T; N]` | `&mut T` |
/// | `Vec<T>` | `T`, moved out |
/// | [`Chunks`] ([`Pool::par_chunks`]), [`ChunksMut`] ([`Pool::par_chunks_mut`]) | `&[T]`, `&mut [T]` |
/// | [`Zip`] ([`Par::zip`]) | pairs |
/// | [`Enumerate`], [`Rev`], [`Cut`], [`StepBy`], [`Chain`], [`VecChunks`], [`Mapped`] (the adaptors of an indexed `Par`) | their items |
///
/// A range with more items than a `usize` counts (`0..=u64::MAX`, a wide
/// `u128` range) panics when it is handed over.
///
/// ```
/// fn total<S>(pool: &corepool::Pool, input: S) -> u64
/// where
///     S: corepool::par::IntoPar<Item = u64>,
/// {
///     pool.par(input).sum()
/// }
///
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// assert_eq!(total(&pool, vec![1, 2, 3]), 6);
/// assert_eq!(total(&pool, 0..4u64), 6);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub trait IntoPar: Source {}

/// Input split across a pool, with the operations to run on it: made by
/// [`Pool::par`], [`Pool::par_chunks`], [`Pool::par_chunks_mut`], or the
/// [prelude](crate::prelude)'s `par_iter()`, `into_par_iter()`, … .
///
/// The adaptors (`map`, `filter`, `zip`, `enumerate`, …) return a new
/// `Par`; the other methods consume it and run the work, returning only when
/// every piece has finished. The closures run on the pool's workers, so they
/// must be `Sync` (shared by the pieces), not `'static`: they may borrow
/// anything on the caller's stack.
///
/// `F` is the [`Pipe`] of adaptors applied to each piece's items. While it
/// is [`Indexed`] (only `map`, `inspect`, `copied`, `cloned` so far), the
/// `Par` knows its length and where each item sits, and offers `len`, `zip`,
/// `enumerate`, `rev`, `skip`, `take`, `step_by`, `chain`, `chunks` and
/// `position_*`, as rayon's `IndexedParallelIterator` does.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let offset = 10u64;                       // borrowed by the closure below
/// let v: Vec<u64> = pool.par(0..5u64).map(|x| x + offset).collect();
/// assert_eq!(v, [10, 11, 12, 13, 14]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use = "a Par does nothing until a method such as for_each, collect or sum consumes it"]
pub struct Par<'p, S, F = Identity> {
    pool: PoolRef<'p>,
    source: S,
    map: F,
    min_len: usize,
    max_len: usize,
}

/// The pool a [`Par`] runs on: borrowed from [`Pool::par`], or a handle the
/// prelude's entry points resolved (the current pool, else the default).
enum PoolRef<'p> {
    Borrowed(&'p Pool),
    Owned(Pool),
}

impl std::ops::Deref for PoolRef<'_> {
    type Target = Pool;

    #[inline]
    fn deref(&self) -> &Pool {
        match self {
            PoolRef::Borrowed(pool) => pool,
            PoolRef::Owned(pool) => pool,
        }
    }
}

impl<S: Source, F> fmt::Debug for Par<'_, S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Par")
            .field("input_len", &self.source.input_len())
            .field("min_len", &self.min_len)
            .field("max_len", &self.max_len)
            .field("workers", &self.pool.workers())
            .finish_non_exhaustive()
    }
}

impl<'p, S> Par<'p, S, Identity> {
    fn new(pool: PoolRef<'p>, source: S) -> Self {
        Par {
            pool,
            source,
            map: Identity,
            min_len: 1,
            max_len: usize::MAX,
        }
    }
}

impl Pool {
    /// Splits `input` across the pool's workers: a range of integers, a
    /// slice, a `&mut` slice, a `Vec` by value (the list is under
    /// [`IntoPar`]). See the [`Par`] methods for what to do with it, and
    /// the [module docs](crate::par) for how it is split.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let mut data = vec![1u64; 100_000];
    /// pool.par(&mut data).for_each(|x| *x *= 3);
    /// assert_eq!(pool.par(&data).sum::<u64>(), 300_000);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par<S: IntoPar>(&self, input: S) -> Par<'_, S> {
        Par::new(PoolRef::Borrowed(self), input)
    }

    /// Splits `slice` into chunks of `size` items (the last may be shorter),
    /// like [`slice::chunks`], and those across the pool's workers. Each item
    /// of the [`Par`] is one chunk.
    ///
    /// # Panics
    ///
    /// If `size` is 0, as [`slice::chunks`] does.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let data: Vec<u32> = (0..10).collect();
    /// let maxima: Vec<u32> = pool.par_chunks(&data, 4).map(|c| c[c.len() - 1]).collect();
    /// assert_eq!(maxima, [3, 7, 9]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_chunks<'a, T: Sync>(&self, slice: &'a [T], size: usize) -> Par<'_, Chunks<'a, T>> {
        assert!(size != 0, "corepool: par_chunks with a chunk size of 0");
        self.par(Chunks { slice, size })
    }

    /// Splits `slice` into mutable chunks of `size` items (the last may be
    /// shorter), like [`slice::chunks_mut`], and those across the pool's
    /// workers. Each item of the [`Par`] is one chunk.
    ///
    /// # Panics
    ///
    /// If `size` is 0, as [`slice::chunks_mut`] does.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let mut data = vec![0u64; 100_000];
    /// pool.par_chunks_mut(&mut data, 4096).for_each(|chunk| {
    ///     for x in chunk {
    ///         *x += 1;
    ///     }
    /// });
    /// assert!(data.iter().all(|&x| x == 1));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn par_chunks_mut<'a, T: Send>(
        &self,
        slice: &'a mut [T],
        size: usize,
    ) -> Par<'_, ChunksMut<'a, T>> {
        assert!(size != 0, "corepool: par_chunks_mut with a chunk size of 0");
        self.par(ChunksMut { slice, size })
    }
}

impl<'p, S: IntoPar, F: Pipe<S::Item>> Par<'p, S, F> {
    /// The same `Par` with another pipe.
    fn with_pipe<G>(self, pipe: impl FnOnce(F) -> G) -> Par<'p, S, G> {
        Par {
            pool: self.pool,
            source: self.source,
            map: pipe(self.map),
            min_len: self.min_len,
            max_len: self.max_len,
        }
    }

    /// The same settings on another input, with no pipe.
    fn with_source<T>(self, source: impl FnOnce(S, F) -> T) -> Par<'p, T, Identity> {
        Par {
            pool: self.pool,
            source: source(self.source, self.map),
            map: Identity,
            min_len: self.min_len,
            max_len: self.max_len,
        }
    }

    /// Never splits the input into pieces of fewer than `min_len` items
    /// (default 1; 0 counts as 1), for `fold`'s and `map_init`'s pieces too.
    /// Useful only when items are so cheap that a piece of a few thousand is
    /// not worth a fork; the splitter already makes no more pieces than the
    /// workers can use.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let n = pool.par(0..1_000u32).with_min_len(1_000).map(|_| corepool::Pool::current_worker_index()).collect::<Vec<_>>();
    /// assert!(n.iter().all(|w| *w == n[0]));   // one piece: one thread
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn with_min_len(self, min_len: usize) -> Self {
        Par {
            min_len: min_len.max(1),
            ..self
        }
    }

    /// Splits any piece longer than `max_len` items (default: no limit; 0
    /// counts as 1), whatever the splitter's budget, unless that would make
    /// a piece shorter than [`with_min_len`](Par::with_min_len)'s. Where the
    /// input is longer than `max_len`, each piece then runs whole on one
    /// thread, as rayon's do: the bound chooses the pieces' size, and no
    /// piece is cut further for a worker that goes idle while it runs (the
    /// other pieces are there for it to take).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let longest = pool.par(0..1_000u32).with_max_len(10).fold(|| 0usize, |n, _| n + 1).max();
    /// assert!(longest <= Some(10));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn with_max_len(self, max_len: usize) -> Self {
        Par {
            max_len: max_len.max(1),
            ..self
        }
    }

    /// Applies `f` to each item, lazily: the result is another `Par` to
    /// collect, reduce or run `for_each` on.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let v: Vec<String> = pool.par(0..3u32).map(|x| x * 2).map(|x| x.to_string()).collect();
    /// assert_eq!(v, ["0", "2", "4"]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn map<G, R>(self, f: G) -> Par<'p, S, Then<F, G>>
    where
        G: Fn(F::Out) -> R + Sync,
    {
        self.with_pipe(|first| Then { first, then: f })
    }

    /// Keeps the items for which `f` returns `true`, in order.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let even: Vec<u32> = pool.par(0..10u32).filter(|x| x % 2 == 0).collect();
    /// assert_eq!(even, [0, 2, 4, 6, 8]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn filter<G>(self, f: G) -> Par<'p, S, Filter<F, G>>
    where
        G: Fn(&F::Out) -> bool + Sync,
    {
        self.with_pipe(|first| Filter { first, then: f })
    }

    /// Maps each item to an `Option` and keeps the `Some` values, in order.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let words = ["1", "x", "3"];
    /// let n: Vec<u32> = pool.par(&words).filter_map(|w| w.parse().ok()).collect();
    /// assert_eq!(n, [1, 3]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn filter_map<G, R>(self, f: G) -> Par<'p, S, FilterMap<F, G>>
    where
        G: Fn(F::Out) -> Option<R> + Sync,
    {
        self.with_pipe(|first| FilterMap { first, then: f })
    }

    /// Maps each item to a sequential iterator and yields all their items,
    /// in order (rayon's `flat_map_iter`).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let v: Vec<u32> = pool.par(1..4u32).flat_map_iter(|x| 0..x).collect();
    /// assert_eq!(v, [0, 0, 1, 0, 1, 2]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn flat_map_iter<G, U>(self, f: G) -> Par<'p, S, FlatMapIter<F, G>>
    where
        G: Fn(F::Out) -> U + Sync,
        U: IntoIterator,
    {
        self.with_pipe(|first| FlatMapIter { first, then: f })
    }

    /// The same as [`flat_map_iter`](Par::flat_map_iter): each item's
    /// iterator is walked sequentially inside its piece (rayon's `flat_map`
    /// takes a parallel iterator; a `Vec` or a range ports unchanged).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let v: Vec<u32> = pool.par(0..3u32).flat_map(|x| vec![x; 2]).collect();
    /// assert_eq!(v, [0, 0, 1, 1, 2, 2]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn flat_map<G, U>(self, f: G) -> Par<'p, S, FlatMapIter<F, G>>
    where
        G: Fn(F::Out) -> U + Sync,
        U: IntoIterator,
    {
        self.flat_map_iter(f)
    }

    /// Yields the items of each item (a `Vec`, an `Option`, any
    /// `IntoIterator`), in order; each item's items are walked sequentially.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let nested = vec![vec![1, 2], vec![], vec![3]];
    /// let flat: Vec<i32> = pool.par(nested).flatten().collect();
    /// assert_eq!(flat, [1, 2, 3]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn flatten(self) -> Par<'p, S, Flatten<F>>
    where
        F::Out: IntoIterator,
    {
        self.with_pipe(|first| Flatten { first })
    }

    /// Calls `f` on a reference to each item as it passes.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let seen = AtomicUsize::new(0);
    /// let sum: u32 = pool.par(0..10u32).inspect(|_| { seen.fetch_add(1, Ordering::Relaxed); }).sum();
    /// assert_eq!((sum, seen.into_inner()), (45, 10));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn inspect<G>(self, f: G) -> Par<'p, S, Inspect<F, G>>
    where
        G: Fn(&F::Out) + Sync,
    {
        self.with_pipe(|first| Inspect { first, then: f })
    }

    /// Copies each `&T` item into a `T`.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let v: Vec<u8> = pool.par(&[1u8, 2, 3]).copied().collect();
    /// assert_eq!(v, [1, 2, 3]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn copied<'t, T>(self) -> Par<'p, S, Copied<F>>
    where
        F: Pipe<S::Item, Out = &'t T>,
        T: Copy + 't,
    {
        self.with_pipe(|first| Copied { first })
    }

    /// Clones each `&T` item into a `T`.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let names = vec!["a".to_string(), "b".to_string()];
    /// let v: Vec<String> = pool.par(&names).cloned().collect();
    /// assert_eq!(v, names);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn cloned<'t, T>(self) -> Par<'p, S, Cloned<F>>
    where
        F: Pipe<S::Item, Out = &'t T>,
        T: Clone + 't,
    {
        self.with_pipe(|first| Cloned { first })
    }

    /// Maps each item with `&mut` access to a state that `init()` makes once
    /// per piece (a scratch buffer, an RNG): `init` runs once for every
    /// piece, not for every item.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let v: Vec<usize> = pool
    ///     .par(0..4usize)
    ///     .map_init(Vec::new, |buf: &mut Vec<usize>, x| { buf.clear(); buf.extend(0..x); buf.len() })
    ///     .collect();
    /// assert_eq!(v, [0, 1, 2, 3]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn map_init<INIT, T, G, R>(self, init: INIT, f: G) -> Par<'p, S, MapInit<F, INIT, G>>
    where
        INIT: Fn() -> T + Sync,
        G: Fn(&mut T, F::Out) -> R + Sync,
    {
        self.with_pipe(|first| MapInit {
            first,
            init,
            then: f,
        })
    }

    /// Maps each item with `&mut` access to a clone of `value`, made once
    /// per piece.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let v: Vec<u32> = pool.par(0..3u32).map_with(100u32, |base, x| *base + x).collect();
    /// assert_eq!(v, [100, 101, 102]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn map_with<T, G, R>(self, value: T, f: G) -> Par<'p, S, MapWith<F, T, G>>
    where
        T: Clone + Sync,
        G: Fn(&mut T, F::Out) -> R + Sync,
    {
        self.with_pipe(|first| MapWith {
            first,
            with: value,
            then: f,
        })
    }
}

impl<'p, S: IntoPar, F: Indexed<S::Item>> Par<'p, S, F> {
    /// How many items the input yields.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert_eq!(pool.par(3..10u32).len(), 7);
    /// assert_eq!(pool.par_chunks(&[0u8; 10], 4).len(), 3);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn len(&self) -> usize {
        self.source.input_len()
    }

    /// Whether the input yields no items.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert!(pool.par(5..5u32).is_empty());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// This input with the pipe applied, as an input of its own.
    fn fused(self) -> Par<'p, F::Fused<S>, Identity> {
        self.with_source(|source, map| map.fuse(source))
    }

    /// Pairs each item with the item at the same index of `other` (a slice,
    /// a `Vec`, a range, another indexed `Par`); the result is as long as
    /// the shorter input (like [`Iterator::zip`]).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let mut out = vec![0i64; 4];
    /// let a = [1i64, 2, 3, 4];
    /// pool.par(&mut out).zip(&a).for_each(|(o, x)| *o = x * 10);
    /// assert_eq!(out, [10, 20, 30, 40]);
    /// let sums: Vec<i64> = pool.par(&a).map(|x| x + 1).zip(pool.par(&a)).map(|(x, y)| x + y).collect();
    /// assert_eq!(sums, [3, 5, 7, 9]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn zip<B: IntoSource>(self, other: B) -> Par<'p, Zip<F::Fused<S>, B::Source>, Identity> {
        self.fused().with_source(|a, _| Zip {
            a,
            b: other.into_source(),
        })
    }

    /// Pairs each item with its index.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let v: Vec<(usize, char)> = pool.par(&['a', 'b']).copied().enumerate().collect();
    /// assert_eq!(v, [(0, 'a'), (1, 'b')]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn enumerate(self) -> Par<'p, Enumerate<F::Fused<S>>, Identity> {
        self.fused().with_source(|s, _| Enumerate(s))
    }

    /// The items last to first.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let v: Vec<u32> = pool.par(0..4u32).rev().collect();
    /// assert_eq!(v, [3, 2, 1, 0]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn rev(self) -> Par<'p, Rev<F::Fused<S>>, Identity> {
        self.fused().with_source(|s, _| Rev(s))
    }

    /// All but the first `n` items.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert_eq!(pool.par(0..10u32).skip(7).collect::<Vec<_>>(), [7, 8, 9]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn skip(self, n: usize) -> Par<'p, Cut<F::Fused<S>>, Identity> {
        self.fused().with_source(|source, _| Cut {
            source,
            start: n,
            len: usize::MAX,
        })
    }

    /// The first `n` items (fewer if the input is shorter).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert_eq!(pool.par(0..10u32).take(3).collect::<Vec<_>>(), [0, 1, 2]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn take(self, n: usize) -> Par<'p, Cut<F::Fused<S>>, Identity> {
        self.fused().with_source(|source, _| Cut {
            source,
            start: 0,
            len: n,
        })
    }

    /// Every `step`-th item, starting with the first.
    ///
    /// # Panics
    ///
    /// If `step` is 0, as [`Iterator::step_by`] does.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert_eq!(pool.par(0..10u32).step_by(4).collect::<Vec<_>>(), [0, 4, 8]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn step_by(self, step: usize) -> Par<'p, StepBy<F::Fused<S>>, Identity> {
        assert!(step != 0, "corepool: step_by with a step of 0");
        self.fused()
            .with_source(|source, _| StepBy { source, step })
    }

    /// The items of this input, then those of `other`.
    ///
    /// # Panics
    ///
    /// If the two lengths add up to more than `usize::MAX` (rayon's
    /// `chain` panics too): the chained input's length would not fit.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let v: Vec<u32> = pool.par(0..2u32).chain(5..7u32).collect();
    /// assert_eq!(v, [0, 1, 5, 6]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn chain<B>(self, other: B) -> Par<'p, Chain<F::Fused<S>, B::Source>, Identity>
    where
        B: IntoSource,
        B::Source: IntoPar<Item = F::Out>,
    {
        self.fused().with_source(|a, _| {
            let b = other.into_source();
            let (a_len, b_len) = (a.input_len(), b.input_len());
            // Every part of the chain is shorter than the whole, so the
            // producers' `part_len` sums cannot overflow once this holds.
            assert!(
                a_len.checked_add(b_len).is_some(),
                "corepool::par: a chain of {a_len} and {b_len} items is longer than usize::MAX"
            );
            Chain { a, b }
        })
    }

    /// The items in `Vec`s of `size` (the last one shorter if `size` does not
    /// divide the length).
    ///
    /// # Panics
    ///
    /// If `size` is 0, as [`slice::chunks`] does.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let v: Vec<Vec<u32>> = pool.par(0..5u32).chunks(2).collect();
    /// assert_eq!(v, [vec![0, 1], vec![2, 3], vec![4]]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn chunks(self, size: usize) -> Par<'p, VecChunks<F::Fused<S>>, Identity>
    where
        F::Out: Send,
    {
        assert!(size != 0, "corepool: chunks with a chunk size of 0");
        self.fused()
            .with_source(|source, _| VecChunks { source, size })
    }
}

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
//! - **One way in.** Every input goes through [`Pool::par`] (chunks of a
//!   slice through [`Pool::par_chunks`] and [`Pool::par_chunks_mut`], named
//!   after `slice::chunks` and `slice::chunks_mut`), and every operation is
//!   an inherent method of the one type it returns, [`Par`]: nothing to
//!   import, one page of docs. [`Pool::map`] stays what it is — a lazy,
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
//!   `reduce`, `fold`, `min`, `max` combine per-piece results up the join
//!   tree. Nothing goes through a channel or a per-item allocation.
//! - **Borrowing without a scope.** Every method returns only after every
//!   piece has finished, so closures and inputs may borrow the caller's
//!   stack (`&mut` slices included), as with `std::thread::scope`, without
//!   writing one.
//! - **Where it runs.** Called from outside the pool, the whole operation
//!   hops onto a worker once ([`Pool::install`]); called on one of the pool's
//!   workers (inside a task, a `join`, or another `par`), it runs right
//!   there, nesting freely. An input too short to split (fewer than two
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
//! The inputs accepted are listed under [`IntoPar`]; integer ranges of
//! every width up to `usize` (and 64-bit ones on 64-bit targets),
//! `&[T]`, `&mut [T]`, `&Vec<T>`, `&mut Vec<T>`, arrays by reference, and
//! `Vec<T>` by value (items moved out).

mod collect;
mod drive;
mod source;

use std::fmt;
use std::iter::Sum;
use std::marker::PhantomData;

use crate::pool::Pool;
use drive::Consumer;
use source::{MapFn, Producer, Source};

pub use source::{Chunks, ChunksMut, Identity, Then, Zip};

/// An input [`Pool::par`] accepts. Sealed: the implementations are the
/// whole list.
///
/// | input | items |
/// |---|---|
/// | `a..b` of `usize`, `u8`, `u16`, `u32`, `isize`, `i8`, `i16`, `i32`; `u64`, `i64` on 64-bit targets | the integers |
/// | `&[T]`, `&Vec<T>`, `&[T; N]` | `&T` |
/// | `&mut [T]`, `&mut Vec<T>`, `&mut [T; N]` | `&mut T` |
/// | `Vec<T>` | `T`, moved out |
/// | [`Chunks`] ([`Pool::par_chunks`]), [`ChunksMut`] ([`Pool::par_chunks_mut`]) | `&[T]`, `&mut [T]` |
/// | [`Zip`] ([`Par::zip`]) | pairs |
///
/// Inclusive ranges are not taken (`0..=u64::MAX` has more items than a
/// `usize` counts): write `a..b + 1`.
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

/// A collection [`Par::collect`] can build: `Vec<T>`. Sealed.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let v = pool.par(0..3u8).map(u32::from).collect::<Vec<u32>>();
/// assert_eq!(v, [0, 1, 2]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub trait FromPar<T>: Sized + sealed::Sealed {
    /// Builds the collection from `par`'s items, in order.
    #[doc(hidden)]
    fn from_par<S, F>(par: Par<'_, S, F>) -> Self
    where
        S: IntoPar,
        F: MapFn<S::Item, Out = T>;
}

mod sealed {
    /// Keeps [`FromPar`](super::FromPar) implemented only here.
    pub trait Sealed {}
}

impl<T> sealed::Sealed for Vec<T> {}

impl<T: Send> FromPar<T> for Vec<T> {
    fn from_par<S, F>(par: Par<'_, S, F>) -> Vec<T>
    where
        S: IntoPar,
        F: MapFn<S::Item, Out = T>,
    {
        let Par {
            pool,
            source,
            map,
            min_len,
        } = par;
        let mut keep = S::Keep::default();
        let input = source.into_producer(&mut keep);
        collect::collect_vec(pool, input, min_len, &map)
    }
}

/// Indexed input split across a pool, with the operations to run on it:
/// made by [`Pool::par`], [`Pool::par_chunks`] or [`Pool::par_chunks_mut`].
///
/// `map` and `zip` return a new `Par`; the other methods consume it and run
/// the work, returning only when every piece has finished. The closures run
/// on the pool's workers, so they must be `Sync` (shared by the pieces), not
/// `'static`: they may borrow anything on the caller's stack.
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
    pool: &'p Pool,
    source: S,
    map: F,
    min_len: usize,
}

impl<S: Source, F> fmt::Debug for Par<'_, S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Par")
            .field("len", &self.source.input_len())
            .field("min_len", &self.min_len)
            .field("workers", &self.pool.workers())
            .finish_non_exhaustive()
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
        Par {
            pool: self,
            source: input,
            map: Identity,
            min_len: 1,
        }
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

impl<'p, S: IntoPar> Par<'p, S, Identity> {
    /// Pairs each item with the item at the same index of `other`; the
    /// result is as long as the shorter input (like [`Iterator::zip`]).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let mut out = vec![0i64; 4];
    /// let a = [1i64, 2, 3, 4];
    /// pool.par(&mut out).zip(&a).for_each(|(o, x)| *o = x * 10);
    /// assert_eq!(out, [10, 20, 30, 40]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn zip<B: IntoPar>(self, other: B) -> Par<'p, Zip<S, B>, Identity> {
        Par {
            pool: self.pool,
            source: Zip {
                a: self.source,
                b: other,
            },
            map: Identity,
            min_len: self.min_len,
        }
    }
}

impl<'p, S, F> Par<'p, S, F>
where
    S: IntoPar,
    F: MapFn<S::Item>,
{
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

    /// Never splits the input into pieces of fewer than `min_len` items
    /// (default 1; 0 counts as 1). Useful only when items are so cheap that
    /// a piece of a few thousand is not worth a fork; the splitter already
    /// makes no more pieces than the workers can use.
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
        Par {
            pool: self.pool,
            source: self.source,
            map: Then {
                first: self.map,
                then: f,
            },
            min_len: self.min_len,
        }
    }

    /// Runs `f` on each item, in no particular order, and returns when all
    /// have run. With a `&mut` input, `f` gets `&mut` items to change in
    /// place.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let mut grid = vec![[0u8; 3]; 1000];
    /// pool.par(&mut grid).for_each(|row| row[1] = 7);
    /// assert!(grid.iter().all(|row| *row == [0, 7, 0]));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn for_each<OP>(self, f: OP)
    where
        OP: Fn(F::Out) + Sync,
    {
        self.run(ForEach(f))
    }

    /// Collects the items, in input order, into a `Vec` — written in place
    /// into the output's buffer, one allocation.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let names = vec!["a".to_string(), "bb".to_string()];
    /// let lengths = pool.par(&names).map(|s| s.len()).collect::<Vec<_>>();
    /// assert_eq!(lengths, [1, 2]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn collect<C>(self) -> C
    where
        C: FromPar<F::Out>,
    {
        C::from_par(self)
    }

    /// The sum of the items, like [`Iterator::sum`]; pieces are summed
    /// separately, then their sums, left to right.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert_eq!(pool.par(1..101u64).sum::<u64>(), 5050);
    /// assert_eq!(pool.par(&[0.5f64, 0.25]).sum::<f64>(), 0.75);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn sum<T>(self) -> T
    where
        T: Sum<F::Out> + Sum<T> + Send,
    {
        self.run(SumOf(PhantomData))
    }

    /// Combines all items with `op`, starting each piece from `identity()`:
    /// `op` must be associative and `identity()` neutral for it. An empty
    /// input gives `identity()`.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let product = pool.par(1..21u64).reduce(|| 1, |a, b| a * b);
    /// assert_eq!(product, 2_432_902_008_176_640_000);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn reduce<ID, OP>(self, identity: ID, op: OP) -> F::Out
    where
        F::Out: Send,
        ID: Fn() -> F::Out + Sync,
        OP: Fn(F::Out, F::Out) -> F::Out + Sync,
    {
        self.run(Reduce { identity, op })
    }

    /// Folds each piece's items into an accumulator started from `init()`
    /// with `fold_op`, then combines the pieces' accumulators left to right
    /// with `combine`. The accumulator may be of another type than the items
    /// (a histogram, a running (min, max), a `Vec`). An empty input gives
    /// `init()`.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let words = ["a", "bb", "a", "ccc"];
    /// let (count, letters) = pool.par(&words).fold(
    ///     || (0usize, 0usize),
    ///     |(n, l), w| (n + 1, l + w.len()),
    ///     |(n1, l1), (n2, l2)| (n1 + n2, l1 + l2),
    /// );
    /// assert_eq!((count, letters), (4, 7));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn fold<A, INIT, FOLD, COMBINE>(self, init: INIT, fold_op: FOLD, combine: COMBINE) -> A
    where
        A: Send,
        INIT: Fn() -> A + Sync,
        FOLD: Fn(A, F::Out) -> A + Sync,
        COMBINE: Fn(A, A) -> A + Sync,
    {
        self.run(FoldWith {
            init,
            fold_op,
            combine,
        })
    }

    /// The least item (the first of equal ones, as [`Iterator::min`]), or
    /// `None` for an empty input.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert_eq!(pool.par(&[3, 1, 2]).min(), Some(&1));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn min(self) -> Option<F::Out>
    where
        F::Out: Ord + Send,
    {
        self.run(MinMax { max: false })
    }

    /// The greatest item (the last of equal ones, as [`Iterator::max`]), or
    /// `None` for an empty input.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert_eq!(pool.par(0..1000i32).map(|x| (x - 500).abs()).max(), Some(500));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn max(self) -> Option<F::Out>
    where
        F::Out: Ord + Send,
    {
        self.run(MinMax { max: true })
    }

    /// Turns the input into a producer and drives `fold` over it.
    fn run<L: Fold<F::Out>>(self, fold: L) -> L::Output {
        let Par {
            pool,
            source,
            map,
            min_len,
        } = self;
        let mut keep = S::Keep::default();
        let input = source.into_producer(&mut keep);
        drive::drive(
            pool,
            input,
            min_len,
            &MapThen {
                map: &map,
                fold: &fold,
            },
        )
    }
}

/// What a reducing method does with one piece's (mapped) items, and how
/// two pieces' results combine, left before right.
trait Fold<T>: Sync {
    type Output: Send;

    fn fold<I: Iterator<Item = T>>(&self, items: I) -> Self::Output;

    fn combine(&self, left: Self::Output, right: Self::Output) -> Self::Output;
}

/// The consumer behind every method but `collect`: map each item, then
/// fold.
struct MapThen<'a, F, L> {
    map: &'a F,
    fold: &'a L,
}

impl<P, F, L> Consumer<P> for MapThen<'_, F, L>
where
    P: Producer,
    F: MapFn<P::Item>,
    L: Fold<F::Out>,
{
    type Output = L::Output;

    #[inline]
    fn leaf(&self, part: P) -> L::Output {
        self.fold
            .fold(part.into_iter().map(|item| self.map.call(item)))
    }

    #[inline]
    fn combine(&self, left: L::Output, right: L::Output) -> L::Output {
        self.fold.combine(left, right)
    }
}

struct ForEach<OP>(OP);

impl<T, OP: Fn(T) + Sync> Fold<T> for ForEach<OP> {
    type Output = ();

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I) {
        items.for_each(&self.0);
    }

    #[inline]
    fn combine(&self, (): (), (): ()) {}
}

struct SumOf<S>(PhantomData<fn() -> S>);

impl<T, S: Sum<T> + Sum<S> + Send> Fold<T> for SumOf<S> {
    type Output = S;

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I) -> S {
        items.sum()
    }

    #[inline]
    fn combine(&self, left: S, right: S) -> S {
        [left, right].into_iter().sum()
    }
}

struct Reduce<ID, OP> {
    identity: ID,
    op: OP,
}

impl<T, ID, OP> Fold<T> for Reduce<ID, OP>
where
    T: Send,
    ID: Fn() -> T + Sync,
    OP: Fn(T, T) -> T + Sync,
{
    type Output = T;

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I) -> T {
        items.fold((self.identity)(), &self.op)
    }

    #[inline]
    fn combine(&self, left: T, right: T) -> T {
        (self.op)(left, right)
    }
}

struct FoldWith<INIT, FOLD, COMBINE> {
    init: INIT,
    fold_op: FOLD,
    combine: COMBINE,
}

impl<T, A, INIT, FOLD, COMBINE> Fold<T> for FoldWith<INIT, FOLD, COMBINE>
where
    A: Send,
    INIT: Fn() -> A + Sync,
    FOLD: Fn(A, T) -> A + Sync,
    COMBINE: Fn(A, A) -> A + Sync,
{
    type Output = A;

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I) -> A {
        items.fold((self.init)(), &self.fold_op)
    }

    #[inline]
    fn combine(&self, left: A, right: A) -> A {
        (self.combine)(left, right)
    }
}

struct MinMax {
    max: bool,
}

impl<T: Ord + Send> Fold<T> for MinMax {
    type Output = Option<T>;

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I) -> Option<T> {
        if self.max { items.max() } else { items.min() }
    }

    #[inline]
    fn combine(&self, left: Option<T>, right: Option<T>) -> Option<T> {
        match (left, right) {
            // Ties: `min` keeps the left (first) item, `max` the right
            // (last) one, as `Iterator::min` and `Iterator::max` do.
            (Some(l), Some(r)) => Some(match (self.max, r.cmp(&l)) {
                (false, std::cmp::Ordering::Less) | (true, std::cmp::Ordering::Greater) => r,
                (true, std::cmp::Ordering::Equal) => r,
                _ => l,
            }),
            (one, None) | (None, one) => one,
        }
    }
}

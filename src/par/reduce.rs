//! The consuming methods that visit every item: `for_each`, `sum`,
//! `product`, `count`, `reduce`, `fold_reduce`, `min`/`max` and their `_by`
//! forms, `unzip`, `partition`. Each is a [`Fold`]: what a piece does with
//! its items, and how two pieces' results combine, left before right.

use std::cmp::Ordering;
use std::iter::{Product, Sum};
use std::marker::PhantomData;

use super::drive::{self, Consumer};
use super::pipe::{self, Pipe, SendClone};
use super::source::Producer;
use super::{IntoPar, Par};

/// What a consuming method does with one piece's (piped) items, and how two
/// pieces' results combine, left before right.
pub(super) trait Fold<T>: Sync {
    type Output: Send;

    /// Consumes one piece; `offset` is the input index of its first item.
    fn fold<I: Iterator<Item = T>>(&self, items: I, offset: usize) -> Self::Output;

    fn combine(&self, left: Self::Output, right: Self::Output) -> Self::Output;

    /// Whether the answer is known already (early exit).
    #[inline]
    fn full(&self) -> bool {
        false
    }
}

/// The consumer behind every method but the in-place `collect`: pipe each
/// piece's items, then fold.
struct PipeThen<'a, F, L> {
    pipe: &'a F,
    fold: &'a L,
}

impl<P, F, L> Consumer<P> for PipeThen<'_, F, L>
where
    P: Producer,
    F: Pipe<P::Item>,
    L: Fold<F::Out>,
{
    type Output = L::Output;

    #[inline]
    fn leaf(&self, part: P, offset: usize) -> L::Output {
        self.fold.fold(self.pipe.pipe(part.into_iter()), offset)
    }

    #[inline]
    fn combine(&self, left: L::Output, right: L::Output) -> L::Output {
        self.fold.combine(left, right)
    }

    #[inline]
    fn full(&self) -> bool {
        self.fold.full()
    }
}

impl<'p, S: IntoPar, F: Pipe<S::Item>> Par<'p, S, F> {
    /// Opens the call for `body`: the pool, the input turned into a
    /// producer, the pipe, and the minimum and maximum piece lengths.
    pub(super) fn open<R>(
        self,
        body: impl FnOnce(&crate::Pool, S::Producer<'_>, &F, (usize, usize)) -> R,
    ) -> R {
        let Par {
            pool,
            source,
            map,
            min_len,
            max_len,
        } = self;
        let mut keep = S::Keep::default();
        let input = source.into_producer(&mut keep);
        body(&pool, input, &map, (min_len, max_len))
    }

    /// Turns the input into a producer and drives `fold` over it.
    pub(super) fn run<L: Fold<F::Out>>(self, fold: L) -> L::Output {
        self.open(|pool, input, map, lens| {
            drive::drive(
                pool,
                input,
                lens,
                &PipeThen {
                    pipe: map,
                    fold: &fold,
                },
            )
        })
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

    /// Runs `f` on each item with `&mut` access to a state `init()` makes
    /// once per piece.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicU64, Ordering};
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let total = AtomicU64::new(0);
    /// pool.par(0..100u64).for_each_init(Vec::new, |buf: &mut Vec<u64>, x| {
    ///     buf.push(x);
    ///     total.fetch_add(x, Ordering::Relaxed);
    /// });
    /// assert_eq!(total.into_inner(), 4950);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn for_each_init<INIT, T, OP>(self, init: INIT, f: OP)
    where
        INIT: Fn() -> T + Sync,
        OP: Fn(&mut T, F::Out) + Sync,
    {
        self.map_init(init, f).for_each(|()| {});
    }

    /// Runs `f` on each item with `&mut` access to a clone of `value`, made
    /// once per piece (a channel's sender, say).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let (tx, rx) = std::sync::mpsc::channel();
    /// pool.par(0..5u32).for_each_with(tx, |tx, x| tx.send(x).unwrap());
    /// let mut got: Vec<u32> = rx.iter().collect();
    /// got.sort();
    /// assert_eq!(got, [0, 1, 2, 3, 4]);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn for_each_with<T, OP>(self, value: T, f: OP)
    where
        T: Clone + Send,
        OP: Fn(&mut T, F::Out) + Sync,
    {
        // Each piece gets its own clone; the clones never cross threads
        // while shared, so `T: Send` is enough (no `Sync`), as in rayon.
        let value = SendClone::new(value);
        self.map_init(|| value.get(), f).for_each(|()| {});
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

    /// The product of the items, like [`Iterator::product`].
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert_eq!(pool.par(1..=20u64).product::<u64>(), 2_432_902_008_176_640_000);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn product<T>(self) -> T
    where
        T: Product<F::Out> + Product<T> + Send,
    {
        self.run(ProductOf(PhantomData))
    }

    /// How many items there are (after filters).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert_eq!(pool.par(0..100u32).filter(|x| x % 3 == 0).count(), 34);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn count(self) -> usize {
        self.run(Count)
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

    /// Combines all items with the associative `op`; `None` for an empty
    /// input.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert_eq!(pool.par(1..5u32).reduce_with(|a, b| a * b), Some(24));
    /// assert_eq!(pool.par(0..0u32).reduce_with(|a, b| a * b), None);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn reduce_with<OP>(self, op: OP) -> Option<F::Out>
    where
        F::Out: Send,
        OP: Fn(F::Out, F::Out) -> F::Out + Sync,
    {
        self.run(ReduceWith(op))
    }

    /// Folds each piece's items into an accumulator that starts from
    /// `identity()`, and yields the pieces' accumulators, in input order, as
    /// a new `Par` to reduce, sum, collect, … (rayon's `fold`). The
    /// accumulator may be of another type than the items (a histogram, a
    /// `Vec`, a running (min, max)). How many accumulators there are depends
    /// on how the input was split (at least one, even for an empty input);
    /// each covers at least [`with_min_len`](Par::with_min_len) items, unless
    /// the whole input is shorter. To fold and combine in one step, see
    /// [`fold_reduce`](Par::fold_reduce).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let words = ["a", "bb", "a", "ccc"];
    /// let letters: usize = pool.par(&words).fold(|| 0usize, |n, w| n + w.len()).sum();
    /// assert_eq!(letters, 7);
    /// let (count, longest) = pool
    ///     .par(&words)
    ///     .fold(|| (0usize, 0usize), |(n, m), w| (n + 1, m.max(w.len())))
    ///     .reduce(|| (0, 0), |(n1, m1), (n2, m2)| (n1 + n2, m1.max(m2)));
    /// assert_eq!((count, longest), (4, 3));
    /// // The accumulators themselves, in input order:
    /// let pieces: Vec<Vec<u32>> = pool.par(0..100u32).fold(Vec::new, |mut v, x| { v.push(x); v }).collect();
    /// assert_eq!(pieces.concat(), (0..100).collect::<Vec<_>>());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn fold<A, ID, OP>(self, identity: ID, fold_op: OP) -> Par<'p, S, pipe::Fold<F, ID, OP>>
    where
        ID: Fn() -> A + Sync,
        OP: Fn(A, F::Out) -> A + Sync,
    {
        self.with_pipe(|first| pipe::Fold {
            first,
            identity,
            op: fold_op,
        })
    }

    /// [`fold`](Par::fold) with each piece's accumulator a clone of `init`
    /// (rayon's `fold_with`).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let total: u32 = pool.par(0..10u32).fold_with(0u32, |a, x| a + x).sum();
    /// assert_eq!(total, 45);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn fold_with<T, OP>(self, init: T, fold_op: OP) -> Par<'p, S, pipe::FoldWith<F, T, OP>>
    where
        T: Clone + Send,
        OP: Fn(T, F::Out) -> T + Sync,
    {
        self.with_pipe(|first| pipe::FoldWith {
            first,
            init: SendClone::new(init),
            op: fold_op,
        })
    }

    /// Folds each piece's items into an accumulator started from `init()`
    /// with `fold_op`, then combines the pieces' accumulators left to right
    /// with `combine`, in one step: `p.fold(init, fold_op).reduce(init,
    /// combine)` without the extra `init()`s. An empty input gives `init()`.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let words = ["a", "bb", "a", "ccc"];
    /// let (count, letters) = pool.par(&words).fold_reduce(
    ///     || (0usize, 0usize),
    ///     |(n, l), w| (n + 1, l + w.len()),
    ///     |(n1, l1), (n2, l2)| (n1 + n2, l1 + l2),
    /// );
    /// assert_eq!((count, letters), (4, 7));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn fold_reduce<A, INIT, FOLD, COMBINE>(
        self,
        init: INIT,
        fold_op: FOLD,
        combine: COMBINE,
    ) -> A
    where
        A: Send,
        INIT: Fn() -> A + Sync,
        FOLD: Fn(A, F::Out) -> A + Sync,
        COMBINE: Fn(A, A) -> A + Sync,
    {
        self.run(FoldReduce {
            init,
            fold_op,
            combine,
        })
    }

    /// [`fold_reduce`](Par::fold_reduce) with each piece's accumulator a
    /// clone of `init`.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let total = pool.par(0..10u32).fold_reduce_with(0u32, |a, x| a + x, |a, b| a + b);
    /// assert_eq!(total, 45);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn fold_reduce_with<A, FOLD, COMBINE>(self, init: A, fold_op: FOLD, combine: COMBINE) -> A
    where
        A: Clone + Send,
        FOLD: Fn(A, F::Out) -> A + Sync,
        COMBINE: Fn(A, A) -> A + Sync,
    {
        let init = SendClone::new(init);
        self.fold_reduce(|| init.get(), fold_op, combine)
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
        self.min_by(Ord::cmp)
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
        self.max_by(Ord::cmp)
    }

    /// The least item by `compare` (the first of equal ones, as
    /// [`Iterator::min_by`]).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let v = [2.5f64, -1.0, 7.0];
    /// assert_eq!(pool.par(&v).min_by(|a, b| a.total_cmp(b)), Some(&-1.0));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn min_by<C>(self, compare: C) -> Option<F::Out>
    where
        F::Out: Send,
        C: Fn(&F::Out, &F::Out) -> Ordering + Sync,
    {
        self.run(Best {
            compare,
            max: false,
        })
    }

    /// The greatest item by `compare` (the last of equal ones, as
    /// [`Iterator::max_by`]).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let v = [2.5f64, -1.0, 7.0];
    /// assert_eq!(pool.par(&v).max_by(|a, b| a.total_cmp(b)), Some(&7.0));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn max_by<C>(self, compare: C) -> Option<F::Out>
    where
        F::Out: Send,
        C: Fn(&F::Out, &F::Out) -> Ordering + Sync,
    {
        self.run(Best { compare, max: true })
    }

    /// The item with the least key (the first of equal ones).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let words = ["ccc", "a", "bb", "d"];
    /// assert_eq!(pool.par(&words).min_by_key(|w| w.len()), Some(&"a"));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn min_by_key<K, KF>(self, key: KF) -> Option<F::Out>
    where
        F::Out: Send,
        K: Ord,
        KF: Fn(&F::Out) -> K + Sync,
    {
        self.min_by(|a, b| key(a).cmp(&key(b)))
    }

    /// The item with the greatest key (the last of equal ones).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let words = ["ccc", "a", "bbb", "d"];
    /// assert_eq!(pool.par(&words).max_by_key(|w| w.len()), Some(&"bbb"));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn max_by_key<K, KF>(self, key: KF) -> Option<F::Out>
    where
        F::Out: Send,
        K: Ord,
        KF: Fn(&F::Out) -> K + Sync,
    {
        self.max_by(|a, b| key(a).cmp(&key(b)))
    }

    /// Splits pairs into two collections, each in input order (any
    /// `Default + Extend` collection that iterates its items: `Vec`,
    /// `HashSet`, …).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let (a, b): (Vec<u32>, Vec<char>) = pool.par(0..3u32).map(|x| (x, char::from(b'a' + x as u8))).unzip();
    /// assert_eq!((a, b), (vec![0, 1, 2], vec!['a', 'b', 'c']));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn unzip<A, B, FromA, FromB>(self) -> (FromA, FromB)
    where
        F: Pipe<S::Item, Out = (A, B)>,
        FromA: Default + Extend<A> + IntoIterator<Item = A> + Send,
        FromB: Default + Extend<B> + IntoIterator<Item = B> + Send,
    {
        self.run(Unzip(PhantomData))
    }

    /// Splits the items into those for which `pred` is `true` and the rest,
    /// each in input order.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let (even, odd): (Vec<u32>, Vec<u32>) = pool.par(0..6u32).partition(|x| x % 2 == 0);
    /// assert_eq!((even, odd), (vec![0, 2, 4], vec![1, 3, 5]));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn partition<A, B, P>(self, pred: P) -> (A, B)
    where
        A: Default + Extend<F::Out> + IntoIterator<Item = F::Out> + Send,
        B: Default + Extend<F::Out> + IntoIterator<Item = F::Out> + Send,
        P: Fn(&F::Out) -> bool + Sync,
    {
        self.map(|x| (pred(&x), x)).run(Partition(PhantomData))
    }
}

struct ForEach<OP>(OP);

impl<T, OP: Fn(T) + Sync> Fold<T> for ForEach<OP> {
    type Output = ();

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I, _: usize) {
        items.for_each(&self.0);
    }

    #[inline]
    fn combine(&self, (): (), (): ()) {}
}

struct SumOf<S>(PhantomData<fn() -> S>);

impl<T, S: Sum<T> + Sum<S> + Send> Fold<T> for SumOf<S> {
    type Output = S;

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I, _: usize) -> S {
        items.sum()
    }

    #[inline]
    fn combine(&self, left: S, right: S) -> S {
        [left, right].into_iter().sum()
    }
}

struct ProductOf<S>(PhantomData<fn() -> S>);

impl<T, S: Product<T> + Product<S> + Send> Fold<T> for ProductOf<S> {
    type Output = S;

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I, _: usize) -> S {
        items.product()
    }

    #[inline]
    fn combine(&self, left: S, right: S) -> S {
        [left, right].into_iter().product()
    }
}

struct Count;

impl<T> Fold<T> for Count {
    type Output = usize;

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I, _: usize) -> usize {
        items.count()
    }

    #[inline]
    fn combine(&self, left: usize, right: usize) -> usize {
        left + right
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
    fn fold<I: Iterator<Item = T>>(&self, items: I, _: usize) -> T {
        items.fold((self.identity)(), &self.op)
    }

    #[inline]
    fn combine(&self, left: T, right: T) -> T {
        (self.op)(left, right)
    }
}

struct ReduceWith<OP>(OP);

impl<T, OP> Fold<T> for ReduceWith<OP>
where
    T: Send,
    OP: Fn(T, T) -> T + Sync,
{
    type Output = Option<T>;

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I, _: usize) -> Option<T> {
        items.reduce(&self.0)
    }

    #[inline]
    fn combine(&self, left: Option<T>, right: Option<T>) -> Option<T> {
        match (left, right) {
            (Some(l), Some(r)) => Some((self.0)(l, r)),
            (one, None) | (None, one) => one,
        }
    }
}

struct FoldReduce<INIT, FOLD, COMBINE> {
    init: INIT,
    fold_op: FOLD,
    combine: COMBINE,
}

impl<T, A, INIT, FOLD, COMBINE> Fold<T> for FoldReduce<INIT, FOLD, COMBINE>
where
    A: Send,
    INIT: Fn() -> A + Sync,
    FOLD: Fn(A, T) -> A + Sync,
    COMBINE: Fn(A, A) -> A + Sync,
{
    type Output = A;

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I, _: usize) -> A {
        items.fold((self.init)(), &self.fold_op)
    }

    #[inline]
    fn combine(&self, left: A, right: A) -> A {
        (self.combine)(left, right)
    }
}

/// `min_by` (`max: false`) and `max_by` (`max: true`).
struct Best<C> {
    compare: C,
    max: bool,
}

impl<T: Send, C: Fn(&T, &T) -> Ordering + Sync> Fold<T> for Best<C> {
    type Output = Option<T>;

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I, _: usize) -> Option<T> {
        if self.max {
            items.max_by(|a, b| (self.compare)(a, b))
        } else {
            items.min_by(|a, b| (self.compare)(a, b))
        }
    }

    #[inline]
    fn combine(&self, left: Option<T>, right: Option<T>) -> Option<T> {
        match (left, right) {
            // Ties: `min` keeps the left (first) item, `max` the right
            // (last) one, as `Iterator::min_by` and `Iterator::max_by` do.
            (Some(l), Some(r)) => Some(match (self.max, (self.compare)(&r, &l)) {
                (false, Ordering::Less) | (true, Ordering::Greater | Ordering::Equal) => r,
                _ => l,
            }),
            (one, None) | (None, one) => one,
        }
    }
}

struct Unzip<C>(PhantomData<fn() -> C>);

impl<A, B, FromA, FromB> Fold<(A, B)> for Unzip<(FromA, FromB)>
where
    FromA: Default + Extend<A> + IntoIterator<Item = A> + Send,
    FromB: Default + Extend<B> + IntoIterator<Item = B> + Send,
{
    type Output = (FromA, FromB);

    #[inline]
    fn fold<I: Iterator<Item = (A, B)>>(&self, items: I, _: usize) -> (FromA, FromB) {
        items.unzip()
    }

    #[inline]
    fn combine(&self, mut left: (FromA, FromB), right: (FromA, FromB)) -> (FromA, FromB) {
        left.0.extend(right.0);
        left.1.extend(right.1);
        left
    }
}

struct Partition<C>(PhantomData<fn() -> C>);

impl<T, A, B> Fold<(bool, T)> for Partition<(A, B)>
where
    A: Default + Extend<T> + IntoIterator<Item = T> + Send,
    B: Default + Extend<T> + IntoIterator<Item = T> + Send,
{
    type Output = (A, B);

    #[inline]
    fn fold<I: Iterator<Item = (bool, T)>>(&self, items: I, _: usize) -> (A, B) {
        let (mut yes, mut no) = (A::default(), B::default());
        for (keep, item) in items {
            if keep {
                yes.extend(Some(item));
            } else {
                no.extend(Some(item));
            }
        }
        (yes, no)
    }

    #[inline]
    fn combine(&self, mut left: (A, B), right: (A, B)) -> (A, B) {
        left.0.extend(right.0);
        left.1.extend(right.1);
        left
    }
}

//! What a leaf does to its items before the consuming method sees them: the
//! chain of adaptors (`map`, `filter`, `flat_map_iter`, …) as one
//! [`Pipe`], applied to the leaf's sequential iterator.
//!
//! A pipe is built from the user's closures and shared (`&`) by every leaf;
//! each leaf wraps its own iterator in [`Pipe::pipe`], so per-leaf state
//! (`map_init`'s, `map_with`'s) lives in that leaf's iterator alone.
//! Pipes that turn each item into exactly one item, in order, are also
//! [`Indexed`]: after them the `Par` still knows its length and where each
//! item sits, so `zip`, `enumerate`, `rev`, `skip`, … remain available and
//! `collect` into a `Vec` writes in place.

use super::IntoPar;
use super::adapt::Mapped;

/// The adaptors of a [`Par`](super::Par), as one function from a leaf's
/// items to the items the consuming method sees. Implemented by the
/// adaptor types of this module; not meant to be implemented elsewhere.
///
/// ```
/// use corepool::par::{IntoPar, Par, Pipe};
///
/// // Any `Par`, whatever adaptors it went through.
/// fn total<S: IntoPar, F: Pipe<S::Item, Out = u64>>(par: Par<'_, S, F>) -> u64 {
///     par.sum()
/// }
///
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// assert_eq!(total(pool.par(0..5u64).map(|x| x * 2)), 20);
/// assert_eq!(total(pool.par(0..5u64).filter(|x| x % 2 == 1)), 4);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub trait Pipe<In>: Sync {
    /// What the pipe yields.
    type Out;
    /// The leaf's iterator, wrapped.
    type Iter<'a, I>: Iterator<Item = Self::Out>
    where
        Self: 'a,
        I: Iterator<Item = In>;
    /// Whether every item becomes exactly one item, in order.
    const ONE_TO_ONE: bool;

    /// Wraps a leaf's iterator.
    fn pipe<'a, I: Iterator<Item = In>>(&'a self, items: I) -> Self::Iter<'a, I>;
}

/// A [`Pipe`] that maps each item to exactly one item, in order: the input
/// keeps its length and indices. Implemented by this module's
/// one-to-one adaptors; not meant to be implemented elsewhere.
///
/// ```
/// use corepool::par::{Indexed, IntoPar, Par};
///
/// // Only a one-to-one pipe keeps the length known.
/// fn length<S: IntoPar, F: Indexed<S::Item>>(par: &Par<'_, S, F>) -> usize {
///     par.len()
/// }
///
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// assert_eq!(length(&pool.par(0..7u32).map(|x| x + 1)), 7);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub trait Indexed<In>: Pipe<In> {
    /// The input with this pipe applied to every item, as a new input.
    #[doc(hidden)]
    type Fused<S: IntoPar<Item = In>>: IntoPar<Item = Self::Out>;

    /// Applies the pipe to `source`'s items.
    #[doc(hidden)]
    fn fuse<S: IntoPar<Item = In>>(self, source: S) -> Self::Fused<S>;
}

/// The map of a [`Par`](super::Par) that has not been mapped: each item as
/// it is.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let _unmapped: corepool::par::Par<'_, std::ops::Range<u32>, corepool::par::Identity> =
///     pool.par(0..10u32);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Identity;

impl<In> Pipe<In> for Identity {
    type Out = In;
    type Iter<'a, I>
        = I
    where
        I: Iterator<Item = In>;
    const ONE_TO_ONE: bool = true;

    #[inline]
    fn pipe<I: Iterator<Item = In>>(&self, items: I) -> I {
        items
    }
}

impl<In> Indexed<In> for Identity {
    type Fused<S: IntoPar<Item = In>> = S;

    fn fuse<S: IntoPar<Item = In>>(self, source: S) -> S {
        source
    }
}

/// Implements `Debug` without the closures.
macro_rules! opaque_debug {
    ($($name:ident<$($g:ident),*>),*) => {$(
        impl<$($g),*> std::fmt::Debug for $name<$($g),*> {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($name)).finish_non_exhaustive()
            }
        }
    )*};
}

opaque_debug!(Then<F, G>, Filter<F, G>, FilterMap<F, G>, FlatMapIter<F, G>, Flatten<F>,
    Inspect<F, G>, Copied<F>, Cloned<F>, MapInit<F, INIT, G>, MapWith<F, T, G>,
    Fold<F, ID, OP>, FoldWith<F, T, OP>);

/// The pipe after [`Par::map`](super::Par::map): the earlier pipe `F`, then
/// the closure `G`.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let doubled = pool.par(0..10u32).map(|x| x * 2);    // a Par<'_, Range<u32>, Then<Identity, _>>
/// assert_eq!(doubled.sum::<u32>(), 90);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Then<F, G> {
    pub(super) first: F,
    pub(super) then: G,
}

impl<In, F, G, R> Pipe<In> for Then<F, G>
where
    F: Pipe<In>,
    G: Fn(F::Out) -> R + Sync,
{
    type Out = R;
    type Iter<'a, I>
        = std::iter::Map<F::Iter<'a, I>, &'a G>
    where
        Self: 'a,
        I: Iterator<Item = In>;
    const ONE_TO_ONE: bool = F::ONE_TO_ONE;

    #[inline]
    fn pipe<'a, I: Iterator<Item = In>>(&'a self, items: I) -> Self::Iter<'a, I> {
        self.first.pipe(items).map(&self.then)
    }
}

impl<In, F, G, R> Indexed<In> for Then<F, G>
where
    F: Indexed<In>,
    G: Fn(F::Out) -> R + Sync,
{
    type Fused<S: IntoPar<Item = In>> = Mapped<S, Self>;

    fn fuse<S: IntoPar<Item = In>>(self, source: S) -> Mapped<S, Self> {
        Mapped { source, pipe: self }
    }
}

/// The pipe after [`Par::filter`](super::Par::filter).
///
/// ```
/// use corepool::par::{Filter, Identity, Par};
/// use std::ops::Range;
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let odd: Par<'_, Range<u32>, Filter<Identity, _>> = pool.par(0..10u32).filter(|x| x % 2 == 1);
/// assert_eq!(odd.collect::<Vec<_>>(), [1, 3, 5, 7, 9]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Filter<F, G> {
    pub(super) first: F,
    pub(super) then: G,
}

impl<In, F, G> Pipe<In> for Filter<F, G>
where
    F: Pipe<In>,
    G: Fn(&F::Out) -> bool + Sync,
{
    type Out = F::Out;
    type Iter<'a, I>
        = std::iter::Filter<F::Iter<'a, I>, &'a G>
    where
        Self: 'a,
        I: Iterator<Item = In>;
    const ONE_TO_ONE: bool = false;

    #[inline]
    fn pipe<'a, I: Iterator<Item = In>>(&'a self, items: I) -> Self::Iter<'a, I> {
        self.first.pipe(items).filter(&self.then)
    }
}

/// The pipe after [`Par::filter_map`](super::Par::filter_map).
///
/// ```
/// use corepool::par::{FilterMap, Identity, Par};
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let words = ["4", "x", "2"];
/// let numbers: Par<'_, &[&str; 3], FilterMap<Identity, _>> =
///     pool.par(&words).filter_map(|w| w.parse::<u32>().ok());
/// assert_eq!(numbers.collect::<Vec<_>>(), [4, 2]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Clone, Copy)]
pub struct FilterMap<F, G> {
    pub(super) first: F,
    pub(super) then: G,
}

impl<In, F, G, R> Pipe<In> for FilterMap<F, G>
where
    F: Pipe<In>,
    G: Fn(F::Out) -> Option<R> + Sync,
{
    type Out = R;
    type Iter<'a, I>
        = std::iter::FilterMap<F::Iter<'a, I>, &'a G>
    where
        Self: 'a,
        I: Iterator<Item = In>;
    const ONE_TO_ONE: bool = false;

    #[inline]
    fn pipe<'a, I: Iterator<Item = In>>(&'a self, items: I) -> Self::Iter<'a, I> {
        self.first.pipe(items).filter_map(&self.then)
    }
}

/// The pipe after [`Par::flat_map_iter`](super::Par::flat_map_iter).
///
/// ```
/// use corepool::par::{FlatMapIter, Identity, Par};
/// use std::ops::Range;
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let repeated: Par<'_, Range<u32>, FlatMapIter<Identity, _>> =
///     pool.par(0..3u32).flat_map_iter(|x| std::iter::repeat_n(x, x as usize));
/// assert_eq!(repeated.collect::<Vec<_>>(), [1, 2, 2]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Clone, Copy)]
pub struct FlatMapIter<F, G> {
    pub(super) first: F,
    pub(super) then: G,
}

impl<In, F, G, U> Pipe<In> for FlatMapIter<F, G>
where
    F: Pipe<In>,
    G: Fn(F::Out) -> U + Sync,
    U: IntoIterator,
{
    type Out = U::Item;
    type Iter<'a, I>
        = std::iter::FlatMap<F::Iter<'a, I>, U, &'a G>
    where
        Self: 'a,
        I: Iterator<Item = In>;
    const ONE_TO_ONE: bool = false;

    #[inline]
    fn pipe<'a, I: Iterator<Item = In>>(&'a self, items: I) -> Self::Iter<'a, I> {
        self.first.pipe(items).flat_map(&self.then)
    }
}

/// The pipe after [`Par::flatten`](super::Par::flatten).
///
/// ```
/// use corepool::par::{Flatten, Identity, Par};
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let present: Par<'_, Vec<Option<i32>>, Flatten<Identity>> =
///     pool.par(vec![Some(1), None, Some(3)]).flatten();
/// assert_eq!(present.collect::<Vec<_>>(), [1, 3]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Flatten<F> {
    pub(super) first: F,
}

impl<In, F> Pipe<In> for Flatten<F>
where
    F: Pipe<In>,
    F::Out: IntoIterator,
{
    type Out = <F::Out as IntoIterator>::Item;
    type Iter<'a, I>
        = std::iter::Flatten<F::Iter<'a, I>>
    where
        Self: 'a,
        I: Iterator<Item = In>;
    const ONE_TO_ONE: bool = false;

    #[inline]
    fn pipe<'a, I: Iterator<Item = In>>(&'a self, items: I) -> Self::Iter<'a, I> {
        self.first.pipe(items).flatten()
    }
}

/// The pipe after [`Par::inspect`](super::Par::inspect).
///
/// ```
/// use corepool::par::{Identity, Inspect, Par};
/// use std::ops::Range;
/// use std::sync::atomic::{AtomicU32, Ordering};
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let seen = AtomicU32::new(0);
/// let watched: Par<'_, Range<u32>, Inspect<Identity, _>> =
///     pool.par(1..4u32).inspect(|x| { seen.fetch_add(*x, Ordering::Relaxed); });
/// assert_eq!(watched.count(), 3);
/// assert_eq!(seen.into_inner(), 6);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Inspect<F, G> {
    pub(super) first: F,
    pub(super) then: G,
}

impl<In, F, G> Pipe<In> for Inspect<F, G>
where
    F: Pipe<In>,
    G: Fn(&F::Out) + Sync,
{
    type Out = F::Out;
    type Iter<'a, I>
        = std::iter::Inspect<F::Iter<'a, I>, &'a G>
    where
        Self: 'a,
        I: Iterator<Item = In>;
    const ONE_TO_ONE: bool = F::ONE_TO_ONE;

    #[inline]
    fn pipe<'a, I: Iterator<Item = In>>(&'a self, items: I) -> Self::Iter<'a, I> {
        self.first.pipe(items).inspect(&self.then)
    }
}

impl<In, F, G> Indexed<In> for Inspect<F, G>
where
    F: Indexed<In>,
    G: Fn(&F::Out) + Sync,
{
    type Fused<S: IntoPar<Item = In>> = Mapped<S, Self>;

    fn fuse<S: IntoPar<Item = In>>(self, source: S) -> Mapped<S, Self> {
        Mapped { source, pipe: self }
    }
}

/// The pipe after [`Par::copied`](super::Par::copied).
///
/// ```
/// use corepool::par::{Copied, Identity, Par};
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let bytes = [1u8, 2, 3];
/// let values: Par<'_, &[u8; 3], Copied<Identity>> = pool.par(&bytes).copied();
/// assert_eq!(values.collect::<Vec<u8>>(), [1, 2, 3]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Copied<F> {
    pub(super) first: F,
}

impl<'t, In, F, T> Pipe<In> for Copied<F>
where
    F: Pipe<In, Out = &'t T>,
    T: Copy + 't,
{
    type Out = T;
    type Iter<'a, I>
        = std::iter::Copied<F::Iter<'a, I>>
    where
        Self: 'a,
        I: Iterator<Item = In>;
    const ONE_TO_ONE: bool = F::ONE_TO_ONE;

    #[inline]
    fn pipe<'a, I: Iterator<Item = In>>(&'a self, items: I) -> Self::Iter<'a, I> {
        self.first.pipe(items).copied()
    }
}

impl<'t, In, F, T> Indexed<In> for Copied<F>
where
    F: Indexed<In, Out = &'t T>,
    T: Copy + 't,
{
    type Fused<S: IntoPar<Item = In>> = Mapped<S, Self>;

    fn fuse<S: IntoPar<Item = In>>(self, source: S) -> Mapped<S, Self> {
        Mapped { source, pipe: self }
    }
}

/// The pipe after [`Par::cloned`](super::Par::cloned).
///
/// ```
/// use corepool::par::{Cloned, Identity, Par};
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let names = vec![String::from("a"), String::from("b")];
/// let owned: Par<'_, &Vec<String>, Cloned<Identity>> = pool.par(&names).cloned();
/// assert_eq!(owned.collect::<Vec<String>>(), names);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Clone, Copy)]
pub struct Cloned<F> {
    pub(super) first: F,
}

impl<'t, In, F, T> Pipe<In> for Cloned<F>
where
    F: Pipe<In, Out = &'t T>,
    T: Clone + 't,
{
    type Out = T;
    type Iter<'a, I>
        = std::iter::Cloned<F::Iter<'a, I>>
    where
        Self: 'a,
        I: Iterator<Item = In>;
    const ONE_TO_ONE: bool = F::ONE_TO_ONE;

    #[inline]
    fn pipe<'a, I: Iterator<Item = In>>(&'a self, items: I) -> Self::Iter<'a, I> {
        self.first.pipe(items).cloned()
    }
}

impl<'t, In, F, T> Indexed<In> for Cloned<F>
where
    F: Indexed<In, Out = &'t T>,
    T: Clone + 't,
{
    type Fused<S: IntoPar<Item = In>> = Mapped<S, Self>;

    fn fuse<S: IntoPar<Item = In>>(self, source: S) -> Mapped<S, Self> {
        Mapped { source, pipe: self }
    }
}

/// The pipe after [`Par::map_init`](super::Par::map_init): each leaf makes
/// its state with `init()` and maps its items with `&mut` access to it.
///
/// ```
/// use corepool::par::{Identity, MapInit, Par};
/// use std::fmt::Write;
/// use std::ops::Range;
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let label = |buf: &mut String, x: u32| {
///     buf.clear();
///     write!(buf, "#{x}").unwrap();
///     buf.clone()
/// };
/// let labels: Par<'_, Range<u32>, MapInit<Identity, _, _>> =
///     pool.par(0..3u32).map_init(String::new, label);
/// assert_eq!(labels.collect::<Vec<_>>(), ["#0", "#1", "#2"]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub struct MapInit<F, INIT, G> {
    pub(super) first: F,
    pub(super) init: INIT,
    pub(super) then: G,
}

/// A leaf's iterator under [`MapInit`] or [`MapWith`]: the leaf's state and
/// the closure.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Each piece maps its items through one of these, with its own state (here a count).
/// let counts: Vec<u32> = pool
///     .par(0..100u32)
///     .with_max_len(10)
///     .map_with(0u32, |n, _| { *n += 1; *n })
///     .collect();
/// assert_eq!(counts[0], 1);
/// assert!(counts.iter().all(|n| (1..=10).contains(n)));
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub struct WithState<'a, I, T, G> {
    items: I,
    state: T,
    then: &'a G,
}

impl<I, T, G> std::fmt::Debug for WithState<'_, I, T, G> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WithState").finish_non_exhaustive()
    }
}

impl<I, T, G, R> Iterator for WithState<'_, I, T, G>
where
    I: Iterator,
    G: Fn(&mut T, I::Item) -> R,
{
    type Item = R;

    #[inline]
    fn next(&mut self) -> Option<R> {
        let item = self.items.next()?;
        Some((self.then)(&mut self.state, item))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        self.items.size_hint()
    }
}

impl<In, F, INIT, T, G, R> Pipe<In> for MapInit<F, INIT, G>
where
    F: Pipe<In>,
    INIT: Fn() -> T + Sync,
    G: Fn(&mut T, F::Out) -> R + Sync,
{
    type Out = R;
    type Iter<'a, I>
        = WithState<'a, F::Iter<'a, I>, T, G>
    where
        Self: 'a,
        I: Iterator<Item = In>;
    const ONE_TO_ONE: bool = F::ONE_TO_ONE;

    #[inline]
    fn pipe<'a, I: Iterator<Item = In>>(&'a self, items: I) -> Self::Iter<'a, I> {
        WithState {
            items: self.first.pipe(items),
            state: (self.init)(),
            then: &self.then,
        }
    }
}

/// The pipe after [`Par::map_with`](super::Par::map_with): each leaf clones
/// the value and maps its items with `&mut` access to its clone.
///
/// ```
/// use corepool::par::{Identity, MapWith, Par};
/// use std::ops::Range;
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let shifted: Par<'_, Range<u32>, MapWith<Identity, u32, _>> =
///     pool.par(0..3u32).map_with(100u32, |base, x| *base + x);
/// assert_eq!(shifted.collect::<Vec<_>>(), [100, 101, 102]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub struct MapWith<F, T, G> {
    pub(super) first: F,
    pub(super) with: T,
    pub(super) then: G,
}

impl<In, F, T, G, R> Pipe<In> for MapWith<F, T, G>
where
    F: Pipe<In>,
    T: Clone + Sync,
    G: Fn(&mut T, F::Out) -> R + Sync,
{
    type Out = R;
    type Iter<'a, I>
        = WithState<'a, F::Iter<'a, I>, T, G>
    where
        Self: 'a,
        I: Iterator<Item = In>;
    const ONE_TO_ONE: bool = F::ONE_TO_ONE;

    #[inline]
    fn pipe<'a, I: Iterator<Item = In>>(&'a self, items: I) -> Self::Iter<'a, I> {
        WithState {
            items: self.first.pipe(items),
            state: self.with.clone(),
            then: &self.then,
        }
    }
}

/// A value each piece clones for itself (`fold_with`, `for_each_with`),
/// behind a mutex so that it need only be `Send`, as in rayon: the shared
/// original is only ever touched under the lock.
pub(super) struct SendClone<T>(std::sync::Mutex<T>);

impl<T: Clone> SendClone<T> {
    pub(super) fn new(value: T) -> Self {
        SendClone(std::sync::Mutex::new(value))
    }

    pub(super) fn get(&self) -> T {
        // A panicking `clone` poisons the lock; the value is still whole.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

/// A leaf's iterator under [`Fold`] or [`FoldWith`]: yields one item, the
/// leaf's items folded into the leaf's accumulator.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Each piece folds its items through one of these and yields one accumulator.
/// let pieces: Vec<u32> = pool.par(0..100u32).with_max_len(10).fold(|| 0, |n, _| n + 1).collect();
/// assert_eq!(pieces.iter().sum::<u32>(), 100);
/// assert!(pieces.iter().all(|&n| n <= 10));
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub struct FoldIter<'a, I, A, OP> {
    /// The leaf's items and its accumulator, until the one item is made.
    state: Option<(I, A)>,
    op: &'a OP,
}

impl<I, A, OP> std::fmt::Debug for FoldIter<'_, I, A, OP> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FoldIter")
            .field("folded", &self.state.is_none())
            .finish_non_exhaustive()
    }
}

impl<I, A, OP> Iterator for FoldIter<'_, I, A, OP>
where
    I: Iterator,
    OP: Fn(A, I::Item) -> A,
{
    type Item = A;

    #[inline]
    fn next(&mut self) -> Option<A> {
        let (items, acc) = self.state.take()?;
        Some(items.fold(acc, self.op))
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let n = usize::from(self.state.is_some());
        (n, Some(n))
    }
}

/// The pipe after [`Par::fold`](super::Par::fold): each piece's items folded
/// into one accumulator that starts from `identity()`.
///
/// ```
/// use corepool::par::{Fold, Identity, Par};
/// use std::ops::Range;
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let sums: Par<'_, Range<u64>, Fold<Identity, _, _>> =
///     pool.par(1..101u64).fold(|| 0u64, |a, x| a + x);
/// assert_eq!(sums.sum::<u64>(), 5050);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub struct Fold<F, ID, OP> {
    pub(super) first: F,
    pub(super) identity: ID,
    pub(super) op: OP,
}

impl<In, F, ID, A, OP> Pipe<In> for Fold<F, ID, OP>
where
    F: Pipe<In>,
    ID: Fn() -> A + Sync,
    OP: Fn(A, F::Out) -> A + Sync,
{
    type Out = A;
    type Iter<'a, I>
        = FoldIter<'a, F::Iter<'a, I>, A, OP>
    where
        Self: 'a,
        I: Iterator<Item = In>;
    const ONE_TO_ONE: bool = false;

    #[inline]
    fn pipe<'a, I: Iterator<Item = In>>(&'a self, items: I) -> Self::Iter<'a, I> {
        FoldIter {
            state: Some((self.first.pipe(items), (self.identity)())),
            op: &self.op,
        }
    }
}

/// The pipe after [`Par::fold_with`](super::Par::fold_with): each piece's
/// items folded into one accumulator that starts as a clone of `init`.
///
/// ```
/// use corepool::par::{FoldWith, Identity, Par};
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let words = ["a", "bbb", "cc"];
/// let longest: Par<'_, &[&str; 3], FoldWith<Identity, usize, _>> =
///     pool.par(&words).fold_with(0usize, |m, w| m.max(w.len()));
/// assert_eq!(longest.max(), Some(3));
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub struct FoldWith<F, T, OP> {
    pub(super) first: F,
    pub(super) init: SendClone<T>,
    pub(super) op: OP,
}

impl<In, F, T, OP> Pipe<In> for FoldWith<F, T, OP>
where
    F: Pipe<In>,
    T: Clone + Send,
    OP: Fn(T, F::Out) -> T + Sync,
{
    type Out = T;
    type Iter<'a, I>
        = FoldIter<'a, F::Iter<'a, I>, T, OP>
    where
        Self: 'a,
        I: Iterator<Item = In>;
    const ONE_TO_ONE: bool = false;

    #[inline]
    fn pipe<'a, I: Iterator<Item = In>>(&'a self, items: I) -> Self::Iter<'a, I> {
        FoldIter {
            state: Some((self.first.pipe(items), self.init.get())),
            op: &self.op,
        }
    }
}

//! What [`Par::collect`](super::Par::collect) can build: a `Vec` (written in
//! place while the pipe is indexed, else one `Vec` per piece, appended), the
//! std maps and sets, a `String`, and `Result<C, E>` / `Option<C>` of any of
//! them, which stop every piece at the first `Err` / `None` seen.

use std::collections::{BTreeMap, BTreeSet, BinaryHeap, HashMap, HashSet, LinkedList, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

use parking_lot::Mutex;

use super::collect;
use super::pipe::Pipe;
use super::reduce::Fold;
use super::{IntoPar, Par};
use crate::pool::Pool;

/// A collection [`Par::collect`] can build. Sealed: the implementations
/// are the list (`Vec`, `VecDeque`, `LinkedList`, `BinaryHeap`, `HashMap`,
/// `HashSet`, `BTreeMap`, `BTreeSet`, `String`, `Result<C, E>`,
/// `Option<C>`, `()`).
///
/// ```
/// use std::collections::HashMap;
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let v = pool.par(0..3u8).map(u32::from).collect::<Vec<u32>>();
/// assert_eq!(v, [0, 1, 2]);
/// let m: HashMap<u8, u8> = pool.par(0..3u8).map(|x| (x, x * x)).collect();
/// assert_eq!(m[&2], 4);
/// let ok: Result<Vec<u8>, String> = pool.par(0..3u8).map(Ok).collect();
/// assert_eq!(ok, Ok(vec![0, 1, 2]));
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub trait FromPar<T>: Sized + sealed::Sealed {
    /// Builds the collection from `par`'s items, in order.
    #[doc(hidden)]
    fn from_par<S, F>(par: Par<'_, S, F>) -> Self
    where
        S: IntoPar,
        F: Pipe<S::Item, Out = T>;
}

impl<S: IntoPar, F: Pipe<S::Item>> Par<'_, S, F> {
    /// Collects the items, in input order, into a collection (the list is
    /// under [`FromPar`]). Into a `Vec`, while every adaptor is indexed
    /// (`map`, `zip`, `enumerate`, …), the items are written in place into
    /// the output's buffer, one allocation; after a `filter` and the like,
    /// each piece collects its own `Vec` and they are appended in order.
    /// Into `Result<C, E>` or `Option<C>`, every piece stops at the first
    /// `Err` / `None` seen, and one of those is returned (not necessarily
    /// the first in input order, as in rayon).
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let names = vec!["a".to_string(), "bb".to_string()];
    /// let lengths = pool.par(&names).map(|s| s.len()).collect::<Vec<_>>();
    /// assert_eq!(lengths, [1, 2]);
    /// let by_len: BTreeMap<usize, &String> = pool.par(&names).map(|s| (s.len(), s)).collect();
    /// assert_eq!(by_len[&2], "bb");
    /// let joined: String = pool.par(&names).map(|s| s.as_str()).collect();
    /// assert_eq!(joined, "abb");
    /// let none: Option<Vec<u32>> = pool.par(0..10u32).map(|x| (x != 5).then_some(x)).collect();
    /// assert_eq!(none, None);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn collect<C>(self) -> C
    where
        C: FromPar<F::Out>,
    {
        C::from_par(self)
    }
}

mod sealed {
    /// Keeps [`FromPar`](super::FromPar) implemented only here.
    pub trait Sealed {}
}

/// Collects each piece with `FromIterator`, then combines the pieces left
/// to right with the function.
struct Gather<C>(fn(C, C) -> C);

impl<T, C: FromIterator<T> + Send> Fold<T> for Gather<C> {
    type Output = C;

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I, _: usize) -> C {
        items.collect()
    }

    #[inline]
    fn combine(&self, left: C, right: C) -> C {
        (self.0)(left, right)
    }
}

/// The most a piece reserves, in bytes, before it has seen its items
/// ([`Pieces::fold`]): well above a piece's share of a filtered `collect`
/// (a walk's step is a few microseconds of items), so that the common case
/// still never grows, and small enough to cost nothing per worker.
const PIECE_RESERVE_BYTES: usize = 1 << 20;

/// Collects each piece into its own `Vec`, and links the pieces in order:
/// combining two is O(1), so every item is moved once more at most (when
/// the pieces are concatenated or inserted into the collection at the end),
/// however deep the splitting went. Rayon collects the same way.
struct Pieces;

impl<T: Send> Fold<T> for Pieces {
    type Output = LinkedList<Vec<T>>;

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I, _: usize) -> LinkedList<Vec<T>> {
        // Room for the most the piece can hold (after a `filter`, its
        // input's length), so that it seldom grows by copying — but never
        // more than `PIECE_RESERVE_BYTES`: the upper bound is only a hint,
        // and a piece can be a whole long input (a pool shut down, a large
        // `with_min_len`) or a `flat_map` of arrays, where reserving it all
        // could ask for more memory than the machine has (an abort) for a
        // few items kept. Past it the `Vec` grows as usual (`extend` still
        // reserves the lower bound).
        let room = PIECE_RESERVE_BYTES / std::mem::size_of::<T>().max(1);
        let mut piece: Vec<T> = Vec::with_capacity(items.size_hint().1.unwrap_or(0).min(room));
        piece.extend(items);
        let mut list = LinkedList::new();
        if !piece.is_empty() {
            // The pieces all live until they are concatenated: one that
            // kept less than half its room gives the rest back, so they
            // hold at most twice their items, as grown `Vec`s do (a
            // selective filter over a long input otherwise kept its
            // input's size in reserved memory).
            if piece.capacity() / 2 > piece.len() {
                piece.shrink_to_fit();
            }
            list.push_back(piece);
        }
        list
    }

    #[inline]
    fn combine(
        &self,
        mut left: LinkedList<Vec<T>>,
        mut right: LinkedList<Vec<T>>,
    ) -> LinkedList<Vec<T>> {
        left.append(&mut right);
        left
    }
}

/// The items of `par`, in order, as `Vec`s: one, written in place, while
/// the pipe is one-to-one; else one per piece.
fn pieces<S, F, T>(par: Par<'_, S, F>) -> (Pool, LinkedList<Vec<T>>)
where
    T: Send,
    S: IntoPar,
    F: Pipe<S::Item, Out = T>,
{
    let on = Pool::clone(&par.pool);
    if !F::ONE_TO_ONE {
        return (on, par.run(Pieces));
    }
    let mut list = LinkedList::new();
    list.push_back(par.open(|pool, input, map, lens| collect::collect_vec(pool, input, lens, map)));
    (on, list)
}

/// How many items the pieces hold together.
fn total_len<T>(pieces: &LinkedList<Vec<T>>) -> usize {
    pieces.iter().map(Vec::len).sum()
}

impl<T> sealed::Sealed for Vec<T> {}

impl<T: Send> FromPar<T> for Vec<T> {
    fn from_par<S, F>(par: Par<'_, S, F>) -> Vec<T>
    where
        S: IntoPar,
        F: Pipe<S::Item, Out = T>,
    {
        let (pool, pieces) = pieces(par);
        collect::concat(&pool, pieces)
    }
}

/// `FromPar` for collections built from the in-order pieces: `$build` gets
/// the `LinkedList<Vec<T>>` and makes the collection.
macro_rules! from_pieces {
    ($({$($gen:tt)*} $coll:ty, $item:ty, $build:expr;)*) => {$(
        impl<$($gen)*> sealed::Sealed for $coll {}

        impl<$($gen)*> FromPar<$item> for $coll {
            fn from_par<S, F>(par: Par<'_, S, F>) -> Self
            where
                S: IntoPar,
                F: Pipe<S::Item, Out = $item>,
            {
                let build: fn(&Pool, LinkedList<Vec<$item>>) -> Self = $build;
                let (pool, pieces) = pieces(par);
                build(&pool, pieces)
            }
        }
    )*};
}

/// A hashed collection: reserved once for every item, then filled in input
/// order (so a later duplicate key wins, as with `Iterator::collect`).
fn hashed<T, C: Default + Extend<T>>(pieces: LinkedList<Vec<T>>, reserve: fn(&mut C, usize)) -> C {
    let mut out = C::default();
    reserve(&mut out, total_len(&pieces));
    for piece in pieces {
        out.extend(piece);
    }
    out
}

from_pieces! {
    {T: Send} VecDeque<T>, T, |pool, pieces| VecDeque::from(collect::concat(pool, pieces));
    {T: Send} LinkedList<T>, T, |_, pieces| pieces.into_iter().flatten().collect();
    {T: Ord + Send} BinaryHeap<T>, T, |pool, pieces| BinaryHeap::from(collect::concat(pool, pieces));
    {K: Eq + Hash + Send, V: Send, H: BuildHasher + Default + Send} HashMap<K, V, H>, (K, V),
        |_, pieces| hashed(pieces, HashMap::reserve);
    {T: Eq + Hash + Send, H: BuildHasher + Default + Send} HashSet<T, H>, T,
        |_, pieces| hashed(pieces, HashSet::reserve);
    // From one `Vec`, std sorts (stably: a later duplicate key still wins)
    // and builds the tree in bulk, faster than inserting item by item.
    {K: Ord + Send, V: Send} BTreeMap<K, V>, (K, V), |pool, pieces| collect::concat(pool, pieces).into_iter().collect();
    {T: Ord + Send} BTreeSet<T>, T, |pool, pieces| collect::concat(pool, pieces).into_iter().collect();
}

impl sealed::Sealed for String {}

/// `String` from `char`s, `&str`s and `String`s.
macro_rules! string_from {
    ($({$($gen:tt)*} $item:ty;)*) => {$(
        impl<$($gen)*> FromPar<$item> for String {
            fn from_par<S, F>(par: Par<'_, S, F>) -> String
            where
                S: IntoPar,
                F: Pipe<S::Item, Out = $item>,
            {
                par.run(Gather(|mut left: String, right: String| {
                    left.push_str(&right);
                    left
                }))
            }
        }
    )*};
}

string_from! {
    {} char;
    {'a} &'a str;
    {} String;
}

impl sealed::Sealed for () {}

impl FromPar<()> for () {
    fn from_par<S, F>(par: Par<'_, S, F>)
    where
        S: IntoPar,
        F: Pipe<S::Item, Out = ()>,
    {
        par.for_each(|()| {});
    }
}

/// The pipe that `Result` and `Option` collects add: yields the values
/// inside, and at the first failure keeps it (if it is the first one kept)
/// and raises the flag that stops every piece at its next item.
struct UntilFail<'x, F, E, W> {
    first: F,
    failure: &'x Mutex<Option<E>>,
    failed: &'x AtomicBool,
    _wrap: PhantomData<fn() -> W>,
}

/// How `Result` and `Option` items split into a value or a failure.
trait Fallible: Sized {
    type Value;
    type Failure: Send;

    fn split(self) -> Result<Self::Value, Self::Failure>;
}

impl<T, E: Send> Fallible for Result<T, E> {
    type Value = T;
    type Failure = E;

    #[inline]
    fn split(self) -> Result<T, E> {
        self
    }
}

impl<T> Fallible for Option<T> {
    type Value = T;
    type Failure = ();

    #[inline]
    fn split(self) -> Result<T, ()> {
        self.ok_or(())
    }
}

/// A piece's iterator under [`UntilFail`].
struct UntilFailIter<'x, I, E> {
    items: I,
    failure: &'x Mutex<Option<E>>,
    failed: &'x AtomicBool,
}

impl<I, W> Iterator for UntilFailIter<'_, I, W::Failure>
where
    I: Iterator<Item = W>,
    W: Fallible,
{
    type Item = W::Value;

    #[inline]
    fn next(&mut self) -> Option<W::Value> {
        // `Relaxed`: a hint to stop; the failure itself is handed over by
        // the mutex, and read after every piece has finished.
        if self.failed.load(Relaxed) {
            return None;
        }
        match self.items.next()?.split() {
            Ok(value) => Some(value),
            Err(failure) => {
                self.failure.lock().get_or_insert(failure);
                self.failed.store(true, Relaxed);
                None
            }
        }
    }
}

impl<In, F, W> Pipe<In> for UntilFail<'_, F, W::Failure, W>
where
    F: Pipe<In, Out = W>,
    W: Fallible,
{
    type Out = W::Value;
    type Iter<'a, I>
        = UntilFailIter<'a, F::Iter<'a, I>, W::Failure>
    where
        Self: 'a,
        I: Iterator<Item = In>;
    const ONE_TO_ONE: bool = false;

    #[inline]
    fn pipe<'a, I: Iterator<Item = In>>(&'a self, items: I) -> Self::Iter<'a, I> {
        UntilFailIter {
            items: self.first.pipe(items),
            failure: self.failure,
            failed: self.failed,
        }
    }
}

/// Collects the values of `par` into `C`, stopping at the first failure;
/// returns the failure kept, if any.
fn collect_until_fail<S, F, W, C>(par: Par<'_, S, F>) -> Result<C, W::Failure>
where
    S: IntoPar,
    F: Pipe<S::Item, Out = W>,
    W: Fallible,
    C: FromPar<W::Value>,
{
    let failure = Mutex::new(None);
    let failed = AtomicBool::new(false);
    let values = C::from_par(par.with_pipe(|first| UntilFail {
        first,
        failure: &failure,
        failed: &failed,
        _wrap: PhantomData,
    }));
    match failure.into_inner() {
        Some(failure) => Err(failure),
        None => Ok(values),
    }
}

impl<C, E> sealed::Sealed for Result<C, E> {}

impl<C, T, E> FromPar<Result<T, E>> for Result<C, E>
where
    C: FromPar<T>,
    E: Send,
{
    fn from_par<S, F>(par: Par<'_, S, F>) -> Self
    where
        S: IntoPar,
        F: Pipe<S::Item, Out = Result<T, E>>,
    {
        collect_until_fail(par)
    }
}

impl<C> sealed::Sealed for Option<C> {}

impl<C, T> FromPar<Option<T>> for Option<C>
where
    C: FromPar<T>,
{
    fn from_par<S, F>(par: Par<'_, S, F>) -> Self
    where
        S: IntoPar,
        F: Pipe<S::Item, Out = Option<T>>,
    {
        collect_until_fail(par).ok()
    }
}

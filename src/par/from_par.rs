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

/// `left` with `right`'s items appended.
fn extend<C: Extend<T> + IntoIterator<Item = T>, T>(mut left: C, right: C) -> C {
    left.extend(right);
    left
}

impl<T> sealed::Sealed for Vec<T> {}

impl<T: Send> FromPar<T> for Vec<T> {
    fn from_par<S, F>(par: Par<'_, S, F>) -> Vec<T>
    where
        S: IntoPar,
        F: Pipe<S::Item, Out = T>,
    {
        if !F::ONE_TO_ONE {
            return par.run(Gather(|mut left: Vec<T>, mut right: Vec<T>| {
                if left.is_empty() {
                    return right;
                }
                left.append(&mut right);
                left
            }));
        }
        let Par {
            pool,
            source,
            map,
            min_len,
            max_len,
        } = par;
        let mut keep = S::Keep::default();
        let input = source.into_producer(&mut keep);
        collect::collect_vec(&pool, input, (min_len, max_len), &map)
    }
}

/// `FromPar` through `Gather`, for collections that are `Extend` +
/// `IntoIterator` (so pieces append in order).
macro_rules! gather {
    ($({$($gen:tt)*} $coll:ty, $item:ty;)*) => {$(
        impl<$($gen)*> sealed::Sealed for $coll {}

        impl<$($gen)*> FromPar<$item> for $coll {
            fn from_par<S, F>(par: Par<'_, S, F>) -> Self
            where
                S: IntoPar,
                F: Pipe<S::Item, Out = $item>,
            {
                par.run(Gather(extend))
            }
        }
    )*};
}

gather! {
    {T: Send} VecDeque<T>, T;
    {T: Send} LinkedList<T>, T;
    {T: Ord + Send} BinaryHeap<T>, T;
    {K: Eq + Hash + Send, V: Send, H: BuildHasher + Default + Send} HashMap<K, V, H>, (K, V);
    {T: Eq + Hash + Send, H: BuildHasher + Default + Send} HashSet<T, H>, T;
    {K: Ord + Send, V: Send} BTreeMap<K, V>, (K, V);
    {T: Ord + Send} BTreeSet<T>, T;
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

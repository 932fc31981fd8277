//! The prelude's ways in: `into_par_iter()`, `par_iter()`,
//! `par_iter_mut()`, `par_chunks()`, `par_chunks_mut()` with no pool named.
//! Each resolves the pool once — the current pool (the one whose worker runs
//! the call: inside `install`, a task, a `join`, another `par`), else the
//! default pool — and builds the same [`Par`] as [`Pool::par`].

use super::pipe::Indexed;
use super::source::{Chunks, ChunksMut};
use super::{IntoPar, Par, PoolRef};
use crate::pool::Pool;

/// The current pool, else the default pool.
///
/// # Panics
///
/// If the default pool is needed and cannot be built (as `corepool::join`
/// and rayon's global pool do); the message is the [`BuildError`](crate::BuildError).
/// Call [`default_pool`](crate::default_pool) first to handle that error.
fn here() -> PoolRef<'static> {
    if let Some(pool) = Pool::current() {
        return PoolRef::Owned(pool);
    }
    PoolRef::Borrowed(Pool::default_or_panic())
}

/// `into_par_iter()`: a range, a `Vec` by value, a slice or a `Vec` by
/// reference, as a [`Par`] on the current pool, else the default pool.
///
/// # Panics
///
/// If the default pool is needed and cannot be built (see
/// [`default_pool`](crate::default_pool)).
///
/// ```
/// use corepool::prelude::*;
/// let squares: Vec<u64> = (0..5u64).into_par_iter().map(|x| x * x).collect();
/// assert_eq!(squares, [0, 1, 4, 9, 16]);
/// let total: u64 = (1..=100u64).into_par_iter().sum();
/// assert_eq!(total, 5050);
/// ```
pub trait IntoParallelIterator {
    /// The `Par` made.
    type Iter;
    /// Its items.
    type Item;

    /// Splits `self` across the current pool, else the default pool.
    fn into_par_iter(self) -> Self::Iter;
}

impl<S: IntoPar> IntoParallelIterator for S {
    type Iter = Par<'static, S>;
    type Item = S::Item;

    fn into_par_iter(self) -> Par<'static, S> {
        Par::new(here(), self)
    }
}

/// `par_iter()`: a `Vec`, a slice or an array by shared reference, as a
/// [`Par`] on the current pool, else the default pool.
///
/// # Panics
///
/// If the default pool is needed and cannot be built.
///
/// ```
/// use corepool::prelude::*;
/// let v = vec![1u32, 2, 3];
/// assert_eq!(v.par_iter().map(|x| x * 2).sum::<u32>(), 12);
/// assert_eq!([4u8, 5].par_iter().count(), 2);
/// ```
pub trait IntoParallelRefIterator<'data> {
    /// The `Par` made.
    type Iter;
    /// Its items (`&T`).
    type Item: 'data;

    /// Splits `&self` across the current pool, else the default pool.
    fn par_iter(&'data self) -> Self::Iter;
}

impl<'data, I: 'data + ?Sized> IntoParallelRefIterator<'data> for I
where
    &'data I: IntoPar,
{
    type Iter = Par<'static, &'data I>;
    type Item = <&'data I as super::source::Source>::Item;

    fn par_iter(&'data self) -> Self::Iter {
        self.into_par_iter()
    }
}

/// `par_iter_mut()`: a `Vec`, a slice or an array by `&mut`, as a [`Par`]
/// on the current pool, else the default pool.
///
/// # Panics
///
/// If the default pool is needed and cannot be built.
///
/// ```
/// use corepool::prelude::*;
/// let mut v = vec![1u32, 2, 3];
/// v.par_iter_mut().for_each(|x| *x *= 10);
/// assert_eq!(v, [10, 20, 30]);
/// ```
pub trait IntoParallelRefMutIterator<'data> {
    /// The `Par` made.
    type Iter;
    /// Its items (`&mut T`).
    type Item: 'data;

    /// Splits `&mut self` across the current pool, else the default pool.
    fn par_iter_mut(&'data mut self) -> Self::Iter;
}

impl<'data, I: 'data + ?Sized> IntoParallelRefMutIterator<'data> for I
where
    &'data mut I: IntoPar,
{
    type Iter = Par<'static, &'data mut I>;
    type Item = <&'data mut I as super::source::Source>::Item;

    fn par_iter_mut(&'data mut self) -> Self::Iter {
        self.into_par_iter()
    }
}

/// `par_bridge()`: any sequential iterator as a [`Par`] on the current
/// pool, else the default pool (rayon's `ParallelBridge`).
///
/// Unlike rayon's, which hands items to the workers as they are pulled,
/// this reads the whole iterator into a `Vec` on the calling thread first
/// and then splits that: the iterator must end, and the items keep their
/// order (rayon's keeps none, so code written for it ports). Where the
/// iterator is a slice's or a range's, `par_iter()` / `into_par_iter()`
/// avoid the copy.
///
/// # Panics
///
/// If the default pool is needed and cannot be built; a panic of the
/// iterator's `next` comes through as it is.
///
/// ```
/// use corepool::prelude::*;
/// let words = "a bb ccc dddd";
/// let lens: Vec<usize> = words.split(' ').par_bridge().map(str::len).collect();
/// assert_eq!(lens, [1, 2, 3, 4]);
/// ```
pub trait ParallelBridge: Iterator + Sized {
    /// Reads the iterator, then splits its items across the current pool,
    /// else the default pool.
    fn par_bridge(self) -> Par<'static, Vec<Self::Item>>;
}

impl<I: Iterator> ParallelBridge for I
where
    I::Item: Send,
{
    fn par_bridge(self) -> Par<'static, Vec<I::Item>> {
        let items: Vec<I::Item> = self.collect();
        Par::new(here(), items)
    }
}

/// `par_chunks()` on a slice (and so on a `Vec` or an array), on the current
/// pool, else the default pool.
///
/// ```
/// use corepool::prelude::*;
/// let v: Vec<u32> = (0..10).collect();
/// let sums: Vec<u32> = v.par_chunks(4).map(|c| c.iter().sum()).collect();
/// assert_eq!(sums, [6, 22, 17]);
/// ```
pub trait ParallelSlice<T: Sync> {
    /// Chunks of `size` items (the last may be shorter), like
    /// [`slice::chunks`].
    ///
    /// # Panics
    ///
    /// If `size` is 0, as [`slice::chunks`] does; if the default pool is
    /// needed and cannot be built.
    fn par_chunks(&self, size: usize) -> Par<'static, Chunks<'_, T>>;
}

impl<T: Sync> ParallelSlice<T> for [T] {
    fn par_chunks(&self, size: usize) -> Par<'static, Chunks<'_, T>> {
        assert!(size != 0, "corepool: par_chunks with a chunk size of 0");
        Par::new(here(), Chunks { slice: self, size })
    }
}

/// `par_chunks_mut()` and the parallel sorts on a mutable slice (and so on a
/// `Vec` or an array), on the current pool, else the default pool.
///
/// ```
/// use corepool::prelude::*;
/// let mut v = vec![0u32; 10];
/// v.par_chunks_mut(4).for_each(|c| c[0] = 1);
/// assert_eq!(v, [1, 0, 0, 0, 1, 0, 0, 0, 1, 0]);
/// let mut w = vec![3, 1, 2];
/// w.par_sort();
/// assert_eq!(w, [1, 2, 3]);
/// ```
pub trait ParallelSliceMut<T: Send> {
    /// Mutable chunks of `size` items (the last may be shorter), like
    /// [`slice::chunks_mut`].
    ///
    /// # Panics
    ///
    /// If `size` is 0, as [`slice::chunks_mut`] does; if the default pool is
    /// needed and cannot be built.
    fn par_chunks_mut(&mut self, size: usize) -> Par<'static, ChunksMut<'_, T>>;

    /// The slice itself (for the sorts' default bodies).
    #[doc(hidden)]
    fn as_parallel_slice_mut(&mut self) -> &mut [T];

    /// Sorts the slice, stable, in parallel (like [`slice::sort`]).
    ///
    /// ```
    /// use corepool::prelude::*;
    /// let mut v = vec![5, 1, 4, 1];
    /// v.par_sort();
    /// assert_eq!(v, [1, 1, 4, 5]);
    /// ```
    fn par_sort(&mut self)
    where
        T: Ord,
    {
        super::sort::par_sort_by(here(), self.as_parallel_slice_mut(), &T::cmp, true);
    }

    /// Sorts the slice with `compare`, stable, in parallel.
    ///
    /// ```
    /// use corepool::prelude::*;
    /// let mut v = vec![5, 1, 4];
    /// v.par_sort_by(|a, b| b.cmp(a));
    /// assert_eq!(v, [5, 4, 1]);
    /// ```
    fn par_sort_by<C>(&mut self, compare: C)
    where
        C: Fn(&T, &T) -> std::cmp::Ordering + Sync,
    {
        super::sort::par_sort_by(here(), self.as_parallel_slice_mut(), &compare, true);
    }

    /// Sorts the slice by `key`, stable, in parallel.
    ///
    /// ```
    /// use corepool::prelude::*;
    /// let mut v = vec![-5i32, 1, -4];
    /// v.par_sort_by_key(|x| x.abs());
    /// assert_eq!(v, [1, -4, -5]);
    /// ```
    fn par_sort_by_key<K, KF>(&mut self, key: KF)
    where
        K: Ord,
        KF: Fn(&T) -> K + Sync,
    {
        let compare = |a: &T, b: &T| key(a).cmp(&key(b));
        super::sort::par_sort_by(here(), self.as_parallel_slice_mut(), &compare, true);
    }

    /// Sorts the slice, unstable (equal items may be reordered), in
    /// parallel (like [`slice::sort_unstable`]).
    ///
    /// ```
    /// use corepool::prelude::*;
    /// let mut v = vec![5, 1, 4, 1];
    /// v.par_sort_unstable();
    /// assert_eq!(v, [1, 1, 4, 5]);
    /// ```
    fn par_sort_unstable(&mut self)
    where
        T: Ord,
    {
        super::sort::par_sort_by(here(), self.as_parallel_slice_mut(), &T::cmp, false);
    }

    /// Sorts the slice with `compare`, unstable, in parallel.
    ///
    /// ```
    /// use corepool::prelude::*;
    /// let mut v = vec![5, 1, 4];
    /// v.par_sort_unstable_by(|a, b| b.cmp(a));
    /// assert_eq!(v, [5, 4, 1]);
    /// ```
    fn par_sort_unstable_by<C>(&mut self, compare: C)
    where
        C: Fn(&T, &T) -> std::cmp::Ordering + Sync,
    {
        super::sort::par_sort_by(here(), self.as_parallel_slice_mut(), &compare, false);
    }

    /// Sorts the slice by `key`, unstable, in parallel.
    ///
    /// ```
    /// use corepool::prelude::*;
    /// let mut v = vec![-5i32, 1, -4];
    /// v.par_sort_unstable_by_key(|x| x.abs());
    /// assert_eq!(v, [1, -4, -5]);
    /// ```
    fn par_sort_unstable_by_key<K, KF>(&mut self, key: KF)
    where
        K: Ord,
        KF: Fn(&T) -> K + Sync,
    {
        let compare = |a: &T, b: &T| key(a).cmp(&key(b));
        super::sort::par_sort_by(here(), self.as_parallel_slice_mut(), &compare, false);
    }
}

impl<T: Send> ParallelSliceMut<T> for [T] {
    fn par_chunks_mut(&mut self, size: usize) -> Par<'static, ChunksMut<'_, T>> {
        assert!(size != 0, "corepool: par_chunks_mut with a chunk size of 0");
        Par::new(here(), ChunksMut { slice: self, size })
    }

    fn as_parallel_slice_mut(&mut self) -> &mut [T] {
        self
    }
}

/// What [`Par::zip`] and [`Par::chain`] accept: any input [`Pool::par`]
/// takes, or an indexed [`Par`] (whose pool is then not used: the pieces run
/// on the first `Par`'s pool).
///
/// ```
/// use corepool::prelude::*;
/// let (a, b) = (vec![1, 2], vec![10, 20]);
/// let s: Vec<i32> = a.par_iter().zip(b.par_iter()).map(|(x, y)| x + y).collect();
/// assert_eq!(s, [11, 22]);
/// ```
pub trait IntoSource {
    /// The input.
    type Source: IntoPar;

    /// The input, with any indexed adaptors applied.
    fn into_source(self) -> Self::Source;
}

impl<S: IntoPar> IntoSource for S {
    type Source = S;

    fn into_source(self) -> S {
        self
    }
}

impl<S: IntoPar, F: Indexed<S::Item>> IntoSource for Par<'_, S, F> {
    type Source = F::Fused<S>;

    fn into_source(self) -> F::Fused<S> {
        self.map.fuse(self.source)
    }
}

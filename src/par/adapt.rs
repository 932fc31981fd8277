//! Adaptors that change which items an indexed input yields, or where:
//! `enumerate`, `rev`, `skip`, `take`, `step_by`, `chain`, `chunks`, and
//! [`Mapped`], an input with an indexed pipe applied (what `zip` and the
//! others wrap after a `map`). Each is a [`Source`] wrapping a source, with a
//! producer wrapping its producer; every producer keeps the invariants of
//! `source.rs` (exact lengths, `split_at(i)` gives the first `i` items).

use super::IntoPar;
use super::pipe::Pipe;
use super::source::{Divisible, Producer, Source};

/// Declares `IntoPar` for a wrapper source.
macro_rules! into_par {
    ($($name:ident<$($g:ident),*>),*) => {$(
        impl<$($g: IntoPar),*> IntoPar for $name<$($g),*> where $name<$($g),*>: Source {}
    )*};
}

// ---------------------------------------------------------------- mapped --

/// An input with an indexed pipe (`map`, `inspect`, `copied`, `cloned`)
/// applied to each item, made by the adaptors that need the mapped items'
/// positions: [`Par::zip`](super::Par::zip) after a `map`, say.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let v: Vec<(u32, u32)> = pool.par(0..3u32).map(|x| x * 10).zip(&[1u32, 2, 3]).map(|(a, &b)| (a, b)).collect();
/// assert_eq!(v, [(0, 1), (10, 2), (20, 3)]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Mapped<S, F> {
    pub(super) source: S,
    pub(super) pipe: F,
}

/// The producer of a [`Mapped`] input.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // `enumerate` after a `map` cuts the mapped input into these producers.
/// let pairs = pool.par(0..100u32).map(|x| x * 2).enumerate().with_max_len(8);
/// let v: Vec<(usize, u32)> = pairs.collect();
/// assert_eq!(v.len(), 100);
/// assert_eq!(v[..3], [(0, 0), (1, 2), (2, 4)]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub struct MappedProducer<'k, P, F> {
    inner: P,
    pipe: &'k F,
}

impl<P: std::fmt::Debug, F> std::fmt::Debug for MappedProducer<'_, P, F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MappedProducer")
            .field("inner", &self.inner)
            .finish_non_exhaustive()
    }
}

impl<P: Divisible, F: Sync> Divisible for MappedProducer<'_, P, F> {
    #[inline]
    fn part_len(&self) -> usize {
        self.inner.part_len()
    }

    #[inline]
    fn split_at(self, index: usize) -> (Self, Self) {
        let (l, r) = self.inner.split_at(index);
        let pipe = self.pipe;
        (
            MappedProducer { inner: l, pipe },
            MappedProducer { inner: r, pipe },
        )
    }
}

impl<'k, P: Producer, F: Pipe<P::Item> + 'k> Producer for MappedProducer<'k, P, F> {
    type Item = F::Out;
    type IntoIter = F::Iter<'k, P::IntoIter>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.pipe.pipe(self.inner.into_iter())
    }
}

impl<S: Source, F: Pipe<S::Item>> Source for Mapped<S, F> {
    type Item = F::Out;
    type Keep = (S::Keep, Option<F>);
    type Producer<'k>
        = MappedProducer<'k, S::Producer<'k>, F>
    where
        Self: 'k;

    fn input_len(&self) -> usize {
        self.source.input_len()
    }

    fn into_producer(self, keep: &mut Self::Keep) -> Self::Producer<'_> {
        let (inner_keep, slot) = keep;
        let pipe: &F = slot.insert(self.pipe);
        MappedProducer {
            inner: self.source.into_producer(inner_keep),
            pipe,
        }
    }
}

impl<S: IntoPar, F: Pipe<S::Item>> IntoPar for Mapped<S, F> {}

// ------------------------------------------------------------- enumerate --

/// The input of [`Par::enumerate`](super::Par::enumerate): each item with
/// its index.
///
/// ```
/// use corepool::par::{Enumerate, Par};
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let indexed: Par<'_, Enumerate<std::ops::Range<u32>>> = pool.par(10..13u32).enumerate();
/// assert_eq!(indexed.collect::<Vec<_>>(), [(0, 10), (1, 11), (2, 12)]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Enumerate<S>(pub(super) S);

/// The producer of an [`Enumerate`] input: a part and its first index.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Cut into pieces of at most 7 items, each piece knows the index of its first item.
/// let v: Vec<(usize, u32)> = pool.par(100..200u32).enumerate().with_max_len(7).collect();
/// assert_eq!(v[50], (50, 150));
/// assert!(v.iter().all(|&(i, x)| x == 100 + i as u32));
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug)]
pub struct EnumerateProducer<P> {
    inner: P,
    offset: usize,
}

impl<P: Divisible> Divisible for EnumerateProducer<P> {
    #[inline]
    fn part_len(&self) -> usize {
        self.inner.part_len()
    }

    #[inline]
    fn split_at(self, index: usize) -> (Self, Self) {
        let (l, r) = self.inner.split_at(index);
        (
            EnumerateProducer {
                inner: l,
                offset: self.offset,
            },
            EnumerateProducer {
                inner: r,
                offset: self.offset + index,
            },
        )
    }
}

impl<P: Producer> Producer for EnumerateProducer<P> {
    type Item = (usize, P::Item);
    type IntoIter = std::iter::Zip<std::ops::RangeFrom<usize>, P::IntoIter>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        (self.offset..).zip(self.inner.into_iter())
    }
}

impl<S: Source> Source for Enumerate<S> {
    type Item = (usize, S::Item);
    type Keep = S::Keep;
    type Producer<'k>
        = EnumerateProducer<S::Producer<'k>>
    where
        Self: 'k;

    fn input_len(&self) -> usize {
        self.0.input_len()
    }

    fn into_producer(self, keep: &mut S::Keep) -> Self::Producer<'_> {
        EnumerateProducer {
            inner: self.0.into_producer(keep),
            offset: 0,
        }
    }
}

// ------------------------------------------------------------------- rev --

/// The input of [`Par::rev`](super::Par::rev): the items last to first.
///
/// ```
/// use corepool::par::{Par, Rev};
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let v = vec![1, 2, 3];
/// let backwards: Par<'_, Rev<&Vec<i32>>> = pool.par(&v).rev();
/// assert_eq!(backwards.copied().collect::<Vec<_>>(), [3, 2, 1]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Rev<S>(pub(super) S);

/// The producer of a [`Rev`] input: the wrapped part, read backwards.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Cut into pieces, the pieces come last to first and each reads backwards.
/// let v: Vec<u32> = pool.par(0..100u32).rev().with_max_len(8).collect();
/// assert_eq!(v, (0..100u32).rev().collect::<Vec<_>>());
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug)]
pub struct RevProducer<P>(P);

impl<P: Divisible> Divisible for RevProducer<P> {
    #[inline]
    fn part_len(&self) -> usize {
        self.0.part_len()
    }

    #[inline]
    fn split_at(self, index: usize) -> (Self, Self) {
        // The first `index` reversed items are the last `index` items.
        let len = self.0.part_len();
        let (l, r) = self.0.split_at(len - index);
        (RevProducer(r), RevProducer(l))
    }
}

/// A leaf's iterator under [`Rev`]: the last item is split off the part,
/// one at a time (a split is O(1) for every producer).
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Each piece of a `rev` yields its items through one of these, last first.
/// let words = vec![String::from("a"), String::from("b"), String::from("c")];
/// let v: Vec<String> = pool.par(words).rev().collect();
/// assert_eq!(v, ["c", "b", "a"]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug)]
pub struct RevIter<P>(Option<P>);

impl<P: Producer> Iterator for RevIter<P> {
    type Item = P::Item;

    #[inline]
    fn next(&mut self) -> Option<P::Item> {
        let part = self.0.take()?;
        let len = part.part_len();
        if len == 0 {
            return None;
        }
        let (rest, last) = part.split_at(len - 1);
        self.0 = Some(rest);
        last.into_iter().next()
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.0.as_ref().map_or(0, Divisible::part_len);
        (left, Some(left))
    }
}

impl<P: Producer> Producer for RevProducer<P> {
    type Item = P::Item;
    type IntoIter = RevIter<P>;

    #[inline]
    fn into_iter(self) -> RevIter<P> {
        RevIter(Some(self.0))
    }
}

impl<S: Source> Source for Rev<S> {
    type Item = S::Item;
    type Keep = S::Keep;
    type Producer<'k>
        = RevProducer<S::Producer<'k>>
    where
        Self: 'k;

    fn input_len(&self) -> usize {
        self.0.input_len()
    }

    fn into_producer(self, keep: &mut S::Keep) -> Self::Producer<'_> {
        RevProducer(self.0.into_producer(keep))
    }
}

// ------------------------------------------------------------ skip, take --

/// The input of [`Par::skip`](super::Par::skip) and
/// [`Par::take`](super::Par::take): the items from `start`, at most `len`.
///
/// ```
/// use corepool::par::{Cut, Par};
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let tail: Par<'_, Cut<std::ops::Range<u32>>> = pool.par(0..10u32).skip(3);
/// assert_eq!(tail.take(4).collect::<Vec<_>>(), [3, 4, 5, 6]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Cut<S> {
    pub(super) source: S,
    pub(super) start: usize,
    pub(super) len: usize,
}

impl<S: Source> Source for Cut<S> {
    type Item = S::Item;
    type Keep = S::Keep;
    type Producer<'k>
        = S::Producer<'k>
    where
        Self: 'k;

    fn input_len(&self) -> usize {
        self.source
            .input_len()
            .saturating_sub(self.start)
            .min(self.len)
    }

    fn into_producer(self, keep: &mut S::Keep) -> Self::Producer<'_> {
        let len = self.input_len();
        let all = self.source.into_producer(keep);
        let start = self.start.min(all.part_len());
        // The cut-off items are dropped here (owned items included), each
        // part while what is kept is a local: where an item's `Drop`
        // panics, the unwinding drops the kept items too (dropping the tail
        // of `rest.split_at(len).0` after `.0` had moved into the return
        // value leaked them).
        let (head, rest) = all.split_at(start);
        drop(head);
        let (kept, tail) = rest.split_at(len);
        drop(tail);
        kept
    }
}

// --------------------------------------------------------------- step_by --

/// The input of [`Par::step_by`](super::Par::step_by): every `step`-th
/// item, from the first.
///
/// ```
/// use corepool::par::{Par, StepBy};
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let every_third: Par<'_, StepBy<std::ops::Range<u32>>> = pool.par(0..10u32).step_by(3);
/// assert_eq!(every_third.collect::<Vec<_>>(), [0, 3, 6, 9]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct StepBy<S> {
    pub(super) source: S,
    pub(super) step: usize,
}

/// The producer of a [`StepBy`] input.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Cut into pieces, each piece starts on a multiple of the step.
/// let v: Vec<u32> = pool.par(0..1000u32).step_by(7).with_max_len(5).collect();
/// assert_eq!(v, (0..1000u32).step_by(7).collect::<Vec<_>>());
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug)]
pub struct StepByProducer<P> {
    inner: P,
    step: usize,
}

impl<P: Divisible> Divisible for StepByProducer<P> {
    #[inline]
    fn part_len(&self) -> usize {
        self.inner.part_len().div_ceil(self.step)
    }

    #[inline]
    fn split_at(self, index: usize) -> (Self, Self) {
        let at = index.saturating_mul(self.step).min(self.inner.part_len());
        let (l, r) = self.inner.split_at(at);
        let step = self.step;
        (
            StepByProducer { inner: l, step },
            StepByProducer { inner: r, step },
        )
    }
}

impl<P: Producer> Producer for StepByProducer<P> {
    type Item = P::Item;
    type IntoIter = std::iter::StepBy<P::IntoIter>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.inner.into_iter().step_by(self.step)
    }
}

impl<S: Source> Source for StepBy<S> {
    type Item = S::Item;
    type Keep = S::Keep;
    type Producer<'k>
        = StepByProducer<S::Producer<'k>>
    where
        Self: 'k;

    fn input_len(&self) -> usize {
        self.source.input_len().div_ceil(self.step)
    }

    fn into_producer(self, keep: &mut S::Keep) -> Self::Producer<'_> {
        StepByProducer {
            inner: self.source.into_producer(keep),
            step: self.step,
        }
    }
}

// ----------------------------------------------------------------- chain --

/// The input of [`Par::chain`](super::Par::chain): the items of `a`, then
/// those of `b`.
///
/// ```
/// use corepool::par::{Chain, Par};
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let (a, b) = ([1, 2], vec![3, 4, 5]);
/// let both: Par<'_, Chain<_, _>> = pool.par(&a).chain(&b);
/// assert_eq!(both.copied().sum::<i32>(), 15);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Chain<A, B> {
    pub(super) a: A,
    pub(super) b: B,
}

/// The producer of a [`Chain`] input: a part of `a` and a part of `b`
/// (either may be empty).
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Cut into pieces, a piece may hold the end of one input and the start of the other.
/// let v: Vec<u32> = pool.par(0..50u32).chain(50..100u32).with_max_len(7).collect();
/// assert_eq!(v, (0..100u32).collect::<Vec<_>>());
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug)]
pub struct ChainProducer<A, B> {
    a: A,
    b: B,
}

impl<A: Divisible, B: Divisible> Divisible for ChainProducer<A, B> {
    #[inline]
    fn part_len(&self) -> usize {
        self.a.part_len() + self.b.part_len()
    }

    #[inline]
    fn split_at(self, index: usize) -> (Self, Self) {
        let a_len = self.a.part_len();
        if index <= a_len {
            let (a1, a2) = self.a.split_at(index);
            let (b1, b2) = self.b.split_at(0);
            (
                ChainProducer { a: a1, b: b1 },
                ChainProducer { a: a2, b: b2 },
            )
        } else {
            let (a1, a2) = self.a.split_at(a_len);
            let (b1, b2) = self.b.split_at(index - a_len);
            (
                ChainProducer { a: a1, b: b1 },
                ChainProducer { a: a2, b: b2 },
            )
        }
    }
}

impl<A: Producer, B: Producer<Item = A::Item>> Producer for ChainProducer<A, B> {
    type Item = A::Item;
    type IntoIter = std::iter::Chain<A::IntoIter, B::IntoIter>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.a.into_iter().chain(self.b.into_iter())
    }
}

impl<A: Source, B: Source<Item = A::Item>> Source for Chain<A, B> {
    type Item = A::Item;
    type Keep = (A::Keep, B::Keep);
    type Producer<'k>
        = ChainProducer<A::Producer<'k>, B::Producer<'k>>
    where
        Self: 'k;

    fn input_len(&self) -> usize {
        self.a.input_len() + self.b.input_len()
    }

    fn into_producer(self, keep: &mut Self::Keep) -> Self::Producer<'_> {
        let (ka, kb) = keep;
        ChainProducer {
            a: self.a.into_producer(ka),
            b: self.b.into_producer(kb),
        }
    }
}

// ---------------------------------------------------------------- chunks --

/// The input of [`Par::chunks`](super::Par::chunks): the items in `Vec`s of
/// `size` (the last may be shorter).
///
/// ```
/// use corepool::par::{Par, VecChunks};
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let pairs: Par<'_, VecChunks<std::ops::Range<u32>>> = pool.par(0..5u32).chunks(2);
/// assert_eq!(pairs.collect::<Vec<_>>(), [vec![0, 1], vec![2, 3], vec![4]]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct VecChunks<S> {
    pub(super) source: S,
    pub(super) size: usize,
}

/// The producer of a [`VecChunks`] input.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Cut into pieces, each piece starts on a chunk boundary.
/// let chunks = pool.par(0..100u32).chunks(10).with_max_len(3);
/// let sums: Vec<u32> = chunks.map(|c| c.iter().sum()).collect();
/// assert_eq!(sums.len(), 10);
/// assert_eq!((sums[0], sums[9]), (45, 945));
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug)]
pub struct VecChunksProducer<P> {
    inner: P,
    size: usize,
}

impl<P: Divisible> Divisible for VecChunksProducer<P> {
    #[inline]
    fn part_len(&self) -> usize {
        self.inner.part_len().div_ceil(self.size)
    }

    #[inline]
    fn split_at(self, index: usize) -> (Self, Self) {
        let at = index.saturating_mul(self.size).min(self.inner.part_len());
        let (l, r) = self.inner.split_at(at);
        let size = self.size;
        (
            VecChunksProducer { inner: l, size },
            VecChunksProducer { inner: r, size },
        )
    }
}

/// A leaf's iterator under [`VecChunks`].
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Each piece builds its chunks with one of these, `size` items at a time.
/// let v: Vec<Vec<char>> = pool.par(vec!['a', 'b', 'c']).chunks(2).collect();
/// assert_eq!(v, [vec!['a', 'b'], vec!['c']]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug)]
pub struct VecChunksIter<I> {
    items: I,
    size: usize,
}

impl<I: Iterator> Iterator for VecChunksIter<I> {
    type Item = Vec<I::Item>;

    #[inline]
    fn next(&mut self) -> Option<Vec<I::Item>> {
        let chunk: Vec<I::Item> = self.items.by_ref().take(self.size).collect();
        (!chunk.is_empty()).then_some(chunk)
    }
}

impl<P: Producer> Producer for VecChunksProducer<P> {
    type Item = Vec<P::Item>;
    type IntoIter = VecChunksIter<P::IntoIter>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        VecChunksIter {
            items: self.inner.into_iter(),
            size: self.size,
        }
    }
}

impl<S: Source> Source for VecChunks<S> {
    type Item = Vec<S::Item>;
    type Keep = S::Keep;
    type Producer<'k>
        = VecChunksProducer<S::Producer<'k>>
    where
        Self: 'k;

    fn input_len(&self) -> usize {
        self.source.input_len().div_ceil(self.size)
    }

    fn into_producer(self, keep: &mut S::Keep) -> Self::Producer<'_> {
        VecChunksProducer {
            inner: self.source.into_producer(keep),
            size: self.size,
        }
    }
}

into_par!(Enumerate<S>, Rev<S>, Cut<S>, StepBy<S>, Chain<A, B>, VecChunks<S>);

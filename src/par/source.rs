//! What [`Pool::par`](crate::Pool::par) splits: the sealed traits behind
//! [`IntoPar`](super::IntoPar), and one producer per kind of input.
//!
//! A *source* is the value the user hands over (a range, a slice, a `Vec`, a
//! zip of two). [`Source::into_producer`] turns it into a *producer*: a piece
//! of input with an exact length that can be cut in two
//! ([`Divisible::split_at`]) and walked sequentially
//! ([`Producer::into_iter`]). The driver (`drive.rs`) only cuts; the leaves
//! walk.
//!
//! Invariants every producer keeps (the collector in `collect.rs` relies on
//! the first two for its bounds, and checks them again at the end):
//!
//! 1. `split_at(i)` with `i <= len()` gives a left part of length `i` and a
//!    right part of length `len() - i`, holding the first `i` items and the
//!    rest, in order.
//! 2. `into_iter()` yields exactly `len()` items.
//! 3. Every item is yielded at most once; items never yielded are dropped
//!    when the producer or its iterator is dropped (this matters only for
//!    owned items, [`VecProducer`]).
//!
//! A `Vec` taken by value must outlive its producers, which read out of its
//! buffer: the source moves the `Vec` into a *keep* slot owned by the calling
//! frame, and the producer borrows that slot (`Source::Producer<'k>`), so the
//! borrow checker, not a comment, keeps the buffer alive.

use std::mem::MaybeUninit;
use std::ops::Range;

/// Something the driver can cut in two: a producer, or the collector's
/// pairing of a producer with its part of the output buffer.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Every input is cut in two again and again; each part keeps its items in order.
/// let v: Vec<u32> = pool.par(0..1000u32).with_max_len(16).collect();
/// assert_eq!(v, (0..1000u32).collect::<Vec<_>>());
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub trait Divisible: Send + Sized {
    /// How many items this part holds.
    fn part_len(&self) -> usize;

    /// The first `index` items and the rest (`index <= len()`).
    fn split_at(self, index: usize) -> (Self, Self);
}

/// A splittable piece of indexed input that a leaf walks sequentially.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Each piece is walked in order and yields exactly as many items as it counts.
/// let words = vec!["a"; 1000];
/// let par = pool.par(&words).with_max_len(16);
/// let len = par.len();
/// assert_eq!((len, par.count()), (1000, 1000));
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub trait Producer: Divisible {
    /// What the input yields.
    type Item;
    /// The sequential iterator a leaf walks.
    type IntoIter: Iterator<Item = Self::Item>;

    /// Walks the items in order; yields exactly `len()` of them.
    fn into_iter(self) -> Self::IntoIter;
}

/// An input [`Pool::par`](crate::Pool::par) accepts, before it is turned into
/// a producer. Sealed: implemented only in this crate.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Every input `Pool::par` takes is a source, with the type of its items.
/// fn smallest<S>(pool: &corepool::Pool, input: S) -> Option<u8>
/// where
///     S: corepool::par::IntoPar<Item = u8>,
/// {
///     pool.par(input).min()
/// }
/// assert_eq!(smallest(&pool, vec![9u8, 7, 8]), Some(7));
/// assert_eq!(smallest(&pool, 3..5u8), Some(3));
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub trait Source: Sized {
    /// What the input yields.
    type Item;
    /// What must outlive the producer (the `Vec` of a by-value input).
    type Keep: Default;
    /// The producer, borrowing the keep slot for `'k`.
    type Producer<'k>: Producer<Item = Self::Item>
    where
        Self: 'k;

    /// How many items the input yields.
    fn input_len(&self) -> usize;

    /// Moves whatever must outlive the producer into `keep`, and returns the
    /// producer.
    fn into_producer(self, keep: &mut Self::Keep) -> Self::Producer<'_>;
}

// ---------------------------------------------------------------- ranges --

macro_rules! range_source {
    ($($t:ty),*) => {$(
        impl Divisible for Range<$t> {
            #[inline]
            fn part_len(&self) -> usize {
                if self.start < self.end {
                    // Fits: the type is at most as wide as `usize` here.
                    self.end.abs_diff(self.start) as usize
                } else {
                    0
                }
            }

            #[inline]
            fn split_at(self, index: usize) -> (Self, Self) {
                // Two's-complement wrapping gives `start + index` exactly,
                // since the true sum lies in `start..=end`.
                let mid = self.start.wrapping_add(index as $t);
                (self.start..mid, mid..self.end)
            }
        }

        impl Producer for Range<$t> {
            type Item = $t;
            type IntoIter = Range<$t>;

            #[inline]
            fn into_iter(self) -> Range<$t> {
                self
            }
        }

        impl Source for Range<$t> {
            type Item = $t;
            type Keep = ();
            type Producer<'k> = Range<$t>;

            fn input_len(&self) -> usize {
                Divisible::part_len(self)
            }

            fn into_producer(self, _keep: &mut ()) -> Range<$t> {
                self
            }
        }

        impl super::IntoPar for Range<$t> {}
    )*};
}

range_source!(usize, u8, u16, u32, isize, i8, i16, i32);
// A 64-bit range can hold more than `usize::MAX` items where `usize` is
// narrower: there, index a `usize` range instead.
#[cfg(target_pointer_width = "64")]
range_source!(u64, i64);

/// The length of a range of `len` items (as a `u128`) as a `usize`.
///
/// # Panics
///
/// If the range has more than `usize::MAX` items.
#[inline]
fn wide_len(len: u128) -> usize {
    usize::try_from(len).unwrap_or_else(|_| {
        panic!("corepool::par: a range of {len} items is longer than usize::MAX")
    })
}

/// Ranges whose length may not fit a `usize`: the 128-bit ones (and the
/// 64-bit ones where `usize` is narrower) are taken, and panic if longer.
/// An inclusive range is cut as its first item and its length.
macro_rules! wide_range_source {
    ($($t:ty),*) => {$(
        impl Divisible for InclusiveProducer<$t> {
            #[inline]
            fn part_len(&self) -> usize {
                self.len
            }

            #[inline]
            fn split_at(self, index: usize) -> (Self, Self) {
                let mid = self.start.wrapping_add(index as $t);
                (
                    InclusiveProducer { start: self.start, len: index },
                    InclusiveProducer { start: mid, len: self.len - index },
                )
            }
        }

        impl Producer for InclusiveProducer<$t> {
            type Item = $t;
            type IntoIter = std::ops::RangeInclusive<$t>;

            #[inline]
            fn into_iter(self) -> Self::IntoIter {
                if self.len == 0 {
                    let mut empty = self.start..=self.start;
                    empty.next();
                    empty
                } else {
                    // The last item, `start + len - 1`, lies in the range.
                    self.start..=self.start.wrapping_add((self.len - 1) as $t)
                }
            }
        }

        impl Source for std::ops::RangeInclusive<$t> {
            type Item = $t;
            type Keep = ();
            type Producer<'k> = InclusiveProducer<$t>;

            fn input_len(&self) -> usize {
                if self.is_empty() {
                    0
                } else {
                    wide_len(self.end().abs_diff(*self.start()) as u128)
                        .checked_add(1)
                        .expect("corepool::par: a range longer than usize::MAX")
                }
            }

            fn into_producer(self, _keep: &mut ()) -> InclusiveProducer<$t> {
                InclusiveProducer { start: *self.start(), len: self.input_len() }
            }
        }

        impl super::IntoPar for std::ops::RangeInclusive<$t> {}
    )*};
}

/// The producer of an inclusive range (or a 128-bit one): its first item
/// and how many follow.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Inclusive and 128-bit ranges are cut as a first item and a count.
/// let top: Vec<u8> = pool.par(250..=255u8).collect();
/// assert_eq!(top, [250, 251, 252, 253, 254, 255]);
/// assert_eq!(pool.par(0..1000u128).with_max_len(10).sum::<u128>(), 499_500);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct InclusiveProducer<T> {
    start: T,
    len: usize,
}

wide_range_source!(usize, u8, u16, u32, u64, isize, i8, i16, i32, i64);

/// 128-bit half-open ranges, through the inclusive ranges' producer.
macro_rules! range_128 {
    ($($t:ty),*) => {$(
        wide_range_source!($t);

        impl Source for Range<$t> {
            type Item = $t;
            type Keep = ();
            type Producer<'k> = InclusiveProducer<$t>;

            fn input_len(&self) -> usize {
                if self.start < self.end {
                    wide_len(self.end.abs_diff(self.start))
                } else {
                    0
                }
            }

            fn into_producer(self, _keep: &mut ()) -> InclusiveProducer<$t> {
                InclusiveProducer { start: self.start, len: self.input_len() }
            }
        }

        impl super::IntoPar for Range<$t> {}
    )*};
}

range_128!(u128, i128);

// ---------------------------------------------------------------- slices --

impl<T: Sync> Divisible for &[T] {
    #[inline]
    fn part_len(&self) -> usize {
        <[T]>::len(self)
    }

    #[inline]
    fn split_at(self, index: usize) -> (Self, Self) {
        <[T]>::split_at(self, index)
    }
}

impl<'a, T: Sync> Producer for &'a [T] {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl<T: Send> Divisible for &mut [T] {
    #[inline]
    fn part_len(&self) -> usize {
        <[T]>::len(self)
    }

    #[inline]
    fn split_at(self, index: usize) -> (Self, Self) {
        self.split_at_mut(index)
    }
}

impl<'a, T: Send> Producer for &'a mut [T] {
    type Item = &'a mut T;
    type IntoIter = std::slice::IterMut<'a, T>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.iter_mut()
    }
}

/// Sources that are (or borrow) a slice directly: the producer is the slice.
macro_rules! slice_source {
    ($({$($gen:tt)*} $src:ty => $prod:ty, $item:ty, |$s:ident| $conv:expr;)*) => {$(
        impl<$($gen)*> Source for $src {
            type Item = $item;
            type Keep = ();
            type Producer<'k> = $prod where Self: 'k;

            fn input_len(&self) -> usize {
                let $s = self;
                <[T]>::len(&$s[..])
            }

            fn into_producer(self, _keep: &mut ()) -> $prod {
                let $s = self;
                $conv
            }
        }

        impl<$($gen)*> super::IntoPar for $src {}
    )*};
}

slice_source! {
    {'a, T: Sync} &'a [T] => &'a [T], &'a T, |s| s;
    {'a, T: Sync} &'a Vec<T> => &'a [T], &'a T, |s| s.as_slice();
    {'a, T: Sync, const N: usize} &'a [T; N] => &'a [T], &'a T, |s| s.as_slice();
    {'a, T: Send} &'a mut [T] => &'a mut [T], &'a mut T, |s| s;
    {'a, T: Send} &'a mut Vec<T> => &'a mut [T], &'a mut T, |s| s.as_mut_slice();
    {'a, T: Send, const N: usize} &'a mut [T; N] => &'a mut [T], &'a mut T, |s| s.as_mut_slice();
}

// ---------------------------------------------------------------- chunks --

/// The chunks of a slice, for [`Pool::par_chunks`](crate::Pool::par_chunks):
/// `size` items each, the last one shorter if `size` does not divide the
/// length.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let data = [1u32, 2, 3, 4, 5];
/// let sums: Vec<u32> = pool.par_chunks(&data, 2).map(|c| c.iter().sum()).collect();
/// assert_eq!(sums, [3, 7, 5]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Chunks<'a, T> {
    pub(super) slice: &'a [T],
    pub(super) size: usize,
}

/// The chunks of a mutable slice, for
/// [`Pool::par_chunks_mut`](crate::Pool::par_chunks_mut): `size` items each,
/// the last one shorter if `size` does not divide the length.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let mut data = vec![0u32; 10];
/// pool.par_chunks_mut(&mut data, 4).for_each(|chunk| chunk[0] = 1);
/// assert_eq!(data, [1, 0, 0, 0, 1, 0, 0, 0, 1, 0]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug)]
pub struct ChunksMut<'a, T> {
    pub(super) slice: &'a mut [T],
    pub(super) size: usize,
}

impl<T: Sync> Divisible for Chunks<'_, T> {
    #[inline]
    fn part_len(&self) -> usize {
        self.slice.len().div_ceil(self.size)
    }

    #[inline]
    fn split_at(self, index: usize) -> (Self, Self) {
        let at = index.saturating_mul(self.size).min(self.slice.len());
        let (left, right) = self.slice.split_at(at);
        let size = self.size;
        (Chunks { slice: left, size }, Chunks { slice: right, size })
    }
}

impl<'a, T: Sync> Producer for Chunks<'a, T> {
    type Item = &'a [T];
    type IntoIter = std::slice::Chunks<'a, T>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.slice.chunks(self.size)
    }
}

impl<'a, T: Sync> Source for Chunks<'a, T> {
    type Item = &'a [T];
    type Keep = ();
    type Producer<'k>
        = Chunks<'a, T>
    where
        Self: 'k;

    fn input_len(&self) -> usize {
        Divisible::part_len(self)
    }

    fn into_producer(self, _keep: &mut ()) -> Self {
        self
    }
}

impl<T: Sync> super::IntoPar for Chunks<'_, T> {}

impl<T: Send> Divisible for ChunksMut<'_, T> {
    #[inline]
    fn part_len(&self) -> usize {
        self.slice.len().div_ceil(self.size)
    }

    #[inline]
    fn split_at(self, index: usize) -> (Self, Self) {
        let at = index.saturating_mul(self.size).min(self.slice.len());
        let (left, right) = self.slice.split_at_mut(at);
        let size = self.size;
        (
            ChunksMut { slice: left, size },
            ChunksMut { slice: right, size },
        )
    }
}

impl<'a, T: Send> Producer for ChunksMut<'a, T> {
    type Item = &'a mut [T];
    type IntoIter = std::slice::ChunksMut<'a, T>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.slice.chunks_mut(self.size)
    }
}

impl<'a, T: Send> Source for ChunksMut<'a, T> {
    type Item = &'a mut [T];
    type Keep = ();
    type Producer<'k>
        = ChunksMut<'a, T>
    where
        Self: 'k;

    fn input_len(&self) -> usize {
        Divisible::part_len(self)
    }

    fn into_producer(self, _keep: &mut ()) -> Self {
        self
    }
}

impl<T: Send> super::IntoPar for ChunksMut<'_, T> {}

// ------------------------------------------------------------ Vec by value --

/// Owned items of a `Vec` taken by value, read out of its buffer.
///
/// Invariant: every element of `slots` is initialised and owned by this
/// producer alone; the `Vec` they came from has length 0, so it will only
/// free the buffer.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // A `Vec` taken by value: each piece moves its items out of the buffer.
/// let words = vec![String::from("a"), String::from("bb"), String::from("ccc")];
/// let lens: Vec<usize> = pool.par(words).map(|w| w.len()).collect();
/// assert_eq!(lens, [1, 2, 3]);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub struct VecProducer<'k, T> {
    slots: &'k mut [MaybeUninit<T>],
}

impl<T> std::fmt::Debug for VecProducer<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VecProducer")
            .field("len", &self.slots.len())
            .finish()
    }
}

impl<T> Drop for VecProducer<'_, T> {
    fn drop(&mut self) {
        // SAFETY: by the type's invariant every slot is initialised and owned
        // here; after this nobody reads them (the slice is dropped with us).
        unsafe { drop_slots(self.slots) };
    }
}

/// Drops every element of `slots` in place.
///
/// # Safety
///
/// Every element must be initialised and owned by the caller, and must not
/// be used afterwards.
unsafe fn drop_slots<T>(slots: &mut [MaybeUninit<T>]) {
    let elements = std::ptr::from_mut(slots) as *mut [T];
    // SAFETY: `MaybeUninit<T>` has the layout of `T`, and the caller vouches
    // that every element is initialised and not used again.
    unsafe { std::ptr::drop_in_place(elements) };
}

impl<T: Send> Divisible for VecProducer<'_, T> {
    #[inline]
    fn part_len(&self) -> usize {
        self.slots.len()
    }

    #[inline]
    fn split_at(mut self, index: usize) -> (Self, Self) {
        // Ownership of every slot moves to exactly one of the two halves;
        // `self` is left empty, so its drop drops nothing.
        let slots = std::mem::take(&mut self.slots);
        let (left, right) = slots.split_at_mut(index);
        (VecProducer { slots: left }, VecProducer { slots: right })
    }
}

impl<'k, T: Send> Producer for VecProducer<'k, T> {
    type Item = T;
    type IntoIter = VecIter<'k, T>;

    #[inline]
    fn into_iter(mut self) -> VecIter<'k, T> {
        VecIter {
            slots: std::mem::take(&mut self.slots),
            next: 0,
        }
    }
}

/// The items of a [`VecProducer`], moved out one by one.
///
/// Invariant: the elements `slots[next..]` are initialised and owned by the
/// iterator; those before `next` have been moved out.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Each piece of a `Vec` taken by value hands out its items, moved, one by one.
/// let owned: Vec<String> = (0..100).map(|i| i.to_string()).collect();
/// let marked: Vec<String> = pool.par(owned).with_max_len(8).map(|s| s + "!").collect();
/// assert_eq!((marked[0].as_str(), marked[99].as_str()), ("0!", "99!"));
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub struct VecIter<'k, T> {
    slots: &'k mut [MaybeUninit<T>],
    next: usize,
}

impl<T> std::fmt::Debug for VecIter<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VecIter")
            .field("left", &(self.slots.len() - self.next))
            .finish()
    }
}

impl<T> Iterator for VecIter<'_, T> {
    type Item = T;

    #[inline]
    fn next(&mut self) -> Option<T> {
        let slot = self.slots.get(self.next)?;
        // SAFETY: `next` is in bounds and, by the invariant, that element is
        // initialised and still ours; advancing `next` below gives up our
        // ownership of it, so it is read (moved) exactly once.
        let item = unsafe { slot.assume_init_read() };
        self.next += 1;
        Some(item)
    }

    #[inline]
    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.slots.len() - self.next;
        (left, Some(left))
    }
}

impl<T> Drop for VecIter<'_, T> {
    fn drop(&mut self) {
        // SAFETY: by the invariant the elements from `next` on are
        // initialised and owned here, and nothing reads them after this.
        unsafe { drop_slots(&mut self.slots[self.next..]) };
    }
}

impl<T: Send> Source for Vec<T> {
    type Item = T;
    type Keep = Vec<T>;
    type Producer<'k>
        = VecProducer<'k, T>
    where
        Self: 'k;

    fn input_len(&self) -> usize {
        Vec::len(self)
    }

    fn into_producer(self, keep: &mut Vec<T>) -> VecProducer<'_, T> {
        *keep = self;
        let len = keep.len();
        // SAFETY: shrinking the length is always allowed; the `len` elements
        // stay initialised in the buffer and their ownership moves to the
        // producer built next (its invariant), so the `Vec` left in `keep`
        // only frees the buffer and never drops them twice.
        unsafe { keep.set_len(0) };
        VecProducer {
            slots: &mut keep.spare_capacity_mut()[..len],
        }
    }
}

impl<T: Send> super::IntoPar for Vec<T> {}

// ------------------------------------------------------------------- zip --

/// Two inputs walked side by side, for [`Par::zip`](super::Par::zip): items
/// are pairs, and the length is the shorter one's (the longer input's extra
/// items are dropped unused, as `Iterator::zip` leaves them).
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// let a = [1.0f64, 2.0, 3.0];
/// let b = vec![4.0f64, 5.0, 6.0, 7.0];
/// let dot: f64 = pool.par(&a).zip(&b).map(|(x, y)| x * y).sum();
/// assert_eq!(dot, 32.0);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Zip<A, B> {
    pub(super) a: A,
    pub(super) b: B,
}

/// Both producers of a [`Zip`], cut to the same length.
///
/// ```
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// // Both inputs are cut at the same places, so the pairs line up in every piece.
/// let a: Vec<u32> = (0..100).collect();
/// let pairs: Vec<(u32, u32)> = pool.par(&a).copied().zip(100..200u32).with_max_len(7).collect();
/// assert_eq!(pairs.len(), 100);
/// assert!(pairs.iter().all(|&(x, y)| y == x + 100));
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(Debug)]
pub struct ZipProducer<A, B> {
    a: A,
    b: B,
}

impl<A: Divisible, B: Divisible> Divisible for ZipProducer<A, B> {
    #[inline]
    fn part_len(&self) -> usize {
        self.a.part_len()
    }

    #[inline]
    fn split_at(self, index: usize) -> (Self, Self) {
        let (a1, a2) = self.a.split_at(index);
        let (b1, b2) = self.b.split_at(index);
        (ZipProducer { a: a1, b: b1 }, ZipProducer { a: a2, b: b2 })
    }
}

impl<A: Producer, B: Producer> Producer for ZipProducer<A, B> {
    type Item = (A::Item, B::Item);
    type IntoIter = std::iter::Zip<A::IntoIter, B::IntoIter>;

    #[inline]
    fn into_iter(self) -> Self::IntoIter {
        self.a.into_iter().zip(self.b.into_iter())
    }
}

impl<A: Source, B: Source> Source for Zip<A, B> {
    type Item = (A::Item, B::Item);
    type Keep = (A::Keep, B::Keep);
    type Producer<'k>
        = ZipProducer<A::Producer<'k>, B::Producer<'k>>
    where
        Self: 'k;

    fn input_len(&self) -> usize {
        self.a.input_len().min(self.b.input_len())
    }

    fn into_producer(self, keep: &mut Self::Keep) -> Self::Producer<'_> {
        let len = self.input_len();
        let (keep_a, keep_b) = keep;
        // Cut both to the common length, so that the pair splits in step
        // (invariant 1); the cut-off tails are dropped here.
        let (a, _) = self.a.into_producer(keep_a).split_at(len);
        let (b, _) = self.b.into_producer(keep_b).split_at(len);
        ZipProducer { a, b }
    }
}

impl<A: super::IntoPar, B: super::IntoPar> super::IntoPar for Zip<A, B> {}

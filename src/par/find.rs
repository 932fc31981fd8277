//! The methods that may stop early: `any`, `all`, `find_any`, `find_first`,
//! `position_any`, `position_first`.
//!
//! Once the answer is known, a shared flag tells every other piece to stop
//! at its next item and the driver to stop splitting. `find_first` keeps
//! the least input offset of a piece that found a match (`best`): a piece
//! starting after it stops, a piece before it goes on, and the pieces'
//! results combine left before right, so the first match wins. Both flags
//! are hints read with `Relaxed` loads: the answer itself travels through
//! the join tree's results, which `join` hands over with its own
//! synchronisation, so a stale read only delays a stop.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};

use super::pipe::{Indexed, Pipe};
use super::reduce::Fold;
use super::{IntoPar, Par};

impl<S: IntoPar, F: Pipe<S::Item>> Par<'_, S, F> {
    /// Whether `pred` holds for some item; stops early once one is found.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert!(pool.par(0..1_000_000u64).any(|x| x == 12_345));
    /// assert!(!pool.par(0..1000u64).any(|x| x > 5000));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn any<P>(self, pred: P) -> bool
    where
        P: Fn(F::Out) -> bool + Sync,
    {
        self.map(pred).find_any(|&hit| hit).is_some()
    }

    /// Whether `pred` holds for every item; stops early once one fails.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert!(pool.par(0..1000u64).all(|x| x < 1000));
    /// assert!(!pool.par(0..1000u64).all(|x| x != 500));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn all<P>(self, pred: P) -> bool
    where
        P: Fn(F::Out) -> bool + Sync,
    {
        !self.any(|x| !pred(x))
    }

    /// Some item for which `pred` holds, not necessarily the first; stops
    /// early once one is found.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// let hit = pool.par(0..1000u32).find_any(|x| x % 100 == 99);
    /// assert!(matches!(hit, Some(x) if x % 100 == 99));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn find_any<P>(self, pred: P) -> Option<F::Out>
    where
        F::Out: Send,
        P: Fn(&F::Out) -> bool + Sync,
    {
        self.run(FindAny {
            pred,
            found: AtomicBool::new(false),
        })
    }

    /// The first item (in input order) for which `pred` holds; pieces after
    /// a piece that found one stop early.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert_eq!(pool.par(0..1000u32).find_first(|x| x % 100 == 99), Some(99));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn find_first<P>(self, pred: P) -> Option<F::Out>
    where
        F::Out: Send,
        P: Fn(&F::Out) -> bool + Sync,
    {
        self.run(FindFirst {
            pred,
            best: AtomicUsize::new(usize::MAX),
        })
    }
}

impl<S: IntoPar, F: Indexed<S::Item>> Par<'_, S, F> {
    /// The index of some item for which `pred` holds; stops early.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert_eq!(pool.par(&[1, 5, 3]).position_any(|&x| x == 5), Some(1));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn position_any<P>(self, pred: P) -> Option<usize>
    where
        P: Fn(F::Out) -> bool + Sync,
    {
        self.map(pred)
            .enumerate()
            .find_any(|&(_, hit)| hit)
            .map(|(i, _)| i)
    }

    /// The index of the first item for which `pred` holds.
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(2).build()?;
    /// assert_eq!(pool.par(0..1000u32).position_first(|x| x > 10), Some(11));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn position_first<P>(self, pred: P) -> Option<usize>
    where
        P: Fn(F::Out) -> bool + Sync,
    {
        self.map(pred)
            .enumerate()
            .find_first(|&(_, hit)| hit)
            .map(|(i, _)| i)
    }
}

struct FindAny<P> {
    pred: P,
    /// Set once a piece found a match: the others stop.
    found: AtomicBool,
}

impl<T: Send, P: Fn(&T) -> bool + Sync> Fold<T> for FindAny<P> {
    type Output = Option<T>;

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I, _: usize) -> Option<T> {
        for item in items {
            if self.found.load(Relaxed) {
                return None;
            }
            if (self.pred)(&item) {
                self.found.store(true, Relaxed);
                return Some(item);
            }
        }
        None
    }

    #[inline]
    fn combine(&self, left: Option<T>, right: Option<T>) -> Option<T> {
        left.or(right)
    }

    #[inline]
    fn full(&self) -> bool {
        self.found.load(Relaxed)
    }
}

struct FindFirst<P> {
    pred: P,
    /// The least offset of a piece that found a match (`usize::MAX`: none).
    best: AtomicUsize,
}

impl<T: Send, P: Fn(&T) -> bool + Sync> Fold<T> for FindFirst<P> {
    type Output = Option<T>;

    #[inline]
    fn fold<I: Iterator<Item = T>>(&self, items: I, offset: usize) -> Option<T> {
        for item in items {
            // A piece that starts before ours has a match: ours cannot hold
            // the first one.
            if self.best.load(Relaxed) < offset {
                return None;
            }
            if (self.pred)(&item) {
                self.best.fetch_min(offset, Relaxed);
                return Some(item);
            }
        }
        None
    }

    #[inline]
    fn combine(&self, left: Option<T>, right: Option<T>) -> Option<T> {
        left.or(right)
    }
}

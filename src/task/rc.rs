//! [`CellRc`]: the counted reference a task cell's holders share (its
//! handle, its queue entries, a promise), in place of `Arc`, so that a cell
//! lives in a recycled block (`slots.rs`, "Task cells") rather than in
//! memory of its own from the allocator.
//!
//! The count lives in the cell's header (`Header::refs`, `cell.rs`) and works as
//! `Arc`'s strong count does (there is no weak count): a new holder adds
//! one (`Relaxed`: it already holds a count, which keeps the cell alive);
//! a holder that lets go takes one away with `Release`, and the one that
//! takes the last away makes an `Acquire` fence before it drops the cell,
//! so that every holder's use of the cell happens before the drop. Two
//! shortcuts: a holder that reads the count at one (`Acquire`, as
//! `Arc::get_mut` reads it) is the only one left and drops the cell without
//! taking its one away, since every other holder's decrement came before
//! in the count's release sequence; and `submit` gives a cell just made
//! its queue reference by storing two (`clone_unshared`), since no other
//! thread can see the count yet. Loom's models do not see the cell freed,
//! so they are no check of these orderings; a second reader (helper-87)
//! checked the count-of-one load under ThreadSanitizer, which reported the
//! result slot freed under a worker's read once the load was made
//! `Relaxed`, and nothing with `Acquire`. The memory goes back through
//! `slots::free_cell` with the layout it was allocated with
//! (`Layout::for_value` of the same type, erased or not).

use std::alloc::Layout;
use std::ops::Deref;
use std::ptr::NonNull;

use super::cell::{Cell, TaskCell};
use crate::slots;
use crate::sync::{AtomicUsize, Ordering, fence};

/// What a [`CellRc`] can point to: a cell whose header holds the count.
pub(crate) trait Counted {
    fn refs(&self) -> &AtomicUsize;
}

impl<F, T> Counted for TaskCell<F, T> {
    fn refs(&self) -> &AtomicUsize {
        &self.header.refs
    }
}

impl<T> Counted for dyn Cell<T> + '_ {
    fn refs(&self) -> &AtomicUsize {
        &self.header().refs
    }
}

/// A counted reference to a task cell; see the module docs.
pub(crate) struct CellRc<C: ?Sized + Counted> {
    ptr: NonNull<C>,
}

// SAFETY: as for `Arc<C>`: the cell is shared between the holders' threads
// and dropped on whichever lets go last, so it must be `Send + Sync`.
unsafe impl<C: ?Sized + Counted + Send + Sync> Send for CellRc<C> {}
// SAFETY: as above.
unsafe impl<C: ?Sized + Counted + Send + Sync> Sync for CellRc<C> {}

impl<F, T> CellRc<TaskCell<F, T>> {
    /// Places `cell` in memory from `slots::alloc_cell`, with its count at
    /// one: this reference's.
    pub(crate) fn new(cell: TaskCell<F, T>) -> Self {
        debug_assert_eq!(cell.header.refs.load(Ordering::Relaxed), 1);
        let ptr = slots::alloc_cell(Layout::new::<TaskCell<F, T>>()).cast::<TaskCell<F, T>>();
        // SAFETY: fresh memory of the cell's layout, written once here
        // before anyone can see it.
        unsafe { ptr.write(cell) };
        CellRc { ptr }
    }

    /// A second reference to a cell that no other thread can reach yet:
    /// the count is set to two with a plain store rather than added to, as
    /// `clone` does. Whatever shares the cell afterwards (a queue push)
    /// publishes the store with it.
    ///
    /// # Safety
    ///
    /// This is the cell's only reference (its count is one), and it was
    /// never shared: no other thread holds or can reach the cell, so none
    /// reads or changes the count meanwhile. (Were there another holder,
    /// the store would lose its count and the cell would be freed under
    /// it.)
    pub(crate) unsafe fn clone_unshared(&self) -> Self {
        debug_assert_eq!(self.refs().load(Ordering::Relaxed), 1);
        self.refs().store(2, Ordering::Relaxed);
        CellRc { ptr: self.ptr }
    }

    /// The same reference with the cell's type erased (the count moves
    /// with it).
    pub(crate) fn erase<'a>(self) -> CellRc<dyn Cell<T> + 'a>
    where
        TaskCell<F, T>: Cell<T> + 'a,
    {
        let ptr: NonNull<dyn Cell<T> + 'a> = self.into_raw();
        CellRc { ptr }
    }

    /// Gives up the reference without letting go of its count: the caller
    /// keeps the cell alive until [`from_raw`](Self::from_raw) takes it
    /// back.
    pub(crate) fn into_raw(self) -> NonNull<TaskCell<F, T>> {
        std::mem::ManuallyDrop::new(self).ptr
    }

    /// Takes back a reference given up with [`into_raw`](Self::into_raw).
    ///
    /// # Safety
    ///
    /// `ptr` comes from `into_raw`, and its count is taken back once.
    pub(crate) unsafe fn from_raw(ptr: NonNull<TaskCell<F, T>>) -> Self {
        CellRc { ptr }
    }
}

impl<C: ?Sized + Counted> CellRc<C> {
    /// How many references the cell has (for tests).
    #[cfg(test)]
    pub(crate) fn count(&self) -> usize {
        self.refs().load(Ordering::Relaxed)
    }
}

impl<C: ?Sized + Counted> Deref for CellRc<C> {
    type Target = C;

    #[inline]
    fn deref(&self) -> &C {
        // SAFETY: this reference's count keeps the cell alive and
        // initialised; nothing mutates it but through its own cells.
        unsafe { self.ptr.as_ref() }
    }
}

impl<C: ?Sized + Counted> Clone for CellRc<C> {
    #[inline]
    fn clone(&self) -> Self {
        // Relaxed, as `Arc::clone`: the count held here keeps the cell
        // alive, and a new holder orders nothing.
        let before = self.refs().fetch_add(1, Ordering::Relaxed);
        // As `Arc`: a count run past half the address space (leaked clones)
        // aborts rather than wrap and free a cell still in use.
        if before > isize::MAX as usize {
            std::process::abort();
        }
        CellRc { ptr: self.ptr }
    }
}

impl<C: ?Sized + Counted> Drop for CellRc<C> {
    #[inline]
    fn drop(&mut self) {
        // A count of one is this reference's alone: no other holder is left
        // to add or take one, so the cell is dropped without a
        // read-modify-write (a handle joined after its task ended, the
        // usual last holder, pays one locked instruction fewer). Acquire:
        // pairs with the release below of every holder that let go before,
        // as the fence does.
        if self.refs().load(Ordering::Acquire) != 1 {
            // Release: this holder's uses of the cell happen before the drop
            // by whoever takes the last count (pairs with the fence below and
            // with the load above).
            if self.refs().fetch_sub(1, Ordering::Release) != 1 {
                return;
            }
            // Acquire: pairs with every other holder's release above.
            fence(Ordering::Acquire);
        }
        // SAFETY: the cell is alive (this was its last count) and nobody
        // else refers to it any more; its layout is read before the drop.
        unsafe {
            let layout = Layout::for_value(self.ptr.as_ref());
            std::ptr::drop_in_place(self.ptr.as_ptr());
            slots::free_cell(self.ptr.cast(), layout);
        }
    }
}

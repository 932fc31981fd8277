//! The task cells each thread has claimed (rule 1) and not yet ended, so
//! that a wait about to block can tell that it waits for a task only this
//! thread can end (the module docs, rule 3). The protocol is `mod.rs`'s.

/// One task cell this thread has claimed (rule 1) and not yet ended: an
/// entry of [`CLAIMED`], living on the claimer's stack.
#[cfg_attr(loom, allow(dead_code))]
struct Claimed {
    /// The cell's header, as an address: identity only.
    header: *const (),
    /// The entry below it (a task claimed further down this thread's stack,
    /// paused in a wait that ran this one), or null.
    outer: *const Claimed,
}

#[cfg(not(loom))]
thread_local! {
    /// The innermost cell this thread has claimed and not yet ended. Only
    /// a wait that is about to block reads the list
    /// (`Header::block_until`); a run pays one load and two stores.
    static CLAIMED: std::cell::Cell<*const Claimed> = const { std::cell::Cell::new(std::ptr::null()) };
}

/// Runs `f` (the claimer's part: the closure, or its drop, and the
/// publishing with its outcome callbacks) with `header`'s cell listed as
/// claimed by this thread. The list is restored however `f` ends.
#[inline]
pub(super) fn while_claimed<R>(header: *const (), f: impl FnOnce() -> R) -> R {
    #[cfg(not(loom))]
    {
        /// Puts the entry below back when `f` ends.
        struct Leave(*const Claimed);
        impl Drop for Leave {
            fn drop(&mut self) {
                CLAIMED.set(self.0);
            }
        }
        let entry = Claimed {
            header,
            outer: CLAIMED.get(),
        };
        CLAIMED.set(&entry);
        let _leave = Leave(entry.outer);
        f()
    }
    // Loom's threads share one OS thread's thread-locals: no list there.
    #[cfg(loom)]
    {
        let _ = header;
        f()
    }
}

/// Whether this thread claimed the cell whose header is at `header` and has
/// not ended it: the thread is running its closure (perhaps paused in a
/// wait beneath what it runs now), or its outcome callbacks, or dropping
/// its closure in a cancel. A wait for that cell on this thread cannot end.
#[cold]
pub(super) fn claimed_here(header: *const ()) -> bool {
    #[cfg(not(loom))]
    {
        let mut entry = CLAIMED.get();
        // SAFETY: every entry lives in a `while_claimed` frame still on this
        // thread's stack (each is unlinked before its frame returns), and
        // only this thread reads the list.
        while let Some(claimed) = unsafe { entry.as_ref() } {
            if claimed.header == header {
                return true;
            }
            entry = claimed.outer;
        }
    }
    let _ = header;
    false
}

/// The cells this thread has claimed and not ended, as header addresses
/// (what `cell_id` gives for a handle), innermost first: for a wait on
/// many tasks (`wait`, `as_completed`) about to block. Empty, without
/// allocating, on a thread that runs no task (and without allocating
/// for up to four nested claims).
pub(crate) fn claimed_cells() -> smallvec::SmallVec<[usize; 4]> {
    #[cfg_attr(loom, allow(unused_mut))]
    let mut cells = smallvec::SmallVec::new();
    #[cfg(not(loom))]
    {
        let mut entry = CLAIMED.get();
        // SAFETY: as in `claimed_here`.
        while let Some(claimed) = unsafe { entry.as_ref() } {
            cells.push(claimed.header as usize);
            entry = claimed.outer;
        }
    }
    cells
}

/// The panic of a wait that would never return (see `Header::block_until`).
#[cold]
#[inline(never)]
pub(crate) fn waited_for_itself() -> ! {
    panic!(
        "a task waited for its own result: it was joined from its own closure, from one \
         of its on_result callbacks, from its closure's Drop during a cancel, or from a \
         task running on top of it on the same thread (a task it submitted, which the \
         worker runs while the first task waits for something else); only this thread \
         can end it, so the wait would never return"
    )
}

//! Inlets: a queue of its own for each thread outside the pool that
//! submits, so that a submit from outside is two plain stores, not a
//! compare-exchange on a line the workers keep reading.
//!
//! # Why
//!
//! A task submitted from a thread that is not one of the pool's workers went
//! to the injector, a multi-producer queue: each push is a compare-exchange
//! on its tail index. Workers that keep up with the submitter find the
//! injector empty at every look, and every such look reads that tail: the
//! submitter's compare-exchange waits for the line each time. perf put 11 %
//! of all samples of 200,000 submits from outside (each joined) on the push,
//! 40 % of it on the compare-exchange and 29 % on the slot's store. A
//! single-producer queue's push is a store of the task and a `Release` store
//! of its back index: plain stores, which retire into the store buffer
//! whoever holds the line.
//!
//! # The protocol
//!
//! A pool has [`INLETS`] inlets, each a FIFO `crossbeam_deque` worker end
//! (the producer side) and its stealer. The stealers stay in the pool for
//! its whole life; the worker ends are handed out.
//!
//! 1. **Claim.** A thread outside the pool that submits takes a free inlet's
//!    worker end (its `spare`, under the inlet's lock), sets the inlet's bit in
//!    `active`, and keeps the end in a thread-local list, keyed by the
//!    pool's inlets. With every inlet taken it pushes to the injector, and
//!    tries to claim again every [`RETRY_CLAIM`] submits.
//! 2. **Push.** The owner pushes on its inlet's worker end; the pusher then
//!    runs the pool's wake-up check (a `SeqCst` fence, then the sleepers'
//!    word: `sleep.rs`), as for the injector. The bit is set before the
//!    push, so a worker whose look comes after that fence sees both.
//! 3. **Take.** A worker's look for shared work reads `active` and tries
//!    each inlet whose bit is set, one task at a time (a one-worker pool: a
//!    small batch), in FIFO order: one thread's tasks start in the order it
//!    submitted them. The look alternates between inlets first and the
//!    injector first, so neither can starve the other. Shutdown's drains
//!    and the sleepers' last looks count the inlets as they count the
//!    injector.
//! 4. **Release.** When the thread ends (its thread-local list is dropped),
//!    each worker end goes back to its inlet's `spare`. Whatever it still
//!    holds stays reachable through the inlet's stealer: nothing is lost, and
//!    the next owner's tasks queue behind it. Under the inlet's lock, the
//!    bit is cleared if the inlet is empty (as its owner sees it: `front`
//!    caught up with `back`, every task taken), and a claim sets it under
//!    the same lock, so a clear never hides a task: nothing is pushed on a
//!    inlet between its release and its next claim.
//! 5. **A pool dropped first.** The thread-local list holds the inlets
//!    weakly: a pool that is gone frees its stealers, and the entry is
//!    pruned at the thread's next claim or at its end, dropping the worker
//!    end and anything it still holds (only a task refused by a shutdown
//!    that raced with its push can be left there: its submit took it back
//!    already, and the drop releases the queue's reference).
//!
//! A thread's own pushes are what makes an inlet useful: the inlets add no
//! cost to a pool that is never fed from outside (no bit set: one load a
//! look), and one inlet's steal to a pool fed from one thread.

// Layer: sched (`lib.rs`, "Layers"). It may use the base layer and the other
// sched files.

use std::cell::RefCell;
use std::sync::{Arc, Weak};

use crossbeam_deque::{Steal, Stealer, Worker};

use crate::job::JobRef;
use crate::sync::{AtomicUsize, Mutex, Ordering};
use crate::worker::INJECTOR_BATCH;

/// Inlets per pool: threads outside it that submit at once beyond this many
/// use the injector.
pub(crate) const INLETS: usize = 8;

/// Submits between two tries to claim an inlet, for a thread that found every
/// inlet taken.
const RETRY_CLAIM: u32 = 1024;

/// One pool's inlets.
pub(crate) struct Inlets {
    inlets: Box<[Inlet]>,
    /// Bit `i`: inlet `i` is claimed, or was released holding tasks.
    active: AtomicUsize,
}

struct Inlet {
    /// The producer's end while no thread owns the inlet.
    spare: Mutex<Option<Worker<JobRef>>>,
    stealer: Stealer<JobRef>,
}

impl std::fmt::Debug for Inlets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inlets")
            .field("active", &self.active.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

/// An inlet this thread owns, or the lack of one, for one pool.
struct Owned {
    inlets: Weak<Inlets>,
    inlet: Option<(usize, Worker<JobRef>)>,
    /// Submits left before the next try to claim (when `inlet` is `None`).
    retry_in: u32,
}

impl Drop for Owned {
    fn drop(&mut self) {
        if let (Some((index, end)), Some(inlets)) = (self.inlet.take(), self.inlets.upgrade()) {
            inlets.release(index, end);
        }
        // A pool that is gone: the end drops here with whatever it holds.
    }
}

thread_local! {
    static OWNED: RefCell<Vec<Owned>> = const { RefCell::new(Vec::new()) };
}

impl Inlets {
    pub(crate) fn new() -> Arc<Inlets> {
        let inlets = (0..INLETS)
            .map(|_| {
                let end = Worker::new_fifo();
                Inlet {
                    stealer: end.stealer(),
                    spare: Mutex::new(Some(end)),
                }
            })
            .collect();
        Arc::new(Inlets {
            inlets,
            active: AtomicUsize::new(0),
        })
    }

    /// Pushes `job` on this thread's inlet of these inlets, claiming one if
    /// it has none (step 1). Gives the job back where the thread has no
    /// inlet (every inlet taken, or its thread-locals torn down): the caller
    /// then uses the injector. The caller runs the wake-up check after.
    pub(crate) fn push(self: &Arc<Inlets>, job: JobRef) -> Result<(), JobRef> {
        let mut job = Some(job);
        let mut pruned = Vec::new();
        let _ = OWNED.try_with(|owned| {
            let mut owned = owned.borrow_mut();
            let key = Arc::as_ptr(self);
            let at = match owned.iter().position(|o| Weak::as_ptr(&o.inlets) == key) {
                Some(at) => at,
                None => {
                    // A new pool for this thread: drop the entries of pools
                    // that are gone first (outside the borrow, below: what
                    // they hold may run destructors that submit).
                    let mut i = 0;
                    while i < owned.len() {
                        if owned[i].inlets.strong_count() == 0 {
                            pruned.push(owned.swap_remove(i));
                        } else {
                            i += 1;
                        }
                    }
                    owned.push(Owned {
                        inlets: Arc::downgrade(self),
                        inlet: None,
                        retry_in: 0,
                    });
                    owned.len() - 1
                }
            };
            let entry = &mut owned[at];
            if entry.inlet.is_none() {
                if entry.retry_in > 0 {
                    entry.retry_in -= 1;
                    return;
                }
                entry.inlet = self.claim();
                if entry.inlet.is_none() {
                    entry.retry_in = RETRY_CLAIM;
                    return;
                }
            }
            if let Some((_, end)) = &entry.inlet {
                if let Some(job) = job.take() {
                    end.push(job);
                }
            }
        });
        drop(pruned);
        match job {
            None => Ok(()),
            Some(job) => Err(job),
        }
    }

    /// Step 1: takes a free inlet's producer end and marks the inlet active.
    fn claim(&self) -> Option<(usize, Worker<JobRef>)> {
        for (index, inlet) in self.inlets.iter().enumerate() {
            let mut spare = inlet.spare.lock();
            if let Some(end) = spare.take() {
                // Relaxed: ordered before this thread's pushes on the inlet
                // and the SeqCst fence after each (step 2); under the lock,
                // after any release's clear.
                self.active.fetch_or(1 << index, Ordering::Relaxed);
                return Some((index, end));
            }
        }
        None
    }

    /// Step 4: gives a producer end back, clearing the inlet's bit if every
    /// task pushed on it has been taken.
    fn release(&self, index: usize, end: Worker<JobRef>) {
        let mut spare = self.inlets[index].spare.lock();
        if end.is_empty() {
            // Relaxed: under the lock a claim sets the bit under, and no
            // task is pushed on the inlet before that claim.
            self.active.fetch_and(!(1 << index), Ordering::Relaxed);
        }
        *spare = Some(end);
    }

    /// Takes a task from an active inlet, trying them from `start` on. With
    /// `batch`, a few more of that inlet's tasks go onto that deque, as many
    /// as a one-worker pool takes from the injector at once (where a batch
    /// keeps the order).
    pub(crate) fn steal(&self, start: usize, batch: Option<&Worker<JobRef>>) -> Steal<JobRef> {
        // Relaxed: a look whose miss matters comes after a SeqCst fence
        // (a sleeper's last look, an exiting worker's scan), which orders it
        // after the pusher's fence (step 2).
        let active = self.active.load(Ordering::Relaxed);
        if active == 0 {
            return Steal::Empty;
        }
        let mut retry = false;
        let start = start % INLETS;
        for index in (start..INLETS).chain(0..start) {
            if active & (1 << index) == 0 {
                continue;
            }
            let stealer = &self.inlets[index].stealer;
            let stolen = match batch {
                Some(into) => stealer.steal_batch_with_limit_and_pop(into, INJECTOR_BATCH),
                None => stealer.steal(),
            };
            match stolen {
                Steal::Success(job) => return Steal::Success(job),
                Steal::Retry => retry = true,
                Steal::Empty => {}
            }
        }
        if retry { Steal::Retry } else { Steal::Empty }
    }

    /// Whether an active inlet holds a task.
    pub(crate) fn has_work(&self) -> bool {
        // Relaxed: as in `steal`.
        let active = self.active.load(Ordering::Relaxed);
        active != 0
            && (0..INLETS)
                .filter(|index| active & (1 << index) != 0)
                .any(|index| !self.inlets[index].stealer.is_empty())
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::job::HeapJob;
    use std::sync::atomic::AtomicUsize as StdAtomicUsize;

    /// A job that counts its run in `ran`.
    fn counting(ran: &Arc<StdAtomicUsize>) -> JobRef {
        let ran = Arc::clone(ran);
        // SAFETY: the closure borrows nothing.
        unsafe {
            HeapJob::new_ref(
                move || {
                    ran.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                },
                0,
                None,
            )
        }
    }

    fn run_all(inlets: &Inlets) -> usize {
        let mut taken = 0;
        loop {
            match inlets.steal(0, None) {
                Steal::Success(job) => {
                    job.execute();
                    taken += 1;
                }
                Steal::Retry => {}
                Steal::Empty => return taken,
            }
        }
    }

    #[test]
    fn a_inlet_released_with_tasks_stays_active_until_they_are_taken() {
        let inlets = Inlets::new();
        let ran = Arc::new(StdAtomicUsize::new(0));
        let (shared, count) = (Arc::clone(&inlets), Arc::clone(&ran));
        std::thread::spawn(move || {
            for _ in 0..3 {
                assert!(shared.push(counting(&count)).is_ok());
            }
            assert_eq!(shared.active.load(Ordering::Relaxed), 1);
        })
        .join()
        .unwrap();
        // The thread ended holding three tasks: the inlet is still active.
        assert_eq!(inlets.active.load(Ordering::Relaxed), 1);
        assert!(inlets.has_work());
        assert_eq!(run_all(&inlets), 3);
        assert_eq!(ran.load(std::sync::atomic::Ordering::Relaxed), 3);
        assert!(!inlets.has_work());
        // The next owner finds it empty and, ending, clears its bit.
        let shared = Arc::clone(&inlets);
        std::thread::spawn(move || {
            let count = Arc::new(StdAtomicUsize::new(0));
            assert!(shared.push(counting(&count)).is_ok());
            assert_eq!(run_all(&shared), 1);
        })
        .join()
        .unwrap();
        assert_eq!(inlets.active.load(Ordering::Relaxed), 0);
    }

    #[test]
    fn threads_beyond_the_inlets_get_their_jobs_back_for_the_injector() {
        let inlets = Inlets::new();
        let ran = Arc::new(StdAtomicUsize::new(0));
        let hold = Arc::new(std::sync::Barrier::new(INLETS + 2));
        let threads: Vec<_> = (0..INLETS + 1)
            .map(|_| {
                let (inlets, ran, hold) =
                    (Arc::clone(&inlets), Arc::clone(&ran), Arc::clone(&hold));
                std::thread::spawn(move || {
                    let pushed = inlets.push(counting(&ran));
                    // Every thread holds its inlet until all have pushed.
                    hold.wait();
                    match pushed {
                        Ok(()) => true,
                        Err(job) => {
                            job.execute();
                            false
                        }
                    }
                })
            })
            .collect();
        hold.wait();
        let got_one = threads.into_iter().map(|t| t.join().unwrap());
        assert_eq!(got_one.filter(|&got_one| got_one).count(), INLETS);
        assert_eq!(run_all(&inlets), INLETS);
        assert_eq!(ran.load(std::sync::atomic::Ordering::Relaxed), INLETS + 1);
    }

    #[test]
    fn an_entry_for_a_pool_that_is_gone_is_pruned_with_what_it_holds() {
        let unrun = Arc::new(StdAtomicUsize::new(0));
        let first = Inlets::new();
        assert!(first.push(counting(&unrun)).is_ok());
        drop(first);
        // The entry still holds the producer end, and the job keeps its
        // clone of `unrun`: a push for another pool prunes the entry,
        // dropping the job unrun.
        assert_eq!(Arc::strong_count(&unrun), 2);
        let ran = Arc::new(StdAtomicUsize::new(0));
        let second = Inlets::new();
        assert!(second.push(counting(&ran)).is_ok());
        assert_eq!(Arc::strong_count(&unrun), 1);
        assert_eq!(unrun.load(std::sync::atomic::Ordering::Relaxed), 0);
        assert_eq!(run_all(&second), 1);
        assert_eq!(ran.load(std::sync::atomic::Ordering::Relaxed), 1);
    }
}

#[cfg(all(test, loom))]
mod loom_models {
    use super::*;
    use crate::job::HeapJob;
    use crate::sleep::Sleep;

    /// Step 4 racing with step 1 and a worker going to sleep: the inlet's
    /// last owner gives it back empty (clearing its bit) while a new owner
    /// claims it (setting the bit) and pushes; the only worker loops until
    /// it takes the task, sleeping when its look finds nothing. A clear
    /// that hid the task, or a bit the sleeper's look missed, would leave
    /// the worker asleep for good: a deadlock loom reports.
    ///
    /// The inlets' claim and release are called directly (their thread-local
    /// list is std's, not loom's); the deque's own atomics are crossbeam's,
    /// which loom runs but does not reorder: the model checks the bit, the
    /// lock and the fences around them.
    #[test]
    fn a_claim_racing_with_a_release_and_a_sleeper_loses_no_task() {
        loom::model(|| {
            let sleep = Arc::new(Sleep::new(1));
            let inlets = Inlets::new();
            let (index, old_end) = inlets.claim().expect("a free inlet");
            let worker = {
                let (sleep, inlets) = (Arc::clone(&sleep), Arc::clone(&inlets));
                loom::thread::spawn(move || {
                    loop {
                        if let Steal::Success(job) = inlets.steal(0, None) {
                            job.execute();
                            break;
                        }
                        let _ = sleep.sleep(0, || inlets.has_work(), None);
                    }
                    sleep.stop_searching(|| false);
                })
            };
            let releaser = {
                let inlets = Arc::clone(&inlets);
                loom::thread::spawn(move || inlets.release(index, old_end))
            };
            // The new owner: whichever inlet it gets (the released one, or
            // the next), its push must reach the worker.
            let (new_index, end) = inlets.claim().expect("a free inlet");
            // SAFETY: the closure borrows nothing.
            end.push(unsafe { HeapJob::new_ref(|| {}, 0, None) });
            sleep.notify_one();
            worker.join().unwrap();
            releaser.join().unwrap();
            // Give the end back, as the thread's end would.
            inlets.release(new_index, end);
        });
    }
}

//! Mapping into a `Vec`: each leaf writes its results straight into its own
//! part of the output's uninitialised buffer.
//!
//! # Why this is sound
//!
//! 1. The output `Vec` is allocated with capacity `n` (the input's exact
//!    length) and length 0; `base` is its buffer pointer, taken once, and
//!    every pointer written through is derived from it.
//! 2. The driver only cuts: a [`Target`] pairs a part of the input with the
//!    address of its first output slot, and [`Target::split_at`] gives the
//!    left part the first `i` slots and the right part the slots from
//!    `start + i`. Parts are therefore disjoint and each lies inside
//!    `base..base + n`, by induction from the whole (`base`, `n` items).
//! 3. A leaf writes the slot `start + i` only for `i < len` (it takes at
//!    most `len` values from the input, and `i` is the count written so
//!    far), each exactly once, and counts what it wrote in a [`Written`]
//!    guard. The guard owns exactly those elements: dropped
//!    (a panic in the user's closure unwinds through it), it drops them, once.
//! 4. Two guards merge only when the right one starts where the left one
//!    ends; the right guard is then forgotten, so every written element is
//!    owned by exactly one guard at any time. `Pool::join` drops the result
//!    of the half that did not panic while re-raising the other half's panic
//!    (drive.rs, step 5), so on a panic every written element is dropped
//!    exactly once and the `Vec` — still of length 0 — frees only its buffer.
//!    It is never returned: the panic propagates out of `collect`.
//! 5. Only when the final guard covers `base..base + n` is it forgotten and
//!    the length set to `n`. If it does not (a producer broke its contract),
//!    the guard drops what was written and `collect` panics: never is an
//!    unwritten slot exposed.
//!
//! A panic while dropping an element during such an unwind aborts the
//! process, as any panic during unwinding does.
//!
//! # Concatenating pieces
//!
//! Where the output's length is not known in advance (after a `filter`),
//! each piece is collected into its own `Vec` and [`concat`] moves them
//! into one. A long concatenation is a parallel copy, sound for the same
//! reasons:
//!
//! 6. The output is allocated with capacity `total` (the pieces' lengths
//!    summed) and length 0; its spare capacity is cut, in order, into one
//!    disjoint `&mut [MaybeUninit<T>]` per piece, as long as the piece.
//! 7. A piece's items are copied bitwise into its slots, and the piece's
//!    length is then set to 0: each item is owned by the slot, not the
//!    piece, whose drop frees only its buffer. No user code runs between
//!    (copying runs none), so nothing can unwind in between.
//! 8. The output's length is set to `total` only after every copy ended
//!    (`join` returns when both halves have): then every slot is written.
//!    Were a copy to unwind (it runs no code that can), the output would
//!    keep length 0 and the items would leak, never be dropped twice.

use std::collections::LinkedList;
use std::marker::PhantomData;
use std::mem::MaybeUninit;

use super::drive::Consumer;
use super::pipe::Pipe;
use super::source::{Divisible, Producer};

/// A raw output pointer that may cross to another worker.
#[derive(Clone, Copy)]
pub(super) struct SendPtr<R>(*mut R);

// SAFETY: the pointer is only written through by the one leaf that owns its
// part of the buffer (module docs, step 2), and what is written is an `R`
// that moves to the thread collecting the `Vec`: `R: Send` is what that needs.
unsafe impl<R: Send> Send for SendPtr<R> {}

/// A part of the input and the output slot of its first item.
pub(super) struct Target<R, P> {
    start: SendPtr<R>,
    input: P,
}

impl<R: Send, P: Divisible> Divisible for Target<R, P> {
    #[inline]
    fn part_len(&self) -> usize {
        self.input.part_len()
    }

    #[inline]
    fn split_at(self, index: usize) -> (Self, Self) {
        let (left, right) = self.input.split_at(index);
        // Step 2: the right part's slots start `index` after the left's.
        // `wrapping_add` is plain address arithmetic; the result stays inside
        // the buffer because `index <= len`.
        let right_start = SendPtr(self.start.0.wrapping_add(index));
        (
            Target {
                start: self.start,
                input: left,
            },
            Target {
                start: right_start,
                input: right,
            },
        )
    }
}

/// The elements a leaf (or several adjacent leaves) have written: `len`
/// initialised elements from `start`, owned by this guard (step 3).
pub(super) struct Written<R> {
    start: *mut R,
    len: usize,
    _owns: PhantomData<R>,
}

// SAFETY: the guard owns `len` values of `R` and moves with them to the
// thread that combines results: `R: Send` is what that needs.
unsafe impl<R: Send> Send for Written<R> {}

impl<R> Drop for Written<R> {
    fn drop(&mut self) {
        let written = std::ptr::slice_from_raw_parts_mut(self.start, self.len);
        // SAFETY: the guard owns exactly these `len` initialised elements
        // (steps 3 and 4), and is dropped once, so they are dropped once.
        unsafe { std::ptr::drop_in_place(written) };
    }
}

/// The collector: maps each item with `map` and writes it in place.
pub(super) struct Collect<'a, F> {
    pub(super) map: &'a F,
    /// What the buffer's writers do before they write (`util::prepare_output`).
    pub(super) prefault: crate::util::Prefault,
}

impl<R, P, F> Consumer<Target<R, P>> for Collect<'_, F>
where
    R: Send,
    P: Producer,
    F: Pipe<P::Item, Out = R>,
{
    type Output = Written<R>;

    #[inline]
    fn leaf(&self, part: Target<R, P>, _offset: usize) -> Written<R> {
        let Target { start, input } = part;
        let len = input.part_len();
        self.prefault.ahead_of(
            start.0.cast_const().cast(),
            start.0.wrapping_add(len).cast_const().cast(),
        );
        let mut written = Written {
            start: start.0,
            len: 0,
            _owns: PhantomData,
        };
        // Internal iteration (`for_each`), not a `for` loop over a zip with
        // `0..len`: rayon's life demo (40,000 cells a call, each a call of
        // ~20 ns) ran 1.02x rayon's time with the zip in four runs of 21
        // rounds, on 1 worker as on 2, and 0.99-1.00x with this: the zip's
        // loop kept the output pointer in a register it shuffled around
        // the closure's call, about a cycle an item.
        self.map
            .pipe(input.into_iter())
            .take(len)
            .for_each(|value| {
                // SAFETY: `take(len)` hands out at most `len` values, so
                // `start + written.len` is a slot of this part of the
                // buffer, which no other leaf touches (step 2); it is
                // written here once and then owned by `written` (step 3).
                unsafe { written.start.add(written.len).write(value) };
                written.len += 1;
            });
        written
    }

    #[inline]
    fn combine(&self, mut left: Written<R>, right: Written<R>) -> Written<R> {
        if left.start.wrapping_add(left.len) == right.start {
            // Step 4: the right guard's elements move to the left guard.
            left.len += right.len;
            std::mem::forget(right);
        }
        // Otherwise a part was short (a broken producer): `right` drops its
        // elements here and the final length check in `collect_vec` fails.
        left
    }
}

/// Collects `input`, mapped by `map`, into a `Vec` (steps 1 and 5).
pub(super) fn collect_vec<R, P, F>(
    pool: &crate::Pool,
    input: P,
    lens: (usize, usize),
    map: &F,
) -> Vec<R>
where
    R: Send,
    P: Producer,
    F: Pipe<P::Item, Out = R>,
{
    let n = input.part_len();
    let mut out: Vec<R> = Vec::with_capacity(n);
    let base = out.as_mut_ptr();
    let prefault =
        crate::util::prepare_output(base.cast(), n.saturating_mul(std::mem::size_of::<R>()));
    let target = Target {
        start: SendPtr(base),
        input,
    };
    let written = super::drive::drive(pool, target, lens, &Collect { map, prefault });
    assert!(
        written.start == base && written.len == n,
        "corepool::par: an input produced {} items where it promised {n}",
        written.len
    );
    std::mem::forget(written);
    // SAFETY: the forgotten guard owned exactly the `n` initialised elements
    // at `base..base + n` (step 5), the buffer has capacity `n`; ownership
    // passes to the `Vec`.
    unsafe { out.set_len(n) };
    out
}

/// Below this many bytes the pieces are concatenated on the calling thread:
/// a fork costs more than copying them.
const PARALLEL_COPY_BYTES: usize = 512 * 1024;

/// The pieces, in order, as one `Vec`: the only piece as it is, else one
/// allocation of the exact length and one bitwise copy of each item,
/// shared among the pool's workers when long (module docs, steps 6–8).
pub(super) fn concat<T: Send>(pool: &crate::Pool, mut pieces: LinkedList<Vec<T>>) -> Vec<T> {
    if pieces.len() <= 1 {
        // A piece holds at most twice its items (`Pieces::fold` gives back
        // the room it did not use; `collect_vec`'s is exact).
        return pieces.pop_front().unwrap_or_default();
    }
    let total: usize = pieces.iter().map(Vec::len).sum();
    let mut out: Vec<T> = Vec::with_capacity(total);
    if total.saturating_mul(std::mem::size_of::<T>()) < PARALLEL_COPY_BYTES || pool.workers() < 2 {
        for mut piece in pieces {
            out.append(&mut piece);
        }
        return out;
    }
    let prefault =
        crate::util::prepare_output(out.as_mut_ptr().cast(), total * std::mem::size_of::<T>());
    // Step 6: one disjoint run of slots per piece, in order.
    let mut moves: Vec<(&mut [MaybeUninit<T>], Vec<T>)> = Vec::with_capacity(pieces.len());
    let mut rest = &mut out.spare_capacity_mut()[..total];
    for piece in pieces {
        let (slots, tail) = std::mem::take(&mut rest).split_at_mut(piece.len());
        rest = tail;
        moves.push((slots, piece));
    }
    copy_pieces(pool, &mut moves, total, prefault);
    // The pieces are empty now: this frees their buffers only.
    drop(moves);
    // SAFETY: step 8 — every one of the `total` slots was written by
    // `move_piece` (the runs cover `out`'s first `total` slots, step 6), and
    // the items are owned by no piece any more (step 7).
    unsafe { out.set_len(total) };
    out
}

/// Copies each piece of `moves` (`len` items in all) into its slots,
/// halving the list by item count across the pool.
fn copy_pieces<T: Send>(
    pool: &crate::Pool,
    moves: &mut [(&mut [MaybeUninit<T>], Vec<T>)],
    len: usize,
    prefault: crate::util::Prefault,
) {
    if moves.len() == 1 || len.saturating_mul(std::mem::size_of::<T>()) < PARALLEL_COPY_BYTES {
        for (slots, piece) in moves {
            let lo = slots.as_ptr().cast::<u8>();
            prefault.ahead_of(lo, lo.wrapping_add(slots.len() * std::mem::size_of::<T>()));
            move_piece(slots, piece);
        }
        return;
    }
    // Cut where the left part first holds half the items (at least one
    // piece on each side).
    let (mut mid, mut left_len) = (0, 0);
    while mid == 0 || (mid < moves.len() - 1 && left_len < len / 2) {
        left_len += moves[mid].1.len();
        mid += 1;
    }
    let (left, right) = moves.split_at_mut(mid);
    pool.join(
        || copy_pieces(pool, left, left_len, prefault),
        || copy_pieces(pool, right, len - left_len, prefault),
    );
}

/// Moves `piece`'s items into `slots` (as long as it) and leaves it empty
/// (step 7).
fn move_piece<T>(slots: &mut [MaybeUninit<T>], piece: &mut Vec<T>) {
    assert_eq!(
        slots.len(),
        piece.len(),
        "a piece's slots are as many as its items"
    );
    // SAFETY: `slots` is valid for `piece.len()` writes of `T` and is not
    // the piece's buffer (it is the output's spare capacity, step 6); the
    // items are read once, bitwise, and the piece's length is set to 0
    // right after, with no code between that could unwind (step 7), so each
    // item ends owned by its slot alone.
    unsafe {
        std::ptr::copy_nonoverlapping(piece.as_ptr(), slots.as_mut_ptr().cast::<T>(), piece.len());
        piece.set_len(0);
    }
}

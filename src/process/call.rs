//! How a parent names a function for a worker process to call: the address
//! of a `fn` item as an offset from an anchor function of the same binary,
//! with a monomorphised trampoline that decodes the argument, calls the
//! function and encodes the result.
//!
//! # Why offsets are safe to call
//!
//! 1. A worker is a fresh `execve` of the very file the parent runs
//!    (`/proc/self/exe` on Linux, which names the open file even if the path
//!    was replaced on disk; elsewhere `std::env::current_exe()`, and the
//!    worker refuses to serve unless its executable has the identity the
//!    parent's had when `init` ran: see `spawn.rs`, `CHECK_EXECUTABLE`), so
//!    its code has the same layout; address space layout randomisation
//!    moves the executable as one block, so the distance between two
//!    functions of the executable is the same in both processes.
//! 2. The parent only ever sends offsets it computed from real `fn` values
//!    of type `fn(A) -> R`, each paired with [`trampoline::<A, R>`] for the
//!    same `A` and `R`: the type system ties the pair together.
//! 3. Before computing an offset the parent checks with `dladdr` that both
//!    addresses lie in the same loaded object as the anchor (the executable,
//!    not a shared library loaded at its own random base); a function that
//!    does not is refused with a typed error and nothing is sent.
//! 4. At the handshake the parent sends a fingerprint: the offsets of three
//!    functions of this module from the anchor. A worker whose own offsets
//!    differ is not the same build; it refuses to serve and exits, so no
//!    offset is ever called in a binary it was not computed for.
//!
//! The pipe between parent and worker is private to the two (a socket pair
//! created with close-on-exec, handed to exactly one child), so nothing but
//! the parent writes the offsets a worker calls. Still, the worker checks
//! every call before it jumps: the call frame's tag (`wire.rs`) and that
//! both addresses lie in the executable's own code ([`FnRef::resolve`]).
//!
//! # User code in a trampoline
//!
//! The argument's `Deserialize`, the function, the result's `Serialize` and
//! its `Drop` are user code and may panic; each panic is caught in the
//! trampoline and answered as [`Status::Panic`] naming the step, so the
//! worker's serve loop never unwinds and the worker lives on.

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::wire::{self, EncodeError, REPLY_HEADER};
use crate::unwind::{drop_payload, halt_unwinding};

/// What a trampoline reports about one call, sent back as the reply's status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub(crate) enum Status {
    /// `out` holds the encoded result.
    Ok = 0,
    /// The function panicked; `out` holds the message (UTF-8).
    Panic = 1,
    /// The argument could not be decoded; `out` holds the codec's message.
    BadArgument = 2,
    /// The result could not be encoded; `out` holds the codec's message.
    BadResult = 3,
    /// The encoded result does not fit the frame limit; `out` holds the
    /// reply body size it would need, a little-endian `u64`.
    TooLarge = 4,
}

impl Status {
    pub(crate) fn from_byte(byte: u8) -> Option<Status> {
        match byte {
            0 => Some(Status::Ok),
            1 => Some(Status::Panic),
            2 => Some(Status::BadArgument),
            3 => Some(Status::BadResult),
            4 => Some(Status::TooLarge),
            _ => None,
        }
    }
}

/// The type of every trampoline: the function's address, the encoded
/// argument, a buffer for the encoded result (or a message), and the frame
/// limit the reply must fit.
pub(crate) type Trampoline = fn(usize, &[u8], &mut Vec<u8>, usize) -> Status;

/// Decodes an `A` from `arg`, calls the `fn(A) -> R` at address `f`, and
/// encodes its result into `out`, at most what fits a reply frame of
/// `limit` bytes. A panic in any of the user's code (the argument's
/// `Deserialize`, the function, the result's `Serialize` or `Drop`) is
/// caught here and reported with its message: the worker process lives on.
///
/// Only [`FnRef::new`] pairs this trampoline with an address, and it takes
/// the address from a real `fn(A) -> R` value, so `f` is always one.
pub(crate) fn trampoline<A: DeserializeOwned, R: Serialize>(
    f: usize,
    arg: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Status {
    out.clear();
    match run_item::<A, R>(f, arg, out, limit.saturating_sub(REPLY_HEADER)) {
        Ok(status) => status,
        Err(bytes) => {
            let body = (REPLY_HEADER as u64).saturating_add(bytes);
            out.extend_from_slice(&body.to_le_bytes());
            Status::TooLarge
        }
    }
}

/// The body of [`trampoline`], appending to `out` instead of replacing it:
/// the encoded result, or on a failure the message, at most `room` bytes.
/// `Err(bytes)`: the result's encoding is `bytes` long, over `room`; then
/// `out` is as it was.
#[inline]
fn run_item<A: DeserializeOwned, R: Serialize>(
    f: usize,
    arg: &[u8],
    out: &mut Vec<u8>,
    room: usize,
) -> Result<Status, u64> {
    let start = out.len();
    // The step running when a panic escaped (None: the function itself,
    // whose message is reported as it is).
    let step = std::cell::Cell::new(Some("decoding the argument"));
    let outcome = halt_unwinding(|| {
        let arg: A = match postcard::from_bytes(arg) {
            Ok(arg) => arg,
            Err(err) => {
                out.extend_from_slice(err.to_string().as_bytes());
                return Ok(Status::BadArgument);
            }
        };
        // SAFETY: `f` is the address of a `fn(A) -> R` (see the docs above
        // and point 2 of the module docs), rebased into this process by
        // `FnRef::resolve`; function pointers and `usize` have the same size.
        let f: fn(A) -> R = unsafe { std::mem::transmute::<usize, fn(A) -> R>(f) };
        step.set(None);
        let result = f(arg);
        step.set(Some("encoding the result"));
        let status = match wire::encode_append(&result, out, room) {
            Ok(()) => Ok(Status::Ok),
            Err(EncodeError::TooLarge(bytes)) => Err(bytes),
            Err(EncodeError::Codec(message)) => {
                out.extend_from_slice(message.as_bytes());
                Ok(Status::BadResult)
            }
        };
        step.set(Some("dropping the result"));
        drop(result);
        status
    });
    match outcome {
        Ok(status) => status,
        Err(payload) => {
            out.truncate(start);
            let text = panic_text(payload.as_ref());
            match step.get() {
                None => out.extend_from_slice(text.as_bytes()),
                Some(step) => out.extend_from_slice(format!("{step} panicked: {text}").as_bytes()),
            }
            drop_payload(payload);
            Ok(Status::Panic)
        }
    }
}

/// The trampoline of a batch (a [`ProcessMap`](super::ProcessMap) chunk):
/// `arg` is a run of items, each a little-endian `u32` length and that many
/// bytes of one encoded `A`. Each item runs in turn through [`run_item`]
/// (the steps of [`trampoline`]), so a panic (or a codec error) ends only
/// its own item. The result is one
/// postcard byte string (a varint length, then the bytes; see
/// [`BatchOut`]) holding the nanoseconds the batch took here (`u64`),
/// then for each item in order its status byte, its output's length (`u32`)
/// and its output. Once the outputs so far would not fit a reply frame of
/// `limit` bytes, no further item runs and the batch answers
/// [`Status::TooLarge`] (the parent then sends each item alone).
///
/// Only [`FnRef::batch`] pairs this trampoline with an address, and it takes
/// the address from a real `fn(A) -> R` value, so `f` is always one.
pub(crate) fn batch_trampoline<A: DeserializeOwned, R: Serialize>(
    f: usize,
    arg: &[u8],
    out: &mut Vec<u8>,
    limit: usize,
) -> Status {
    thread_local! {
        static BUFFER: std::cell::Cell<Vec<u8>> = const { std::cell::Cell::new(Vec::new()) };
    }
    out.clear();
    let start = std::time::Instant::now();
    // The byte string's varint length takes at most 10 bytes.
    let room = limit.saturating_sub(REPLY_HEADER + 10);
    let mut inner = BUFFER.take();
    inner.clear();
    // About the argument's size (tiny items give tiny results), within
    // reason: a batch of big arguments may well give small results.
    inner.reserve(arg.len().min(1 << 20));
    inner.extend_from_slice(&[0; 8]);
    let mut rest = arg;
    // Where the running item's status byte is, and the step it is in (None:
    // the function itself), for a panic that escapes it.
    let mut mark = 0;
    let step = std::cell::Cell::new(Some("decoding the argument"));
    // SAFETY: `f` is the address of a `fn(A) -> R` (see the docs above and
    // point 2 of the module docs), rebased into this process by
    // `FnRef::resolve`; function pointers and `usize` have the same size.
    let f: fn(A) -> R = unsafe { std::mem::transmute::<usize, fn(A) -> R>(f) };
    // One `halt_unwinding` span runs items until the end of the batch or a
    // panic; after a panic (the item fails with its message) the next span
    // starts at the item after it.
    let status = loop {
        let outcome = halt_unwinding(|| {
            while !rest.is_empty() {
                let item = rest.split_first_chunk::<4>().and_then(|(len, tail)| {
                    let len = u32::from_le_bytes(*len) as usize;
                    (tail.len() >= len).then(|| tail.split_at(len))
                });
                let Some((item, tail)) = item else {
                    out.extend_from_slice(b"a malformed batch");
                    return Status::BadArgument;
                };
                rest = tail;
                // The item's status and output length go before its
                // output, which is written in place.
                mark = inner.len();
                inner.extend_from_slice(&[0; 5]);
                step.set(Some("decoding the argument"));
                let done = match postcard::from_bytes::<A>(item) {
                    Err(err) => {
                        inner.extend_from_slice(err.to_string().as_bytes());
                        Status::BadArgument
                    }
                    Ok(arg) => {
                        step.set(None);
                        let result = f(arg);
                        step.set(Some("encoding the result"));
                        let left = room.saturating_sub(inner.len());
                        let done = match wire::encode_append(&result, &mut inner, left) {
                            Ok(()) => Status::Ok,
                            Err(EncodeError::TooLarge(bytes)) => {
                                // Dropped before `out` is written: a panic
                                // in its `Drop` fails this item alone and
                                // leaves `out` empty for the batch's reply.
                                step.set(Some("dropping the result"));
                                drop(result);
                                let total = (inner.len() as u64).saturating_add(bytes);
                                too_large(out, total);
                                return Status::TooLarge;
                            }
                            Err(EncodeError::Codec(message)) => {
                                inner.extend_from_slice(message.as_bytes());
                                Status::BadResult
                            }
                        };
                        step.set(Some("dropping the result"));
                        drop(result);
                        done
                    }
                };
                if inner.len() > room {
                    // Stop here: the reply cannot fit, whatever follows.
                    too_large(out, inner.len() as u64);
                    return Status::TooLarge;
                }
                finish_item(&mut inner, mark, done);
            }
            Status::Ok
        });
        match outcome {
            Ok(done) => break done,
            Err(payload) => {
                inner.truncate(mark + 5);
                let text = panic_text(payload.as_ref());
                match step.get() {
                    None => inner.extend_from_slice(text.as_bytes()),
                    Some(step) => {
                        inner.extend_from_slice(format!("{step} panicked: {text}").as_bytes());
                    }
                }
                drop_payload(payload);
                if inner.len() > room {
                    too_large(out, inner.len() as u64);
                    break Status::TooLarge;
                }
                finish_item(&mut inner, mark, Status::Panic);
            }
        }
    };
    if status == Status::Ok {
        let nanos = u64::try_from(start.elapsed().as_nanos()).unwrap_or(u64::MAX);
        inner[..8].copy_from_slice(&nanos.to_le_bytes());
        let mut len = inner.len() as u64;
        while len >= 0x80 {
            out.push((len as u8) | 0x80);
            len >>= 7;
        }
        out.push(len as u8);
        out.extend_from_slice(&inner);
    }
    // Big buffers are not kept for the next batch.
    if inner.capacity() > 1 << 20 {
        inner = Vec::new();
    }
    BUFFER.set(inner);
    status
}

/// A batch reply's `TooLarge` answer: the size the reply would have had,
/// its outputs so far being `total` bytes.
fn too_large(out: &mut Vec<u8>, total: u64) {
    let body = (REPLY_HEADER as u64 + 10).saturating_add(total);
    out.clear();
    out.extend_from_slice(&body.to_le_bytes());
}

/// Writes an item's status and output length before its output, which
/// starts 5 bytes after `mark`.
fn finish_item(inner: &mut [u8], mark: usize, status: Status) {
    let len = (inner.len() - mark - 5) as u32;
    inner[mark] = status as u8;
    inner[mark + 1..mark + 5].copy_from_slice(&len.to_le_bytes());
}

/// What a batch task answers (see [`batch_trampoline`]), decoded where the
/// reply is read (the worker's supervisor thread, beside the map's own
/// thread): the nanoseconds the batch took in its worker and each item's
/// outcome, in order. Decoding never fails for one item's sake: an item
/// whose result does not decode, or whose `Deserialize` panics (contained
/// by [`decode_reply`](super::task::decode_reply)), gets its own error; a
/// byte string that is not a well-formed run of items is an error of the
/// whole reply (then the map sends each item again alone).
pub(crate) struct BatchOut<R> {
    pub(crate) nanos: u64,
    pub(crate) items: Outcomes<R>,
}

/// The outcomes of a run of items, in order, kept compact: the values of
/// the items that succeeded in one `Vec<R>` (a batch of tiny results is a
/// few pages, not a page per hundred `Result`s), the failures beside it
/// with their positions.
pub(crate) struct Outcomes<R> {
    ok: std::vec::IntoIter<R>,
    errors: std::collections::VecDeque<(usize, super::error::ErrorKind)>,
    /// The position of the next outcome to take.
    next: usize,
}

impl<R> Outcomes<R> {
    /// Outcomes built from a sequence.
    pub(crate) fn from_results(
        results: impl IntoIterator<Item = Result<R, super::error::ErrorKind>>,
    ) -> Outcomes<R> {
        let mut ok = Vec::new();
        let mut errors = std::collections::VecDeque::new();
        for (i, r) in results.into_iter().enumerate() {
            match r {
                Ok(v) => ok.push(v),
                Err(e) => errors.push_back((i, e)),
            }
        }
        Outcomes {
            ok: ok.into_iter(),
            errors,
            next: 0,
        }
    }

    /// How many outcomes are left.
    pub(crate) fn len(&self) -> usize {
        self.ok.len() + self.errors.len()
    }

    /// The next outcome in order.
    pub(crate) fn take(&mut self) -> Option<Result<R, super::error::ErrorKind>> {
        let position = self.next;
        self.next += 1;
        if self.errors.front().is_some_and(|(at, _)| *at == position) {
            return self.errors.pop_front().map(|(_, e)| Err(e));
        }
        self.ok.next().map(Ok)
    }
}

impl<R> Drop for Outcomes<R> {
    /// Drops the values left one at a time, each in its own
    /// [`halt_unwinding`] span: their `Drop` is user code, and a second
    /// panic while a `Vec`'s drop unwinds from the first would abort the
    /// process (on a supervisor thread, for a detached batch). The first
    /// panic goes on once every value is dropped.
    fn drop(&mut self) {
        let mut first = None;
        for value in self.ok.by_ref() {
            if let Err(payload) = halt_unwinding(move || drop(value)) {
                match first {
                    None => first = Some(payload),
                    Some(_) => drop_payload(payload),
                }
            }
        }
        if let Some(payload) = first {
            std::panic::resume_unwind(payload);
        }
    }
}

impl<'de, R: DeserializeOwned + Send> serde::Deserialize<'de> for BatchOut<R> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visit<R>(std::marker::PhantomData<R>);
        impl<R: DeserializeOwned + Send> serde::de::Visitor<'_> for Visit<R> {
            type Value = BatchOut<R>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a batch's bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<BatchOut<R>, E> {
                // Big items are decoded on a thread sized for them, as a
                // single task's big result is (`on_stack_for`).
                super::task::on_stack_for::<R, _>(largest_item(v), || BatchOut::parse(v))
                    .map_err(|kind| E::custom(kind))?
                    .ok_or_else(|| E::custom("a malformed batch reply"))
            }
        }
        d.deserialize_bytes(Visit(std::marker::PhantomData))
    }
}

/// The length of the longest item payload in a batch reply's `bytes` (0
/// for a malformed one, which `BatchOut::parse` reports): what one item's
/// decode may need, for `on_stack_for`.
fn largest_item(bytes: &[u8]) -> usize {
    let Some((_, mut rest)) = bytes.split_first_chunk::<8>() else {
        return 0;
    };
    let mut largest = 0;
    while let Some((_, tail)) = rest.split_first() {
        let Some((len, tail)) = tail.split_first_chunk::<4>() else {
            break;
        };
        let len = u32::from_le_bytes(*len) as usize;
        largest = largest.max(len);
        rest = tail.get(len..).unwrap_or_default();
    }
    largest
}

impl<R: DeserializeOwned> BatchOut<R> {
    /// The items of a batch reply, decoded in one
    /// [`halt_unwinding`] span per run of items (a panic in one item's
    /// `Deserialize` fails that item, as [`decode_reply`] would, and the
    /// next span starts at the item after it).
    ///
    /// [`decode_reply`]: super::task::decode_reply
    fn parse(bytes: &[u8]) -> Option<BatchOut<R>> {
        let (nanos, mut rest) = bytes.split_first_chunk::<8>()?;
        let mut ok: Vec<R> = Vec::with_capacity(batch_capacity::<R>(rest.len()));
        let mut errors = std::collections::VecDeque::new();
        let mut position = 0;
        loop {
            let outcome = halt_unwinding(|| {
                while !rest.is_empty() {
                    let (&status, tail) = rest.split_first()?;
                    let (len, tail) = tail.split_first_chunk::<4>()?;
                    let len = u32::from_le_bytes(*len) as usize;
                    if tail.len() < len {
                        return None;
                    }
                    let (payload, tail) = tail.split_at(len);
                    // Moved past the item first: if its `Deserialize`
                    // panics, the next span starts after it.
                    rest = tail;
                    // An item's own `TooLarge` cannot be in a batch reply
                    // (the worker stops the whole batch instead): malformed.
                    let item = match Status::from_byte(status) {
                        Some(Status::TooLarge) | None => return None,
                        Some(status) => match super::task::reply_error(status, payload, 0) {
                            Some(error) => Err(error),
                            None => postcard::from_bytes::<R>(payload)
                                .map_err(|e| super::error::ErrorKind::DecodeResult(e.to_string())),
                        },
                    };
                    match item {
                        Ok(value) => ok.push(value),
                        Err(e) => errors.push_back((position, e)),
                    }
                    position += 1;
                }
                Some(())
            });
            match outcome {
                Ok(done) => {
                    done?;
                    break;
                }
                Err(panic) => {
                    let text = panic_text(panic.as_ref());
                    drop_payload(panic);
                    errors.push_back((
                        position,
                        super::error::ErrorKind::Panic(format!(
                            "decoding the result panicked: {text}"
                        )),
                    ));
                    position += 1;
                }
            }
        }
        Some(BatchOut {
            nanos: u64::from_le_bytes(*nanos),
            items: Outcomes {
                ok: ok.into_iter(),
                errors,
                next: 0,
            },
        })
    }
}

/// The most room reserved up front for the values of a batch reply.
const MAX_RESERVE_BYTES: usize = 1 << 20;

/// How many values of `R` to reserve room for before decoding a batch reply
/// of `bytes` bytes: no more items than the reply can hold (each takes at
/// least 5 bytes, its status and length), and at most
/// [`MAX_RESERVE_BYTES`] of them; the `Vec` grows as more values arrive.
/// Counting items alone reserved gigabytes for a big `R` with a compact
/// encoding (a 256 KiB array of zeros is 32 KiB on the wire) and aborted
/// the parent.
fn batch_capacity<R>(bytes: usize) -> usize {
    (bytes / 5).min(MAX_RESERVE_BYTES / std::mem::size_of::<R>().max(1))
}

/// The message of a panic payload (`&str` or `String`), else a placeholder.
pub(crate) fn panic_text(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

/// The anchor all offsets are measured from. It is never called; only its
/// address matters, so it must not be merged with another function.
#[inline(never)]
fn anchor() -> u64 {
    std::hint::black_box(0x636f_7265_706f_6f6c)
}

#[inline(never)]
fn probe_one() -> u64 {
    std::hint::black_box(1)
}

#[inline(never)]
fn probe_two() -> u64 {
    std::hint::black_box(2)
}

fn anchor_addr() -> usize {
    anchor as fn() -> u64 as usize
}

/// The offsets of three functions of this module from the anchor: equal in
/// two processes only if they run the same build of the same executable.
pub(crate) fn fingerprint() -> [i64; 3] {
    let base = anchor_addr();
    let off = |addr: usize| addr.wrapping_sub(base) as i64;
    [
        off(probe_one as fn() -> u64 as usize),
        off(probe_two as fn() -> u64 as usize),
        off(trampoline::<u64, u64> as Trampoline as usize),
    ]
}

/// A function and its trampoline, as offsets from the anchor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FnRef {
    pub(crate) function: i64,
    pub(crate) trampoline: i64,
}

impl FnRef {
    /// The offsets of `f` and of its trampoline, or `None` when either lies
    /// outside the object (executable) the anchor is in.
    pub(crate) fn new<A: DeserializeOwned, R: Serialize>(f: fn(A) -> R) -> Option<FnRef> {
        let base = anchor_addr();
        let f = f as usize;
        let t = trampoline::<A, R> as Trampoline as usize;
        let home = object_base(base)?;
        if object_base(f)? != home || object_base(t)? != home {
            return None;
        }
        Some(FnRef {
            function: f.wrapping_sub(base) as i64,
            trampoline: t.wrapping_sub(base) as i64,
        })
    }

    /// As [`FnRef::new`], with [`batch_trampoline`] in place of
    /// [`trampoline`]: the call's argument is a run of items.
    pub(crate) fn batch<A: DeserializeOwned, R: Serialize>(f: fn(A) -> R) -> Option<FnRef> {
        let base = anchor_addr();
        let f = f as usize;
        let t = batch_trampoline::<A, R> as Trampoline as usize;
        let home = object_base(base)?;
        if object_base(f)? != home || object_base(t)? != home {
            return None;
        }
        Some(FnRef {
            function: f.wrapping_sub(base) as i64,
            trampoline: t.wrapping_sub(base) as i64,
        })
    }

    /// As [`FnRef::new`], remembering the last answer per thread: `dladdr`
    /// costs a walk of the loaded objects, and a program usually submits
    /// one function many times in a row.
    pub(crate) fn cached<A: DeserializeOwned, R: Serialize>(f: fn(A) -> R) -> Option<FnRef> {
        thread_local! {
            static LAST: std::cell::Cell<Option<(usize, usize, FnRef)>> =
                const { std::cell::Cell::new(None) };
        }
        let key = (f as usize, trampoline::<A, R> as Trampoline as usize);
        if let Some((a, b, r)) = LAST.get() {
            if (a, b) == key {
                return Some(r);
            }
        }
        let r = FnRef::new(f)?;
        LAST.set(Some((key.0, key.1, r)));
        Some(r)
    }

    /// The addresses of the function and its trampoline in this process,
    /// or `None` unless both lie inside the executable code of the object
    /// (executable) the anchor is in: no value from the wire is jumped to
    /// without this bound check.
    pub(crate) fn resolve(self) -> Option<(usize, usize)> {
        let base = anchor_addr();
        let f = base.wrapping_add(self.function as usize);
        let t = base.wrapping_add(self.trampoline as usize);
        (is_own_code(f) && is_own_code(t)).then_some((f, t))
    }

    /// Calls the function this reference names, in this process, with the
    /// reply limited to `limit` bytes; `None` (nothing called) if
    /// [`resolve`](Self::resolve) refuses the addresses.
    ///
    /// # Safety
    ///
    /// `self` must have been made by [`FnRef::new`] in a process running the
    /// same build of the same executable (the handshake's fingerprint check).
    pub(crate) unsafe fn call(self, arg: &[u8], out: &mut Vec<u8>, limit: usize) -> Option<Status> {
        let (f, t) = self.resolve()?;
        // SAFETY: by the caller's promise, `t` is the address of a
        // `trampoline::<A, R>` in this process (module docs, points 1-4),
        // and `resolve` checked it lies in this executable's code.
        let t: Trampoline = unsafe { std::mem::transmute::<usize, Trampoline>(t) };
        Some(t(f, arg, out, limit))
    }
}

/// Whether `addr` lies inside an executable segment of the object the anchor
/// is in (Linux: its `PT_LOAD` segments with `PF_X`; elsewhere: the same
/// object as the anchor, by `dladdr`).
fn is_own_code(addr: usize) -> bool {
    #[cfg(all(
        any(target_os = "linux", target_os = "android"),
        target_pointer_width = "64"
    ))]
    {
        code_ranges().iter().any(|r| r.contains(&addr))
    }
    #[cfg(not(all(
        any(target_os = "linux", target_os = "android"),
        target_pointer_width = "64"
    )))]
    {
        object_base(addr).is_some() && object_base(addr) == object_base(anchor_addr())
    }
}

/// The executable segments of the object holding the anchor, read once with
/// `dl_iterate_phdr`.
#[cfg(all(
    any(target_os = "linux", target_os = "android"),
    target_pointer_width = "64"
))]
fn code_ranges() -> &'static [std::ops::Range<usize>] {
    use std::sync::OnceLock;
    static RANGES: OnceLock<Vec<std::ops::Range<usize>>> = OnceLock::new();

    /// The executable segments of one object.
    ///
    /// # Safety
    ///
    /// `info` must describe a loaded object, as `dl_iterate_phdr` passes it.
    unsafe fn segments(info: &libc::dl_phdr_info) -> Vec<std::ops::Range<usize>> {
        let phdrs: &[libc::Elf64_Phdr] = if info.dlpi_phdr.is_null() {
            &[]
        } else {
            // SAFETY: by the caller's promise, `dlpi_phdr` points to
            // `dlpi_phnum` program headers of a loaded object.
            unsafe { std::slice::from_raw_parts(info.dlpi_phdr, usize::from(info.dlpi_phnum)) }
        };
        phdrs
            .iter()
            .filter(|p| p.p_type == libc::PT_LOAD && p.p_flags & libc::PF_X != 0)
            .map(|p| {
                let start = (info.dlpi_addr as usize).wrapping_add(p.p_vaddr as usize);
                start..start.saturating_add(p.p_memsz as usize)
            })
            .collect()
    }

    unsafe extern "C" fn visit(
        info: *mut libc::dl_phdr_info,
        _size: usize,
        data: *mut libc::c_void,
    ) -> libc::c_int {
        // SAFETY: `dl_iterate_phdr` passes a valid `info` for the call, and
        // `data` is the `Vec` that `code_ranges` passed, borrowed by it for
        // the whole iteration.
        let (info, found) = unsafe { (&*info, &mut *data.cast::<Vec<std::ops::Range<usize>>>()) };
        // SAFETY: `info` comes from `dl_iterate_phdr`.
        let ranges = unsafe { segments(info) };
        if ranges.iter().any(|r| r.contains(&anchor_addr())) {
            *found = ranges;
            return 1; // found: stop
        }
        0
    }

    RANGES.get_or_init(|| {
        let mut found: Vec<std::ops::Range<usize>> = Vec::new();
        // SAFETY: `visit` matches the callback type and only reads `info`
        // during the call; `data` points to `found`, which outlives the call.
        unsafe {
            libc::dl_iterate_phdr(Some(visit), (&raw mut found).cast());
        }
        found
    })
}

/// The base address of the loaded object (executable or shared library)
/// holding `addr`, from `dladdr`; `None` if no object holds it.
fn object_base(addr: usize) -> Option<usize> {
    // SAFETY: `Dl_info` is plain pointers, for which all-zero is valid.
    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    // SAFETY: `dladdr` only reads its address argument (any value is fine)
    // and writes `info`, which lives for the call.
    let found = unsafe { libc::dladdr(addr as *const libc::c_void, &mut info) };
    if found == 0 || info.dli_fbase.is_null() {
        None
    } else {
        Some(info.dli_fbase as usize)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn double(x: u64) -> u64 {
        x * 2
    }

    fn boom(_: u8) -> u8 {
        panic!("boom {}", 7)
    }

    #[test]
    fn an_offset_calls_the_function_in_this_process() {
        let r = FnRef::new(double).expect("in the executable");
        let arg = postcard::to_allocvec(&21u64).unwrap();
        let mut out = Vec::new();
        // SAFETY: made by `FnRef::new` in this very process.
        assert_eq!(unsafe { r.call(&arg, &mut out, 1 << 20) }, Some(Status::Ok));
        assert_eq!(postcard::from_bytes::<u64>(&out).unwrap(), 42);
    }

    #[test]
    fn a_panic_and_a_bad_argument_are_statuses() {
        let r = FnRef::new(boom).unwrap();
        let mut out = Vec::new();
        // SAFETY: made by `FnRef::new` in this very process.
        let status = unsafe { r.call(&[3], &mut out, 1 << 20) };
        assert_eq!(status, Some(Status::Panic));
        assert_eq!(out, b"boom 7");
        let r = FnRef::new(double).unwrap();
        // SAFETY: as above.
        let status = unsafe { r.call(&[], &mut out, 1 << 20) };
        assert_eq!(status, Some(Status::BadArgument));
    }

    #[test]
    fn a_result_over_the_limit_is_too_large_and_nothing_is_kept() {
        fn zeros(n: usize) -> Vec<u8> {
            vec![0; n]
        }
        let r = FnRef::new(zeros).unwrap();
        let arg = postcard::to_allocvec(&1000usize).unwrap();
        let mut out = Vec::new();
        // SAFETY: made by `FnRef::new` in this very process.
        let status = unsafe { r.call(&arg, &mut out, 100) };
        assert_eq!(status, Some(Status::TooLarge));
        // 1000 bytes and a 2-byte length, in a reply body.
        let need = u64::from_le_bytes(out[..8].try_into().unwrap());
        assert_eq!(need, (REPLY_HEADER + 1002) as u64);
    }

    #[test]
    fn offsets_outside_the_executables_code_are_refused() {
        let good = FnRef::new(double).unwrap();
        assert!(good.resolve().is_some());
        let wild = |function, trampoline| FnRef {
            function,
            trampoline,
        };
        // Data, not code: the address of a static.
        static DATA: u64 = 7;
        let data = (&raw const DATA as usize).wrapping_sub(anchor_addr()) as i64;
        for bad in [
            wild(good.function, data),
            wild(data, good.trampoline),
            wild(good.function, i64::MAX / 3),
            wild(i64::MIN / 5, good.trampoline),
        ] {
            assert_eq!(bad.resolve(), None, "{bad:?}");
            let mut out = Vec::new();
            // SAFETY: not made by `FnRef::new`: this is what the check is
            // for, and it refuses before anything is called.
            assert_eq!(unsafe { bad.call(&[], &mut out, 1 << 20) }, None);
        }
    }

    #[test]
    fn a_batch_reply_reserves_at_most_a_mebibyte_and_no_more_items_than_it_holds() {
        // 8 results of 256 KiB, 32 KiB each on the wire: 4 reserved (1 MiB),
        // where counting items alone gave 52,428 (13 GiB).
        type Quarter = [u8; 1 << 18];
        let reply = 8 * (5 + (32 << 10));
        assert_eq!(batch_capacity::<Quarter>(reply), 4);
        assert!(batch_capacity::<[u8; 3 << 20]>(reply) <= 1);
        // Small values: one per 5 bytes, up to a mebibyte of them.
        assert_eq!(batch_capacity::<u64>(50), 10);
        assert_eq!(batch_capacity::<u64>(1 << 30), MAX_RESERVE_BYTES / 8);
        assert_eq!(batch_capacity::<()>(50), 10);
    }

    #[test]
    fn a_batch_reply_of_big_values_decodes_past_its_reservation() {
        // 4 KiB values, 512 zero bytes each on the wire: 300 of them are
        // 1.2 MiB, past the 1 MiB reserved, so the `Vec` grows.
        type Big = [[u64; 32]; 16];
        let mut bytes = 7u64.to_le_bytes().to_vec();
        for i in 0..300u64 {
            let mut value = [[0u64; 32]; 16];
            value[0][0] = i;
            let encoded = postcard::to_allocvec(&value).unwrap();
            bytes.push(Status::Ok as u8);
            bytes.extend_from_slice(&(encoded.len() as u32).to_le_bytes());
            bytes.extend_from_slice(&encoded);
        }
        let out = BatchOut::<Big>::parse(&bytes).expect("well formed");
        assert_eq!(out.nanos, 7);
        let mut items = out.items;
        for i in 0..300u64 {
            let value = items.take().unwrap().unwrap();
            assert_eq!(value[0][0], i);
            assert_eq!(
                value.iter().flatten().filter(|&&x| x != 0).count(),
                usize::from(i != 0)
            );
        }
        assert!(items.take().is_none());
    }

    #[test]
    fn the_fingerprint_is_stable() {
        assert_eq!(fingerprint(), fingerprint());
        assert_ne!(fingerprint()[0], fingerprint()[1]);
    }
}

//! How a parent names a function for a worker process to call: the address
//! of a `fn` item as an offset from an anchor function of the same binary,
//! with a monomorphised trampoline that decodes the argument, calls the
//! function and encodes the result.
//!
//! # Why offsets are safe to call
//!
//! 1. A worker is a fresh `execve` of the very file the parent runs
//!    (`/proc/self/exe` on Linux, which names the open file even if the path
//!    was replaced on disk; elsewhere `std::env::current_exe()`), so its code
//!    has the same layout; address space layout randomisation moves the
//!    executable as one block, so the distance between two functions of the
//!    executable is the same in both processes.
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
//! the parent writes the offsets a worker calls.

use std::panic::{AssertUnwindSafe, catch_unwind};

use serde::Serialize;
use serde::de::DeserializeOwned;

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
}

impl Status {
    pub(crate) fn from_byte(byte: u8) -> Option<Status> {
        match byte {
            0 => Some(Status::Ok),
            1 => Some(Status::Panic),
            2 => Some(Status::BadArgument),
            3 => Some(Status::BadResult),
            _ => None,
        }
    }
}

/// The type of every trampoline: the function's address, the encoded
/// argument, and a buffer for the encoded result (or a message).
pub(crate) type Trampoline = fn(usize, &[u8], &mut Vec<u8>) -> Status;

/// Decodes an `A` from `arg`, calls the `fn(A) -> R` at address `f`, and
/// encodes its result into `out`. A panic in the function is caught here and
/// reported with its message: the worker process lives on.
///
/// Only [`FnRef::new`] pairs this trampoline with an address, and it takes
/// the address from a real `fn(A) -> R` value, so `f` is always one.
pub(crate) fn trampoline<A: DeserializeOwned, R: Serialize>(
    f: usize,
    arg: &[u8],
    out: &mut Vec<u8>,
) -> Status {
    out.clear();
    let arg: A = match postcard::from_bytes(arg) {
        Ok(arg) => arg,
        Err(err) => {
            out.extend_from_slice(err.to_string().as_bytes());
            return Status::BadArgument;
        }
    };
    // SAFETY: `f` is the address of a `fn(A) -> R` (see the docs above and
    // point 2 of the module docs), rebased into this process by
    // `FnRef::resolve`; function pointers and `usize` have the same size.
    let f: fn(A) -> R = unsafe { std::mem::transmute::<usize, fn(A) -> R>(f) };
    let result = match catch_unwind(AssertUnwindSafe(|| f(arg))) {
        Ok(result) => result,
        Err(payload) => {
            out.extend_from_slice(panic_text(payload.as_ref()).as_bytes());
            // The payload's destructor could panic; a worker must not unwind
            // out of its loop, so it is leaked instead.
            std::mem::forget(payload);
            return Status::Panic;
        }
    };
    match postcard::to_extend(&result, std::mem::take(out)) {
        Ok(bytes) => {
            *out = bytes;
            Status::Ok
        }
        Err(err) => {
            out.clear();
            out.extend_from_slice(err.to_string().as_bytes());
            Status::BadResult
        }
    }
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

    /// Calls the function this reference names, in this process.
    ///
    /// # Safety
    ///
    /// `self` must have been made by [`FnRef::new`] in a process running the
    /// same build of the same executable (the handshake's fingerprint check).
    pub(crate) unsafe fn call(self, arg: &[u8], out: &mut Vec<u8>) -> Status {
        let base = anchor_addr();
        let t = base.wrapping_add(self.trampoline as usize);
        let f = base.wrapping_add(self.function as usize);
        // SAFETY: by the caller's promise, `t` is the address of a
        // `trampoline::<A, R>` in this process (module docs, points 1-4).
        let t: Trampoline = unsafe { std::mem::transmute::<usize, Trampoline>(t) };
        t(f, arg, out)
    }
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
        assert_eq!(unsafe { r.call(&arg, &mut out) }, Status::Ok);
        assert_eq!(postcard::from_bytes::<u64>(&out).unwrap(), 42);
    }

    #[test]
    fn a_panic_and_a_bad_argument_are_statuses() {
        let r = FnRef::new(boom).unwrap();
        let mut out = Vec::new();
        // SAFETY: made by `FnRef::new` in this very process.
        assert_eq!(unsafe { r.call(&[3], &mut out) }, Status::Panic);
        assert_eq!(out, b"boom 7");
        let r = FnRef::new(double).unwrap();
        // SAFETY: as above.
        assert_eq!(unsafe { r.call(&[], &mut out) }, Status::BadArgument);
    }

    #[test]
    fn the_fingerprint_is_stable() {
        assert_eq!(fingerprint(), fingerprint());
        assert_ne!(fingerprint()[0], fingerprint()[1]);
    }
}

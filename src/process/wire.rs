//! The frames a parent and a worker process exchange over their socket, and
//! reading them with an optional deadline (the kernel waits; nothing spins).
//!
//! Every frame is a little-endian `u32` body length, then the body. The
//! body's first byte is its kind; the fields that follow are fixed-width
//! little-endian integers, then, for calls and replies, the payload bytes up
//! to the end of the body:
//!
//! | frame | direction | body |
//! |---|---|---|
//! | hello | parent → worker | `1`, fingerprint `3 × i64`, CPU `i64` (−1: none), memory limit `u64` (0: none), parent pid `u32`, frame limit `u64`, session key `u64` |
//! | ready | worker → parent | `1`, `0` (ok) or `1` (refused), message bytes |
//! | call | parent → worker | `2`, task id `u64`, tag `u64`, function `i64`, trampoline `i64`, argument bytes |
//! | reply | worker → parent | `2`, task id `u64`, status `u8`, result or message bytes |
//!
//! A map's batch is an ordinary call whose trampoline is
//! `call::batch_trampoline`: its argument bytes are the items, each a `u32`
//! length and that item's encoding, and its result bytes are the postcard
//! encoding of `(u64, Vec<(u8, Vec<u8>)>)`, the nanoseconds the batch took
//! and each item's status and output. Both must fit the frame limit like any
//! call and reply: the parent cuts a batch before its frame would pass it,
//! and a worker whose batch reply would pass it stops the batch and answers
//! `TooLarge` (the parent then sends each item alone).
//!
//! # What is trusted, and why
//!
//! - **The peer.** The socket is one end of a pair created close-on-exec and
//!   handed to exactly one child, a fresh `execve` of the parent's own
//!   executable whose handshake proved it is the same build (the
//!   fingerprint, `call.rs`). Nothing else can write to it. The protocol
//!   defends against *mistakes* of its two ends (a length that does not
//!   fit, a frame cut short, bytes read out of step), not against a hostile
//!   peer: a process that can write to the socket could equally `ptrace`
//!   the worker.
//! - **Lengths are never trusted, on either side.** A frame is built only
//!   if its body fits the pool's frame limit (`max_frame_bytes`, at most
//!   `u32::MAX`), checked in [`Frame::finish`] *before* anything is sent: an
//!   oversized argument fails its task with
//!   [`ErrorKind::ArgumentTooLarge`](super::ErrorKind::ArgumentTooLarge) in
//!   the parent, an oversized result is answered with a short
//!   [`Status::TooLarge`] reply by the worker, and nothing else is written.
//!   A reader refuses a length above the limit ([`ReadError::TooLarge`]) and
//!   treats the connection as broken (the parent kills the worker; a worker
//!   exits), so the two ends never read out of step: the length prefix of
//!   every frame is exactly what its writer wrote.
//! - **No value from the wire picks code without a check.** A call names a
//!   function and its trampoline as offsets from an anchor. The worker calls
//!   them only if (1) the call's tag matches: a keyed hash of the task id
//!   and both offsets under the session key the parent sent in the hello
//!   (a frame that is not a call the parent built — garbage, a payload read
//!   as a header — fails it), and (2) both addresses lie inside the
//!   executable code of the worker's own executable ([`FnRef::resolve`]).
//!   Only then is the trampoline called (see `call.rs` for why an offset the
//!   parent built names a real `fn(A) -> R` and its matching trampoline).
//!   A status byte is checked against the known statuses; an unknown one is
//!   a protocol error.

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::call::{FnRef, Status};

/// The default frame limit: a frame body larger than this is never written
/// and never read (a garbage length must not make the reader allocate
/// gigabytes): 1 GiB.
pub(crate) const DEFAULT_MAX_FRAME: usize = 1 << 30;

/// The smallest frame limit a pool accepts: room for every fixed-size frame
/// (hello, a call with a small argument, a too-large reply) and a short
/// message.
pub(crate) const MIN_FRAME: usize = 64;

/// The largest frame limit: the length prefix is a `u32`.
pub(crate) const MAX_FRAME: usize = u32::MAX as usize;

/// The limit for the hello and ready frames, read before the pool's own
/// limit is known to the worker (both are small).
pub(crate) const HELLO_LIMIT: usize = 4096;

/// The bytes of a call body before the argument: kind, id, tag, function,
/// trampoline.
pub(crate) const CALL_HEADER: usize = 1 + 8 + 8 + 8 + 8;

/// The bytes of a reply body before the payload: kind, id, status.
pub(crate) const REPLY_HEADER: usize = 1 + 8 + 1;

pub(crate) const KIND_HELLO: u8 = 1;
pub(crate) const KIND_CALL: u8 = 2;

/// What a [`read_frame`] that got no frame saw.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The deadline passed first.
    Timeout,
    /// The peer closed its end (it exited or was killed), possibly mid-frame.
    Closed,
    /// The length prefix is over the limit: nothing more was read, and the
    /// stream is out of step from here on (the connection is broken).
    TooLarge(TooLarge),
    /// Anything else: a zero length, an I/O error.
    Other(String),
}

/// A frame body of `bytes` bytes does not fit the frame limit `limit`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct TooLarge {
    pub(crate) bytes: u64,
    pub(crate) limit: u64,
}

/// A frame under construction: the length is patched in by [`Frame::finish`].
pub(crate) struct Frame(Vec<u8>);

impl Frame {
    pub(crate) fn new(kind: u8, capacity: usize) -> Frame {
        let mut bytes = Vec::with_capacity(5 + capacity);
        bytes.extend_from_slice(&[0, 0, 0, 0, kind]);
        Frame(bytes)
    }

    pub(crate) fn u8(mut self, v: u8) -> Frame {
        self.0.push(v);
        self
    }

    pub(crate) fn u32(mut self, v: u32) -> Frame {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn u64(mut self, v: u64) -> Frame {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn i64(mut self, v: i64) -> Frame {
        self.0.extend_from_slice(&v.to_le_bytes());
        self
    }

    pub(crate) fn bytes(mut self, v: &[u8]) -> Frame {
        self.0.extend_from_slice(v);
        self
    }

    /// The bytes to send, length prefix included, or [`TooLarge`] when the
    /// body is over `limit` (itself at most [`MAX_FRAME`], so the length
    /// fits the `u32` prefix). Nothing may be sent without passing here.
    pub(crate) fn finish(mut self, limit: usize) -> Result<Vec<u8>, TooLarge> {
        let body = self.0.len() - 4;
        let too_large = TooLarge {
            bytes: body as u64,
            limit: limit as u64,
        };
        if body > limit.min(MAX_FRAME) {
            return Err(too_large);
        }
        let len = u32::try_from(body).map_err(|_| too_large)?;
        self.0[..4].copy_from_slice(&len.to_le_bytes());
        Ok(self.0)
    }
}

/// The size of a call body carrying an argument of `arg` bytes.
pub(crate) fn call_body_len(arg: usize) -> u64 {
    (CALL_HEADER as u64).saturating_add(arg as u64)
}

/// A call frame, or [`TooLarge`] (then nothing may be sent).
pub(crate) fn call_frame(
    id: u64,
    key: u64,
    f: FnRef,
    arg: &[u8],
    limit: usize,
) -> Result<Vec<u8>, TooLarge> {
    if call_body_len(arg.len()) > limit as u64 {
        return Err(TooLarge {
            bytes: call_body_len(arg.len()),
            limit: limit as u64,
        });
    }
    Frame::new(KIND_CALL, CALL_HEADER + arg.len())
        .u64(id)
        .u64(call_tag(key, id, f))
        .i64(f.function)
        .i64(f.trampoline)
        .bytes(arg)
        .finish(limit)
}

/// A reply frame, or [`TooLarge`] (then nothing may be sent).
pub(crate) fn reply_frame(
    id: u64,
    status: Status,
    payload: &[u8],
    limit: usize,
) -> Result<Vec<u8>, TooLarge> {
    let bytes = (REPLY_HEADER as u64).saturating_add(payload.len() as u64);
    if bytes > limit as u64 {
        return Err(TooLarge {
            bytes,
            limit: limit as u64,
        });
    }
    Frame::new(KIND_CALL, REPLY_HEADER + payload.len())
        .u64(id)
        .u8(status as u8)
        .bytes(payload)
        .finish(limit)
}

/// The tag of a call: a hash of the task id and both offsets keyed with the
/// session key. Both ends run the same build (the handshake's fingerprint),
/// so they hash alike; a frame the parent did not build as a call matches
/// with probability 2⁻⁶⁴.
pub(crate) fn call_tag(key: u64, id: u64, f: FnRef) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut hasher = std::hash::DefaultHasher::new();
    (key, id, f.function, f.trampoline).hash(&mut hasher);
    hasher.finish()
}

/// A fresh random session key, for one worker's hello.
pub(crate) fn session_key() -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(std::process::id())
}

/// Why [`encode_limited`] produced no bytes.
#[derive(Debug)]
pub(crate) enum EncodeError {
    /// The encoding is this many bytes, over the limit it was given (only
    /// the bytes up to the limit were kept in memory).
    TooLarge(u64),
    /// The codec refused the value.
    Codec(String),
}

/// Encodes `value` with postcard, appending to `out`, keeping at most
/// `limit` bytes in `out`: past that the rest is only counted, so a huge
/// value costs no memory beyond the limit and its full size is reported.
pub(crate) fn encode_limited<T: serde::Serialize + ?Sized>(
    value: &T,
    mut out: Vec<u8>,
    limit: usize,
) -> Result<Vec<u8>, EncodeError> {
    encode_append(value, &mut out, limit).map(|()| out)
}

/// As [`encode_limited`], into `out` in place; on an error `out` is left as
/// it was.
///
/// The common case (the value fits) is one pass that appends straight to
/// `out` and stops at the limit; only a value over the limit is encoded a
/// second time, counting, to report its full size.
#[inline]
pub(crate) fn encode_append<T: serde::Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), EncodeError> {
    /// Appends to `out` up to `end` bytes in all; past that it fails the
    /// encoding and says so in `over`.
    struct Bounded<'a> {
        out: &'a mut Vec<u8>,
        end: usize,
        over: &'a mut bool,
    }
    impl postcard::ser_flavors::Flavor for Bounded<'_> {
        type Output = ();
        #[inline]
        fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
            if self.out.len() >= self.end {
                *self.over = true;
                return Err(postcard::Error::SerializeBufferFull);
            }
            self.out.push(byte);
            Ok(())
        }
        #[inline]
        fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
            if data.len() > self.end - self.out.len() {
                *self.over = true;
                return Err(postcard::Error::SerializeBufferFull);
            }
            if data.len() <= 16 {
                // A varint or a short field, the common case: pushed byte
                // by byte, which stays inline where `extend_from_slice`
                // would call `memcpy` for a few bytes.
                for &byte in data {
                    self.out.push(byte);
                }
            } else {
                self.out.extend_from_slice(data);
            }
            Ok(())
        }
        #[inline]
        fn finalize(self) -> postcard::Result<()> {
            Ok(())
        }
    }
    let start = out.len();
    let mut over = false;
    let bounded = Bounded {
        end: start.saturating_add(limit),
        out,
        over: &mut over,
    };
    match postcard::serialize_with_flavor(value, bounded) {
        Ok(()) => Ok(()),
        Err(_) if over => {
            out.truncate(start);
            encode_counting(value, out, limit)
        }
        Err(err) => {
            out.truncate(start);
            Err(EncodeError::Codec(err.to_string()))
        }
    }
}

/// As [`encode_append`], keeping at most `limit` bytes and counting the
/// rest: the slow pass that measures a value over the limit.
fn encode_counting<T: serde::Serialize + ?Sized>(
    value: &T,
    out: &mut Vec<u8>,
    limit: usize,
) -> Result<(), EncodeError> {
    struct Limited<'a> {
        out: &'a mut Vec<u8>,
        limit: usize,
        total: u64,
    }
    impl postcard::ser_flavors::Flavor for Limited<'_> {
        type Output = u64;
        fn try_push(&mut self, byte: u8) -> postcard::Result<()> {
            self.try_extend(&[byte])
        }
        fn try_extend(&mut self, data: &[u8]) -> postcard::Result<()> {
            self.total = self.total.saturating_add(data.len() as u64);
            if self.total <= self.limit as u64 {
                self.out.extend_from_slice(data);
            }
            Ok(())
        }
        fn finalize(self) -> postcard::Result<u64> {
            Ok(self.total)
        }
    }
    let start = out.len();
    let limited = Limited {
        limit: limit.saturating_add(start),
        total: start as u64,
        out,
    };
    let limit = limited.limit;
    let outcome = postcard::serialize_with_flavor(value, limited);
    let result = match outcome {
        Ok(total) if total > limit as u64 => Err(EncodeError::TooLarge(total - start as u64)),
        Ok(_) => return Ok(()),
        Err(err) => Err(EncodeError::Codec(err.to_string())),
    };
    out.truncate(start);
    result
}

/// Reads fields off a frame body in order; `None` when it is too short.
pub(crate) struct Fields<'a>(&'a [u8]);

impl<'a> Fields<'a> {
    pub(crate) fn new(body: &'a [u8]) -> Fields<'a> {
        Fields(body)
    }

    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }

    pub(crate) fn u8(&mut self) -> Option<u8> {
        self.take::<1>().map(|b| b[0])
    }

    pub(crate) fn u32(&mut self) -> Option<u32> {
        self.take().map(u32::from_le_bytes)
    }

    pub(crate) fn u64(&mut self) -> Option<u64> {
        self.take().map(u64::from_le_bytes)
    }

    pub(crate) fn i64(&mut self) -> Option<i64> {
        self.take().map(i64::from_le_bytes)
    }

    /// Everything not read yet.
    pub(crate) fn rest(self) -> &'a [u8] {
        self.0
    }
}

/// Sends all of `bytes`. On Linux with `MSG_NOSIGNAL`, so writing to a dead
/// worker is an `EPIPE` error rather than a `SIGPIPE` (elsewhere Rust
/// programs ignore `SIGPIPE` from the start).
pub(crate) fn send_all(stream: &UnixStream, bytes: &[u8]) -> io::Result<()> {
    send_until(stream, bytes, None).map_err(|e| match e {
        SendError::Io(err) => err,
        SendError::Timeout => unreachable!("no deadline, no timeout"),
    })
}

/// Why [`send_until`] did not send everything.
#[derive(Debug)]
pub(crate) enum SendError {
    /// `deadline` passed first (the peer stopped reading: a worker that was
    /// stopped or frozen).
    Timeout,
    Io(io::Error),
}

/// [`send_all`] that gives up at `deadline` (never with `None`): each
/// piece is sent without blocking, and the wait for room is `poll(2)` with
/// the time left.
pub(crate) fn send_until(
    stream: &UnixStream,
    mut bytes: &[u8],
    deadline: Option<Instant>,
) -> Result<(), SendError> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const NO_SIGNAL: libc::c_int = libc::MSG_NOSIGNAL;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const NO_SIGNAL: libc::c_int = 0;
    let flags = match deadline {
        Some(_) => NO_SIGNAL | libc::MSG_DONTWAIT,
        None => NO_SIGNAL,
    };
    while !bytes.is_empty() {
        if let Some(deadline) = deadline {
            wait_for(stream, libc::POLLOUT, deadline).map_err(|e| match e {
                ReadError::Timeout => SendError::Timeout,
                ReadError::Other(why) => SendError::Io(io::Error::other(why)),
                other => SendError::Io(io::Error::other(format!("{other:?}"))),
            })?;
        }
        // SAFETY: the pointer and length describe the live slice `bytes`; the
        // descriptor is owned by `stream`, which outlives the call.
        let n = unsafe {
            libc::send(
                stream.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                flags,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            if matches!(
                err.kind(),
                io::ErrorKind::Interrupted | io::ErrorKind::WouldBlock
            ) {
                continue;
            }
            return Err(SendError::Io(err));
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// Reads one frame body into `body` (replacing its content), waiting at most
/// until `deadline` (forever with `None`). A length over `limit` is
/// [`ReadError::TooLarge`]: nothing is allocated for it. The wait is
/// `poll(2)` with the time left, so a waiting reader sleeps in the kernel.
pub(crate) fn read_frame(
    stream: &mut UnixStream,
    body: &mut Vec<u8>,
    deadline: Option<Instant>,
    limit: usize,
) -> Result<(), ReadError> {
    let mut len = [0u8; 4];
    read_exact(stream, &mut len, deadline)?;
    let len = u32::from_le_bytes(len);
    if u64::from(len) > limit as u64 {
        return Err(ReadError::TooLarge(TooLarge {
            bytes: u64::from(len),
            limit: limit as u64,
        }));
    }
    if len == 0 {
        return Err(ReadError::Other("a frame of length 0".to_owned()));
    }
    // In bounds: `len` is at most `limit`, a `usize`.
    let len = len as usize;
    body.clear();
    if body.capacity() > KEEP_BODY && body.capacity() / 4 > len {
        // One large reply does not pin its buffer for the pool's life.
        body.shrink_to(len.max(KEEP_BODY));
    }
    // The buffer grows as bytes arrive (doubling from `FIRST_PIECE`), so a
    // peer that sends a large length and then little or nothing (a worker
    // whose memory was scribbled on) costs what it sent, not the limit.
    while body.len() < len {
        let start = body.len();
        let piece = (len - start).min(start.max(FIRST_PIECE));
        body.resize(start + piece, 0);
        read_exact(stream, &mut body[start..], deadline)?;
    }
    Ok(())
}

/// The largest frame buffer `read_frame` keeps across frames much smaller
/// than it; and the first piece it reads a frame body in.
const KEEP_BODY: usize = 1 << 20;
const FIRST_PIECE: usize = 64 << 10;

fn read_exact(
    stream: &mut UnixStream,
    mut buf: &mut [u8],
    deadline: Option<Instant>,
) -> Result<(), ReadError> {
    while !buf.is_empty() {
        if let Some(deadline) = deadline {
            wait_readable(stream, deadline)?;
        }
        match stream.read(buf) {
            Ok(0) => return Err(ReadError::Closed),
            Ok(n) => buf = &mut buf[n..],
            Err(err) if err.kind() == io::ErrorKind::Interrupted => {}
            Err(err) if err.kind() == io::ErrorKind::ConnectionReset => {
                return Err(ReadError::Closed);
            }
            Err(err) => return Err(ReadError::Other(err.to_string())),
        }
    }
    Ok(())
}

/// Sleeps in `poll(2)` until `stream` is readable (or closed) or `deadline`
/// passes.
fn wait_readable(stream: &UnixStream, deadline: Instant) -> Result<(), ReadError> {
    wait_for(stream, libc::POLLIN, deadline)
}

/// Sleeps in `poll(2)` until `stream` is ready for `events` (or closed, or
/// in error: the next call on it says which) or `deadline` passes.
fn wait_for(
    stream: &UnixStream,
    events: libc::c_short,
    deadline: Instant,
) -> Result<(), ReadError> {
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(ReadError::Timeout);
        }
        let left = deadline - now;
        let mut fd = libc::pollfd {
            fd: stream.as_raw_fd(),
            events,
            revents: 0,
        };
        let n = poll_for(&mut fd, left);
        if n > 0 {
            return Ok(());
        }
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() != io::ErrorKind::Interrupted {
                return Err(ReadError::Other(err.to_string()));
            }
        }
    }
}

/// `poll(2)` on one descriptor for at most `left`: `ppoll` with the exact
/// time on Linux, else `poll` with the time rounded up to a millisecond.
#[cfg(any(target_os = "linux", target_os = "android"))]
fn poll_for(fd: &mut libc::pollfd, left: Duration) -> libc::c_int {
    let secs = left.as_secs().min(i32::MAX as u64);
    let time = libc::timespec {
        tv_sec: secs as libc::time_t,
        tv_nsec: left.subsec_nanos() as _,
    };
    // SAFETY: `fd` is one valid `pollfd` and `time` a valid `timespec`, both
    // living for the call; a null signal mask leaves the mask unchanged.
    unsafe { libc::ppoll(fd, 1, &time, std::ptr::null()) }
}

/// `poll(2)` on one descriptor for at most `left`: `ppoll` with the exact
/// time on Linux, else `poll` with the time rounded up to a millisecond.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
fn poll_for(fd: &mut libc::pollfd, left: Duration) -> libc::c_int {
    // Round up, so the wait never ends just before the deadline and turns
    // into a series of zero-length polls.
    let ms = left.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
    // SAFETY: `fd` is one valid `pollfd` that lives for the call.
    unsafe { libc::poll(fd, 1, ms) }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn a_frame_round_trips_and_a_silent_peer_times_out() {
        let (a, mut b) = UnixStream::pair().unwrap();
        let f = FnRef {
            function: -5,
            trampoline: 9,
        };
        send_all(&a, &call_frame(7, 99, f, b"xyz", 1024).unwrap()).unwrap();
        let mut body = Vec::new();
        read_frame(&mut b, &mut body, None, 1024).unwrap();
        let mut fields = Fields::new(&body);
        assert_eq!(fields.u8(), Some(KIND_CALL));
        assert_eq!(fields.u64(), Some(7));
        assert_eq!(fields.u64(), Some(call_tag(99, 7, f)));
        assert_eq!(fields.i64(), Some(-5));
        assert_eq!(fields.i64(), Some(9));
        assert_eq!(fields.rest(), b"xyz");

        let deadline = Instant::now() + Duration::from_millis(5);
        assert!(matches!(
            read_frame(&mut b, &mut body, Some(deadline), 1024),
            Err(ReadError::Timeout)
        ));
        (&a).write_all(&[1, 0]).unwrap();
        drop(a);
        assert!(matches!(
            read_frame(&mut b, &mut body, None, 1024),
            Err(ReadError::Closed)
        ));
    }

    #[test]
    fn a_frame_buffer_grows_with_what_arrives_and_shrinks_after_a_big_one() {
        let (mut a, mut b) = UnixStream::pair().unwrap();
        // A length of 100 MB under a 1 GiB limit, then 10 bytes and the end:
        // what is read costs what was sent, not the announced length.
        let limit = 1 << 30;
        a.write_all(&100_000_000u32.to_le_bytes()).unwrap();
        a.write_all(&[7; 10]).unwrap();
        drop(a);
        let mut body = Vec::new();
        assert!(matches!(
            read_frame(&mut b, &mut body, None, limit),
            Err(ReadError::Closed)
        ));
        assert!(body.capacity() <= FIRST_PIECE, "{}", body.capacity());
        // A 4 MiB frame, then a small one: the big buffer is not kept.
        let (mut a, mut b) = UnixStream::pair().unwrap();
        let big = vec![3u8; 4 << 20];
        let writer = std::thread::spawn(move || {
            for frame in [&big[..], &[1, 2, 3][..]] {
                a.write_all(&(frame.len() as u32).to_le_bytes()).unwrap();
                a.write_all(frame).unwrap();
            }
        });
        read_frame(&mut b, &mut body, None, limit).unwrap();
        assert_eq!((body.len(), body.iter().all(|&x| x == 3)), (4 << 20, true));
        read_frame(&mut b, &mut body, None, limit).unwrap();
        assert_eq!(body, [1, 2, 3]);
        assert!(body.capacity() <= KEEP_BODY, "{}", body.capacity());
        writer.join().unwrap();
    }

    #[test]
    fn a_frame_over_the_limit_is_never_built_and_never_read() {
        let f = FnRef {
            function: 1,
            trampoline: 2,
        };
        let arg = vec![0u8; 100];
        let err = call_frame(1, 2, f, &arg, 64).unwrap_err();
        assert_eq!(err.bytes, (CALL_HEADER + 100) as u64);
        assert_eq!(err.limit, 64);
        assert!(call_frame(1, 2, f, &arg, CALL_HEADER + 100).is_ok());
        assert!(reply_frame(1, Status::Ok, &arg, 64).is_err());
        assert!(Frame::new(KIND_CALL, 0).bytes(&arg).finish(101).is_ok()); // the kind byte and 100
        assert!(Frame::new(KIND_CALL, 0).bytes(&arg).finish(100).is_err());

        // A length prefix over the reader's limit: refused before any
        // allocation; the body is not read.
        let (a, mut b) = UnixStream::pair().unwrap();
        let frame = call_frame(1, 2, f, &arg, 1024).unwrap();
        send_all(&a, &frame).unwrap();
        let mut body = Vec::new();
        match read_frame(&mut b, &mut body, None, 64) {
            Err(ReadError::TooLarge(e)) => assert_eq!(e.bytes, (CALL_HEADER + 100) as u64),
            other => panic!("{other:?}"),
        }
        assert!(body.is_empty());
    }

    #[test]
    fn encoding_stops_keeping_bytes_at_the_limit_and_counts_the_rest() {
        let big = vec![7u8; 1000];
        match encode_limited(&big, Vec::new(), 100) {
            Err(EncodeError::TooLarge(n)) => assert_eq!(n, 1002),
            other => panic!("{other:?}"),
        }
        let small = encode_limited(&big, Vec::new(), 1002).unwrap();
        assert_eq!(small, postcard::to_allocvec(&big).unwrap());
    }
}

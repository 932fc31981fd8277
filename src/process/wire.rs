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
//! | hello | parent → worker | `1`, fingerprint `3 × i64`, CPU `i64` (−1: none), memory limit `u64` (0: none), parent pid `u32` |
//! | ready | worker → parent | `1`, `0` (ok) or `1` (refused), message bytes |
//! | call | parent → worker | `2`, task id `u64`, function `i64`, trampoline `i64`, argument bytes |
//! | reply | worker → parent | `2`, task id `u64`, status `u8`, result or message bytes |

use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

use super::call::{FnRef, Status};

/// A frame body larger than this is a protocol error (a garbage length must
/// not make the reader allocate gigabytes): 1 GiB.
pub(crate) const MAX_FRAME: usize = 1 << 30;

pub(crate) const KIND_HELLO: u8 = 1;
pub(crate) const KIND_CALL: u8 = 2;

/// What a [`read_frame`] that got no frame saw.
#[derive(Debug)]
pub(crate) enum ReadError {
    /// The deadline passed first.
    Timeout,
    /// The peer closed its end (it exited or was killed), possibly mid-frame.
    Closed,
    /// Anything else: a bad length, an I/O error.
    Other(String),
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

    /// The bytes to send, length prefix included.
    pub(crate) fn finish(mut self) -> Vec<u8> {
        let len = (self.0.len() - 4) as u32;
        self.0[..4].copy_from_slice(&len.to_le_bytes());
        self.0
    }
}

/// A call frame.
pub(crate) fn call_frame(id: u64, f: FnRef, arg: &[u8]) -> Vec<u8> {
    Frame::new(KIND_CALL, 24 + arg.len())
        .u64(id)
        .i64(f.function)
        .i64(f.trampoline)
        .bytes(arg)
        .finish()
}

/// A reply frame.
pub(crate) fn reply_frame(id: u64, status: Status, payload: &[u8]) -> Vec<u8> {
    Frame::new(KIND_CALL, 9 + payload.len())
        .u64(id)
        .u8(status as u8)
        .bytes(payload)
        .finish()
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
pub(crate) fn send_all(stream: &UnixStream, mut bytes: &[u8]) -> io::Result<()> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    const FLAGS: libc::c_int = libc::MSG_NOSIGNAL;
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    const FLAGS: libc::c_int = 0;
    while !bytes.is_empty() {
        // SAFETY: the pointer and length describe the live slice `bytes`; the
        // descriptor is owned by `stream`, which outlives the call.
        let n = unsafe {
            libc::send(
                stream.as_raw_fd(),
                bytes.as_ptr().cast(),
                bytes.len(),
                FLAGS,
            )
        };
        if n < 0 {
            let err = io::Error::last_os_error();
            if err.kind() == io::ErrorKind::Interrupted {
                continue;
            }
            return Err(err);
        }
        bytes = &bytes[n as usize..];
    }
    Ok(())
}

/// Reads one frame body into `body` (replacing its content), waiting at most
/// until `deadline` (forever with `None`). The wait is `poll(2)` with the
/// time left, so a waiting reader sleeps in the kernel.
pub(crate) fn read_frame(
    stream: &mut UnixStream,
    body: &mut Vec<u8>,
    deadline: Option<Instant>,
) -> Result<(), ReadError> {
    let mut len = [0u8; 4];
    read_exact(stream, &mut len, deadline)?;
    let len = u32::from_le_bytes(len) as usize;
    if len == 0 || len > MAX_FRAME {
        return Err(ReadError::Other(format!("bad frame length {len}")));
    }
    body.clear();
    body.resize(len, 0);
    read_exact(stream, body, deadline)
}

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
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Err(ReadError::Timeout);
        }
        let left = deadline - now;
        let mut fd = libc::pollfd {
            fd: stream.as_raw_fd(),
            events: libc::POLLIN,
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
        send_all(&a, &call_frame(7, f, b"xyz")).unwrap();
        let mut body = Vec::new();
        read_frame(&mut b, &mut body, None).unwrap();
        let mut fields = Fields::new(&body);
        assert_eq!(fields.u8(), Some(KIND_CALL));
        assert_eq!(fields.u64(), Some(7));
        assert_eq!(fields.i64(), Some(-5));
        assert_eq!(fields.i64(), Some(9));
        assert_eq!(fields.rest(), b"xyz");

        let deadline = Instant::now() + Duration::from_millis(5);
        assert!(matches!(
            read_frame(&mut b, &mut body, Some(deadline)),
            Err(ReadError::Timeout)
        ));
        (&a).write_all(&[1, 0]).unwrap();
        drop(a);
        assert!(matches!(
            read_frame(&mut b, &mut body, None),
            Err(ReadError::Closed)
        ));
    }
}

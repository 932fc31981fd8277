//! The worker side: what [`init`](super::init) runs in a process started by
//! a pool. It answers the handshake, then serves calls one at a time until
//! the parent closes the socket.

use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixStream;

use super::call::{FnRef, fingerprint};
use super::wire::{self, Fields, Frame, KIND_CALL, KIND_HELLO, ReadError};

/// The exit code of a worker that could not follow the protocol (a garbled
/// frame, a refused handshake).
pub(crate) const EXIT_PROTOCOL: i32 = 97;

/// Serves the parent on descriptor `fd`, then exits the process.
pub(crate) fn serve(fd: RawFd, parent: u32) -> ! {
    set_cloexec(fd);
    // SAFETY: the parent handed this process `fd`, one end of a socket pair
    // (named in the marker variable and checked to be ours by `init`, which
    // runs before anything else in `main` could have claimed it); this is
    // its only owner.
    let mut stream = unsafe { UnixStream::from_raw_fd(fd) };
    let mut body = Vec::new();
    if wire::read_frame(&mut stream, &mut body, None).is_err() {
        std::process::exit(EXIT_PROTOCOL);
    }
    let refusal = setup(&body, parent);
    let ready = Frame::new(KIND_HELLO, 64)
        .u8(u8::from(refusal.is_some()))
        .bytes(refusal.as_deref().unwrap_or("").as_bytes())
        .finish();
    if wire::send_all(&stream, &ready).is_err() || refusal.is_some() {
        std::process::exit(EXIT_PROTOCOL);
    }

    let mut out = Vec::new();
    loop {
        match wire::read_frame(&mut stream, &mut body, None) {
            Ok(()) => {}
            Err(ReadError::Closed) => std::process::exit(0),
            Err(_) => std::process::exit(EXIT_PROTOCOL),
        }
        let mut fields = Fields::new(&body);
        let (Some(KIND_CALL), Some(id), Some(function), Some(trampoline)) =
            (fields.u8(), fields.u64(), fields.i64(), fields.i64())
        else {
            std::process::exit(EXIT_PROTOCOL);
        };
        let f = FnRef {
            function,
            trampoline,
        };
        // SAFETY: the parent made `f` with `FnRef::new`, and the handshake
        // checked that this process runs the same build of the same
        // executable (`setup`'s fingerprint check).
        let status = unsafe { f.call(fields.rest(), &mut out) };
        if wire::send_all(&stream, &wire::reply_frame(id, status, &out)).is_err() {
            std::process::exit(0);
        }
        // A huge result's buffer is not kept for the next call.
        if out.capacity() > 1 << 20 {
            out = Vec::new();
        }
    }
}

/// Checks the hello frame and applies its settings; `Some(why)` refuses.
fn setup(body: &[u8], parent: u32) -> Option<String> {
    let mut fields = Fields::new(body);
    let kind = fields.u8();
    let theirs = [fields.i64(), fields.i64(), fields.i64()];
    let (Some(KIND_HELLO), [Some(a), Some(b), Some(c)], Some(cpu), Some(memory), Some(pid)) =
        (kind, theirs, fields.i64(), fields.u64(), fields.u32())
    else {
        return Some("malformed hello".to_owned());
    };
    if [a, b, c] != fingerprint() || pid != parent {
        return Some(
            "this worker is not the same build of the executable as its parent".to_owned(),
        );
    }
    die_with_parent(parent);
    if cpu >= 0 {
        match crate::topology::pin_current_thread(cpu as usize) {
            Ok(_) => {}
            Err(err) => return Some(err.to_string()),
        }
    }
    if memory > 0 {
        let limit = libc::rlimit {
            rlim_cur: memory as libc::rlim_t,
            rlim_max: memory as libc::rlim_t,
        };
        // SAFETY: `limit` is a valid `rlimit` that lives for the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_AS, &limit) } != 0 {
            return Some(format!(
                "cannot set the memory limit: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    None
}

/// On Linux, asks for `SIGKILL` when the parent dies, so a worker stuck in a
/// task does not outlive a killed parent; if the parent is already gone,
/// exits.
fn die_with_parent(parent: u32) {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        // SAFETY: PR_SET_PDEATHSIG takes a signal number; no pointers.
        unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    }
    // SAFETY: getppid has no preconditions.
    if unsafe { libc::getppid() } as u32 != parent {
        std::process::exit(0);
    }
}

/// Marks `fd` close-on-exec, so processes a task starts do not inherit it.
fn set_cloexec(fd: RawFd) {
    // SAFETY: F_SETFD on a descriptor number; an invalid one is an error
    // return, not undefined behaviour.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
}

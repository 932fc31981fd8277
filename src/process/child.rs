//! The worker side: what [`init`](super::init) runs in a process started by
//! a pool. It answers the handshake, then serves calls one at a time until
//! the parent closes the socket.

use std::os::fd::{FromRawFd, RawFd};
use std::os::unix::net::UnixStream;

use super::call::Status;
use super::call::{FnRef, fingerprint};
use super::spawn::{FileIdentity, own_executable, same_executable};
use super::wire::{self, Fields, Frame, HELLO_LIMIT, KIND_CALL, KIND_HELLO, ReadError};

/// The exit code of a worker that could not follow the protocol (a garbled
/// frame, a refused handshake).
pub(crate) const EXIT_PROTOCOL: i32 = 97;

/// Serves the parent on descriptor `fd`, then exits the process. Called
/// once per process, by [`init`](super::init), which owns `fd` from then on.
pub(crate) fn serve(fd: RawFd, parent: u32) -> ! {
    set_cloexec(fd);
    name_after_the_program();
    // SAFETY: the parent handed this process `fd`, one end of a socket pair
    // (named in the marker variable and checked to be ours by `init`, which
    // runs before anything else in `main` could have claimed it); this is
    // its only owner: `init` calls `serve` at most once per process (its
    // `SERVING` swap), and `serve` never returns.
    let mut stream = unsafe { UnixStream::from_raw_fd(fd) };
    let mut body = Vec::new();
    if wire::read_frame(&mut stream, &mut body, None, HELLO_LIMIT).is_err() {
        std::process::exit(EXIT_PROTOCOL);
    }
    let (session, refusal) = match setup(&body, parent) {
        Ok(session) => (Some(session), None),
        Err(why) => (None, Some(why)),
    };
    let mut why = refusal.unwrap_or_default();
    // A refusal's message is cut to fit the hello limit.
    why.truncate(HELLO_LIMIT / 2);
    let ready = Frame::new(KIND_HELLO, 2 + why.len())
        .u8(u8::from(session.is_none()))
        .bytes(why.as_bytes())
        .finish(HELLO_LIMIT);
    let Some(Session { limit, key }) = session else {
        if let Ok(ready) = ready {
            let _ = wire::send_all(&stream, &ready);
        }
        std::process::exit(EXIT_PROTOCOL);
    };
    match ready {
        Ok(ready) if wire::send_all(&stream, &ready).is_ok() => {}
        _ => std::process::exit(EXIT_PROTOCOL),
    }

    let mut out = Vec::new();
    loop {
        match wire::read_frame(&mut stream, &mut body, None, limit) {
            Ok(()) => {}
            Err(ReadError::Closed) => std::process::exit(0),
            // A length over the limit or an I/O error: the stream is out of
            // step, so nothing more can be read from it.
            Err(_) => std::process::exit(EXIT_PROTOCOL),
        }
        let mut fields = Fields::new(&body);
        let (Some(KIND_CALL), Some(id), Some(tag), Some(function), Some(trampoline)) = (
            fields.u8(),
            fields.u64(),
            fields.u64(),
            fields.i64(),
            fields.i64(),
        ) else {
            std::process::exit(EXIT_PROTOCOL);
        };
        let f = FnRef {
            function,
            trampoline,
        };
        // A frame the parent did not build as a call is never acted on.
        if tag != wire::call_tag(key, id, f) {
            std::process::exit(EXIT_PROTOCOL);
        }
        // SAFETY: the parent made `f` with `FnRef::new` (the tag matches the
        // one it computed for this call), and the handshake checked that
        // this process runs the same build of the same executable (`setup`'s
        // fingerprint check, and off Linux its check of the file's
        // identity); `call` also checks that both addresses lie in this
        // executable's code before it jumps.
        let Some(status) = (unsafe { f.call(fields.rest(), &mut out, limit) }) else {
            std::process::exit(EXIT_PROTOCOL);
        };
        if status != Status::Ok && status != Status::TooLarge {
            // A message (a panic's, a codec's) is cut to fit the frame.
            out.truncate(limit.saturating_sub(wire::REPLY_HEADER));
        }
        let Ok(reply) = wire::reply_frame(id, status, &out, limit) else {
            // The trampoline kept the result within the limit and messages
            // were cut above: this cannot happen, and nothing is sent.
            std::process::exit(EXIT_PROTOCOL);
        };
        if wire::send_all(&stream, &reply).is_err() {
            std::process::exit(0);
        }
        // A huge result's buffer is not kept for the next call.
        if out.capacity() > 1 << 20 {
            out = Vec::new();
        }
    }
}

/// What the hello gave a worker for the calls that follow.
struct Session {
    /// The frame limit, both ways.
    limit: usize,
    /// The key of the call tags.
    key: u64,
}

/// Checks the hello frame and applies its settings; `Err(why)` refuses.
fn setup(body: &[u8], parent: u32) -> Result<Session, String> {
    let mut fields = Fields::new(body);
    let kind = fields.u8();
    let theirs = [fields.i64(), fields.i64(), fields.i64()];
    let (Some(KIND_HELLO), [Some(a), Some(b), Some(c)], Some(cpu), Some(memory), Some(pid)) =
        (kind, theirs, fields.i64(), fields.u64(), fields.u32())
    else {
        return Err("malformed hello".to_owned());
    };
    let (Some(limit), Some(key), Some(executable)) =
        (fields.u64(), fields.u64(), FileIdentity::take(&mut fields))
    else {
        return Err("malformed hello".to_owned());
    };
    // Off Linux the parent names the file it runs: a worker started from a
    // path that now holds another file (a rebuild) refuses before anything
    // else, even if the fingerprint below would match.
    if let Some(parents) = executable {
        same_executable(&parents, &own_executable()?)?;
    }
    if [a, b, c] != fingerprint() || pid != parent {
        return Err("this worker is not the same build of the executable as its parent".to_owned());
    }
    let limit = match usize::try_from(limit) {
        Ok(limit) if (wire::MIN_FRAME..=wire::MAX_FRAME).contains(&limit) => limit,
        _ => return Err(format!("a frame limit of {limit} bytes is out of range")),
    };
    die_with_parent(parent);
    if cpu >= 0 {
        let Ok(cpu) = usize::try_from(cpu) else {
            return Err(format!("no CPU {cpu}"));
        };
        match crate::topology::pin_current_thread(cpu) {
            Ok(_) => {}
            Err(err) => return Err(err.to_string()),
        }
    }
    if memory > 0 {
        let rlimit = libc::rlimit {
            rlim_cur: memory as libc::rlim_t,
            rlim_max: memory as libc::rlim_t,
        };
        // SAFETY: `rlimit` is a valid `rlimit` that lives for the call.
        if unsafe { libc::setrlimit(libc::RLIMIT_AS, &rlimit) } != 0 {
            return Err(format!(
                "cannot set the memory limit: {}",
                std::io::Error::last_os_error()
            ));
        }
    }
    Ok(Session { limit, key })
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

/// On Linux, names this process after the program (the last part of
/// `argv[0]`, which the parent passed on): a worker started through
/// `/proc/self/exe` would otherwise be called `exe` in `ps`, `top` and
/// `pgrep`. Its command line (`ps -f`) is the parent's already.
fn name_after_the_program() {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use std::os::unix::ffi::OsStrExt;
        let Some(arg0) = std::env::args_os().next() else {
            return;
        };
        let path = std::path::Path::new(&arg0);
        let Some(name) = path.file_name() else {
            return;
        };
        // The kernel keeps 15 bytes and a NUL; a name with a NUL inside
        // cannot be passed (and cannot come from argv) but is skipped.
        let mut bytes: Vec<u8> = name.as_bytes().iter().copied().take(15).collect();
        if bytes.contains(&0) {
            return;
        }
        bytes.push(0);
        // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16
        // bytes from the pointer, which `bytes` is and outlives the call.
        unsafe { libc::prctl(libc::PR_SET_NAME, bytes.as_ptr()) };
    }
}

/// Marks `fd` close-on-exec, so processes a task starts do not inherit it.
fn set_cloexec(fd: RawFd) {
    // SAFETY: F_SETFD on a descriptor number; an invalid one is an error
    // return, not undefined behaviour.
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::process::spawn::{Settings, hello_frame};

    /// A hello as a parent sends it, with `fingerprint` and `executable`,
    /// naming this process as the parent.
    fn hello(fingerprint: [i64; 3], executable: Option<FileIdentity>) -> Vec<u8> {
        let settings = Settings {
            cpu: None,
            memory: None,
            max_frame: wire::MIN_FRAME,
            handshake: std::time::Duration::from_secs(1),
        };
        let frame = hello_frame(fingerprint, -1, &settings, 5, executable);
        frame.finish(HELLO_LIMIT).unwrap()[4..].to_vec()
    }

    // Each hello below is refused before `setup` acts on it (it would set
    // a parent-death signal and limits on this test process otherwise).

    #[test]
    fn a_worker_whose_executable_is_not_its_parents_refuses() {
        let other = FileIdentity::of(&std::env::temp_dir()).unwrap();
        let why = setup(&hello(fingerprint(), Some(other)), std::process::id())
            .err()
            .expect("refused");
        assert!(why.contains("executable was replaced"), "{why}");
    }

    #[test]
    fn a_worker_whose_executable_matches_goes_on_to_the_fingerprint() {
        // The identity check passes, so the wrong fingerprint is what
        // refuses: the two checks are separate.
        let own = own_executable().unwrap();
        let mut wrong = fingerprint();
        wrong[0] = wrong[0].wrapping_add(1);
        let why = setup(&hello(wrong, Some(own)), std::process::id())
            .err()
            .expect("refused");
        assert!(why.contains("not the same build"), "{why}");
        // A hello cut inside the identity is malformed.
        let mut cut = hello(fingerprint(), Some(own));
        cut.truncate(cut.len() - 3);
        let why = setup(&cut, std::process::id()).err().expect("refused");
        assert_eq!(why, "malformed hello");
    }
}

//! Starting one worker process: a socket pair, a fresh `execve` of this
//! executable with the marker variable, and the handshake.

use std::ffi::OsString;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::ENV_WORKER;
use super::call::fingerprint;
use super::error::ErrorKind;
use super::wire::{self, Fields, Frame, HELLO_LIMIT, KIND_HELLO, ReadError};

/// A live worker process and the parent's end of its socket.
#[derive(Debug)]
pub(crate) struct WorkerProcess {
    pub(crate) child: Child,
    pub(crate) stream: UnixStream,
    /// The session key of its call tags (sent in the hello).
    pub(crate) key: u64,
}

impl WorkerProcess {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Closes the socket (the worker exits when it reads the end) and reaps
    /// the process.
    pub(crate) fn retire(self) {
        let WorkerProcess {
            mut child, stream, ..
        } = self;
        drop(stream);
        let _ = child.wait();
    }
}

/// What a dead worker's exit status says, as the error of the task it was
/// running. `None`: `wait` failed, which for a child of this process that
/// was never waited for means `ECHILD`: someone else took its status (the
/// kernel, with `SIGCHLD` ignored, or a `waitpid(-1)` elsewhere).
pub(crate) fn death(pid: u32, status: Option<ExitStatus>) -> ErrorKind {
    match status {
        Some(status) => match (status.signal(), status.code()) {
            (Some(signal), _) => ErrorKind::Signal {
                pid,
                signal,
                core_dumped: status.core_dumped(),
            },
            (None, Some(code)) => ErrorKind::Exit { pid, code },
            (None, None) => ErrorKind::Protocol(format!("worker {pid} ended with {status}")),
        },
        None => ErrorKind::StatusTaken { pid },
    }
}

/// Why a worker must not be started now, if `SIGCHLD`'s disposition has the
/// kernel reap children (`SIG_IGN`, or `SA_NOCLDWAIT`): the pool could not
/// read how a worker ended, `wait` for one would fail (or, with several
/// children, block until all had ended), and a process id the kernel freed
/// could be reused before the pool's `kill`.
fn children_reaped_by_the_kernel() -> Option<String> {
    // SAFETY: `sigaction` is plain data (a handler address, a mask, flags),
    // for which all-zero is a valid value.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    // SAFETY: a null new action only reads the current one into `action`,
    // which lives for the call; SIGCHLD is a valid signal number.
    if unsafe { libc::sigaction(libc::SIGCHLD, std::ptr::null(), &mut action) } != 0 {
        return Some(format!(
            "cannot read SIGCHLD's disposition: {}",
            std::io::Error::last_os_error()
        ));
    }
    let how = if action.sa_sigaction == libc::SIG_IGN {
        "SIGCHLD is ignored (SIG_IGN)"
    } else if action.sa_flags & libc::SA_NOCLDWAIT != 0 {
        "SIGCHLD's action has SA_NOCLDWAIT"
    } else {
        return None;
    };
    Some(format!(
        "{how}, so the kernel would reap the worker processes: the process pool must reap its \
         own workers, to tell how one ended and to kill one safely; restore SIGCHLD's default \
         (signal(SIGCHLD, SIG_DFL)) before starting workers"
    ))
}

/// The program and arguments a worker is started with: the very file this
/// process runs (`/proc/self/exe` on Linux, which still names it if the path
/// was replaced on disk), with this process's own arguments, so that code in
/// `main` before `init` sees what it saw here.
fn program() -> &'static (OsString, Vec<OsString>) {
    static PROGRAM: OnceLock<(OsString, Vec<OsString>)> = OnceLock::new();
    PROGRAM.get_or_init(|| {
        let exe = if cfg!(any(target_os = "linux", target_os = "android")) {
            OsString::from("/proc/self/exe")
        } else {
            std::env::current_exe()
                .map(OsString::from)
                .unwrap_or_else(|_| std::env::args_os().next().unwrap_or_default())
        };
        (exe, std::env::args_os().collect())
    })
}

/// What a new worker is told in its hello.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    /// The CPU to pin it to.
    pub(crate) cpu: Option<usize>,
    /// Its address space limit, bytes.
    pub(crate) memory: Option<u64>,
    /// The frame limit, both ways (`wire::MIN_FRAME..=wire::MAX_FRAME`).
    pub(crate) max_frame: usize,
    /// How long it may take to be ready.
    pub(crate) handshake: Duration,
}

/// Starts a worker with `settings` and waits at most `settings.handshake`
/// for it to be ready. Refused while `SIGCHLD` is ignored (see "Reaping"
/// in the module docs of `process`).
pub(crate) fn spawn(settings: Settings) -> Result<WorkerProcess, String> {
    if let Some(why) = children_reaped_by_the_kernel() {
        return Err(why);
    }
    let (ours, theirs) = UnixStream::pair().map_err(|e| format!("socketpair: {e}"))?;
    let theirs = above_stdio(theirs)?;
    let fd = theirs.as_raw_fd();
    let (exe, args) = program();
    let mut command = Command::new(exe);
    if let Some(arg0) = args.first() {
        command.arg0(arg0);
    }
    command
        .args(args.iter().skip(1))
        .env(ENV_WORKER, format!("{fd}:{}", std::process::id()))
        .stdin(Stdio::null());
    // SAFETY: the closure runs in the child between fork and exec, where
    // only async-signal-safe calls are allowed: it makes one `fcntl` call on
    // a descriptor number, allocates nothing and takes no lock.
    unsafe {
        command.pre_exec(move || {
            // The socket is close-on-exec in this process; the worker's copy
            // must survive the exec.
            if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command
        .spawn()
        .map_err(|e| format!("cannot start {exe:?}: {e}"))?;
    drop(theirs);
    let mut worker = WorkerProcess {
        child,
        stream: ours,
        key: wire::session_key(),
    };
    match hello(&mut worker, settings) {
        Ok(()) => Ok(worker),
        Err(why) => {
            let _ = worker.child.kill();
            let status = worker.child.wait().ok();
            let status = status.map_or("unknown".to_owned(), |s| s.to_string());
            Err(format!(
                "{why} (worker {}: {status}); does main call corepool::process::init() first?",
                worker.pid()
            ))
        }
    }
}

/// Sends the hello frame and reads the worker's ready frame.
fn hello(worker: &mut WorkerProcess, settings: Settings) -> Result<(), String> {
    let [a, b, c] = fingerprint();
    let cpu = match settings.cpu.map(i64::try_from) {
        None => -1,
        Some(Ok(cpu)) => cpu,
        Some(Err(_)) => return Err(format!("no CPU {:?}", settings.cpu)),
    };
    let frame = Frame::new(KIND_HELLO, 60)
        .i64(a)
        .i64(b)
        .i64(c)
        .i64(cpu)
        .u64(settings.memory.unwrap_or(0))
        .u32(std::process::id())
        .u64(settings.max_frame as u64)
        .u64(worker.key)
        .finish(HELLO_LIMIT)
        .map_err(|e| format!("handshake: a hello of {} bytes", e.bytes))?;
    wire::send_all(&worker.stream, &frame).map_err(|e| format!("handshake: {e}"))?;
    let mut body = Vec::new();
    let handshake = settings.handshake;
    let deadline = Instant::now().checked_add(handshake);
    match wire::read_frame(&mut worker.stream, &mut body, deadline, HELLO_LIMIT) {
        Ok(()) => {}
        Err(ReadError::Timeout) => return Err(format!("no handshake within {handshake:?}")),
        Err(ReadError::Closed) => return Err("the worker exited before its handshake".into()),
        Err(ReadError::TooLarge(e)) => {
            return Err(format!("handshake: a ready frame of {} bytes", e.bytes));
        }
        Err(ReadError::Other(e)) => return Err(format!("handshake: {e}")),
    }
    let mut fields = Fields::new(&body);
    match (fields.u8(), fields.u8()) {
        (Some(KIND_HELLO), Some(0)) => Ok(()),
        (Some(KIND_HELLO), Some(_)) => Err(format!(
            "the worker refused: {}",
            String::from_utf8_lossy(fields.rest())
        )),
        _ => Err("malformed handshake".into()),
    }
}

/// `stream` moved to a descriptor above 2 if it is 0, 1 or 2 (a parent
/// started with a standard stream closed), so the child's `stdin(null)`
/// cannot overwrite it.
fn above_stdio(stream: UnixStream) -> Result<UnixStream, String> {
    let fd = stream.as_raw_fd();
    if fd > 2 {
        return Ok(stream);
    }
    // SAFETY: F_DUPFD_CLOEXEC duplicates a descriptor we own; no pointers.
    let new = unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 3) };
    if new < 0 {
        return Err(format!("dup: {}", std::io::Error::last_os_error()));
    }
    // SAFETY: `new` is a fresh descriptor that nothing else owns.
    let owned = unsafe { OwnedFd::from_raw_fd(new) };
    Ok(UnixStream::from(owned))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_status_that_cannot_be_read_was_taken_by_someone_else() {
        assert_eq!(death(7, None), ErrorKind::StatusTaken { pid: 7 });
        let killed = ExitStatus::from_raw(libc::SIGABRT);
        assert!(matches!(
            death(7, Some(killed)),
            ErrorKind::Signal {
                pid: 7,
                signal: libc::SIGABRT,
                ..
            }
        ));
        let exited = ExitStatus::from_raw(3 << 8);
        assert_eq!(death(7, Some(exited)), ErrorKind::Exit { pid: 7, code: 3 });
    }
}

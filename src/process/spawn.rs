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
/// read how a worker ended (`wait` for one fails with `ECHILD`), and a
/// process id the kernel freed could be reused before the pool's `kill`.
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

/// Whether a worker must show that it runs the very file its parent runs.
/// On Linux (and Android) it is started from `/proc/self/exe`, the parent's
/// own open file, so it always does. Elsewhere it is started from the path
/// `current_exe()` gave: if that file was replaced or rewritten while the
/// parent ran (a rebuild), the worker is a different build, whose corepool
/// functions may sit at the same offsets (the handshake's fingerprint
/// passes) while the user's functions do not, and a call would jump into
/// the wrong code. So the parent sends the [`FileIdentity`] its executable
/// had when [`init`](super::init) ran, and the worker refuses to serve
/// unless its own executable has the same.
const CHECK_EXECUTABLE: bool = !cfg!(any(target_os = "linux", target_os = "android"));

/// One version of one file on disk: the file (device and inode) and its
/// contents as far as `stat` tells them apart (size, modification time to
/// the nanosecond). A file replaced on disk (a new inode) or rewritten in
/// place (a new size or time) has another identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FileIdentity {
    device: u64,
    inode: u64,
    size: u64,
    /// Seconds and nanoseconds since the epoch.
    modified: (i64, i64),
}

impl FileIdentity {
    /// The identity of the file at `path` (links followed).
    pub(crate) fn of(path: &std::path::Path) -> std::io::Result<FileIdentity> {
        use std::os::unix::fs::MetadataExt;
        let meta = std::fs::metadata(path)?;
        Ok(FileIdentity {
            device: meta.dev(),
            inode: meta.ino(),
            size: meta.size(),
            modified: (meta.mtime(), meta.mtime_nsec()),
        })
    }

    /// `frame` with `identity` appended: a flag byte (0: none, 1: one),
    /// then its five fields.
    fn put(frame: Frame, identity: Option<FileIdentity>) -> Frame {
        match identity {
            None => frame.u8(0),
            Some(id) => frame
                .u8(1)
                .u64(id.device)
                .u64(id.inode)
                .u64(id.size)
                .i64(id.modified.0)
                .i64(id.modified.1),
        }
    }

    /// What [`put`](Self::put) appended, read from `fields`; `None` when
    /// the bytes are malformed.
    pub(crate) fn take(fields: &mut Fields<'_>) -> Option<Option<FileIdentity>> {
        match fields.u8()? {
            0 => Some(None),
            1 => Some(Some(FileIdentity {
                device: fields.u64()?,
                inode: fields.u64()?,
                size: fields.u64()?,
                modified: (fields.i64()?, fields.i64()?),
            })),
            _ => None,
        }
    }
}

/// `Ok` if a worker whose executable has identity `own` runs the file its
/// parent runs (`parent`: its identity when the parent started); else why
/// the worker must refuse.
pub(crate) fn same_executable(parent: &FileIdentity, own: &FileIdentity) -> Result<(), String> {
    if parent == own {
        return Ok(());
    }
    let how = if (parent.device, parent.inode) == (own.device, own.inode) {
        "was rewritten (its size or modification time changed)"
    } else {
        "was replaced by another file"
    };
    Err(format!(
        "this worker's executable {how} since its parent started ({parent:?}, now {own:?}): \
         it may be a different build, so it does not serve"
    ))
}

/// The identity of the file this process runs, read once: as early as
/// possible, by [`remember_executable`] (from `init`, the first line of
/// `main`), else when the first worker starts.
fn parent_executable() -> &'static Result<FileIdentity, String> {
    static IDENTITY: OnceLock<Result<FileIdentity, String>> = OnceLock::new();
    IDENTITY.get_or_init(|| {
        let (exe, _) = program();
        FileIdentity::of(std::path::Path::new(exe))
            .map_err(|e| format!("cannot read what file this program runs ({exe:?}): {e}"))
    })
}

/// Records the identity of the file this process runs, where workers need
/// it ([`CHECK_EXECUTABLE`]); `init` calls it in the parent, first thing.
pub(crate) fn remember_executable() {
    if CHECK_EXECUTABLE {
        let _ = parent_executable();
    }
}

/// The identity of the file this (worker) process runs.
pub(crate) fn own_executable() -> Result<FileIdentity, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot tell what file this worker runs: {e}"))?;
    FileIdentity::of(&exe)
        .map_err(|e| format!("cannot read what file this worker runs ({exe:?}): {e}"))
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
    // Off Linux: what the worker must show it runs (else nothing starts).
    let executable = if CHECK_EXECUTABLE {
        Some(parent_executable().clone()?)
    } else {
        None
    };
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
    match hello(&mut worker, settings, executable) {
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

/// Sends the hello frame (with the identity the worker's executable must
/// have, if any) and reads the worker's ready frame.
fn hello(
    worker: &mut WorkerProcess,
    settings: Settings,
    executable: Option<FileIdentity>,
) -> Result<(), String> {
    let cpu = match settings.cpu.map(i64::try_from) {
        None => -1,
        Some(Ok(cpu)) => cpu,
        Some(Err(_)) => return Err(format!("no CPU {:?}", settings.cpu)),
    };
    let frame = hello_frame(fingerprint(), cpu, &settings, worker.key, executable)
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

/// The hello frame, unfinished: what `child::setup` reads, in its order.
pub(crate) fn hello_frame(
    [a, b, c]: [i64; 3],
    cpu: i64,
    settings: &Settings,
    key: u64,
    executable: Option<FileIdentity>,
) -> Frame {
    let frame = Frame::new(KIND_HELLO, 101)
        .i64(a)
        .i64(b)
        .i64(c)
        .i64(cpu)
        .u64(settings.memory.unwrap_or(0))
        .u32(std::process::id())
        .u64(settings.max_frame as u64)
        .u64(key);
    FileIdentity::put(frame, executable)
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
    fn this_executable_is_itself() {
        let exe = std::env::current_exe().unwrap();
        let a = FileIdentity::of(&exe).unwrap();
        assert_eq!(same_executable(&a, &own_executable().unwrap()), Ok(()));
    }

    #[test]
    fn a_replaced_or_rewritten_executable_is_refused() {
        let dir = std::env::temp_dir().join(format!("corepool-identity-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("program");
        std::fs::write(&path, b"build one").unwrap();
        let first = FileIdentity::of(&path).unwrap();
        assert_eq!(
            same_executable(&first, &FileIdentity::of(&path).unwrap()),
            Ok(())
        );

        // Rewritten in place: the same inode, another size.
        std::fs::write(&path, b"build two, longer").unwrap();
        let rewritten = FileIdentity::of(&path).unwrap();
        let why = same_executable(&first, &rewritten).unwrap_err();
        assert!(why.contains("rewritten"), "{why}");

        // Replaced, as a linker or `cargo build` does: a new inode at the
        // path (the old file kept alive under another name, so its inode
        // cannot be reused for the new one).
        let old = dir.join("program.old");
        std::fs::rename(&path, &old).unwrap();
        std::fs::write(&path, b"build one").unwrap();
        let replaced = FileIdentity::of(&path).unwrap();
        let why = same_executable(&rewritten, &replaced).unwrap_err();
        assert!(why.contains("replaced"), "{why}");

        // The same time and size but another file is still another file.
        let same_but_inode = FileIdentity {
            inode: first.inode.wrapping_add(1),
            ..first
        };
        assert!(same_executable(&first, &same_but_inode).is_err());
        let same_but_time = FileIdentity {
            modified: (first.modified.0, first.modified.1 + 1),
            ..first
        };
        assert!(same_executable(&first, &same_but_time).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_identity_travels_in_the_hello() {
        let id = FileIdentity::of(&std::env::current_exe().unwrap()).unwrap();
        for sent in [None, Some(id)] {
            let frame = FileIdentity::put(Frame::new(KIND_HELLO, 64), sent)
                .u8(9)
                .finish(HELLO_LIMIT)
                .unwrap();
            let mut fields = Fields::new(&frame[4..]);
            assert_eq!(fields.u8(), Some(KIND_HELLO));
            assert_eq!(FileIdentity::take(&mut fields), Some(sent));
            assert_eq!(fields.u8(), Some(9), "read to its end, no further");
        }
        // A bad flag or a cut-off identity is malformed, not "none".
        assert_eq!(FileIdentity::take(&mut Fields::new(&[2])), None);
        assert_eq!(FileIdentity::take(&mut Fields::new(&[1, 0, 0])), None);
    }

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

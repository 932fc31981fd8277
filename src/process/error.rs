//! Why a process-pool task has no value ([`ProcessError`]) and why a process
//! pool could not be built ([`ProcessBuildError`]).

use std::time::Duration;

use crate::BuildError;

/// Why a task of a [`ProcessPool`](super::ProcessPool) produced no value. It
/// names the task (its id and the function's signature) and says what
/// happened; callers branch with the `is_*` predicates.
///
/// ```
/// use corepool::process::{self, ProcessPool};
///
/// fn crash(_: ()) -> u32 {
///     std::process::abort()
/// }
///
/// fn main() {
///     process::init();
///     let pool = ProcessPool::new().unwrap();
///     let err = pool.submit(crash, ()).join().unwrap_err();
///     assert!(err.is_crash());
///     assert_eq!(err.signal(), Some(libc::SIGABRT));
///     println!("{err}"); // task 0 (fn(()) -> u32): worker process 4242 was killed by signal 6 (SIGABRT)
/// }
/// ```
#[derive(Debug, thiserror::Error)]
#[error("task {id} (fn({}) -> {}): {kind}", .signature.0, .signature.1)]
pub struct ProcessError {
    id: u64,
    signature: Signature,
    kind: ErrorKind,
}

/// The type names of a task function's argument and result.
pub(crate) type Signature = (&'static str, &'static str);

/// What happened to a task that produced no value; see [`ProcessError::kind`].
///
/// ```
/// use corepool::process::ErrorKind;
///
/// assert_eq!(ErrorKind::Cancelled.to_string(), "cancelled");
/// let crash = ErrorKind::Signal { pid: 7, signal: 11, core_dumped: false };
/// assert_eq!(crash.to_string(), "worker process 7 was killed by signal 11 (SIGSEGV)");
/// let reaped = ErrorKind::StatusTaken { pid: 7 };
/// assert!(reaped.to_string().contains("exit status was taken by someone else"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The worker process running the task was killed by a signal (a
    /// segmentation fault, `abort()`, the OOM killer's `SIGKILL`, ...).
    #[error("worker process {pid} was killed by signal {signal} ({})", signal_name(*signal))]
    Signal {
        /// The worker's process id.
        pid: u32,
        /// The signal number (`libc::SIGSEGV`, ...).
        signal: i32,
        /// Whether the kernel wrote a core dump.
        core_dumped: bool,
    },
    /// The worker process running the task exited (`std::process::exit`)
    /// before it answered.
    #[error("worker process {pid} exited with code {code} before answering")]
    Exit {
        /// The worker's process id.
        pid: u32,
        /// Its exit code.
        code: i32,
    },
    /// The task ran longer than its timeout; its worker process was killed.
    #[error("timed out after {0:?}; its worker process was killed")]
    Timeout(Duration),
    /// The worker process running the task ended, but its exit status was
    /// taken by someone else before the pool could read it: `SIGCHLD` was
    /// set to be ignored (`SIG_IGN` or `SA_NOCLDWAIT`, so the kernel reaped
    /// it) after the worker started, or code elsewhere in this process
    /// waited for any child (`waitpid(-1)`, `wait()`). The pool reaps its
    /// own workers; see "Reaping" in the [module docs](super).
    #[error(
        "worker process {pid} ended, but its exit status was taken by someone else (SIGCHLD ignored, or a waitpid(-1) elsewhere in this process), so how it ended is unknown"
    )]
    StatusTaken {
        /// The worker's process id.
        pid: u32,
    },
    /// The task was cancelled (its handle's `cancel`, `shutdown_now`, or a
    /// dropped `map` iterator); a running one had its process killed.
    #[error("cancelled")]
    Cancelled,
    /// The task was submitted after the pool had shut down; it never ran.
    #[error("the pool had shut down")]
    Shutdown,
    /// The task's function panicked; the message of a `&str` or `String`
    /// payload. The worker process lives on.
    #[error("panicked: {0}")]
    Panic(String),
    /// The argument could not be encoded (in this process).
    #[error("cannot encode the argument: {0}")]
    EncodeArgument(String),
    /// The worker could not decode the argument.
    #[error("the worker cannot decode the argument: {0}")]
    DecodeArgument(String),
    /// The worker could not encode the result.
    #[error("the worker cannot encode the result: {0}")]
    EncodeResult(String),
    /// The result could not be decoded (in this process).
    #[error("cannot decode the result: {0}")]
    DecodeResult(String),
    /// The function does not lie in the executable (it is in a shared
    /// library, loaded at its own address), so a worker cannot find it.
    #[error("the function is not part of the executable, so a worker process cannot call it")]
    NotInExecutable,
    /// No worker process could be started for the task.
    #[error("cannot start a worker process: {0}")]
    Spawn(String),
    /// The worker answered something that is not the protocol.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The pool's [`initializer`](super::ProcessPoolBuilder::initializer)
    /// panicked or its worker died in it (or it did not finish within the
    /// pool's timeout), in the worker process that was started for this
    /// task; the task did not run.
    #[error("the worker's initializer failed: {0}")]
    Initializer(String),
    /// The encoded argument needs a call frame larger than the pool's frame
    /// limit ([`max_frame_bytes`](super::ProcessPoolBuilder::max_frame_bytes));
    /// nothing was sent, and the workers are untouched.
    #[error(
        "the argument needs a frame of {bytes} bytes, over the frame limit of {limit} bytes (max_frame_bytes); nothing was sent"
    )]
    ArgumentTooLarge {
        /// The frame body the argument needs, bytes.
        bytes: u64,
        /// The frame limit, bytes.
        limit: u64,
    },
    /// The encoded result needs a reply frame larger than the pool's frame
    /// limit ([`max_frame_bytes`](super::ProcessPoolBuilder::max_frame_bytes)):
    /// the worker refused to send it (and lives on), or, if a reply that
    /// large arrived anyway, the connection was treated as broken and the
    /// worker replaced.
    #[error(
        "the result needs a frame of {bytes} bytes, over the frame limit of {limit} bytes (max_frame_bytes)"
    )]
    ResultTooLarge {
        /// The frame body the result needs, bytes.
        bytes: u64,
        /// The frame limit, bytes.
        limit: u64,
    },
}

/// The usual name of signal `signal`, or `"unknown signal"`.
fn signal_name(signal: i32) -> &'static str {
    match signal {
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGABRT => "SIGABRT",
        libc::SIGKILL => "SIGKILL",
        libc::SIGBUS => "SIGBUS",
        libc::SIGILL => "SIGILL",
        libc::SIGFPE => "SIGFPE",
        libc::SIGTERM => "SIGTERM",
        libc::SIGINT => "SIGINT",
        libc::SIGHUP => "SIGHUP",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTRAP => "SIGTRAP",
        libc::SIGXCPU => "SIGXCPU",
        libc::SIGSYS => "SIGSYS",
        _ => "unknown signal",
    }
}

impl ProcessError {
    pub(crate) fn new(id: u64, signature: Signature, kind: ErrorKind) -> ProcessError {
        ProcessError {
            id,
            signature,
            kind,
        }
    }

    /// What happened.
    ///
    /// ```
    /// # use corepool::process::{ErrorKind, ProcessError};
    /// # fn check(err: &ProcessError) {
    /// match err.kind() {
    ///     ErrorKind::Signal { signal, .. } => println!("crashed with signal {signal}"),
    ///     ErrorKind::Timeout(after) => println!("killed after {after:?}"),
    ///     other => println!("{other}"),
    /// }
    /// # }
    /// ```
    pub fn kind(&self) -> &ErrorKind {
        &self.kind
    }

    /// The task's id: its pool numbers tasks from 0 in submission order.
    ///
    /// ```
    /// # fn f(_: ()) {} corepool::process::init();
    /// let pool = corepool::process::ProcessPool::new().unwrap();
    /// let task = pool.submit(f, ());
    /// assert_eq!(task.id(), 0);
    /// ```
    pub fn task_id(&self) -> u64 {
        self.id
    }

    /// The task function's signature, such as `fn(u64) -> u64`.
    ///
    /// ```
    /// # fn f(_: ()) -> u8 { panic!() } corepool::process::init();
    /// let pool = corepool::process::ProcessPool::new().unwrap();
    /// assert_eq!(pool.submit(f, ()).join().unwrap_err().signature(), "fn(()) -> u8");
    /// ```
    pub fn signature(&self) -> String {
        format!("fn({}) -> {}", self.signature.0, self.signature.1)
    }

    /// Whether the worker process died while running the task (a signal, an
    /// exit, or an end whose status someone else took:
    /// [`ErrorKind::StatusTaken`]), not counting a kill for a timeout or a
    /// cancellation.
    ///
    /// ```
    /// # use corepool::process::ErrorKind;
    /// # let err = corepool::process::ProcessError::__example(ErrorKind::Exit { pid: 1, code: 3 });
    /// assert!(err.is_crash());
    /// assert_eq!(err.exit_code(), Some(3));
    /// assert_eq!(err.signal(), None);
    /// ```
    pub fn is_crash(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::Signal { .. } | ErrorKind::Exit { .. } | ErrorKind::StatusTaken { .. }
        )
    }

    /// The signal that killed the worker process running the task.
    ///
    /// ```
    /// # use corepool::process::ErrorKind;
    /// # let err = corepool::process::ProcessError::__example(ErrorKind::Signal { pid: 1, signal: 11, core_dumped: false });
    /// assert_eq!(err.signal(), Some(libc::SIGSEGV));
    /// ```
    pub fn signal(&self) -> Option<i32> {
        match self.kind {
            ErrorKind::Signal { signal, .. } => Some(signal),
            _ => None,
        }
    }

    /// The exit code of the worker process that exited while running the task.
    ///
    /// ```
    /// # use corepool::process::ErrorKind;
    /// # let err = corepool::process::ProcessError::__example(ErrorKind::Exit { pid: 1, code: 3 });
    /// assert_eq!(err.exit_code(), Some(3));
    /// ```
    pub fn exit_code(&self) -> Option<i32> {
        match self.kind {
            ErrorKind::Exit { code, .. } => Some(code),
            _ => None,
        }
    }

    /// Whether the task ran past its timeout and its process was killed.
    ///
    /// ```
    /// # use corepool::process::ErrorKind;
    /// # let err = corepool::process::ProcessError::__example(ErrorKind::Timeout(std::time::Duration::from_millis(5)));
    /// assert!(err.is_timeout() && !err.is_crash());
    /// ```
    pub fn is_timeout(&self) -> bool {
        matches!(self.kind, ErrorKind::Timeout(_))
    }

    /// Whether the task was cancelled.
    ///
    /// ```
    /// # use corepool::process::ErrorKind;
    /// # let err = corepool::process::ProcessError::__example(ErrorKind::Cancelled);
    /// assert!(err.is_cancelled());
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.kind, ErrorKind::Cancelled)
    }

    /// Whether the task was refused because the pool had shut down.
    ///
    /// ```
    /// # use corepool::process::ErrorKind;
    /// # let err = corepool::process::ProcessError::__example(ErrorKind::Shutdown);
    /// assert!(err.is_shutdown());
    /// ```
    pub fn is_shutdown(&self) -> bool {
        matches!(self.kind, ErrorKind::Shutdown)
    }

    /// Whether the task's function panicked (the worker lives on).
    ///
    /// ```
    /// # use corepool::process::ErrorKind;
    /// # let err = corepool::process::ProcessError::__example(ErrorKind::Panic("bad input".into()));
    /// assert!(err.is_panic());
    /// assert_eq!(err.panic_message(), Some("bad input"));
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, ErrorKind::Panic(_))
    }

    /// The panic message, if the function panicked.
    ///
    /// ```
    /// # use corepool::process::ErrorKind;
    /// # let err = corepool::process::ProcessError::__example(ErrorKind::Cancelled);
    /// assert_eq!(err.panic_message(), None);
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match &self.kind {
            ErrorKind::Panic(message) => Some(message),
            _ => None,
        }
    }

    /// Whether the argument or the result could not be encoded or decoded.
    ///
    /// ```
    /// # use corepool::process::ErrorKind;
    /// # let err = corepool::process::ProcessError::__example(ErrorKind::DecodeArgument("no".into()));
    /// assert!(err.is_codec());
    /// ```
    pub fn is_codec(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::EncodeArgument(_)
                | ErrorKind::DecodeArgument(_)
                | ErrorKind::EncodeResult(_)
                | ErrorKind::DecodeResult(_)
        )
    }

    /// Whether the argument or the result did not fit the pool's frame limit
    /// ([`ErrorKind::ArgumentTooLarge`], [`ErrorKind::ResultTooLarge`]).
    ///
    /// ```
    /// # use corepool::process::ErrorKind;
    /// # let err = corepool::process::ProcessError::__example(ErrorKind::ArgumentTooLarge { bytes: 99, limit: 64 });
    /// assert!(err.is_too_large() && !err.is_crash());
    /// ```
    pub fn is_too_large(&self) -> bool {
        matches!(
            self.kind,
            ErrorKind::ArgumentTooLarge { .. } | ErrorKind::ResultTooLarge { .. }
        )
    }

    /// An error for the doc examples.
    #[doc(hidden)]
    pub fn __example(kind: ErrorKind) -> ProcessError {
        ProcessError::new(0, ("u64", "u64"), kind)
    }
}

/// Why a [`ProcessPool`](super::ProcessPool) could not be built.
///
/// ```
/// use corepool::process::{ProcessBuildError, ProcessPool};
///
/// let err = ProcessPool::builder().workers(0).build().unwrap_err();
/// assert!(matches!(err, ProcessBuildError::Settings(corepool::BuildError::ZeroWorkers)));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessBuildError {
    /// A setting is wrong (worker count, CPU list), as for the thread pool.
    #[error(transparent)]
    Settings(#[from] BuildError),
    /// This process was started as a worker, but its `main` built a pool
    /// instead of calling [`init`](super::init) first.
    #[error(
        "this process was started as a process-pool worker: main must call corepool::process::init() before anything else"
    )]
    InitNotCalled,
    /// [`max_frame_bytes`](super::ProcessPoolBuilder::max_frame_bytes) is
    /// out of its range.
    #[error("a frame limit of {asked} bytes is out of range: expected {min} to {max} bytes")]
    FrameLimit {
        /// The limit asked for.
        asked: u64,
        /// The smallest limit.
        min: u64,
        /// The largest limit (the length prefix is a `u32`).
        max: u64,
    },
    /// The [`initializer`](super::ProcessPoolBuilder::initializer) cannot
    /// be used: its function is not in the executable, its argument cannot
    /// be encoded, or its call frame would pass the frame limit.
    #[error("the initializer cannot be used: {0}")]
    Initializer(String),
    /// A worker process could not be started, did not finish its
    /// handshake, or its initializer failed.
    #[error("worker process {index} could not start: {reason}")]
    Worker {
        /// The worker's index.
        index: usize,
        /// What went wrong.
        reason: String,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_send_sync_and_readable() {
        fn is_error<E: std::error::Error + Send + Sync + 'static>() {}
        is_error::<ProcessError>();
        is_error::<ProcessBuildError>();
        let err = ProcessError::new(3, ("u8", "u8"), ErrorKind::Exit { pid: 9, code: 3 });
        assert_eq!(
            err.to_string(),
            "task 3 (fn(u8) -> u8): worker process 9 exited with code 3 before answering"
        );
    }
}

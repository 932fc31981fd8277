//! The crate's error types: why a pool could not be built ([`BuildError`]) and
//! why a task has no value ([`TaskError`]).

use std::any::Any;
use std::fmt;

use crate::topology::TopologyError;

/// Why [`PoolBuilder::build`](crate::PoolBuilder::build) refused to build a pool.
///
/// Every bad setting is reported here; the builder never panics and never
/// silently falls back to something other than what was asked.
///
/// ```
/// use corepool::{BuildError, Pool};
///
/// let err = Pool::builder().workers(0).build().unwrap_err();
/// assert!(matches!(err, BuildError::ZeroWorkers));
/// assert_eq!(err.to_string(), "a pool needs at least one worker, 0 were asked for");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// `workers(0)`, or `COREPOOL_WORKERS=0`.
    #[error("a pool needs at least one worker, 0 were asked for")]
    ZeroWorkers,
    /// `Pinning::Cpus(vec![])`.
    #[error("Pinning::Cpus was given an empty CPU list")]
    EmptyCpuList,
    /// A CPU in `Pinning::Cpus` appears twice.
    #[error("CPU {cpu} appears more than once in Pinning::Cpus")]
    DuplicateCpu {
        /// The repeated CPU.
        cpu: usize,
    },
    /// A CPU in `Pinning::Cpus` is not one this process may run on.
    #[error("CPU {cpu} is not in this process's affinity mask {allowed:?}")]
    CpuNotAllowed {
        /// The CPU that was asked for.
        cpu: usize,
        /// The CPUs the process may use.
        allowed: Vec<usize>,
    },
    /// An environment override held a value that cannot be used.
    #[error("environment variable {var}={value:?} is invalid: {reason}")]
    BadEnv {
        /// The variable's name, e.g. `COREPOOL_WORKERS`.
        var: &'static str,
        /// The value found.
        value: String,
        /// What was expected instead.
        reason: &'static str,
    },
    /// Reading the machine's topology or applying an affinity mask failed.
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// More workers than a pool supports.
    #[error("{asked} workers were asked for; a pool supports at most {max}")]
    TooManyWorkers {
        /// The count asked for.
        asked: usize,
        /// The largest supported count.
        max: usize,
    },
    /// `thread_name` panicked or gave a name a thread cannot have.
    #[error("bad thread name for worker {index}: {reason}")]
    BadThreadName {
        /// The worker's index.
        index: usize,
        /// What was wrong.
        reason: String,
    },
    /// The operating system refused to start a worker thread.
    #[error("could not spawn worker thread {index}: {source}")]
    Spawn {
        /// The worker's index.
        index: usize,
        /// The error from `std::thread::Builder::spawn`.
        source: std::io::Error,
    },
    /// The `on_worker_start` hook panicked on a worker.
    #[error("on_worker_start panicked on worker {index}: {message}")]
    WorkerStartPanicked {
        /// The worker's index.
        index: usize,
        /// The panic message, or `"Box<dyn Any>"` for a non-string payload.
        message: String,
    },
}

/// Why a task produced no value: it panicked, was cancelled, or was refused
/// because its pool had shut down.
///
/// ```
/// use corepool::Pool;
///
/// let pool = Pool::builder().workers(1).build().unwrap();
/// let err = pool.submit(|| -> u32 { panic!("boom") }).join().unwrap_err();
/// assert!(err.is_panic());
/// assert_eq!(err.panic_message(), Some("boom"));
/// assert_eq!(err.to_string(), "task panicked: boom");
/// ```
pub struct TaskError {
    kind: Kind,
}

enum Kind {
    Panicked(Box<dyn Any + Send + 'static>),
    Cancelled,
    Shutdown,
}

impl TaskError {
    pub(crate) fn panicked(payload: Box<dyn Any + Send + 'static>) -> Self {
        TaskError {
            kind: Kind::Panicked(payload),
        }
    }

    pub(crate) fn cancelled() -> Self {
        TaskError {
            kind: Kind::Cancelled,
        }
    }

    pub(crate) fn shutdown() -> Self {
        TaskError {
            kind: Kind::Shutdown,
        }
    }

    /// The task's closure panicked; [`panic_message`](Self::panic_message)
    /// and [`into_panic`](Self::into_panic) give the payload.
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, Kind::Panicked(_))
    }

    /// The task was cancelled before it started; its closure never ran.
    pub fn is_cancelled(&self) -> bool {
        matches!(self.kind, Kind::Cancelled)
    }

    /// The task was submitted after its pool shut down; its closure never ran.
    pub fn is_shutdown(&self) -> bool {
        matches!(self.kind, Kind::Shutdown)
    }

    /// The panic message when the payload is a `&str` or a `String`.
    pub fn panic_message(&self) -> Option<&str> {
        match &self.kind {
            Kind::Panicked(payload) => payload_message(payload.as_ref()),
            _ => None,
        }
    }

    /// The panic payload, for [`std::panic::resume_unwind`].
    ///
    /// # Panics
    ///
    /// If the error is not a panic; use [`try_into_panic`](Self::try_into_panic)
    /// to branch instead.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::new().unwrap();
    /// let err = pool.submit(|| std::panic::panic_any(7_u8)).join().unwrap_err();
    /// assert_eq!(*err.into_panic().downcast::<u8>().unwrap(), 7);
    /// ```
    #[track_caller]
    pub fn into_panic(self) -> Box<dyn Any + Send + 'static> {
        match self.try_into_panic() {
            Ok(payload) => payload,
            Err(err) => panic!("TaskError::into_panic called on a task that did not panic: {err}"),
        }
    }

    /// The panic payload, or the error itself when it is not a panic.
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        match self.kind {
            Kind::Panicked(payload) => Ok(payload),
            kind => Err(TaskError { kind }),
        }
    }
}

/// The message of a `&str` or `String` panic payload.
pub(crate) fn payload_message(payload: &(dyn Any + Send)) -> Option<&str> {
    if let Some(s) = payload.downcast_ref::<&'static str>() {
        Some(s)
    } else {
        payload.downcast_ref::<String>().map(String::as_str)
    }
}

impl fmt::Display for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Panicked(payload) => match payload_message(payload.as_ref()) {
                Some(message) => write!(f, "task panicked: {message}"),
                None => f.write_str("task panicked with a non-string payload"),
            },
            Kind::Cancelled => f.write_str("task was cancelled before it started"),
            Kind::Shutdown => f.write_str("task was refused: the pool has shut down"),
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Panicked(payload) => f
                .debug_struct("TaskError::Panicked")
                .field("message", &payload_message(payload.as_ref()))
                .finish(),
            Kind::Cancelled => f.write_str("TaskError::Cancelled"),
            Kind::Shutdown => f.write_str("TaskError::Shutdown"),
        }
    }
}

impl std::error::Error for TaskError {}

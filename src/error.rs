//! The crate's error types: why a pool could not be built ([`BuildError`]) and
//! why a task has no value ([`TaskError`]).

// Layer: base (`lib.rs`, "Layers"). It may use std and the dependencies; of
// the crate, only the other base files.

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
    /// `workers(0)`. (`COREPOOL_WORKERS=0` is a [`BadEnv`](Self::BadEnv).)
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
    /// An environment override held a value that cannot be used; the
    /// message names the variable.
    ///
    /// ```
    /// use corepool::BuildError;
    ///
    /// let err = BuildError::BadEnv {
    ///     var: corepool::ENV_WORKERS,
    ///     value: "100000".into(),
    ///     reason: "expected an integer from 1 to 32767",
    /// };
    /// assert_eq!(
    ///     err.to_string(),
    ///     r#"environment variable COREPOOL_WORKERS="100000" is invalid: expected an integer from 1 to 32767"#
    /// );
    /// ```
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
    /// More workers than a pool supports, asked with
    /// [`workers`](crate::PoolBuilder::workers). (Too large a
    /// `COREPOOL_WORKERS` is a [`BadEnv`](Self::BadEnv) naming the variable.)
    #[error("{asked} workers were asked for; a pool supports at most {max}")]
    TooManyWorkers {
        /// The count asked for.
        asked: usize,
        /// The largest supported count.
        max: usize,
    },
    /// [`Pinning::Cpus`](crate::Pinning::Cpus) lists fewer CPUs than
    /// [`workers`](crate::PoolBuilder::workers) asked for: each worker of a
    /// pool pinned to a CPU list gets a CPU of its own, never a shared one.
    ///
    /// ```
    /// use corepool::{BuildError, Pinning, Pool};
    ///
    /// // A CPU this process may use, whatever the machine.
    /// let cpu = corepool::topology::process_cpus()?[0];
    /// let err = Pool::builder().workers(3).pinning(Pinning::Cpus(vec![cpu])).build().unwrap_err();
    /// assert!(matches!(err, BuildError::MoreWorkersThanCpus { workers: 3, cpus: 1 }));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[error(
        "{workers} workers were asked for but Pinning::Cpus lists only {cpus} CPU(s); \
         each worker needs its own CPU"
    )]
    MoreWorkersThanCpus {
        /// The worker count asked for.
        workers: usize,
        /// How many CPUs the list holds.
        cpus: usize,
    },
    /// `thread_name` panicked or gave a name a thread cannot have.
    #[error("bad thread name for worker {index}: {reason}")]
    BadThreadName {
        /// The worker's index.
        index: usize,
        /// What was wrong.
        reason: String,
    },
    /// [`stack_size`](crate::PoolBuilder::stack_size) asked for less than
    /// [`MIN_STACK_SIZE`](crate::MIN_STACK_SIZE): a worker needs that much
    /// for the pool's own code (with little more, a debug build's worker
    /// overflowed its stack when it exited, killing the process).
    ///
    /// ```
    /// use corepool::{BuildError, MIN_STACK_SIZE, Pool};
    ///
    /// let err = Pool::builder().workers(1).stack_size(16 << 10).build().unwrap_err();
    /// assert!(matches!(err, BuildError::StackTooSmall { bytes: 16384, min: MIN_STACK_SIZE }));
    /// ```
    #[error("a worker's stack of {bytes} bytes is too small; a pool needs at least {min}")]
    StackTooSmall {
        /// The size asked for.
        bytes: usize,
        /// The smallest size a pool accepts.
        min: usize,
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
///
/// `TaskError` is `Send + Sync + 'static` and an [`Error`](std::error::Error),
/// so `?` turns it into a `Box<dyn Error + Send + Sync>` (or an
/// `anyhow::Error`), and it can be downcast back:
///
/// ```
/// use corepool::{Pool, TaskError};
///
/// fn total(pool: &Pool) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
///     let task = pool.submit(|| -> u64 { panic!("disk on fire") });
///     Ok(task.join()?)
/// }
///
/// let pool = Pool::builder().workers(1).build()?;
/// let err = total(&pool).unwrap_err();
/// assert_eq!(err.to_string(), "task panicked: disk on fire");
/// let err = err.downcast::<TaskError>().unwrap();
/// assert_eq!(*err.into_panic().downcast::<&str>().unwrap(), "disk on fire");
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
pub struct TaskError {
    kind: Kind,
}

enum Kind {
    Panicked(Payload),
    Cancelled,
    Shutdown,
    Stopped,
    Failed(Box<dyn std::error::Error + Send + Sync + 'static>),
    Abandoned,
}

/// What [`Pool::try_submit`](crate::Pool::try_submit) (and the `try_submit`
/// of scopes, the blocking lane and the process pool) answers once the pool
/// is shutting down, like Python's `RuntimeError: cannot schedule new
/// futures after shutdown`; it gives back what was not submitted: the
/// closure, unrun (the process pool: the argument, unsent).
///
/// ```
/// let pool = corepool::Pool::builder().workers(1).build()?;
/// pool.shutdown();
/// let err = pool.try_submit(|| 1).unwrap_err();
/// assert_eq!(err.to_string(), "cannot submit: the pool has shut down");
/// assert_eq!((err.into_inner())(), 1); // the closure, unrun
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[derive(thiserror::Error)]
#[error("cannot submit: the pool has shut down")]
pub struct ShutdownError<F>(F);

impl<F> ShutdownError<F> {
    pub(crate) fn new(f: F) -> Self {
        ShutdownError(f)
    }

    /// What was not submitted: the closure (the process pool: the argument).
    ///
    /// ```
    /// let pool = corepool::Pool::builder().workers(1).build()?;
    /// pool.shutdown();
    /// let f = pool.try_submit(|| "unrun").unwrap_err().into_inner();
    /// assert_eq!(f(), "unrun");
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn into_inner(self) -> F {
        self.0
    }
}

impl<F> fmt::Debug for ShutdownError<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ShutdownError(..)")
    }
}

/// A promise's failure, carried through the task cell's panic slot (the
/// `FAILED` flag marks it) and turned into [`TaskError::is_failed`].
pub(crate) struct Failure(pub(crate) Box<dyn std::error::Error + Send + Sync + 'static>);

/// A panic payload, kept so that `&TaskError` can be shared between threads.
///
/// The two payloads `panic!` makes, `&'static str` and `String`, are taken
/// out of their box and kept as they are (both `Sync`), so
/// [`TaskError::panic_message`] can lend them through `&self`; the box is
/// rebuilt, holding the same type and value, when the payload is handed
/// back. Any other payload is only `Send`; it is kept in an [`Exclusive`],
/// which nothing reaches through a shared reference.
enum Payload {
    Str(&'static str),
    String(String),
    Other(Exclusive<Box<dyn Any + Send + 'static>>),
}

impl Payload {
    fn new(payload: Box<dyn Any + Send + 'static>) -> Payload {
        let payload = match payload.downcast::<&'static str>() {
            Ok(s) => return Payload::Str(*s),
            Err(payload) => payload,
        };
        match payload.downcast::<String>() {
            Ok(s) => Payload::String(*s),
            Err(payload) => Payload::Other(Exclusive(payload)),
        }
    }

    fn message(&self) -> Option<&str> {
        match self {
            Payload::Str(s) => Some(s),
            Payload::String(s) => Some(s),
            Payload::Other(_) => None,
        }
    }

    fn into_box(self) -> Box<dyn Any + Send + 'static> {
        match self {
            Payload::Str(s) => Box::new(s),
            Payload::String(s) => Box::new(s),
            Payload::Other(Exclusive(payload)) => payload,
        }
    }
}

/// A `T` that can only be reached by value: there is no method, trait
/// implementation or field access that reads the `T` through `&Exclusive<T>`
/// (the field is private to this module, and only `into_box` moves it out, by
/// value). The same idea as the `sync_wrapper` crate and the unstable
/// `std::sync::Exclusive`.
struct Exclusive<T>(T);

// SAFETY: `Sync` means `&Exclusive<T>` may be used from several threads at
// once. Through a shared reference nothing touches the `T` (see the type's
// docs: no `&self` method, no derived trait, and this module never reads
// `.0` through a shared reference), so sharing one gives no thread any
// access to the `T`, whatever `T` is. The `T` is only reached by moving the
// `Exclusive` (and so the `T`) to one thread, which `T: Send` allows.
unsafe impl<T: Send> Sync for Exclusive<T> {}

impl TaskError {
    pub(crate) fn panicked(payload: Box<dyn Any + Send + 'static>) -> Self {
        TaskError {
            kind: Kind::Panicked(Payload::new(payload)),
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

    /// The error for a result slot's payload: a promise's failure, or a
    /// panic.
    pub(crate) fn from_payload(payload: Box<dyn Any + Send + 'static>) -> Self {
        match payload.downcast::<Failure>() {
            Ok(failure) => TaskError {
                kind: Kind::Failed(failure.0),
            },
            Err(payload) => TaskError::panicked(payload),
        }
    }

    pub(crate) fn abandoned() -> Self {
        TaskError {
            kind: Kind::Abandoned,
        }
    }

    /// The task is a [`promise`](crate::promise)'s, and the promise was
    /// failed with [`Promise::fail`](crate::Promise::fail) (Python's
    /// `set_exception`); [`failure`](Self::failure) gives the error.
    ///
    /// ```
    /// let (promise, task) = corepool::promise::<u32>();
    /// promise.fail("no such row").unwrap();
    /// let err = task.join().unwrap_err();
    /// assert!(err.is_failed() && !err.is_panic());
    /// assert_eq!(err.failure().unwrap().to_string(), "no such row");
    /// assert_eq!(err.to_string(), "task failed: no such row");
    /// ```
    pub fn is_failed(&self) -> bool {
        matches!(self.kind, Kind::Failed(_))
    }

    /// The error a promise was failed with, if it was.
    ///
    /// ```
    /// let (promise, task) = corepool::promise::<u32>();
    /// promise.fail(std::io::Error::other("disk")).unwrap();
    /// let err = task.join().unwrap_err();
    /// let io = err.failure().unwrap().downcast_ref::<std::io::Error>().unwrap();
    /// assert_eq!(io.to_string(), "disk");
    /// ```
    pub fn failure(&self) -> Option<&(dyn std::error::Error + Send + Sync + 'static)> {
        match &self.kind {
            Kind::Failed(error) => Some(&**error),
            _ => None,
        }
    }

    /// The task is a [`promise`](crate::promise)'s, and the promise was
    /// dropped without a value (a broken promise).
    ///
    /// ```
    /// let (promise, task) = corepool::promise::<u32>();
    /// drop(promise);
    /// let err = task.join().unwrap_err();
    /// assert!(err.is_abandoned());
    /// assert_eq!(err.to_string(), "the task's promise was dropped without a value");
    /// ```
    pub fn is_abandoned(&self) -> bool {
        matches!(self.kind, Kind::Abandoned)
    }

    pub(crate) fn stopped() -> Self {
        TaskError {
            kind: Kind::Stopped,
        }
    }

    /// The task's closure panicked; [`panic_message`](Self::panic_message)
    /// and [`into_panic`](Self::into_panic) give the payload.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::builder().workers(1).build()?;
    /// let err = pool.submit(|| -> u8 { panic!("no") }).join().unwrap_err();
    /// assert!(err.is_panic() && !err.is_cancelled() && !err.is_shutdown());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self.kind, Kind::Panicked(_))
    }

    /// The task was cancelled before it started; its closure never ran.
    ///
    /// A task that was already running when [`Task::cancel`](crate::Task::cancel)
    /// asked it to stop is never reported cancelled: if it saw the request
    /// (through [`is_cancelled`](crate::is_cancelled())) and returned, it is
    /// [`is_stopped`](Self::is_stopped); if it never looked, it finished as
    /// usual.
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::sync::mpsc;
    ///
    /// let pool = Pool::builder().workers(1).build()?;
    /// // Keep the only worker busy so the second task cannot start.
    /// let (release, hold) = mpsc::channel::<()>();
    /// let (started, running) = mpsc::channel();
    /// let busy = pool.submit(move || {
    ///     started.send(()).unwrap();
    ///     hold.recv().unwrap();
    /// });
    /// running.recv().unwrap();
    /// let waiting = pool.submit(|| 1);
    /// assert!(waiting.cancel());
    /// release.send(()).unwrap();
    /// busy.join().unwrap();
    /// let err = waiting.join().unwrap_err();
    /// assert!(err.is_cancelled());
    /// assert_eq!(err.to_string(), "task was cancelled before it started");
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn is_cancelled(&self) -> bool {
        matches!(self.kind, Kind::Cancelled)
    }

    /// The task was running when it was asked to stop
    /// ([`Task::cancel`](crate::Task::cancel) returned `false`, or its group
    /// was cancelled), saw the request through
    /// [`is_cancelled`](crate::is_cancelled()) and returned: its closure ran
    /// (its side effects happened) but the value it returned was dropped, as
    /// a partial answer is not a result.
    ///
    /// ```
    /// use corepool::Pool;
    /// use std::sync::mpsc::channel;
    ///
    /// let pool = Pool::builder().workers(1).build()?;
    /// let (started_tx, started) = channel();
    /// let task = pool.submit(move || {
    ///     started_tx.send(()).unwrap();
    ///     while !corepool::is_cancelled() {
    ///         std::hint::spin_loop();
    ///     }
    ///     "partial"
    /// });
    /// started.recv().unwrap();
    /// assert!(!task.cancel(), "running: cancel only asks it to stop");
    /// let err = task.join().unwrap_err();
    /// assert!(err.is_stopped() && !err.is_cancelled());
    /// assert_eq!(err.to_string(), "task stopped after a cancellation request; its value was dropped");
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn is_stopped(&self) -> bool {
        matches!(self.kind, Kind::Stopped)
    }

    /// The task was submitted after its pool shut down; its closure never ran.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::builder().workers(1).build()?;
    /// pool.shutdown();
    /// let err = pool.submit(|| 1).join().unwrap_err();
    /// assert!(err.is_shutdown());
    /// assert_eq!(err.to_string(), "task was refused: the pool has shut down");
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn is_shutdown(&self) -> bool {
        matches!(self.kind, Kind::Shutdown)
    }

    /// The panic message when the payload is a `&str` or a `String`.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::builder().workers(1).build()?;
    /// let err = pool.submit(|| -> u8 { panic!("row {} is bad", 7) }).join().unwrap_err();
    /// assert_eq!(err.panic_message(), Some("row 7 is bad"));
    /// let err = pool.submit(|| std::panic::panic_any(7_u8)).join().unwrap_err();
    /// assert_eq!(err.panic_message(), None);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match &self.kind {
            Kind::Panicked(payload) => payload.message(),
            _ => None,
        }
    }

    /// The panic payload, for [`std::panic::resume_unwind`]. A `&str` or
    /// `String` payload comes back as the same type and value, in a new box.
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
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::builder().workers(1).build()?;
    /// let err = pool.submit(|| -> u8 { panic!("{}", String::from("owned")) }).join().unwrap_err();
    /// let payload = err.try_into_panic().unwrap();
    /// assert_eq!(*payload.downcast::<String>().unwrap(), "owned");
    ///
    /// pool.shutdown();
    /// let err = pool.submit(|| ()).join().unwrap_err();
    /// assert!(err.try_into_panic().unwrap_err().is_shutdown());
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn try_into_panic(self) -> Result<Box<dyn Any + Send + 'static>, TaskError> {
        match self.kind {
            Kind::Panicked(payload) => Ok(payload.into_box()),
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
            Kind::Panicked(payload) => match payload.message() {
                Some(message) => write!(f, "task panicked: {message}"),
                None => f.write_str("task panicked with a non-string payload"),
            },
            Kind::Cancelled => f.write_str("task was cancelled before it started"),
            Kind::Shutdown => f.write_str("task was refused: the pool has shut down"),
            Kind::Stopped => {
                f.write_str("task stopped after a cancellation request; its value was dropped")
            }
            Kind::Failed(error) => write!(f, "task failed: {error}"),
            Kind::Abandoned => f.write_str("the task's promise was dropped without a value"),
        }
    }
}

impl fmt::Debug for TaskError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Panicked(payload) => f
                .debug_struct("TaskError::Panicked")
                .field("message", &payload.message())
                .finish(),
            Kind::Cancelled => f.write_str("TaskError::Cancelled"),
            Kind::Shutdown => f.write_str("TaskError::Shutdown"),
            Kind::Stopped => f.write_str("TaskError::Stopped"),
            Kind::Failed(error) => f.debug_tuple("TaskError::Failed").field(error).finish(),
            Kind::Abandoned => f.write_str("TaskError::Abandoned"),
        }
    }
}

impl std::error::Error for TaskError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match &self.kind {
            Kind::Failed(error) => Some(&**error),
            _ => None,
        }
    }
}

// Every public error type can cross threads and be boxed as
// `Box<dyn Error + Send + Sync>` (`Timeout` is checked in tests/error_traits.rs).
const _: fn() = || {
    fn assert<T: Send + Sync + 'static + std::error::Error>() {}
    assert::<TaskError>();
    assert::<BuildError>();
    assert::<TopologyError>();
};

//! [`ProcessPool`], its builder, and the supervisor thread that drives each
//! worker process.
//!
//! # One supervisor per worker
//!
//! Each worker slot has a parent-side thread, its supervisor, which owns the
//! worker process and its socket. The supervisor loops:
//!
//! 1. Sleep on the pool's condvar until the queue has a task or the pool is
//!    closed and drained (then retire the process and exit).
//! 2. Make sure a process is alive (start one if the last one died or was
//!    recycled), then move the task from Queued to Running. A task cancelled
//!    while queued is skipped here.
//! 3. Send the call. If the send fails, the process died while idle (the
//!    task never reached it): reap it, start another, send again once,
//!    unless the task was cancelled meanwhile (`Job::resume`, under the
//!    task's lock: a `cancel` either ends the task first and nothing is
//!    sent, or finds the new process running it and kills that).
//! 4. Sleep in `poll(2)` until the reply arrives, the socket closes, or the
//!    task's deadline passes (a timeout counts from the moment the call
//!    starts to be sent, and bounds the send too: a worker that stopped
//!    reading cannot hold its supervisor). Then exactly one of:
//!    - reply: end the task with it (the result is decoded here, in the
//!      parent, with the task's own type; a panic in its `Deserialize` ends
//!      the task as a panic, and a result this thread drops is dropped
//!      with its panic contained, so user code never ends a supervisor); if a `cancel` killed the process
//!      meanwhile, or the process has run its `tasks_per_child`, replace it;
//!    - closed: the process died running the task; reap it and end the task
//!      with its signal or exit code;
//!    - deadline: kill the process, reap it, end the task with a timeout.
//! 5. A replaced process is started again at once unless the pool is
//!    closing, so the next task does not wait for it.
//!
//! A supervisor's stack is twice the size of a worker process's main
//! thread's (the soft `RLIMIT_STACK`, 8 MiB by default; at least 16 MiB,
//! at most 1 GiB: `supervisor_stack`): results are decoded on it, and
//! serde builds a value on the stack, so any result a worker could build
//! on its main thread is decoded in the parent too. On the default 2 MiB
//! of a spawned thread a result of 1 MiB overflowed it and aborted the
//! parent (the review of the process pool).
//!
//! The process id is cleared from the slot's [`WorkerCtl`] (under its lock)
//! before the process is reaped, and `cancel` kills only under that lock
//! while the id is set: so a kill never reaches a recycled process id.
//! Ending a task is first-wins (see `task.rs`), so a task that is cancelled,
//! times out and crashes at once still ends exactly once.
//!
//! # Shutdown
//!
//! `shutdown` closes the queue to new tasks, wakes every supervisor, and
//! joins them: each runs what is queued, then closes its socket (the worker
//! reads the end and exits) and reaps its process. `shutdown_now` first
//! cancels every queued task; `terminate` also cancels (kills) the running
//! ones. Dropping the last clone of a pool is `shutdown`.

use std::collections::VecDeque;
use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::call::{FnRef, Status};
use super::error::{ErrorKind, ProcessBuildError, Signature};
use super::map::{ProcessMap, ProcessMapUnordered};
use super::spawn::{self, WorkerProcess};
use super::task::{Job, ProcessTask, Reply, Slot, WorkerCtl, lock};
use super::wire::{self, Fields, KIND_CALL, ReadError, SendError};
use crate::builder::{env_pinning, env_workers};
use crate::topology::{PINNING_SUPPORTED, Topology};
use crate::unwind::drop_contained;
use crate::{BuildError, Pinning};

/// The most workers a process pool may have.
pub const MAX_PROCESS_WORKERS: usize = 1024;

/// How long a new worker process may take to answer the handshake, by
/// default.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// The default frame limit of a process pool, bytes: an argument or a
/// result whose frame would be larger fails its task (see
/// [`ProcessPoolBuilder::max_frame_bytes`]).
///
/// ```
/// assert_eq!(corepool::process::DEFAULT_MAX_FRAME_BYTES, 1 << 30);
/// ```
pub const DEFAULT_MAX_FRAME_BYTES: usize = wire::DEFAULT_MAX_FRAME;

/// Settings for a [`ProcessPool`]; from [`ProcessPool::builder`].
///
/// ```
/// # fn main() {
/// use corepool::Pinning;
/// use corepool::process::{self, ProcessPool};
/// use std::time::Duration;
///
/// process::init();
/// let pool = ProcessPool::builder()
///     .workers(2)                          // default: one per physical core
///     .pinning(Pinning::None)              // default: Pinning::PhysicalCores
///     .timeout(Duration::from_secs(60))    // per task; default: none
///     .tasks_per_child(1000)               // recycle a worker after 1000 tasks
///     .memory_limit(1 << 30)               // RLIMIT_AS of each worker, bytes
///     .build()
///     .unwrap();
/// assert_eq!(pool.workers(), 2);
/// # }
/// ```
#[derive(Debug, Clone, Default)]
#[must_use = "a builder does nothing until .build()"]
pub struct ProcessPoolBuilder {
    workers: Option<usize>,
    pinning: Option<Pinning>,
    timeout: Option<Duration>,
    tasks_per_child: Option<usize>,
    memory_limit: Option<u64>,
    handshake_timeout: Option<Duration>,
    max_frame_bytes: Option<usize>,
    initializer: Option<Initializer>,
}

/// An initializer as the builder keeps it: the function (`None`: not in the
/// executable), its encoded argument (or why it could not be encoded), and
/// its argument's type name.
#[derive(Debug, Clone)]
struct Initializer {
    function: Option<FnRef>,
    arg: Result<Vec<u8>, String>,
    name: &'static str,
}

impl ProcessPoolBuilder {
    /// The number of worker processes; by default the value of
    /// [`COREPOOL_WORKERS`](crate::ENV_WORKERS) if it is set, else one per
    /// physical core this process may use (or per CPU of `Pinning::Cpus`).
    /// Zero is a [`BuildError::ZeroWorkers`]; a bad `COREPOOL_WORKERS` is a
    /// [`BuildError::BadEnv`] naming the variable, as for the thread pool.
    ///
    /// ```
    /// let err = corepool::process::ProcessPool::builder().workers(0).build().unwrap_err();
    /// assert!(err.to_string().contains("at least one worker"));
    /// ```
    pub fn workers(mut self, workers: usize) -> ProcessPoolBuilder {
        self.workers = Some(workers);
        self
    }

    /// Where the worker processes are pinned: one per physical core by
    /// default, as the thread pool's workers are; `Pinning::None` leaves
    /// them to the scheduler. Off Linux nothing is pinned. When this is not
    /// called, [`COREPOOL_PINNING`](crate::ENV_PINNING) (`none` or
    /// `physical`) is read, and any other value is a [`BuildError::BadEnv`]
    /// naming the variable, as for the thread pool.
    ///
    /// ```
    /// use corepool::Pinning;
    /// let err = corepool::process::ProcessPool::builder()
    ///     .pinning(Pinning::Cpus(vec![]))
    ///     .build()
    ///     .unwrap_err();
    /// assert!(err.to_string().contains("empty CPU list"));
    /// ```
    pub fn pinning(mut self, pinning: Pinning) -> ProcessPoolBuilder {
        self.pinning = Some(pinning);
        self
    }

    /// The default timeout of every task, counted from the moment its call
    /// starts to be sent to a worker: a task still running then (or still
    /// being sent, to a worker that stopped reading) has its worker process
    /// killed and ends with [`ErrorKind::Timeout`]. A call whose worker had
    /// died idle, so that it went to a new worker, counts from its send to
    /// that one. The initializer's run in each new worker is bounded by it
    /// too. None by default;
    /// [`ProcessPool::submit_timeout`] sets one per task.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let builder = corepool::process::ProcessPool::builder().timeout(Duration::from_secs(5));
    /// # drop(builder);
    /// ```
    pub fn timeout(mut self, timeout: Duration) -> ProcessPoolBuilder {
        self.timeout = Some(timeout);
        self
    }

    /// Replaces each worker process after it has run `tasks` tasks, like
    /// `multiprocessing.Pool(maxtasksperchild=...)`: memory a task leaks
    /// goes with the process. Zero means never (the default).
    ///
    /// ```
    /// let builder = corepool::process::ProcessPool::builder().tasks_per_child(100);
    /// # drop(builder);
    /// ```
    pub fn tasks_per_child(mut self, tasks: usize) -> ProcessPoolBuilder {
        self.tasks_per_child = (tasks > 0).then_some(tasks);
        self
    }

    /// Limits each worker process's address space to `bytes`
    /// (`setrlimit(RLIMIT_AS)`): a task that allocates past it fails to
    /// allocate, which aborts its process (the task ends as a crash with
    /// `SIGABRT`) and the worker is replaced. Zero means no limit (the
    /// default).
    ///
    /// ```
    /// let builder = corepool::process::ProcessPool::builder().memory_limit(512 << 20);
    /// # drop(builder);
    /// ```
    pub fn memory_limit(mut self, bytes: u64) -> ProcessPoolBuilder {
        self.memory_limit = (bytes > 0).then_some(bytes);
        self
    }

    /// How long a new worker process may take to start and answer the
    /// handshake ([`DEFAULT_HANDSHAKE_TIMEOUT`] by default).
    ///
    /// ```
    /// # use std::time::Duration;
    /// let builder = corepool::process::ProcessPool::builder().handshake_timeout(Duration::from_secs(5));
    /// # drop(builder);
    /// ```
    pub fn handshake_timeout(mut self, timeout: Duration) -> ProcessPoolBuilder {
        self.handshake_timeout = Some(timeout);
        self
    }

    /// The largest frame (an argument or a result, encoded, plus a few bytes
    /// of header) that travels between the pool and a worker,
    /// [`DEFAULT_MAX_FRAME_BYTES`] (1 GiB) by default, at most `u32::MAX`
    /// and at least 64. An argument over it fails its task with
    /// [`ErrorKind::ArgumentTooLarge`] before anything is sent; a result
    /// over it fails its task with [`ErrorKind::ResultTooLarge`] and the
    /// worker lives on. A limit out of range is a
    /// [`ProcessBuildError::FrameLimit`].
    ///
    /// ```
    /// # fn main() {
    /// fn length(v: Vec<u8>) -> usize {
    ///     v.len()
    /// }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder()
    ///     .workers(1)
    ///     .max_frame_bytes(4096)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(pool.submit(length, vec![0; 1000]).join().unwrap(), 1000);
    /// let err = pool.submit(length, vec![0; 5000]).join().unwrap_err();
    /// assert!(err.is_too_large(), "{err}");
    /// # }
    /// ```
    pub fn max_frame_bytes(mut self, bytes: usize) -> ProcessPoolBuilder {
        self.max_frame_bytes = Some(bytes);
        self
    }

    /// Runs `f(arg)` in every worker process once, before its first task:
    /// in each worker started by [`build`](Self::build) and again in every
    /// worker started later to replace one (after a crash, a timeout, a
    /// cancel or `tasks_per_child`), like `multiprocessing.Pool`'s
    /// `initializer`: load a model or a table once per worker, into a
    /// `static` the tasks read. `arg` travels encoded, as a task's does.
    ///
    /// If it panics, or its worker dies in it (or it runs past the pool's
    /// [`timeout`](Self::timeout), when one is set; without one it may take
    /// as long as it needs), that worker is discarded: at
    /// [`build`](Self::build) the build fails with
    /// [`ProcessBuildError::Worker`] naming the failure; later, the task
    /// that needed the new worker fails with [`ErrorKind::Initializer`]
    /// (it never ran). The pool does not retry in a loop: a worker slot
    /// tries once to start a replacement right after a worker is lost and
    /// then once for each task it takes while it has none, so every task
    /// ends, and a failing initializer costs at most two attempts per task.
    /// A function outside the executable, or an argument that cannot be
    /// encoded or does not fit the frame limit, is a
    /// [`ProcessBuildError::Initializer`].
    ///
    /// ```
    /// # fn main() {
    /// use std::sync::OnceLock;
    ///
    /// static TABLE: OnceLock<Vec<u64>> = OnceLock::new();
    ///
    /// fn load_table(n: u64) {
    ///     TABLE.set((0..n).map(|i| i * i).collect()).unwrap();
    /// }
    ///
    /// fn lookup(i: usize) -> u64 {
    ///     TABLE.get().expect("the initializer ran first")[i]
    /// }
    ///
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder()
    ///     .workers(2)
    ///     .initializer(load_table, 1000)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(pool.submit(lookup, 12).join().unwrap(), 144);
    /// # }
    /// ```
    pub fn initializer<A>(mut self, f: fn(A), arg: A) -> ProcessPoolBuilder
    where
        A: Serialize + DeserializeOwned + 'static,
    {
        self.initializer = Some(Initializer {
            function: FnRef::new(f),
            arg: postcard::to_allocvec(&arg).map_err(|e| e.to_string()),
            name: std::any::type_name::<A>(),
        });
        self
    }

    /// Starts the worker processes and waits for each to be ready. Every bad
    /// setting is a [`ProcessBuildError`], and so is a worker that cannot
    /// start (for example because `main` does not call
    /// [`init`](super::init) first).
    ///
    /// ```
    /// # fn main() {
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// assert_eq!(pool.workers(), 1);
    /// # }
    /// ```
    pub fn build(self) -> Result<ProcessPool, ProcessBuildError> {
        if super::init_was_skipped() {
            return Err(ProcessBuildError::InitNotCalled);
        }
        let max_frame = self.max_frame_bytes.unwrap_or(DEFAULT_MAX_FRAME_BYTES);
        if !(wire::MIN_FRAME..=wire::MAX_FRAME).contains(&max_frame) {
            return Err(ProcessBuildError::FrameLimit {
                asked: max_frame as u64,
                min: wire::MIN_FRAME as u64,
                max: wire::MAX_FRAME as u64,
            });
        }
        // The environment, read as the thread pool's builder reads it.
        let pinning = match self.pinning {
            Some(pinning) => pinning,
            None => env_pinning()?.unwrap_or_default(),
        };
        let workers = match self.workers {
            Some(n) => Some(n),
            None => env_workers()?,
        };
        let (applied, cpus) = plan(pinning, workers)?;
        let n = cpus.len();
        let initializer = match self.initializer {
            None => None,
            Some(init) => {
                let Some(function) = init.function else {
                    return Err(ProcessBuildError::Initializer(format!(
                        "fn({}) is not part of the executable",
                        init.name
                    )));
                };
                let arg = init.arg.map_err(|e| {
                    ProcessBuildError::Initializer(format!("cannot encode its argument: {e}"))
                })?;
                if wire::call_body_len(arg.len()) > max_frame as u64 {
                    return Err(ProcessBuildError::Initializer(format!(
                        "its argument needs a frame of {} bytes, over the frame limit of {max_frame} bytes",
                        wire::call_body_len(arg.len())
                    )));
                }
                Some((function, arg))
            }
        };
        let config = Config {
            initializer,
            cpus,
            timeout: self.timeout,
            tasks_per_child: self.tasks_per_child,
            memory_limit: self.memory_limit,
            handshake: self.handshake_timeout.unwrap_or(DEFAULT_HANDSHAKE_TIMEOUT),
            max_frame,
        };
        let shared = Arc::new(Shared {
            config,
            pinning: applied,
            state: Mutex::new(State {
                queue: VecDeque::new(),
                closed: false,
                running: vec![None; n],
                live: 0,
            }),
            work: Condvar::new(),
            exited: Condvar::new(),
            next_id: AtomicU64::new(0),
            workers: (0..n).map(|_| Arc::new(WorkerCtl::default())).collect(),
            threads: Mutex::new(Vec::new()),
        });
        let pool = ProcessPool {
            owner: Arc::new(Owner {
                shared: shared.clone(),
            }),
        };
        let (report, reports) = mpsc::channel();
        let mut failure = None;
        for index in 0..n {
            let (shared, report) = (shared.clone(), report.clone());
            let spawned = std::thread::Builder::new()
                .name(format!("corepool-process-{index}"))
                .stack_size(supervisor_stack())
                .spawn(move || supervise(&shared, index, report));
            match spawned {
                Ok(thread) => {
                    lock(&pool.owner.shared.state).live += 1;
                    lock(&pool.owner.shared.threads).push(thread);
                }
                Err(err) => {
                    failure = Some(ProcessBuildError::Worker {
                        index,
                        reason: format!("cannot start its supervisor thread: {err}"),
                    });
                    break;
                }
            }
        }
        drop(report);
        for (index, started) in reports {
            if let (None, Err(reason)) = (&failure, started) {
                failure = Some(ProcessBuildError::Worker { index, reason });
            }
        }
        match failure {
            None => Ok(pool),
            Some(err) => {
                pool.shutdown_now();
                Err(err)
            }
        }
    }
}

/// The pinning actually applied and the CPU of each worker.
fn plan(
    pinning: Pinning,
    workers: Option<usize>,
) -> Result<(Pinning, Vec<Option<usize>>), BuildError> {
    if workers == Some(0) {
        return Err(BuildError::ZeroWorkers);
    }
    let topology = Topology::detect()?;
    let (applied, list) = match pinning {
        Pinning::None => (Pinning::None, Vec::new()),
        Pinning::PhysicalCores => (Pinning::PhysicalCores, topology.physical_cpus()),
        Pinning::Cpus(list) => {
            if list.is_empty() {
                return Err(BuildError::EmptyCpuList);
            }
            for (i, &cpu) in list.iter().enumerate() {
                if list[..i].contains(&cpu) {
                    return Err(BuildError::DuplicateCpu { cpu });
                }
                if !topology.allowed_cpus().contains(&cpu) {
                    return Err(BuildError::CpuNotAllowed {
                        cpu,
                        allowed: topology.allowed_cpus().to_vec(),
                    });
                }
            }
            (Pinning::Cpus(list.clone()), list)
        }
    };
    let n = match workers {
        Some(n) => n,
        None if !list.is_empty() => list.len(),
        None => topology.physical_cpus().len().max(1),
    };
    if n > MAX_PROCESS_WORKERS {
        return Err(BuildError::TooManyWorkers {
            asked: n,
            max: MAX_PROCESS_WORKERS,
        });
    }
    if !PINNING_SUPPORTED || list.is_empty() {
        return Ok((Pinning::None, vec![None; n]));
    }
    Ok((
        applied,
        (0..n).map(|i| Some(list[i % list.len()])).collect(),
    ))
}

#[derive(Debug)]
struct Config {
    cpus: Vec<Option<usize>>,
    timeout: Option<Duration>,
    tasks_per_child: Option<usize>,
    memory_limit: Option<u64>,
    handshake: Duration,
    /// The frame limit, both ways.
    max_frame: usize,
    /// The initializer and its encoded argument.
    initializer: Option<(FnRef, Vec<u8>)>,
}

struct State {
    queue: VecDeque<Arc<dyn Job>>,
    closed: bool,
    /// The task each supervisor is running, for `terminate`.
    running: Vec<Option<Arc<dyn Job>>>,
    /// Supervisor threads that have not exited yet.
    live: usize,
}

/// What the pool's handles and its supervisors share.
struct Shared {
    config: Config,
    pinning: Pinning,
    state: Mutex<State>,
    /// Supervisors sleep here for work; `submit` and `shutdown` wake them.
    work: Condvar,
    /// `shutdown` callers sleep here until `live` is 0.
    exited: Condvar,
    next_id: AtomicU64,
    workers: Vec<Arc<WorkerCtl>>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl Shared {
    /// The next task for supervisor `index`; `None` once the pool is closed
    /// and its queue empty.
    fn next_job(&self, index: usize) -> Option<Arc<dyn Job>> {
        let mut state = lock(&self.state);
        loop {
            if let Some(job) = state.queue.pop_front() {
                state.running[index] = Some(job.clone());
                return Some(job);
            }
            if state.closed {
                return None;
            }
            state = self.work.wait(state).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn is_closed(&self) -> bool {
        lock(&self.state).closed
    }

    /// A new worker process for slot `index`, its initializer run.
    fn spawn(&self, index: usize) -> Result<WorkerProcess, ErrorKind> {
        let config = &self.config;
        let mut process = spawn::spawn(spawn::Settings {
            cpu: config.cpus[index],
            memory: config.memory_limit,
            max_frame: config.max_frame,
            handshake: config.handshake,
        })
        .map_err(ErrorKind::Spawn)?;
        if let Err(why) = self.initialize(&mut process) {
            let _ = process.child.kill();
            let _ = process.child.wait();
            return Err(ErrorKind::Initializer(why));
        }
        self.workers[index].set_pid(Some(process.pid()));
        Ok(process)
    }

    /// Runs the initializer, if any, in a new worker process: an ordinary
    /// call (tagged like every call), answered before any task is sent.
    fn initialize(&self, p: &mut WorkerProcess) -> Result<(), String> {
        let Some((function, arg)) = &self.config.initializer else {
            return Ok(());
        };
        let limit = self.config.max_frame;
        let id = u64::MAX;
        let frame = wire::call_frame(id, p.key, *function, arg, limit)
            .map_err(|e| format!("a frame of {} bytes", e.bytes))?;
        // The pool's timeout bounds the send too, as a task's does.
        let timeout = self.config.timeout;
        let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
        match wire::send_until(&p.stream, &frame, deadline) {
            Ok(()) => {}
            Err(SendError::Timeout) => {
                return Err(format!(
                    "its argument was not taken within {:?}",
                    timeout.unwrap_or_default()
                ));
            }
            Err(SendError::Io(e)) => return Err(format!("cannot send it: {e}")),
        }
        let mut body = Vec::new();
        match wire::read_frame(&mut p.stream, &mut body, deadline, limit) {
            Ok(()) => {}
            Err(ReadError::Timeout) => {
                return Err(format!(
                    "it did not finish within {:?}",
                    timeout.unwrap_or_default()
                ));
            }
            Err(ReadError::Closed) => {
                let pid = p.pid();
                let status = p.child.wait().ok();
                return Err(format!("its worker died: {}", spawn::death(pid, status)));
            }
            Err(ReadError::TooLarge(e)) => return Err(format!("a reply of {} bytes", e.bytes)),
            Err(ReadError::Other(why)) => return Err(why),
        }
        let mut fields = Fields::new(&body);
        let reply = (
            fields.u8(),
            fields.u64(),
            fields.u8().and_then(Status::from_byte),
        );
        let text = String::from_utf8_lossy(fields.rest()).into_owned();
        match reply {
            (Some(KIND_CALL), Some(got), Some(status)) if got == id => match status {
                Status::Ok => Ok(()),
                Status::Panic => Err(format!("it panicked: {text}")),
                Status::BadArgument => Err(format!("cannot decode its argument: {text}")),
                Status::BadResult | Status::TooLarge => Err("a bad reply".to_owned()),
            },
            _ => Err("a malformed reply".to_owned()),
        }
    }
}

/// The body of supervisor thread `index`; see the module docs.
fn supervise(shared: &Shared, index: usize, report: mpsc::Sender<(usize, Result<(), String>)>) {
    ON_POOL_THREAD.set(true);
    let mut process = match shared.spawn(index) {
        Ok(p) => {
            let _ = report.send((index, Ok(())));
            Some(p)
        }
        Err(reason) => {
            let _ = report.send((index, Err(reason.to_string())));
            None
        }
    };
    drop(report);
    let ctl = &shared.workers[index];
    let mut ran = 0usize;
    let mut body = Vec::new();
    while let Some(job) = shared.next_job(index) {
        let ran_here = run(shared, index, &mut process, &*job, &mut body);
        // The last reference to a detached task may be this one: dropping
        // it drops the result, user code whose panic must not end this
        // thread (the slot held by `running` is dropped the same way below).
        drop_contained(job);
        ran += usize::from(ran_here);
        let recycle = shared.config.tasks_per_child.is_some_and(|n| ran >= n);
        if recycle {
            if let Some(p) = process.take() {
                ctl.forget_pid();
                p.retire();
            }
        }
        if process.is_none() {
            ran = 0;
            if !shared.is_closed() {
                // Replace it now, so the next task does not wait; a failure
                // here is retried when the next task needs a process.
                process = shared.spawn(index).ok();
            }
        }
        let running = lock(&shared.state).running[index].take();
        drop_contained(running);
    }
    if let Some(p) = process.take() {
        ctl.forget_pid();
        p.retire();
    }
    lock(&shared.state).live -= 1;
    shared.exited.notify_all();
}

/// Runs `job` on worker `index`'s process; false if it did not run (it was
/// cancelled first, or no process could be started). `process` is left
/// `None` when the process must not run another task (it died, was killed,
/// or spoke garbage).
fn run(
    shared: &Shared,
    index: usize,
    process: &mut Option<WorkerProcess>,
    job: &dyn Job,
    body: &mut Vec<u8>,
) -> bool {
    let ctl = &shared.workers[index];
    if process.is_none() {
        match shared.spawn(index) {
            Ok(p) => *process = Some(p),
            Err(kind) => {
                job.fail(kind);
                return false;
            }
        }
    }
    if !job.start(ctl) {
        return false;
    }
    let limit = shared.config.max_frame;
    let mut p = process.take().expect("started above");
    let mut frame = Err(wire::TooLarge { bytes: 0, limit: 0 });
    job.with_arg(&mut |arg| frame = wire::call_frame(job.id(), p.key, job.function(), arg, limit));
    let mut frame = match frame {
        Ok(frame) => frame,
        Err(too_large) => {
            // Checked at submit already; nothing is sent, the worker is fine.
            *process = Some(p);
            job.fail(ErrorKind::ArgumentTooLarge {
                bytes: too_large.bytes,
                limit: too_large.limit,
            });
            return false;
        }
    };
    // A timeout counts from the moment the call starts to be sent: a worker
    // that stopped reading (stopped or frozen) cannot hold the supervisor
    // in the send either.
    let timeout = job.timeout().or(shared.config.timeout);
    let deadline = || timeout.and_then(|t| Instant::now().checked_add(t));
    let mut due = deadline();
    let mut sent = wire::send_until(&p.stream, &frame, due);
    if let Err(SendError::Io(_)) = sent {
        // The process died while idle (the task never reached it), or a
        // `cancel` killed it just now. Reap it; send the task to a new
        // process, once, unless it was cancelled meanwhile.
        ctl.forget_pid();
        let _ = p.child.kill();
        let _ = p.child.wait();
        if job.is_done() {
            return true;
        }
        match shared.spawn(index) {
            Ok(new) => p = new,
            Err(kind) => {
                job.fail(kind);
                return true;
            }
        }
        // The new process has its own session key: the call is tagged anew.
        job.with_arg(&mut |arg| {
            if let Ok(new) = wire::call_frame(job.id(), p.key, job.function(), arg, limit) {
                frame = new;
            }
        });
        // `forget_pid` above cleared the running task, so a `cancel` since
        // then killed nothing: it must either have ended the task, which
        // `resume` then sees (nothing is sent, and the new process serves
        // the next task), or come after it and find the new process running
        // this task, which it kills (the review's cancel-during-respawn hang:
        // the cancelled task ran, and a hung one was never killed).
        if !job.resume(ctl) {
            *process = Some(p);
            return true;
        }
        // The replacement's start does not count against the task: its
        // timeout starts again with this send (the docs of `timeout` say so).
        due = deadline();
        // An I/O failure here shows up as a closed socket below.
        sent = wire::send_until(&p.stream, &frame, due);
    }
    drop(frame);
    let read = match sent {
        Err(SendError::Timeout) => Err(ReadError::Timeout),
        _ => wire::read_frame(&mut p.stream, body, due, limit),
    };
    match read {
        Ok(()) => {
            let killed = ctl.finish_running();
            let mut fields = Fields::new(body);
            let reply = (
                fields.u8(),
                fields.u64(),
                fields.u8().and_then(Status::from_byte),
            );
            match reply {
                (Some(KIND_CALL), Some(id), Some(status)) if id == job.id() => {
                    job.reply(status, fields.rest(), limit);
                    if killed {
                        ctl.forget_pid();
                        let _ = p.child.wait();
                    } else {
                        *process = Some(p);
                    }
                }
                _ => {
                    job.fail(ErrorKind::Protocol("a malformed reply".into()));
                    ctl.forget_pid();
                    let _ = p.child.kill();
                    let _ = p.child.wait();
                }
            }
        }
        Err(ReadError::Timeout) => {
            ctl.forget_pid();
            let _ = p.child.kill();
            // The task's fate is settled: report it before waiting for the
            // kernel to tear the process down.
            job.fail(ErrorKind::Timeout(timeout.unwrap_or_default()));
            let _ = p.child.wait();
        }
        Err(ReadError::Closed) => {
            ctl.forget_pid();
            let pid = p.pid();
            let status = p.child.wait().ok();
            job.fail(spawn::death(pid, status));
        }
        Err(ReadError::TooLarge(too_large)) => {
            // The worker keeps its replies within the limit, so this is a
            // broken connection: nothing more is read from it.
            ctl.forget_pid();
            let _ = p.child.kill();
            let _ = p.child.wait();
            job.fail(ErrorKind::ResultTooLarge {
                bytes: too_large.bytes,
                limit: too_large.limit,
            });
        }
        Err(ReadError::Other(why)) => {
            ctl.forget_pid();
            let _ = p.child.kill();
            let _ = p.child.wait();
            job.fail(ErrorKind::Protocol(why));
        }
    }
    true
}

/// The stack size of a supervisor thread (module docs): twice the soft
/// `RLIMIT_STACK` that a worker process's main thread runs on, clamped to
/// 16 MiB–1 GiB (16 MiB where the limit is unknown or unlimited). Address
/// space only: the pages a supervisor never touches are never committed.
pub(crate) fn supervisor_stack() -> usize {
    // Read once: every big decode sizes its thread from it.
    static STACK: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *STACK.get_or_init(read_supervisor_stack)
}

/// [`supervisor_stack`], from the soft `RLIMIT_STACK`.
fn read_supervisor_stack() -> usize {
    const MIB: u64 = 1 << 20;
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: `getrlimit` writes one `rlimit` through a pointer to a live,
    // writable local.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_STACK, &mut limit) } == 0;
    let main = if ok && limit.rlim_cur != libc::RLIM_INFINITY {
        #[allow(clippy::unnecessary_cast, reason = "`rlim_t` is `i64` on some BSDs")]
        let current = limit.rlim_cur as u64;
        current
    } else {
        0
    };
    main.saturating_mul(2).clamp(16 * MIB, 1024 * MIB) as usize
}

thread_local! {
    /// Whether this thread is a process pool's supervisor, or decodes for
    /// one (`task::on_stack_for`): a close started here never waits (see
    /// `close`).
    static ON_POOL_THREAD: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread is a process pool's (`ON_POOL_THREAD`); for a
/// thread that works for this one (a decode thread) to take on.
pub(crate) fn on_pool_thread() -> bool {
    ON_POOL_THREAD.get()
}

/// Marks this thread as one of a process pool's when `yes` (a decode
/// thread working for a supervisor): a close started here (a result's
/// `Deserialize` that drops the last clone) must not wait for that
/// supervisor, which waits for this thread.
pub(crate) fn set_on_pool_thread(yes: bool) {
    ON_POOL_THREAD.set(yes);
}

/// Shuts the pool down when the last [`ProcessPool`] clone is dropped.
struct Owner {
    shared: Arc<Shared>,
}

impl Drop for Owner {
    fn drop(&mut self) {
        close(&self.shared, false);
    }
}

/// Closes the queue (cancelling what is queued if `cancel`), wakes and joins
/// the supervisors; the number of tasks cancelled.
fn close(shared: &Shared, cancel: bool) -> usize {
    let cancelled = {
        let mut state = lock(&shared.state);
        state.closed = true;
        if cancel {
            std::mem::take(&mut state.queue)
        } else {
            VecDeque::new()
        }
    };
    shared.work.notify_all();
    let count = cancelled.iter().filter(|job| job.cancel_queued()).count();
    // The last reference to a task may be here; its drop is contained.
    drop_contained(cancelled);
    // Called on a supervisor of this pool (a result's `Deserialize`
    // or `Drop` that reaches the pool: the last clone dropped there, or
    // `shutdown` called there), the close starts and returns: that thread
    // is one the wait below waits for, and so may be another supervisor
    // closing at the same time (joining itself failed with EDEADLK; two
    // supervisors closing at once waited for each other). Each supervisor
    // leaves on its own once it sees the queue closed and drained; whoever
    // else closes, or the last `Arc<Shared>`, joins or detaches them.
    // The same holds on a thread of *another* process pool: two pools whose
    // results' `Deserialize` shut each other down at once would each wait
    // for the other's supervisor (a second reader's `cross_pools` case).
    if ON_POOL_THREAD.get() {
        return count;
    }
    let threads = std::mem::take(&mut *lock(&shared.threads));
    for thread in threads {
        let _ = thread.join();
    }
    // Another caller may have taken the threads to join: wait for them too.
    let mut state = lock(&shared.state);
    while state.live > 0 {
        state = shared.exited.wait(state).unwrap_or_else(|e| e.into_inner());
    }
    count
}

/// A pool of worker processes running named functions of this executable,
/// with the thread pool's handles: [`submit`](ProcessPool::submit) gives a
/// [`ProcessTask`] to join, wait for or cancel; [`map`](ProcessMap) and
/// [`map_unordered`](ProcessMapUnordered) stream results; a task that
/// crashes, hangs or leaks takes only its own worker process down.
///
/// `main` must call [`init`](super::init) first. `ProcessPool` is a cheap
/// `Clone` handle; the pool shuts down (as [`shutdown`](Self::shutdown))
/// when the last clone is dropped.
///
/// ```
/// # fn main() {
/// use corepool::process::{self, ProcessPool};
///
/// fn collatz_steps(mut n: u64) -> u32 {
///     let mut steps = 0;
///     while n != 1 {
///         n = if n % 2 == 0 { n / 2 } else { 3 * n + 1 };
///         steps += 1;
///     }
///     steps
/// }
///
/// process::init(); // returns at once here; in a worker it serves tasks
/// let pool = ProcessPool::builder().workers(2).build().unwrap();
/// assert_eq!(pool.submit(collatz_steps, 27).join().unwrap(), 111);
/// let steps: Vec<u32> = pool.map(collatz_steps, 1..=5u64).map(Result::unwrap).collect();
/// assert_eq!(steps, [0, 1, 7, 2, 5]);
/// # }
/// ```
#[derive(Clone)]
pub struct ProcessPool {
    owner: Arc<Owner>,
}

impl fmt::Debug for ProcessPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ProcessPool")
            .field("workers", &self.workers())
            .field("pinning", &self.pinning())
            .field("closed", &self.is_shutdown())
            .finish()
    }
}

impl ProcessPool {
    /// A pool with the default settings: one worker process per physical
    /// core, pinned to it.
    ///
    /// ```
    /// # fn main() {
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::new().unwrap();
    /// assert!(pool.workers() >= 1);
    /// # }
    /// ```
    pub fn new() -> Result<ProcessPool, ProcessBuildError> {
        ProcessPool::builder().build()
    }

    /// A builder, to choose the settings.
    ///
    /// ```
    /// let builder = corepool::process::ProcessPool::builder().workers(3);
    /// # drop(builder);
    /// ```
    pub fn builder() -> ProcessPoolBuilder {
        ProcessPoolBuilder::default()
    }

    fn shared(&self) -> &Shared {
        &self.owner.shared
    }

    /// The number of worker processes.
    ///
    /// ```
    /// # fn main() {
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(2).build().unwrap();
    /// assert_eq!(pool.workers(), 2);
    /// # }
    /// ```
    pub fn workers(&self) -> usize {
        self.shared().workers.len()
    }

    /// The pinning applied: `Pinning::None` off Linux or when asked.
    ///
    /// ```
    /// # fn main() {
    /// use corepool::Pinning;
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder()
    ///     .workers(1)
    ///     .pinning(Pinning::None)
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(pool.pinning(), &Pinning::None);
    /// # }
    /// ```
    pub fn pinning(&self) -> &Pinning {
        &self.shared().pinning
    }

    /// The CPU each worker process is pinned to (`None`: not pinned), by
    /// worker index.
    ///
    /// ```
    /// # fn main() {
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(2).build().unwrap();
    /// assert_eq!(pool.cpus().len(), 2);
    /// # }
    /// ```
    pub fn cpus(&self) -> &[Option<usize>] {
        &self.shared().config.cpus
    }

    /// Runs `f(arg)` in a worker process and gives a handle to its result.
    /// `f` is a function of this executable (a `fn` item or a closure that
    /// captures nothing); `arg` and the result travel encoded with serde
    /// (postcard). The task is refused with [`ErrorKind::Shutdown`] after a
    /// shutdown; an argument that cannot be encoded ends it with
    /// [`ErrorKind::EncodeArgument`] at once.
    ///
    /// ```
    /// # fn main() {
    /// fn word_count(text: String) -> usize {
    ///     text.split_whitespace().count()
    /// }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let task = pool.submit(word_count, "one two three".to_owned());
    /// assert_eq!(task.join().unwrap(), 3);
    /// # }
    /// ```
    pub fn submit<A, R>(&self, f: fn(A) -> R, arg: A) -> ProcessTask<R>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.submit_with(f, &arg, None)
    }

    /// [`submit`](Self::submit) that says no at once once the pool is
    /// shutting down, as Python's `Executor.submit` raises after `shutdown`:
    /// `Err` gives the argument back, unsent.
    ///
    /// ```
    /// # fn main() {
    /// fn double(x: u32) -> u32 {
    ///     2 * x
    /// }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// assert_eq!(pool.try_submit(double, 4).unwrap().join().unwrap(), 8);
    /// pool.shutdown();
    /// assert_eq!(pool.try_submit(double, 5).unwrap_err().into_inner(), 5);
    /// # }
    /// ```
    pub fn try_submit<A, R>(
        &self,
        f: fn(A) -> R,
        arg: A,
    ) -> Result<ProcessTask<R>, crate::ShutdownError<A>>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        if self.is_shutdown() {
            return Err(crate::ShutdownError::new(arg));
        }
        Ok(self.submit(f, arg))
    }

    /// [`submit`](Self::submit) with a timeout of its own, counted from the
    /// moment its call starts to be sent to a worker: if the task is still
    /// running then (or still being sent, to a worker that stopped reading),
    /// its worker process is killed and the task ends with
    /// [`ErrorKind::Timeout`].
    ///
    /// ```
    /// # fn main() {
    /// use std::time::Duration;
    /// fn hang(_: ()) {
    ///     loop {
    ///         std::thread::park();
    ///     }
    /// }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let err = pool.submit_timeout(hang, (), Duration::from_millis(50)).join().unwrap_err();
    /// assert!(err.is_timeout());
    /// # }
    /// ```
    pub fn submit_timeout<A, R>(&self, f: fn(A) -> R, arg: A, timeout: Duration) -> ProcessTask<R>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        self.submit_with(f, &arg, Some(timeout))
    }

    pub(crate) fn submit_with<A, R>(
        &self,
        f: fn(A) -> R,
        arg: &A,
        timeout: Option<Duration>,
    ) -> ProcessTask<R>
    where
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        let shared = self.shared();
        let signature = (std::any::type_name::<A>(), std::any::type_name::<R>());
        let Some(function) = FnRef::cached(f) else {
            return self.failed_task(signature, ErrorKind::NotInExecutable);
        };
        // Encoded at most up to what fits a call frame: a larger argument
        // fails here, before anything is queued or sent.
        let limit = shared.config.max_frame;
        let room = limit.saturating_sub(wire::CALL_HEADER);
        match wire::encode_limited(arg, Vec::new(), room) {
            Ok(arg) => self.submit_encoded(function, signature, arg, timeout, Reply::Value),
            Err(wire::EncodeError::TooLarge(bytes)) => self.failed_task(
                signature,
                ErrorKind::ArgumentTooLarge {
                    bytes: (wire::CALL_HEADER as u64).saturating_add(bytes),
                    limit: limit as u64,
                },
            ),
            Err(wire::EncodeError::Codec(err)) => {
                self.failed_task(signature, ErrorKind::EncodeArgument(err))
            }
        }
    }

    /// A task that has already ended with `kind`, with an id of its own.
    pub(crate) fn failed_task<R>(&self, signature: Signature, kind: ErrorKind) -> ProcessTask<R>
    where
        R: DeserializeOwned + Send + 'static,
    {
        // Relaxed: the id only has to be unique, and fetch_add is atomic.
        let id = self.shared().next_id.fetch_add(1, Ordering::Relaxed);
        ProcessTask::new(Arc::new(Slot::failed(id, signature, kind)))
    }

    /// Queues a call of `function` with an argument already encoded; the
    /// caller checked that it fits a call frame ([`Self::max_frame`]).
    pub(crate) fn submit_encoded<R>(
        &self,
        function: FnRef,
        signature: Signature,
        arg: Vec<u8>,
        timeout: Option<Duration>,
        reply: Reply,
    ) -> ProcessTask<R>
    where
        R: DeserializeOwned + Send + 'static,
    {
        let shared = self.shared();
        // Relaxed: the id only has to be unique, and fetch_add is atomic.
        let id = shared.next_id.fetch_add(1, Ordering::Relaxed);
        let slot = Slot::new(id, signature, function, arg, timeout, reply);
        let task = ProcessTask::new(Arc::new(slot));
        let mut state = lock(&shared.state);
        if state.closed {
            drop(state);
            task.job().fail(ErrorKind::Shutdown);
        } else {
            state.queue.push_back(task.job());
            drop(state);
            shared.work.notify_one();
        }
        task
    }

    /// The frame limit, both ways.
    pub(crate) fn max_frame(&self) -> usize {
        self.shared().config.max_frame
    }

    /// The pool's default timeout per task.
    pub(crate) fn default_timeout(&self) -> Option<Duration> {
        self.shared().config.timeout
    }

    /// Applies `f` to every item in worker processes and yields the results
    /// in input order, like `multiprocessing.Pool.imap`: a window of tasks
    /// runs ahead (a huge or endless input does not fill memory). Items
    /// travel in batches, one round trip per batch, with the results back
    /// in one reply: batches start at one item and grow toward
    /// [`TARGET_BATCH_TIME`](super::TARGET_BATCH_TIME) of work each, or are
    /// fixed with [`ProcessMap::chunk_size`]. Each result is a `Result`,
    /// since any item may crash its worker; what a crash or a timeout costs
    /// a batch is written at [`ProcessMap`]. Dropping the iterator cancels
    /// the batches not started.
    ///
    /// ```
    /// # fn main() {
    /// fn cube(x: i64) -> i64 {
    ///     x * x * x
    /// }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(2).build().unwrap();
    /// let cubes: Result<Vec<i64>, _> = pool.map(cube, [1, 2, 3]).collect();
    /// assert_eq!(cubes.unwrap(), [1, 8, 27]);
    /// # }
    /// ```
    pub fn map<I, A, R>(&self, f: fn(A) -> R, items: I) -> ProcessMap<I::IntoIter, A, R>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        ProcessMap::new(self.clone(), f, items.into_iter(), 4 * self.workers())
    }

    /// As [`map`](Self::map), but yields results as they finish, like
    /// `imap_unordered`.
    ///
    /// ```
    /// # fn main() {
    /// fn cube(x: i64) -> i64 {
    ///     x * x * x
    /// }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(2).build().unwrap();
    /// let mut cubes: Vec<i64> = pool.map_unordered(cube, [1, 2, 3]).map(Result::unwrap).collect();
    /// cubes.sort();
    /// assert_eq!(cubes, [1, 8, 27]);
    /// # }
    /// ```
    pub fn map_unordered<I, A, R>(
        &self,
        f: fn(A) -> R,
        items: I,
    ) -> ProcessMapUnordered<I::IntoIter, A, R>
    where
        I: IntoIterator<Item = A>,
        A: Serialize + DeserializeOwned + 'static,
        R: Serialize + DeserializeOwned + Send + 'static,
    {
        ProcessMapUnordered::new(self.clone(), f, items.into_iter(), 4 * self.workers())
    }

    /// Refuses new tasks, waits for every queued and running task, then
    /// ends the worker processes. Harmless twice; any clone may call it.
    /// A task that never returns and has no timeout keeps it waiting (as it
    /// keeps the drop of the last clone waiting); [`terminate`](Self::terminate)
    /// kills such tasks. Called on a thread of a process pool (from a
    /// result's `Deserialize` or `Drop`, which run in the parent on the
    /// thread that decodes it), it and its variants start the shutdown and
    /// return without waiting: that thread may be one the wait is for, or
    /// one that another pool's thread shutting this one down waits for.
    ///
    /// ```
    /// # fn main() {
    /// # fn one(_: ()) -> u8 { 1 }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let task = pool.submit(one, ());
    /// pool.shutdown();
    /// assert_eq!(task.join().unwrap(), 1);
    /// assert!(pool.submit(one, ()).join().unwrap_err().is_shutdown());
    /// # }
    /// ```
    pub fn shutdown(&self) {
        close(self.shared(), false);
    }

    /// Refuses new tasks, cancels the queued ones, waits for the running
    /// ones, then ends the worker processes; the number of tasks cancelled.
    ///
    /// ```
    /// # fn main() {
    /// # fn one(_: ()) -> u8 { 1 }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let tasks: Vec<_> = (0..50).map(|_| pool.submit(one, ())).collect();
    /// let cancelled = pool.shutdown_now();
    /// let seen = tasks.into_iter().filter(|t| { t.is_finished() } ).map(|t| t.join())
    ///     .filter(|r| matches!(r, Err(e) if e.is_cancelled())).count();
    /// assert_eq!(seen, cancelled);
    /// # }
    /// ```
    pub fn shutdown_now(&self) -> usize {
        close(self.shared(), true)
    }

    /// As [`shutdown_now`](Self::shutdown_now), and also cancels the running
    /// tasks, killing their processes, like `multiprocessing.Pool.terminate`;
    /// the number of tasks cancelled.
    ///
    /// ```
    /// # fn main() {
    /// fn hang(_: ()) {
    ///     loop {
    ///         std::thread::park();
    ///     }
    /// }
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// let task = pool.submit(hang, ());
    /// while !task.is_running() {
    ///     std::thread::yield_now();
    /// }
    /// assert_eq!(pool.terminate(), 1);
    /// assert!(task.join().unwrap_err().is_cancelled());
    /// # }
    /// ```
    pub fn terminate(&self) -> usize {
        let shared = self.shared();
        let queued = {
            let mut state = lock(&shared.state);
            state.closed = true;
            std::mem::take(&mut state.queue)
        };
        let mut count = queued.iter().filter(|job| job.cancel_queued()).count();
        let running: Vec<Arc<dyn Job>> = lock(&shared.state)
            .running
            .iter()
            .flatten()
            .cloned()
            .collect();
        count += running.iter().filter(|job| job.cancel()).count();
        // The last reference to a finished task's result may be here.
        drop_contained(queued);
        drop_contained(running);
        count + close(shared, true)
    }

    /// Whether [`shutdown`](Self::shutdown) (or a variant) has been called.
    ///
    /// ```
    /// # fn main() {
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(1).build().unwrap();
    /// assert!(!pool.is_shutdown());
    /// pool.shutdown();
    /// assert!(pool.is_shutdown());
    /// # }
    /// ```
    pub fn is_shutdown(&self) -> bool {
        self.shared().is_closed()
    }

    /// The process id of each worker (`None` while one is being replaced),
    /// by worker index.
    ///
    /// ```
    /// # fn main() {
    /// corepool::process::init();
    /// let pool = corepool::process::ProcessPool::builder().workers(2).build().unwrap();
    /// assert!(pool.worker_pids().iter().all(|pid| pid.is_some()));
    /// # }
    /// ```
    pub fn worker_pids(&self) -> Vec<Option<u32>> {
        self.shared().workers.iter().map(|w| w.pid()).collect()
    }
}

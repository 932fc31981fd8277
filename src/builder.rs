//! [`PoolBuilder`]: choosing workers and pinning, validating every setting,
//! and starting the worker threads.
//!
//! # Starting
//!
//! 1. Settings are resolved: explicit builder calls first, then the
//!    environment (`COREPOOL_WORKERS`, `COREPOOL_PINNING`), then the machine.
//! 2. The machine ([`Topology::detect`]) is read at most once per build, and
//!    only when a setting needs it: the default worker count, physical-core
//!    pinning, or checking a [`Pinning::Cpus`] list. `.pinning(Pinning::None)`
//!    with an explicit `.workers(n)` reads nothing. The machine is read from
//!    the *process's* affinity mask ([`topology::process_cpus`]), never the
//!    building thread's alone, so a pool built inside a task (on a worker
//!    pinned to one CPU) or on a thread spawned from one is sized and pinned
//!    like one built on the main thread.
//! 3. Each worker thread pins itself (or, unpinned, widens the mask it
//!    inherited from a pinned building thread to the process's), runs
//!    `on_worker_start`, and reports back; `build` waits for every report. A
//!    failed pin or a panicking hook shuts the half-built pool down and
//!    becomes a [`BuildError`].

// Layer: face (`lib.rs`, "Layers"). It may use every layer below.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use crossbeam_deque::Worker as Deque;

use crate::blocking::{BLOCKING_KEEP_ALIVE, lane_name_base};
use crate::error::{BuildError, payload_message};
use crate::job::JobRef;
use crate::pool::{Pool, Shared};
use crate::registry::Pinning;
use crate::registry::{Registry, Settings};
use crate::sleep::MAX_WORKERS;
use crate::topology::{self, Topology};
use crate::unwind;
use crate::worker::WorkerThread;

/// The smallest worker stack [`PoolBuilder::stack_size`] accepts, in
/// bytes: room for the pool's own code (its worker loop, fork-join and
/// waits, and the thread-local destructors that run as a worker exits).
/// In a debug build an idle worker with 28 KiB overflowed its stack as it
/// exited, killing the process, and a worker of
/// `tests/stack_size_below_the_minimum_is_a_typed_error.rs` (tasks, waits,
/// nested `join`, `par`, a scope, a map, a panic) needed between 32 and
/// 40 KiB; this leaves three times that. Tasks need their own room on top.
///
/// ```
/// let pool = corepool::Pool::builder().workers(1).stack_size(corepool::MIN_STACK_SIZE).build()?;
/// assert_eq!(pool.submit(|| 6 * 7).join().unwrap(), 42);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub const MIN_STACK_SIZE: usize = 128 << 10;

/// Environment variable read when [`PoolBuilder::workers`] is not called:
/// an integer from 1 to 32,767. Any other value makes the build fail with
/// [`BuildError::BadEnv`] naming the variable.
///
/// ```
/// assert_eq!(corepool::ENV_WORKERS, "COREPOOL_WORKERS");
/// ```
pub const ENV_WORKERS: &str = "COREPOOL_WORKERS";
/// Environment variable read when [`PoolBuilder::pinning`] is not called:
/// `none` or `physical` (any case). Any other value makes the build fail
/// with [`BuildError::BadEnv`] naming the variable.
///
/// ```
/// assert_eq!(corepool::ENV_PINNING, "COREPOOL_PINNING");
/// ```
pub const ENV_PINNING: &str = "COREPOOL_PINNING";

type NameFn = Box<dyn FnMut(usize) -> String>;
type StartFn = Arc<dyn Fn(usize) + Send + Sync>;

/// Configures and builds a [`Pool`]. Every setting is optional; every bad
/// setting is reported by [`build`](PoolBuilder::build) as a [`BuildError`].
///
/// ```
/// use corepool::{Pinning, Pool};
///
/// let pool = Pool::builder()
///     .workers(2)
///     .pinning(Pinning::None)
///     .thread_name(|i| format!("crunch-{i}"))
///     .stack_size(4 << 20)
///     .on_worker_start(|i| assert!(i < 2))
///     .build()?;
/// assert_eq!(pool.workers(), 2);
/// # Ok::<(), corepool::BuildError>(())
/// ```
#[must_use = "a builder does nothing until .build() is called"]
pub struct PoolBuilder {
    workers: Option<usize>,
    pinning: Option<Pinning>,
    thread_name: Option<NameFn>,
    stack_size: Option<usize>,
    on_worker_start: Option<StartFn>,
    topology: Option<Topology>,
    blocking_keep_alive: Duration,
}

impl fmt::Debug for PoolBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolBuilder")
            .field("workers", &self.workers)
            .field("pinning", &self.pinning)
            .field("stack_size", &self.stack_size)
            .field("topology", &self.topology)
            .field("blocking_keep_alive", &self.blocking_keep_alive)
            .finish_non_exhaustive()
    }
}

impl Default for PoolBuilder {
    fn default() -> Self {
        Self::new()
    }
}

/// The machine's topology, read on first use (step 2 of the module docs).
struct Machine(Option<Topology>);

impl Machine {
    fn get(&mut self) -> Result<&Topology, BuildError> {
        let topology = match self.0.take() {
            Some(topology) => topology,
            None => Topology::detect()?,
        };
        Ok(self.0.insert(topology))
    }
}

/// What `BadEnv` says of a `COREPOOL_WORKERS` value that is not a worker
/// count; the bound is `MAX_WORKERS` (a unit test keeps the two equal).
const WORKERS_RANGE: &str = "expected an integer from 1 to 32767";

pub(crate) fn env_workers() -> Result<Option<usize>, BuildError> {
    let Some(value) = std::env::var_os(ENV_WORKERS) else {
        return Ok(None);
    };
    let bad = |value: String| BuildError::BadEnv {
        var: ENV_WORKERS,
        value,
        reason: WORKERS_RANGE,
    };
    let value = value
        .into_string()
        .map_err(|v| bad(v.to_string_lossy().into_owned()))?;
    match value.trim().parse::<usize>() {
        Ok(n) if (1..=MAX_WORKERS).contains(&n) => Ok(Some(n)),
        _ => Err(bad(value)),
    }
}

pub(crate) fn env_pinning() -> Result<Option<Pinning>, BuildError> {
    let Some(value) = std::env::var_os(ENV_PINNING) else {
        return Ok(None);
    };
    let bad = |value: String| BuildError::BadEnv {
        var: ENV_PINNING,
        value,
        reason: "expected `none` or `physical`",
    };
    let value = value
        .into_string()
        .map_err(|v| bad(v.to_string_lossy().into_owned()))?;
    match value.trim().to_ascii_lowercase().as_str() {
        "none" => Ok(Some(Pinning::None)),
        "physical" => Ok(Some(Pinning::PhysicalCores)),
        _ => Err(bad(value)),
    }
}

/// The pinning to apply and the CPU of each worker.
struct Plan {
    applied: Pinning,
    cpus: Vec<Option<usize>>,
}

fn plan(
    pinning: Pinning,
    workers: Option<usize>,
    machine: &mut Machine,
) -> Result<Plan, BuildError> {
    // An explicit count is checked before anything is read.
    match workers {
        Some(0) => return Err(BuildError::ZeroWorkers),
        Some(n) if n > MAX_WORKERS => {
            return Err(BuildError::TooManyWorkers {
                asked: n,
                max: MAX_WORKERS,
            });
        }
        _ => {}
    }
    let (applied, targets): (Pinning, Vec<usize>) = match pinning {
        Pinning::None => (Pinning::None, Vec::new()),
        // Off Linux nothing is pinned, so only a default count needs cores.
        Pinning::PhysicalCores if !topology::PINNING_SUPPORTED => (Pinning::None, Vec::new()),
        Pinning::PhysicalCores => (Pinning::PhysicalCores, machine.get()?.physical_cpus()),
        Pinning::Cpus(list) => {
            if list.is_empty() {
                return Err(BuildError::EmptyCpuList);
            }
            let allowed = machine.get()?.allowed_cpus();
            for (i, &cpu) in list.iter().enumerate() {
                if list[..i].contains(&cpu) {
                    return Err(BuildError::DuplicateCpu { cpu });
                }
                if !allowed.contains(&cpu) {
                    return Err(BuildError::CpuNotAllowed {
                        cpu,
                        allowed: allowed.to_vec(),
                    });
                }
            }
            // One CPU per worker: never several workers on one listed CPU.
            if let Some(n) = workers.filter(|&n| n > list.len()) {
                return Err(BuildError::MoreWorkersThanCpus {
                    workers: n,
                    cpus: list.len(),
                });
            }
            (Pinning::Cpus(list.clone()), list)
        }
    };
    let n = match workers {
        Some(n) => n,
        None if targets.is_empty() => machine.get()?.physical_cpus().len().max(1),
        None => targets.len(),
    };
    if n > MAX_WORKERS {
        return Err(BuildError::TooManyWorkers {
            asked: n,
            max: MAX_WORKERS,
        });
    }
    if targets.is_empty() || !topology::PINNING_SUPPORTED {
        // Off Linux pinning degrades to none, and `Pool::pinning` says so.
        return Ok(Plan {
            applied: Pinning::None,
            cpus: vec![None; n],
        });
    }
    let cpus = (0..n).map(|i| Some(targets[i % targets.len()])).collect();
    Ok(Plan { applied, cpus })
}

/// Calls the user's `thread_name` for worker `index`, turning a panic or a
/// name the OS cannot take (an interior NUL byte) into a [`BuildError`].
/// The payload is dropped contained: a payload whose destructor panics does
/// not make `build` panic.
fn checked_name(index: usize, name: &mut NameFn) -> Result<String, BuildError> {
    let thread_name = unwind::halt_unwinding(|| name(index)).map_err(|payload| {
        let reason = format!(
            "thread_name panicked: {}",
            payload_message(payload.as_ref()).unwrap_or("Box<dyn Any>")
        );
        unwind::drop_payload(payload);
        BuildError::BadThreadName { index, reason }
    })?;
    if thread_name.contains('\0') {
        return Err(BuildError::BadThreadName {
            index,
            reason: format!("{thread_name:?} contains a NUL byte"),
        });
    }
    Ok(thread_name)
}

/// A user closure held by `build`, dropped contained however `build` ends.
struct Contained<T>(Option<T>);

impl<T> Drop for Contained<T> {
    fn drop(&mut self) {
        unwind::drop_contained(self.0.take());
    }
}

/// What a worker reports once it has started: its CPU, or why it failed.
type Started = Result<(), BuildError>;

/// Whether unpinned workers must widen the mask they inherit: the building
/// thread's mask is narrower than the process's (it is a pinned worker, or a
/// thread spawned from one). Reads no file; if a mask cannot be read, the
/// workers keep what they inherit.
fn inherits_a_narrow_mask() -> bool {
    if !topology::PINNING_SUPPORTED {
        return false;
    }
    match (topology::current_thread_cpus(), topology::process_cpus()) {
        (Ok(thread), Ok(process)) => thread != process,
        _ => false,
    }
}

fn start_worker(index: usize, cpu: Option<usize>, widen: bool, hook: Option<&StartFn>) -> Started {
    crate::sync::tighten_timer_slack();
    if let Some(cpu) = cpu {
        topology::pin_current_thread(cpu)?;
    } else if widen {
        topology::unpin_current_thread()?;
    }
    if let Some(hook) = hook {
        // The payload is dropped contained: one whose destructor panics
        // must not kill the worker before it reports.
        unwind::halt_unwinding(|| hook(index)).map_err(|payload| {
            let message = payload_message(payload.as_ref())
                .unwrap_or("Box<dyn Any>")
                .to_owned();
            unwind::drop_payload(payload);
            BuildError::WorkerStartPanicked { index, message }
        })?;
    }
    Ok(())
}

impl PoolBuilder {
    /// A builder with every setting at its default; the same as
    /// [`Pool::builder`].
    ///
    /// ```
    /// use corepool::PoolBuilder;
    ///
    /// let pool = PoolBuilder::new().workers(1).build()?;
    /// assert_eq!(pool.workers(), 1);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn new() -> PoolBuilder {
        PoolBuilder {
            workers: None,
            pinning: None,
            thread_name: None,
            stack_size: None,
            on_worker_start: None,
            topology: None,
            blocking_keep_alive: BLOCKING_KEEP_ALIVE,
        }
    }

    /// How many worker threads to start. Default: `COREPOOL_WORKERS` if set,
    /// else one per physical core this process may use (one per CPU listed in
    /// [`Pinning::Cpus`]). With [`Pinning::PhysicalCores`] and more workers
    /// than cores, workers are pinned round-robin (several on one core).
    /// With [`Pinning::Cpus`], more workers than listed CPUs is a
    /// [`BuildError::MoreWorkersThanCpus`]: a CPU list gives each worker its
    /// own CPU. `0` is a [`BuildError::ZeroWorkers`].
    ///
    /// ```
    /// use corepool::{BuildError, Pool};
    ///
    /// assert_eq!(Pool::builder().workers(3).build()?.workers(), 3);
    /// assert!(matches!(Pool::builder().workers(0).build(), Err(BuildError::ZeroWorkers)));
    /// # Ok::<(), BuildError>(())
    /// ```
    pub fn workers(mut self, workers: usize) -> PoolBuilder {
        self.workers = Some(workers);
        self
    }

    /// Where to pin the workers. Default: `COREPOOL_PINNING` if set, else
    /// [`Pinning::PhysicalCores`].
    ///
    /// ```
    /// use corepool::{Pinning, Pool};
    ///
    /// // Unpinned with an explicit count: nothing about the machine is read.
    /// let pool = Pool::builder().pinning(Pinning::None).workers(2).build()?;
    /// assert_eq!(pool.pinning(), &Pinning::None);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn pinning(mut self, pinning: Pinning) -> PoolBuilder {
        self.pinning = Some(pinning);
        self
    }

    /// Names worker `i`'s thread. Default: `corepool-{i}`. A panic in `name`
    /// or a name with a NUL byte is a [`BuildError::BadThreadName`], and the
    /// workers already started are stopped and joined before `build` returns.
    ///
    /// The blocking lane's threads ([`Pool::submit_blocking`]) are named
    /// `{base}-blocking-{n}`, where `base` is worker 0's name without its
    /// trailing index (ASCII digits and one `-`, `_` or `.` before them):
    /// `render-0` gives `render-blocking-0`, `corepool-0` gives
    /// `corepool-blocking-0`, a name without an index is kept whole.
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::builder().workers(1).thread_name(|i| format!("render-{i}")).build()?;
    /// let name = || std::thread::current().name().map(str::to_owned);
    /// assert_eq!(pool.submit(name).join().unwrap().as_deref(), Some("render-0"));
    /// let lane = pool.submit_blocking(name).join().unwrap();
    /// assert_eq!(lane.as_deref(), Some("render-blocking-0"));
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn thread_name(mut self, name: impl FnMut(usize) -> String + 'static) -> PoolBuilder {
        self.thread_name = Some(Box::new(name));
        self
    }

    /// Stack size of each worker thread, in bytes. Default: the standard
    /// library's (2 MiB unless `RUST_MIN_STACK` says otherwise). Less than
    /// [`MIN_STACK_SIZE`] makes [`build`](PoolBuilder::build) fail with
    /// [`BuildError::StackTooSmall`]; more than the system can map, with
    /// [`BuildError::Spawn`].
    ///
    /// ```
    /// use corepool::Pool;
    ///
    /// let pool = Pool::builder().workers(1).stack_size(16 << 20).build()?;
    /// assert_eq!(pool.submit(|| 1 + 1).join().unwrap(), 2);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn stack_size(mut self, bytes: usize) -> PoolBuilder {
        self.stack_size = Some(bytes);
        self
    }

    /// Runs `hook(index)` on each worker after it pinned itself and before it
    /// takes any task, like the `initializer` of Python's pools. A panic in
    /// the hook (even with a payload whose `Drop` panics) makes
    /// [`build`](PoolBuilder::build) fail with
    /// [`BuildError::WorkerStartPanicked`], after every worker it started
    /// has been stopped and joined. The hook does not run on the blocking
    /// lane's threads.
    ///
    /// ```
    /// use std::sync::atomic::{AtomicUsize, Ordering};
    /// use std::sync::Arc;
    /// use corepool::Pool;
    ///
    /// let started = Arc::new(AtomicUsize::new(0));
    /// let counter = started.clone();
    /// let pool = Pool::builder()
    ///     .workers(2)
    ///     .on_worker_start(move |_index| {
    ///         counter.fetch_add(1, Ordering::Relaxed);
    ///     })
    ///     .build()?;
    /// // `build` returns after every hook ran.
    /// assert_eq!(started.load(Ordering::Relaxed), 2);
    /// # drop(pool);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn on_worker_start(mut self, hook: impl Fn(usize) + Send + Sync + 'static) -> PoolBuilder {
        self.on_worker_start = Some(Arc::new(hook));
        self
    }

    /// How long an idle thread of the blocking lane
    /// ([`Pool::submit_blocking`]) waits for more work before it exits.
    /// Default: [`BLOCKING_KEEP_ALIVE`]. A zero duration retires a lane
    /// thread as soon as the lane's queue is empty.
    ///
    /// ```
    /// use std::time::Duration;
    /// use corepool::Pool;
    ///
    /// let pool = Pool::builder()
    ///     .workers(1)
    ///     .blocking_keep_alive(Duration::from_millis(100))
    ///     .build()?;
    /// assert_eq!(pool.submit_blocking(|| 2 + 2).join().unwrap(), 4);
    /// # Ok::<(), corepool::BuildError>(())
    /// ```
    pub fn blocking_keep_alive(mut self, keep_alive: Duration) -> PoolBuilder {
        self.blocking_keep_alive = keep_alive;
        self
    }

    /// Uses `topology` instead of reading the machine: for tests, and for
    /// callers who computed it themselves.
    ///
    /// ```
    /// use corepool::{Pinning, Pool, topology::Topology};
    ///
    /// let machine = Topology::detect()?;
    /// let pool = Pool::builder().topology(machine.clone()).pinning(Pinning::None).build()?;
    /// assert_eq!(pool.workers(), machine.physical_cpus().len());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn topology(mut self, topology: Topology) -> PoolBuilder {
        self.topology = Some(topology);
        self
    }

    /// Validates the settings, starts the workers, and waits until each has
    /// pinned itself and run the start hook.
    ///
    /// ```
    /// use corepool::{BuildError, Pinning, Pool};
    ///
    /// let err = Pool::builder().pinning(Pinning::Cpus(vec![])).build().unwrap_err();
    /// assert!(matches!(err, BuildError::EmptyCpuList));
    /// ```
    pub fn build(self) -> Result<Pool, BuildError> {
        if let Some(bytes) = self.stack_size.filter(|&bytes| bytes < MIN_STACK_SIZE) {
            return Err(BuildError::StackTooSmall {
                bytes,
                min: MIN_STACK_SIZE,
            });
        }
        let pinning = match self.pinning {
            Some(pinning) => pinning,
            None => env_pinning()?.unwrap_or_default(),
        };
        let workers = match self.workers {
            Some(n) => Some(n),
            None => env_workers()?,
        };
        let mut machine = Machine(self.topology);
        let Plan { applied, cpus } = plan(pinning, workers, &mut machine)?;
        let n = cpus.len();
        let widen = cpus.contains(&None) && inherits_a_narrow_mask();

        // The user's closures are dropped contained (a destructor that
        // panics does not make `build` panic), whichever way `build` ends.
        let mut name = Contained(self.thread_name);
        let hook = Contained(self.on_worker_start);
        let mut name_of = |index: usize| match name.0.as_mut() {
            Some(name) => checked_name(index, name),
            None => Ok(format!("corepool-{index}")),
        };
        // Worker 0's name is asked first: the lane threads' names derive
        // from it. Nothing has started yet if it fails.
        let mut first_name = Some(name_of(0)?);
        let deques: Vec<Deque<JobRef>> = (0..n).map(|_| Deque::new_lifo()).collect();
        let registry = Arc::new(Registry::new(
            deques.iter().map(Deque::stealer).collect(),
            Settings {
                pinning: applied,
                cpus,
                keep_alive: self.blocking_keep_alive,
                lane_name_base: lane_name_base(first_name.as_deref().unwrap_or_default()),
            },
        ));
        let cpus = &registry.cpus;
        let (report, reports) = crossbeam_channel::bounded::<(usize, Started)>(n);
        let mut threads = Vec::with_capacity(n);
        let mut failure = None;
        for (index, deque) in deques.into_iter().enumerate() {
            let thread_name = match first_name.take() {
                Some(first) => Ok(first),
                None => name_of(index),
            };
            let thread_name = match thread_name {
                Ok(thread_name) => thread_name,
                Err(err) => {
                    failure = Some(err);
                    // Workers that never started count as exited, so that
                    // shutting the half-built pool down does not wait for them.
                    for _ in index..n {
                        registry.worker_exited();
                    }
                    break;
                }
            };
            let mut thread = std::thread::Builder::new().name(thread_name);
            if let Some(bytes) = self.stack_size {
                thread = thread.stack_size(bytes);
            }
            let stack = self.stack_size;
            let (registry_for_worker, report, cpu) =
                (registry.clone(), report.clone(), cpus[index]);
            let hook = hook.0.clone();
            let spawned = thread.spawn(move || {
                let started = start_worker(index, cpu, widen, hook.as_ref());
                // The hook is not kept for the worker's life; were this the
                // last reference, its captures' destructors run contained.
                unwind::drop_contained(hook);
                // The builder is waiting on this channel; it cannot be gone.
                let _ = report.send((index, started));
                drop(report);
                WorkerThread::new(index, deque, registry_for_worker, stack).run();
            });
            match spawned {
                Ok(handle) => threads.push(handle),
                Err(source) => {
                    failure = Some(BuildError::Spawn { index, source });
                    // Workers that never started count as exited, so that
                    // shutting the half-built pool down does not wait for them.
                    for _ in index..n {
                        registry.worker_exited();
                    }
                    break;
                }
            }
        }
        drop(report);
        let spawned = threads.len();
        registry.set_threads(threads);
        let mut reported = Vec::with_capacity(spawned);
        for _ in 0..spawned {
            match reports.recv() {
                Ok(report) => reported.push(report),
                Err(_) => break,
            }
        }
        reported.sort_by_key(|(index, _)| *index);
        if failure.is_none() {
            failure = reported.into_iter().find_map(|(_, started)| started.err());
        }
        let pool = Pool::from_shared(Shared { registry });
        match failure {
            None => Ok(pool),
            Some(err) => {
                pool.shutdown();
                Err(err)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::topology::DETECTS;

    /// How many times `build` read the machine.
    fn detects(builder: PoolBuilder) -> usize {
        let before = DETECTS.with(|count| count.get());
        let pool = builder.build().expect("build");
        pool.shutdown();
        DETECTS.with(|count| count.get()) - before
    }

    #[test]
    fn unpinned_with_an_explicit_count_reads_no_topology() {
        let unpinned = || PoolBuilder::new().pinning(Pinning::None);
        assert_eq!(detects(unpinned().workers(2)), 0);
        assert_eq!(detects(unpinned()), 1, "the default count needs the cores");
        let given = Topology::detect().expect("detect");
        assert_eq!(detects(PoolBuilder::new().topology(given)), 0);
        if topology::PINNING_SUPPORTED {
            assert_eq!(detects(PoolBuilder::new().workers(1)), 1);
        }
    }

    #[test]
    fn bad_counts_are_errors_before_anything_is_read() {
        let before = DETECTS.with(|count| count.get());
        assert!(matches!(
            PoolBuilder::new().workers(0).build(),
            Err(BuildError::ZeroWorkers)
        ));
        assert!(matches!(
            PoolBuilder::new().workers(MAX_WORKERS + 1).build(),
            Err(BuildError::TooManyWorkers { .. })
        ));
        assert_eq!(DETECTS.with(|count| count.get()), before);
    }

    #[test]
    fn the_env_range_names_the_real_bound() {
        assert!(
            WORKERS_RANGE.ends_with(&format!(" {MAX_WORKERS}")),
            "{WORKERS_RANGE}"
        );
    }
}

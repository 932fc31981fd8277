//! Which CPUs this process may use, grouped into physical cores, and pinning
//! threads to them.
//!
//! # What is read
//!
//! 1. The **process's affinity mask** ([`process_cpus`]): the union of the
//!    main thread's mask (`sched_getaffinity(getpid())`, which Linux answers
//!    for the thread whose id is the process id) and the calling thread's
//!    (`sched_getaffinity(0)`). It reflects `taskset`, cgroup cpusets and
//!    container limits, and it does not shrink when the calling thread is
//!    pinned: a pool built inside a task (whose worker is pinned to one CPU),
//!    or on a thread spawned from one (which inherits that mask), sees the
//!    same CPUs as one built on the main thread. Both masks are masks some
//!    thread of this process runs under, so the union never names a CPU the
//!    process may not use. No file is read for it.
//! 2. `sys/devices/system/cpu/online`: offline CPUs are dropped (a mask may
//!    name CPUs that are not online).
//! 3. Per CPU, in `sys/devices/system/cpu/cpuN/topology/`: the hyper-thread
//!    siblings (`core_cpus_list`, or its older name `thread_siblings_list`),
//!    and `physical_package_id` and `core_id`. CPUs that list each other as
//!    siblings share one physical core. A CPU without a siblings list is
//!    grouped with the CPUs that have the same (package, core) pair, when
//!    both ids are known; core ids repeat across packages and may have holes.
//!    An id of `-1` (some powerpc and arm64 kernels) or a missing file means
//!    "unknown", and a CPU that cannot be grouped counts as its own core.
//! 4. The **cgroup CPU quota** of this process: v2 `cpu.max`, or v1
//!    `cpu.cfs_quota_us` / `cpu.cfs_period_us`, in the process's cgroup
//!    (from `proc/self/cgroup`) and every ancestor; the smallest wins.
//!
//! Every path is read under a root directory (`/` for the real machine), so
//! tests point [`Topology::from_root`] at fake trees. Missing files mean "no
//! information" (every CPU online, no quota, siblings unknown); a file that
//! exists but cannot be parsed is a [`TopologyError::Parse`] naming the file.
//!
//! Nothing here is read unless a build needs it: a pool with
//! [`Pinning::None`](crate::Pinning::None) and an explicit worker count
//! reads no file.
//!
//! # The worker count
//!
//! [`Topology::physical_cpus`] gives one CPU per physical core (the lowest
//! allowed CPU of each core), in core order, then keeps only `floor(quota)`
//! cores when a quota is set (never fewer than one), as
//! `std::thread::available_parallelism` rounds a quota down: a CPU-bound pool
//! with more threads than its quota only gets throttled.
//!
//! Off Linux there is no mask to read and no pinning: every CPU counts as
//! its own core and [`pin_current_thread`] does nothing.

// Layer: base (`lib.rs`, "Layers"). It may use std and the dependencies; of
// the crate, only the other base files.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// Why the topology could not be read or a thread could not be pinned.
///
/// ```
/// use corepool::topology::{Topology, TopologyError};
///
/// let root = std::env::temp_dir().join(format!("corepool-doc-err-{}", std::process::id()));
/// std::fs::create_dir_all(root.join("sys/devices/system/cpu")).unwrap();
/// std::fs::write(root.join("sys/devices/system/cpu/online"), "0-1\n").unwrap();
/// let err = Topology::from_root(&root, &[4]).unwrap_err();
/// assert!(matches!(err, TopologyError::NoCpus));
/// std::fs::write(root.join("sys/devices/system/cpu/online"), "zero\n").unwrap();
/// let err = Topology::from_root(&root, &[0]).unwrap_err();
/// assert!(err.to_string().starts_with("cannot parse"), "{err}");
/// # std::fs::remove_dir_all(&root).ok();
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TopologyError {
    /// `sched_getaffinity` or `sched_setaffinity` failed.
    #[error("{}: {source}", match .cpu { Some(cpu) => format!("cannot pin thread to CPU {cpu}"), None => "cannot read or set the affinity mask".to_owned() })]
    Affinity {
        /// The CPU a pin was asked for; `None` when reading the mask or
        /// widening a thread's mask to the process's ([`unpin_current_thread`]).
        cpu: Option<usize>,
        /// The operating system's error.
        source: io::Error,
    },
    /// A topology or cgroup file exists but its content makes no sense.
    #[error("cannot parse {}: {content:?}", .path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// What it held.
        content: String,
    },
    /// The affinity mask names no CPU that is online.
    #[error("this process may not run on any online CPU")]
    NoCpus,
}

/// One physical core and the allowed logical CPUs (hyper-threads) on it.
///
/// ```
/// use corepool::topology::Topology;
///
/// let machine = Topology::detect()?;
/// for core in machine.cores() {
///     assert!(!core.cpus.is_empty());
///     println!("package {:?} core {:?}: CPUs {:?}", core.package, core.core, core.cpus);
/// }
/// # Ok::<(), corepool::topology::TopologyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Core {
    /// The package (socket) id of the core's lowest CPU; `None` when the
    /// kernel does not say (no file, or `-1`).
    pub package: Option<usize>,
    /// The core id within its package of the core's lowest CPU; `None` when
    /// the kernel does not say (no file, or `-1`).
    pub core: Option<usize>,
    /// The allowed logical CPUs of this core, ascending, never empty.
    pub cpus: Vec<usize>,
}

/// The CPUs this process may use, grouped into physical cores, and its CPU
/// quota.
///
/// ```
/// let machine = corepool::topology::Topology::detect()?;
/// assert!(!machine.physical_cpus().is_empty());
/// assert!(machine.physical_cpus().iter().all(|c| machine.allowed_cpus().contains(c)));
/// # Ok::<(), corepool::topology::TopologyError>(())
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Topology {
    allowed: Vec<usize>,
    cores: Vec<Core>,
    quota: Option<f64>,
}

/// The largest CPU number accepted in a CPU list (Linux supports at most
/// 8,192 CPUs); it keeps a garbage range from expanding without bound.
///
/// ```
/// use corepool::topology::{MAX_CPU, parse_cpu_list};
///
/// assert!(parse_cpu_list(&format!("0-{MAX_CPU}")).is_some());
/// assert!(parse_cpu_list(&format!("0-{}", MAX_CPU + 1)).is_none());
/// ```
pub const MAX_CPU: usize = 65_535;

/// Whether this platform supports pinning threads (Linux only). Where it is
/// `false`, [`Pinning::PhysicalCores`](crate::Pinning::PhysicalCores) builds
/// an unpinned pool and [`Pool::pinning`](crate::Pool::pinning) says so.
///
/// ```
/// use corepool::{Pinning, Pool, topology::PINNING_SUPPORTED};
///
/// let pool = Pool::builder().workers(1).pinning(Pinning::PhysicalCores).build()?;
/// let expected = if PINNING_SUPPORTED { Pinning::PhysicalCores } else { Pinning::None };
/// assert_eq!(pool.pinning(), &expected);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub const PINNING_SUPPORTED: bool = cfg!(target_os = "linux");

#[cfg(test)]
thread_local! {
    /// How many times this thread called [`Topology::detect`], so unit tests
    /// can check that a build reads nothing it does not need.
    pub(crate) static DETECTS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

impl Topology {
    /// The real machine: the process's affinity mask ([`process_cpus`]),
    /// grouped into cores with the files under `/`. The same on every thread
    /// of the process, pinned or not.
    ///
    /// ```
    /// use corepool::topology::{Topology, current_thread_cpus, pin_current_thread};
    ///
    /// let machine = Topology::detect()?;
    /// let cpu = machine.allowed_cpus()[0];
    /// // A thread pinned to one CPU still sees the whole process.
    /// let seen = std::thread::spawn(move || {
    ///     pin_current_thread(cpu)?;
    ///     Topology::detect()
    /// })
    /// .join()
    /// .unwrap()?;
    /// assert_eq!(seen, machine);
    /// # Ok::<(), corepool::topology::TopologyError>(())
    /// ```
    pub fn detect() -> Result<Topology, TopologyError> {
        #[cfg(test)]
        DETECTS.with(|count| count.set(count.get() + 1));
        if PINNING_SUPPORTED {
            Topology::from_root("/", &process_cpus()?)
        } else {
            let n = std::thread::available_parallelism().map_or(1, usize::from);
            let allowed: Vec<usize> = (0..n).collect();
            let cores = allowed
                .iter()
                .map(|&cpu| Core {
                    package: None,
                    core: None,
                    cpus: vec![cpu],
                })
                .collect();
            Ok(Topology {
                allowed,
                cores,
                quota: None,
            })
        }
    }

    /// The topology described by the files under `root` (laid out like `/`),
    /// for a process whose affinity mask is `allowed`.
    ///
    /// ```
    /// use corepool::topology::Topology;
    ///
    /// // Two physical cores with two hyper-threads each: CPUs 0/2 and 1/3.
    /// let root = std::env::temp_dir().join(format!("corepool-doc-{}", std::process::id()));
    /// for cpu in 0..4 {
    ///     let dir = root.join(format!("sys/devices/system/cpu/cpu{cpu}/topology"));
    ///     std::fs::create_dir_all(&dir).unwrap();
    ///     std::fs::write(dir.join("core_id"), format!("{}", cpu % 2)).unwrap();
    ///     std::fs::write(dir.join("physical_package_id"), "0").unwrap();
    /// }
    /// let topology = Topology::from_root(&root, &[0, 1, 2, 3])?;
    /// assert_eq!(topology.physical_cpus(), [0, 1]);
    /// assert_eq!(topology.cores()[0].cpus, [0, 2]);
    /// # std::fs::remove_dir_all(&root).ok();
    /// # Ok::<(), corepool::topology::TopologyError>(())
    /// ```
    pub fn from_root(root: impl AsRef<Path>, allowed: &[usize]) -> Result<Topology, TopologyError> {
        let root = root.as_ref();
        let cpu_dir = root.join("sys/devices/system/cpu");
        let mut allowed: Vec<usize> = allowed.to_vec();
        allowed.sort_unstable();
        allowed.dedup();
        if let Some(online) = read_optional(&cpu_dir.join("online"))? {
            let online = parse_cpu_list(&online.1).ok_or_else(|| parse_error(&online))?;
            allowed.retain(|cpu| online.contains(cpu));
        }
        if allowed.is_empty() {
            return Err(TopologyError::NoCpus);
        }
        let cpus = allowed
            .iter()
            .map(|&cpu| CpuInfo::read(&cpu_dir.join(format!("cpu{cpu}/topology")), cpu))
            .collect::<Result<Vec<_>, _>>()?;
        let cores = group_into_cores(&cpus);
        let quota = cgroup_quota(root)?;
        Ok(Topology {
            allowed,
            cores,
            quota,
        })
    }

    /// The CPUs this process may run on, ascending, offline ones removed.
    ///
    /// ```
    /// use corepool::topology::Topology;
    ///
    /// let root = std::env::temp_dir().join(format!("corepool-doc-allowed-{}", std::process::id()));
    /// std::fs::create_dir_all(root.join("sys/devices/system/cpu")).unwrap();
    /// std::fs::write(root.join("sys/devices/system/cpu/online"), "0-3\n").unwrap();
    /// let topology = Topology::from_root(&root, &[5, 2, 0])?;
    /// assert_eq!(topology.allowed_cpus(), [0, 2]);
    /// # std::fs::remove_dir_all(&root).ok();
    /// # Ok::<(), corepool::topology::TopologyError>(())
    /// ```
    pub fn allowed_cpus(&self) -> &[usize] {
        &self.allowed
    }

    /// The physical cores, sorted by (package, core), unknown ids after
    /// known ones, then by lowest CPU.
    ///
    /// ```
    /// use corepool::topology::Topology;
    ///
    /// let machine = Topology::detect()?;
    /// let cpus: usize = machine.cores().iter().map(|core| core.cpus.len()).sum();
    /// assert_eq!(cpus, machine.allowed_cpus().len());
    /// # Ok::<(), corepool::topology::TopologyError>(())
    /// ```
    pub fn cores(&self) -> &[Core] {
        &self.cores
    }

    /// The cgroup CPU quota in CPUs (e.g. `Some(1.5)`); `None` if unlimited.
    ///
    /// ```
    /// use corepool::topology::Topology;
    ///
    /// let root = std::env::temp_dir().join(format!("corepool-doc-quota-{}", std::process::id()));
    /// std::fs::create_dir_all(root.join("proc/self")).unwrap();
    /// std::fs::create_dir_all(root.join("sys/fs/cgroup")).unwrap();
    /// std::fs::write(root.join("proc/self/cgroup"), "0::/\n").unwrap();
    /// std::fs::write(root.join("sys/fs/cgroup/cpu.max"), "150000 100000\n").unwrap();
    /// let topology = Topology::from_root(&root, &[0, 1, 2, 3])?;
    /// assert_eq!(topology.cpu_quota(), Some(1.5));
    /// assert_eq!(topology.physical_cpus(), [0], "a quota of 1.5 CPUs keeps one core");
    /// # std::fs::remove_dir_all(&root).ok();
    /// # Ok::<(), corepool::topology::TopologyError>(())
    /// ```
    pub fn cpu_quota(&self) -> Option<f64> {
        self.quota
    }

    /// One CPU per physical core (the lowest allowed CPU of each), in core
    /// order, limited to `floor(quota)` cores but never fewer than one. This
    /// is the default worker count and where the workers are pinned.
    ///
    /// ```
    /// use corepool::{Pool, topology::Topology};
    ///
    /// let machine = Topology::detect()?;
    /// let pool = Pool::builder().topology(machine.clone()).build()?;
    /// assert_eq!(pool.workers(), machine.physical_cpus().len());
    /// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
    /// ```
    pub fn physical_cpus(&self) -> Vec<usize> {
        let limit = match self.quota {
            Some(quota) => (quota.floor() as usize).max(1),
            None => usize::MAX,
        };
        self.cores
            .iter()
            .take(limit)
            .map(|core| core.cpus[0])
            .collect()
    }
}

/// Parses the kernel's CPU-list syntax (`0-3,8,10-11`); `None` if malformed
/// or if it names a CPU above [`MAX_CPU`]. Surrounding whitespace is
/// ignored; an empty list is valid.
///
/// ```
/// use corepool::topology::parse_cpu_list;
///
/// assert_eq!(parse_cpu_list("0-3,8\n"), Some(vec![0, 1, 2, 3, 8]));
/// assert_eq!(parse_cpu_list(""), Some(vec![]));
/// assert_eq!(parse_cpu_list("3-1"), None);
/// ```
pub fn parse_cpu_list(list: &str) -> Option<Vec<usize>> {
    let cpu = |s: &str| s.trim().parse::<usize>().ok().filter(|&c| c <= MAX_CPU);
    let list = list.trim();
    let mut cpus = Vec::new();
    if list.is_empty() {
        return Some(cpus);
    }
    for part in list.split(',') {
        let part = part.trim();
        match part.split_once('-') {
            Some((lo, hi)) => {
                let (lo, hi) = (cpu(lo)?, cpu(hi)?);
                if lo > hi {
                    return None;
                }
                cpus.extend(lo..=hi);
            }
            None => cpus.push(cpu(part)?),
        }
    }
    cpus.sort_unstable();
    cpus.dedup();
    Some(cpus)
}

/// What sysfs says about one allowed CPU.
struct CpuInfo {
    cpu: usize,
    package: Option<usize>,
    core: Option<usize>,
    /// The CPUs sharing its physical core (itself included), when listed.
    siblings: Option<Vec<usize>>,
}

impl CpuInfo {
    /// Reads `dir` (`.../cpuN/topology`); missing files and `-1` ids are
    /// `None`, garbage is a [`TopologyError::Parse`].
    fn read(dir: &Path, cpu: usize) -> Result<CpuInfo, TopologyError> {
        let mut siblings = None;
        for name in ["core_cpus_list", "thread_siblings_list"] {
            if let Some(file) = read_optional(&dir.join(name))? {
                let list = parse_cpu_list(&file.1).ok_or_else(|| parse_error(&file))?;
                siblings = Some(list);
                break;
            }
        }
        Ok(CpuInfo {
            cpu,
            package: read_id(&dir.join("physical_package_id"))?,
            core: read_id(&dir.join("core_id"))?,
            siblings,
        })
    }
}

/// Groups `cpus` (ascending) into physical cores: CPUs that list one another
/// as siblings, or, for CPUs without a siblings list, that share a known
/// (package, core) pair. A union-find over the CPUs' indices, each class
/// rooted at its lowest index.
fn group_into_cores(cpus: &[CpuInfo]) -> Vec<Core> {
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    fn merge(parent: &mut [usize], a: usize, b: usize) {
        let (a, b) = (root(parent, a), root(parent, b));
        parent[a.max(b)] = a.min(b);
    }
    let mut parent: Vec<usize> = (0..cpus.len()).collect();
    let mut by_ids: BTreeMap<(usize, usize), usize> = BTreeMap::new();
    for (i, info) in cpus.iter().enumerate() {
        match (&info.siblings, info.package, info.core) {
            (Some(siblings), _, _) => {
                for sibling in siblings {
                    if let Ok(j) = cpus.binary_search_by_key(sibling, |c| c.cpu) {
                        merge(&mut parent, i, j);
                    }
                }
            }
            (None, Some(package), Some(core)) => {
                let first = *by_ids.entry((package, core)).or_insert(i);
                merge(&mut parent, i, first);
            }
            // Nothing known: its own core.
            (None, _, _) => {}
        }
    }
    let mut classes: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for i in 0..cpus.len() {
        let r = root(&mut parent, i);
        classes.entry(r).or_default().push(i);
    }
    let mut cores: Vec<Core> = classes
        .into_values()
        .map(|members| {
            let first = &cpus[members[0]];
            Core {
                package: first.package,
                core: first.core,
                cpus: members.iter().map(|&i| cpus[i].cpu).collect(),
            }
        })
        .collect();
    // By (package, core), unknown ids after known ones, then by lowest CPU.
    cores.sort_by_key(|c| {
        (
            c.package.is_none(),
            c.package,
            c.core.is_none(),
            c.core,
            c.cpus[0],
        )
    });
    cores
}

/// A file's path and content, or `None` if it does not exist.
fn read_optional(path: &Path) -> Result<Option<(PathBuf, String)>, TopologyError> {
    match fs::read_to_string(path) {
        Ok(content) => Ok(Some((path.to_owned(), content))),
        // Missing, or unreadable (sysfs may deny): no information.
        Err(_) => Ok(None),
    }
}

fn parse_error((path, content): &(PathBuf, String)) -> TopologyError {
    TopologyError::Parse {
        path: path.clone(),
        content: content.clone(),
    }
}

/// A topology id: `None` when the file is missing or holds a negative number
/// (the kernel's "unknown"), a [`TopologyError::Parse`] when not an integer.
fn read_id(path: &Path) -> Result<Option<usize>, TopologyError> {
    let Some(file) = read_optional(path)? else {
        return Ok(None);
    };
    match file.1.trim().parse::<i64>() {
        Ok(id) => Ok(usize::try_from(id).ok()),
        Err(_) => Err(parse_error(&file)),
    }
}

/// The smallest CPU quota on the path from this process's cgroup to the
/// root, in CPUs.
fn cgroup_quota(root: &Path) -> Result<Option<f64>, TopologyError> {
    let Some((_, membership)) = read_optional(&root.join("proc/self/cgroup"))? else {
        return Ok(None);
    };
    let mut quota: Option<f64> = None;
    let mut keep_smallest = |q: Option<f64>| {
        if let Some(q) = q {
            quota = Some(quota.map_or(q, |old| old.min(q)));
        }
    };
    for line in membership.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(_id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let relative = path.trim_start_matches('/');
        if controllers.is_empty() {
            // cgroup v2.
            for dir in ancestors(&root.join("sys/fs/cgroup"), relative) {
                keep_smallest(v2_quota(&dir.join("cpu.max"))?);
            }
        } else if controllers.split(',').any(|c| c == "cpu") {
            for mount in ["cpu,cpuacct", "cpu", "cpuacct,cpu"] {
                for dir in ancestors(&root.join("sys/fs/cgroup").join(mount), relative) {
                    keep_smallest(v1_quota(&dir)?);
                }
            }
        }
    }
    Ok(quota)
}

/// `base/relative`, then each parent up to and including `base`.
fn ancestors(base: &Path, relative: &str) -> Vec<PathBuf> {
    let mut dirs = vec![base.to_owned()];
    let mut dir = base.to_owned();
    for part in relative.split('/').filter(|p| !p.is_empty()) {
        dir.push(part);
        dirs.push(dir.clone());
    }
    dirs
}

/// cgroup v2 `cpu.max`: `max 100000` (no limit) or `150000 100000`.
fn v2_quota(path: &Path) -> Result<Option<f64>, TopologyError> {
    let Some(file) = read_optional(path)? else {
        return Ok(None);
    };
    let mut fields = file.1.split_whitespace();
    match (fields.next(), fields.next(), fields.next()) {
        (Some("max"), _, None) => Ok(None),
        (Some(quota), Some(period), None) => match (quota.parse::<f64>(), period.parse::<f64>()) {
            (Ok(q), Ok(p)) if q > 0.0 && p > 0.0 => Ok(Some(q / p)),
            _ => Err(parse_error(&file)),
        },
        _ => Err(parse_error(&file)),
    }
}

/// cgroup v1 `cpu.cfs_quota_us` (`-1` = no limit) over `cpu.cfs_period_us`.
fn v1_quota(dir: &Path) -> Result<Option<f64>, TopologyError> {
    let Some(quota_file) = read_optional(&dir.join("cpu.cfs_quota_us"))? else {
        return Ok(None);
    };
    let quota: i64 = quota_file
        .1
        .trim()
        .parse()
        .map_err(|_| parse_error(&quota_file))?;
    if quota < 0 {
        return Ok(None);
    }
    let Some(period_file) = read_optional(&dir.join("cpu.cfs_period_us"))? else {
        return Ok(None);
    };
    let period: u64 = period_file
        .1
        .trim()
        .parse()
        .map_err(|_| parse_error(&period_file))?;
    if quota == 0 || period == 0 {
        return Err(parse_error(&quota_file));
    }
    Ok(Some(quota as f64 / period as f64))
}

/// Pins the calling thread to `cpu` alone. Returns `Ok(true)` when pinned,
/// `Ok(false)` off Linux (nothing is done).
///
/// ```
/// use corepool::topology::{Topology, current_thread_cpus, pin_current_thread};
///
/// let cpu = Topology::detect()?.allowed_cpus()[0];
/// std::thread::spawn(move || {
///     if pin_current_thread(cpu).unwrap() {
///         assert_eq!(current_thread_cpus().unwrap(), [cpu]);
///     }
/// })
/// .join()
/// .unwrap();
/// # Ok::<(), corepool::topology::TopologyError>(())
/// ```
pub fn pin_current_thread(cpu: usize) -> Result<bool, TopologyError> {
    sys::pin(cpu).map_err(|source| TopologyError::Affinity {
        cpu: Some(cpu),
        source,
    })
}

/// The calling thread's affinity mask, ascending. Off Linux: every CPU,
/// `0..available_parallelism()`.
///
/// ```
/// let cpus = corepool::topology::current_thread_cpus()?;
/// assert!(!cpus.is_empty());
/// # Ok::<(), corepool::topology::TopologyError>(())
/// ```
pub fn current_thread_cpus() -> Result<Vec<usize>, TopologyError> {
    sys::thread_mask().map_err(|source| TopologyError::Affinity { cpu: None, source })
}

/// The process's affinity mask, ascending: the union of the main thread's
/// mask and the calling thread's (see the [module docs](self)), so a thread
/// pinned to one CPU (a worker, or a thread spawned from a task) still gets
/// every CPU the process may use. Offline CPUs are not removed here;
/// [`Topology::detect`] removes them. Reads no file. Off Linux: every CPU,
/// `0..available_parallelism()`.
///
/// ```
/// use corepool::topology::{current_thread_cpus, pin_current_thread, process_cpus};
///
/// let process = process_cpus()?;
/// assert!(current_thread_cpus()?.iter().all(|cpu| process.contains(cpu)));
/// let cpu = process[0];
/// let seen = std::thread::spawn(move || {
///     pin_current_thread(cpu)?;
///     process_cpus()
/// })
/// .join()
/// .unwrap()?;
/// assert_eq!(seen, process);
/// # Ok::<(), corepool::topology::TopologyError>(())
/// ```
pub fn process_cpus() -> Result<Vec<usize>, TopologyError> {
    sys::process_mask().map_err(|source| TopologyError::Affinity { cpu: None, source })
}

/// Widens the calling thread's affinity mask to the process's
/// ([`process_cpus`]), undoing a pin it inherited (a thread spawned from a
/// pinned worker runs on that worker's CPU alone). Returns `Ok(true)` when
/// the mask was set, `Ok(false)` off Linux (nothing is done).
///
/// ```
/// use corepool::topology::{current_thread_cpus, pin_current_thread, process_cpus, unpin_current_thread};
///
/// let process = process_cpus()?;
/// let mask = std::thread::spawn(move || {
///     pin_current_thread(process[0])?;
///     unpin_current_thread()?;
///     current_thread_cpus()
/// })
/// .join()
/// .unwrap()?;
/// assert_eq!(mask, process_cpus()?);
/// # Ok::<(), corepool::topology::TopologyError>(())
/// ```
pub fn unpin_current_thread() -> Result<bool, TopologyError> {
    let cpus = process_cpus()?;
    sys::set_mask(&cpus).map_err(|source| TopologyError::Affinity { cpu: None, source })
}

#[cfg(target_os = "linux")]
mod sys {
    use std::io;
    use std::mem;

    pub(super) fn pin(cpu: usize) -> io::Result<bool> {
        set_mask(&[cpu])
    }

    /// Sets the calling thread's mask to `cpus`.
    pub(super) fn set_mask(cpus: &[usize]) -> io::Result<bool> {
        // SAFETY: `cpu_set_t` is a plain bit array for which all-zero is the
        // empty set.
        let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
        for &cpu in cpus {
            if cpu >= libc::CPU_SETSIZE as usize {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "CPU number beyond CPU_SETSIZE",
                ));
            }
            // SAFETY: `cpu < CPU_SETSIZE`, checked above, so the bit is in
            // bounds.
            unsafe { libc::CPU_SET(cpu, &mut set) };
        }
        // SAFETY: `set` is a valid, initialised `cpu_set_t` of the size passed;
        // pid 0 is the calling thread.
        let rc = unsafe { libc::sched_setaffinity(0, mem::size_of::<libc::cpu_set_t>(), &set) };
        if rc == 0 {
            Ok(true)
        } else {
            Err(io::Error::last_os_error())
        }
    }

    /// The mask of thread `tid` (0: the calling thread).
    fn mask_of(tid: libc::pid_t) -> io::Result<Vec<usize>> {
        // SAFETY: all-zero is a valid (empty) `cpu_set_t`.
        let mut set: libc::cpu_set_t = unsafe { mem::zeroed() };
        // SAFETY: `set` is writable and as large as the size passed; `tid` is
        // only an id, which the kernel looks up (or answers ESRCH).
        let rc =
            unsafe { libc::sched_getaffinity(tid, mem::size_of::<libc::cpu_set_t>(), &mut set) };
        if rc != 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: every index is below CPU_SETSIZE, within the set.
        Ok((0..libc::CPU_SETSIZE as usize)
            .filter(|&cpu| unsafe { libc::CPU_ISSET(cpu, &set) })
            .collect())
    }

    pub(super) fn thread_mask() -> io::Result<Vec<usize>> {
        mask_of(0)
    }

    /// The calling thread's mask united with the main thread's. Linux looks
    /// a pid up as a thread id, and the main thread's id is the process id,
    /// so `sched_getaffinity(getpid())` is the main thread's mask. Should
    /// that lookup fail (a main thread that exited), the calling thread's
    /// mask alone is the answer.
    pub(super) fn process_mask() -> io::Result<Vec<usize>> {
        let mut cpus = thread_mask()?;
        let main = libc::pid_t::try_from(std::process::id()).map_or_else(
            |_| Err(io::Error::from(io::ErrorKind::InvalidInput)),
            mask_of,
        );
        if let Ok(main) = main {
            cpus.extend(main);
            cpus.sort_unstable();
            cpus.dedup();
        }
        Ok(cpus)
    }
}

#[cfg(not(target_os = "linux"))]
mod sys {
    use std::io;

    pub(super) fn pin(_cpu: usize) -> io::Result<bool> {
        Ok(false)
    }

    pub(super) fn set_mask(_cpus: &[usize]) -> io::Result<bool> {
        Ok(false)
    }

    pub(super) fn thread_mask() -> io::Result<Vec<usize>> {
        let n = std::thread::available_parallelism().map_or(1, usize::from);
        Ok((0..n).collect())
    }

    pub(super) fn process_mask() -> io::Result<Vec<usize>> {
        thread_mask()
    }
}

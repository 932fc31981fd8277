//! The cluster handle: MPI initialised once, this rank's pool sized to its
//! share of the node, the panic hook that turns a panic on the thread that
//! owns the cluster into a clean job abort instead of a hang, and the end
//! of the job (`BYE`/`FIN`), which catches a rank that finished early.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::marker::PhantomData;
use std::ops::Range;
use std::panic::Location;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::ThreadId;
use std::time::{Duration, Instant};

use mpi::Threading;
use mpi::collective::{CommunicatorCollectives, Root, SystemOperation};
use mpi::environment::Universe;
use mpi::topology::{Communicator, SimpleCommunicator};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ClusterError;
use super::map::{self, ClusterMap, SPMD_RULE};
use super::share::{self, NodeShare};
use super::source::{Indices, Items};
use super::tree::{self, Layout};
use super::wire::{self, ClusterStats, Link};
use crate::topology::Topology;
use crate::{ENV_PINNING, ENV_WORKERS, Pinning, Pool};

/// The exit code of a job aborted because a rank panicked on the thread that
/// owns its [`Cluster`], or because the ranks did not make the same maps (an
/// SPMD mistake: different maps, or a rank that finished early).
pub const ABORT_CODE: i32 = 101;

/// The group size broadcast from the root when its environment leaves it
/// to the rank count.
const GROUP_AUTO: u64 = u64::MAX;
/// ... and when its environment holds a bad value.
const GROUP_BAD: u64 = u64::MAX - 1;

/// The thread that owns the cluster: a panic there aborts the job.
static OWNER: OnceLock<ThreadId> = OnceLock::new();
/// Whether MPI is up and a panic on [`OWNER`] must abort the job. Stored
/// with Release after `MPI_Init_thread` (and before `MPI_Finalize` with
/// `false`); the hook's Acquire load pairs with them, so an armed hook
/// sees an initialised MPI.
static ARMED: AtomicBool = AtomicBool::new(false);
/// The rank, for the hook's message.
static RANK: OnceLock<usize> = OnceLock::new();

/// One rank of an MPI job: its place in the job and its pool, and the
/// cluster-wide [`map`](Cluster::map). Every rank runs the same program
/// (SPMD) and makes the same `map` calls in the same order; the root (rank 0)
/// gets the results, the others serve chunks until the root says stop.
///
/// There is one `Cluster` per process: MPI is initialised by [`init`] and
/// finalised when the `Cluster` is dropped. The thread that called `init` is
/// the only one that talks to MPI (thread level `Funneled`), so a `Cluster`
/// is neither `Send` nor `Sync`. A panic on that thread aborts the whole job
/// with exit code [`ABORT_CODE`] (`MPI_Abort`), since a rank that unwinds
/// out of the protocol would leave the others waiting for it. `init`
/// installs a panic hook for that; if the program replaces it later
/// (`std::panic::set_hook`), the job is aborted instead when the unwinding
/// drops a map or the `Cluster`.
///
/// Dropping the `Cluster` waits until every rank drops theirs (the root
/// last), so a rank that finishes while the others still make maps ends the
/// job with a message (see the module's "Faults") instead of a hang. So
/// does dropping it while one of its maps is still under way on this rank
/// (a started map leaked with `std::mem::forget`): the other ranks are
/// still in that map. A process that exits with its `Cluster` alive
/// (forgotten, or `std::process::exit` before the drop) aborts the job with
/// [`ABORT_CODE`] and a message saying so, at exit: its MPI is not
/// finalised, and under MPICH the job could otherwise end with exit code 0
/// and lose the root's output, or leave the other ranks waiting.
///
/// Launch it with `mpirun` (see the README's "Past one machine"); run
/// without `mpirun` it is a job of one rank.
///
/// ```
/// use corepool::cluster::Cluster;
///
/// let cluster = Cluster::init()?;
/// let squares: Vec<u64> = cluster
///     .map_range(0..1000, |x| x * x)
///     .collect::<Result<_, _>>()?;
/// if cluster.is_root() {
///     assert_eq!(squares.len(), 1000);     // the root gets every result, in order
/// } else {
///     assert!(squares.is_empty());         // the others served chunks
/// }
/// # Ok::<(), corepool::cluster::ClusterError>(())
/// ```
///
/// [`init`]: Cluster::init
pub struct Cluster {
    // Dropped in this order: the pool (its workers finish), the link (its
    // sends complete, its communicator is freed), then MPI is finalised.
    pool: Pool,
    pub(crate) link: RefCell<Link>,
    /// The communicator [`with_comm`](Cluster::with_comm) lends: a
    /// duplicate of `MPI_COMM_WORLD` of its own, apart from the link's, so
    /// the user's messages and the maps' never meet.
    user_comm: SimpleCommunicator,
    /// Messages for a later map that arrived during an earlier one.
    pub(crate) stash: RefCell<VecDeque<(usize, Vec<u8>)>>,
    /// How many maps this rank has started.
    pub(crate) maps: Cell<u64>,
    /// Where the map under way on this rank was made; `None` when no map
    /// is under way.
    pub(crate) busy: Cell<Option<&'static Location<'static>>>,
    /// How the ranks are grouped for maps (flat, or the leader tree).
    pub(crate) layout: Layout,
    rank: usize,
    size: usize,
    node_rank: usize,
    node_size: usize,
    share: NodeShare,
    threading: Threading,
    _universe: Universe,
    /// MPI calls come from the thread that initialised it (`Funneled`).
    _not_send: PhantomData<*const ()>,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("rank", &self.rank)
            .field("size", &self.size)
            .field("node_rank", &self.node_rank)
            .field("node_size", &self.node_size)
            .field("share", &self.share)
            .field("workers", &self.pool.workers())
            .field("threading", &self.threading)
            .field("group_size", &self.layout.group())
            .finish_non_exhaustive()
    }
}

fn level_name(level: Threading) -> &'static str {
    match level {
        Threading::Single => "Single",
        Threading::Funneled => "Funneled",
        Threading::Serialized => "Serialized",
        Threading::Multiple => "Multiple",
    }
}

impl Cluster {
    /// Initialises MPI (thread level `Funneled`: this thread talks to MPI,
    /// the pool's workers compute), finds this rank's place on its node and
    /// builds its pool:
    ///
    /// - If `COREPOOL_WORKERS` or `COREPOOL_PINNING` is set, the pool's
    ///   defaults, which read them ([`NodeShare::Environment`]).
    /// - If the launcher bound the ranks (their affinity masks differ, as
    ///   with Open MPI's default `--bind-to core` for two ranks), one worker
    ///   per physical core of this rank's mask ([`NodeShare::Bound`]).
    /// - Otherwise the node's physical cores are split among the ranks on
    ///   it (`MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)`), contiguous
    ///   slices of near-equal size ([`NodeShare::Cores`]); with more ranks
    ///   than cores, one unpinned worker each ([`NodeShare::Oversubscribed`]).
    ///
    /// `init` is collective: every rank must call it.
    ///
    /// # Errors
    ///
    /// [`ClusterError::AlreadyInitialized`] if MPI was initialised before in
    /// this process, [`ClusterError::ThreadLevel`] if the library gives less
    /// than `Funneled`, [`ClusterError::BadEnvironment`] if
    /// `COREPOOL_CLUSTER_GROUP` is not a whole number (on this rank or on
    /// the root; see [`group_size`](Cluster::group_size)),
    /// [`ClusterError::Pool`] if the pool cannot be built. Any of these but
    /// the first fails `init` on every rank together: the rank it happened
    /// on gets its own error, every other rank
    /// [`ClusterError::OtherRankFailed`] naming the first rank that failed
    /// (a rank left waiting in a map for one that gave up would hang the
    /// job).
    ///
    /// ```
    /// let cluster = corepool::cluster::Cluster::init()?;
    /// println!("rank {} of {}: {} workers", cluster.rank(), cluster.size(), cluster.pool().workers());
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    pub fn init() -> Result<Cluster, ClusterError> {
        let (universe, threading) = mpi::initialize_with_threading(Threading::Funneled)
            .ok_or(ClusterError::AlreadyInitialized)?;
        let world = universe.world();
        let rank = world.rank() as usize;
        let size = world.size() as usize;
        let comm = world.duplicate();
        let user_comm = world.duplicate();

        let node = world.split_shared(world.rank());
        let node_rank = node.rank() as usize;
        let node_size = node.size() as usize;
        // Every rank takes part in the collective below, even one whose
        // topology cannot be read, so no rank is left waiting in it.
        let topology = Topology::detect();
        let mine = match &topology {
            Ok(t) => share::mask_hash(t.allowed_cpus()),
            Err(_) => 0,
        };
        let mut masks = vec![0u64; node_size];
        node.all_gather_into(&mine, &mut masks[..]);
        drop(node);
        // The tree's group size: the root's, so that every rank agrees on
        // the groups. Every rank takes part in the broadcast before any
        // returns an error.
        let group = tree::group_from_env(std::env::var_os(tree::ENV_GROUP));
        let mut roots = match &group {
            Ok(None) => GROUP_AUTO,
            Ok(Some(g)) => (*g as u64).min(GROUP_BAD - 1),
            Err(_) => GROUP_BAD,
        };
        world.process_at_rank(0).broadcast_into(&mut roots);
        // When the root's value is bad, every rank's error shows it: the
        // root sends its text (every rank knows to take part from `roots`).
        let root_group_text = (roots == GROUP_BAD).then(|| {
            let mut text = std::env::var_os(tree::ENV_GROUP)
                .map(|v| v.to_string_lossy().into_owned().into_bytes())
                .unwrap_or_default();
            let mut len = text.len() as u64;
            world.process_at_rank(0).broadcast_into(&mut len);
            text.resize(len as usize, 0);
            world.process_at_rank(0).broadcast_into(&mut text[..]);
            String::from_utf8_lossy(&text).into_owned()
        });

        // What can fail on one rank only (its environment, its topology,
        // its pool). The ranks agree on the outcome before any returns, so
        // that none goes on into a map while another gives up (its
        // `MPI_Finalize` would then wait for the ones in the map forever).
        let built = (|| {
            if threading < Threading::Funneled {
                return Err(ClusterError::ThreadLevel {
                    needed: level_name(Threading::Funneled),
                    provided: level_name(threading),
                });
            }
            group?;
            let layout = match roots {
                GROUP_BAD => {
                    return Err(ClusterError::BadEnvironment {
                        var: tree::ENV_GROUP,
                        value: root_group_text.unwrap_or_default(),
                        expected: "a whole number on the root too (every rank takes the root's value, \
                                   and the root's is not one)",
                    });
                }
                GROUP_AUTO => Layout::new(size, None),
                g => Layout::new(size, Some(g as usize)),
            };
            let topology = topology.map_err(crate::BuildError::from)?;
            let (share, pool) = build_pool(&topology, &masks, mine, rank, node_rank, node_size)?;
            Ok((layout, share, pool))
        })();
        // The first rank that failed, `size` if none did. (Small signed
        // values: under MPICH 4.0 the `min` of a `u64` u64::MAX and a 1 came
        // out as u64::MAX, as if compared signed.)
        let mine_failed: i64 = if built.is_ok() {
            size as i64
        } else {
            rank as i64
        };
        let mut first_failed = size as i64;
        world.all_reduce_into(&mine_failed, &mut first_failed, SystemOperation::min());
        let (layout, share, pool) = match built {
            Err(e) => return Err(e),
            Ok(_) if first_failed < size as i64 => {
                return Err(ClusterError::OtherRankFailed {
                    rank: first_failed as usize,
                });
            }
            Ok(built) => built,
        };

        arm_panic_hook(rank);
        Ok(Cluster {
            pool,
            link: RefCell::new(Link::new(comm)),
            user_comm,
            stash: RefCell::new(VecDeque::new()),
            maps: Cell::new(0),
            busy: Cell::new(None),
            layout,
            rank,
            size,
            node_rank,
            node_size,
            share,
            threading,
            _universe: universe,
            _not_send: PhantomData,
        })
    }

    /// This rank's number, `0..size()`.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// assert!(cluster.rank() < cluster.size());
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    pub fn rank(&self) -> usize {
        self.rank
    }

    /// How many ranks the job has.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// assert!(cluster.size() >= 1);
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    pub fn size(&self) -> usize {
        self.size
    }

    /// Whether this is rank 0, the one that gets the results of a map.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// assert_eq!(cluster.is_root(), cluster.rank() == 0);
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    pub fn is_root(&self) -> bool {
        self.rank == 0
    }

    /// This rank's number among the ranks on its node.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// assert!(cluster.node_rank() < cluster.node_size());
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    pub fn node_rank(&self) -> usize {
        self.node_rank
    }

    /// How many ranks share this rank's node.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// assert!(cluster.node_size() <= cluster.size());
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    pub fn node_size(&self) -> usize {
        self.node_size
    }

    /// The size of the groups of the leader-per-group tree, `None` when
    /// every rank talks to the root directly (flat).
    ///
    /// With groups of `g`, ranks `1..=g` form the first group, `g+1..=2g`
    /// the next, and so on; the first rank of each group is its leader: the
    /// root feeds the leaders chunks sized for their whole group, and each
    /// leader feeds its group and sends the results back merged. Results,
    /// their order and every error are the same as flat (a panic still
    /// names the rank that ran the item); what changes is the root's load,
    /// divided by about `g` (BENCHMARKS.md, "The root's load as ranks are
    /// added"). The protocol is written out in `src/cluster/tree.rs`.
    ///
    /// The size comes from the root's environment variable
    /// `COREPOOL_CLUSTER_GROUP` ([`ENV_GROUP`]): `0` or `1` for flat, `g` for
    /// groups of `g`; unset, the job is flat up to [`AUTO_TREE_RANKS`]
    /// ranks and past that has groups of `ceil(sqrt(size - 1))`. A value
    /// that is not a whole number makes [`init`](Cluster::init) return
    /// [`ClusterError::BadEnvironment`]. For example
    /// `COREPOOL_CLUSTER_GROUP=4 mpirun -np 16 ...` runs 16 ranks as the root,
    /// four leaders (ranks 1, 5, 9, 13) and their members.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// match cluster.group_size() {
    ///     Some(g) => println!("{} ranks in groups of {g}", cluster.size()),
    ///     None => println!("{} ranks, flat", cluster.size()),
    /// }
    /// if cluster.size() <= corepool::cluster::AUTO_TREE_RANKS
    ///     && std::env::var_os(corepool::cluster::ENV_GROUP).is_none()
    /// {
    ///     assert_eq!(cluster.group_size(), None);
    /// }
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    ///
    /// [`ENV_GROUP`]: super::ENV_GROUP
    /// [`AUTO_TREE_RANKS`]: super::AUTO_TREE_RANKS
    pub fn group_size(&self) -> Option<usize> {
        self.layout.group()
    }

    /// How this rank's pool was sized.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// if let Some(n) = cluster.node_share().workers() {
    ///     assert_eq!(cluster.pool().workers(), n);
    /// }
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    pub fn node_share(&self) -> &NodeShare {
        &self.share
    }

    /// The thread level MPI provided (at least `Funneled`).
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// assert!(cluster.threading() >= mpi::Threading::Funneled);
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    pub fn threading(&self) -> Threading {
        self.threading
    }

    /// This rank's pool: the cluster map runs its chunks here, and it is an
    /// ordinary [`Pool`] for local work too.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// assert_eq!(cluster.pool().submit(|| 6 * 7).join().unwrap(), 42);
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// What this rank's communication thread has done so far: messages,
    /// bytes, and how often it parked while waiting.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// let before = cluster.stats();
    /// let _ = cluster.map_range(0..10, |x| x).count();
    /// if cluster.size() > 1 {
    ///     assert!(cluster.stats().messages_sent > before.messages_sent);
    /// }
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    pub fn stats(&self) -> ClusterStats {
        self.link.borrow().stats
    }

    /// A communicator for messages and collectives of your own between
    /// maps: a duplicate of `MPI_COMM_WORLD` made by [`init`](Cluster::init)
    /// for this alone, not the one the maps talk on, so your messages never
    /// meet theirs (a receive from any rank here never takes a map's
    /// message, even one a faster rank sent for the next map).
    ///
    /// ```
    /// use mpi::collective::CommunicatorCollectives;
    ///
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// cluster.with_comm(|comm| comm.barrier());
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// While a map of this cluster is under way on this rank: started
    /// (its first `next()`) and neither finished nor dropped, including
    /// between two of its `next()` calls. The other ranks are serving that
    /// map then, so a collective of your own would wait for them forever;
    /// the panic, on the thread that owns the cluster, aborts the job
    /// (see [`Cluster`]). A map that was made but not started is not under
    /// way: calling this with one held on some ranks only (so that they
    /// start it after, while the others are past it) is an SPMD mistake it
    /// cannot see, and the job waits.
    #[track_caller]
    pub fn with_comm<R>(&self, f: impl FnOnce(&SimpleCommunicator) -> R) -> R {
        if let Some(site) = self.busy.get() {
            panic!(
                "corepool cluster: with_comm called while this rank's map #{} at {site} is under way \
                 (started and not yet finished or dropped); the other ranks are serving that map, so \
                 use with_comm between maps: finish or drop the map first",
                self.maps.get().saturating_sub(1)
            );
        }
        f(&self.user_comm)
    }

    /// Aborts the whole job (`MPI_Abort`) with `code`, after printing
    /// `message` to stderr.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// if cluster.size() > 64 {
    ///     cluster.abort(2, "this job is sized for at most 64 ranks");
    /// }
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    pub fn abort(&self, code: i32, message: &str) -> ! {
        eprintln!(
            "corepool cluster: rank {}: {message}; aborting the MPI job",
            self.rank
        );
        let_the_launcher_read();
        self.link.borrow().comm().abort(code)
    }

    /// Every item through `f` across the ranks, results on the root in input
    /// order, as [`Pool::map`]. Only the root reads `items` (the other ranks'
    /// are dropped unread) and sends them in chunks, encoded with postcard;
    /// each result comes back at its item as `Ok(value)` or a
    /// [`ClusterError`] (a panic, or a value that failed to encode or
    /// decode), which names the item and the rank. Lazy, with a bounded
    /// window of chunks, as the local map; see [`ClusterMap`].
    ///
    /// Every rank must call it, with the same closure, in the same order as
    /// its other maps. "The same closure" means the same closure expression
    /// (or function) in the source, not merely the same code: each map
    /// carries a signature of its source's kind (items here, an index range
    /// for [`map_range`](Cluster::map_range)), its item and result types and
    /// its closure's type, which is different for every closure expression
    /// of the program and the same on every rank (they run the same
    /// executable). The root aborts the job if a rank's differs, with a
    /// message naming that rank and both maps' call sites (this call's
    /// caller), kinds and types (write `let f = |x| ...;` once and pass `f`
    /// on every branch: the call site itself is not compared). Not checked:
    /// the values a closure captures, which function a function pointer
    /// (`fn(T) -> U`, one type for every function) points at, and which
    /// closure a `Box<dyn Fn>` or `Arc<dyn Fn>` holds (one type for all). On the root
    /// the iterator yields the results; on the other ranks its first
    /// `next()` (or its drop) serves chunks until the root says stop, and it
    /// yields nothing.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// let words = ["corepool", "mpi", "ranks"];
    /// let lengths: Vec<usize> = cluster
    ///     .map(words.map(String::from), |w: String| w.len())
    ///     .collect::<Result<_, _>>()?;
    /// if cluster.is_root() {
    ///     assert_eq!(lengths, [8, 3, 5]);
    /// }
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    #[track_caller]
    pub fn map<I, F, T>(&self, items: I, f: F) -> ClusterMap<'_, Items<I::IntoIter>, F, T>
    where
        I: IntoIterator,
        I::Item: Serialize + DeserializeOwned + Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        ClusterMap::new(self, Items::new(items), f, true, Location::caller())
    }

    /// As [`map`](Cluster::map), results in completion order.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// let mut sizes: Vec<u64> = cluster
    ///     .map_unordered(vec![3u64, 1, 2], |n| n * 10)
    ///     .collect::<Result<_, _>>()?;
    /// sizes.sort();
    /// if cluster.is_root() {
    ///     assert_eq!(sizes, [10, 20, 30]);
    /// }
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    #[track_caller]
    pub fn map_unordered<I, F, T>(&self, items: I, f: F) -> ClusterMap<'_, Items<I::IntoIter>, F, T>
    where
        I: IntoIterator,
        I::Item: Serialize + DeserializeOwned + Send + 'static,
        F: Fn(I::Item) -> T + Send + Sync + 'static,
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        ClusterMap::new(self, Items::new(items), f, false, Location::caller())
    }

    /// `f` over every value of `range`, results on the root in order. Every
    /// rank knows the range, so only the bounds of each chunk travel: the
    /// form to use for anything indexed (a slice every rank has, rows of a
    /// matrix, blocks of numbers).
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// let table = std::sync::Arc::new(vec![2u64, 3, 5, 7]);  // every rank builds it
    /// let t = table.clone();
    /// let doubled: Vec<u64> = cluster
    ///     .map_range(0..table.len() as u64, move |i| 2 * t[i as usize])
    ///     .collect::<Result<_, _>>()?;
    /// if cluster.is_root() {
    ///     assert_eq!(doubled, [4, 6, 10, 14]);
    /// }
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    #[track_caller]
    pub fn map_range<F, T>(&self, range: Range<u64>, f: F) -> ClusterMap<'_, Indices, F, T>
    where
        F: Fn(u64) -> T + Send + Sync + 'static,
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        ClusterMap::new(self, Indices::new(range), f, true, Location::caller())
    }

    /// As [`map_range`](Cluster::map_range), results in completion order.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// let total: u64 = cluster
    ///     .map_range_unordered(1..101, |x| x)
    ///     .map(|r| r.unwrap())
    ///     .sum();
    /// if cluster.is_root() {
    ///     assert_eq!(total, 5050);
    /// }
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    #[track_caller]
    pub fn map_range_unordered<F, T>(
        &self,
        range: Range<u64>,
        f: F,
    ) -> ClusterMap<'_, Indices, F, T>
    where
        F: Fn(u64) -> T + Send + Sync + 'static,
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        ClusterMap::new(self, Indices::new(range), f, false, Location::caller())
    }
}

impl Cluster {
    /// The end of the job for this rank, before MPI is finalised: every
    /// other rank sends `BYE` with the number of maps it made and waits for
    /// the root's `FIN`; the root waits for every `BYE`, then sends `FIN`.
    /// A rank that finishes while the others still make maps is caught
    /// here: the root, in a map, gets its `BYE` instead of `READY`; the
    /// root, finishing, gets a `READY` instead of `BYE`. Either way the
    /// root aborts the job naming the rank and the map. In the leader tree
    /// a finished leader catches its members' `READY`s the same way
    /// (`tree.rs`).
    ///
    /// A map still under way here was leaked (`std::mem::forget` of a
    /// started map): the other ranks are still in it and would never send
    /// `BYE`, so this stops the job naming it.
    fn goodbye(&self) {
        if let Some(site) = self.busy.get() {
            spmd_abort(&format!(
                "rank {}'s Cluster was dropped while its map #{} at {site} was still under way: \
                 the map was leaked (std::mem::forget or similar) instead of being dropped or \
                 iterated to its end, and the other ranks would wait for it forever",
                self.rank,
                self.maps.get().saturating_sub(1)
            ));
        }
        let mut link = self.link.borrow_mut();
        let made = self.maps.get();
        if !self.is_root() {
            // A leader: a member making a map this leader never makes would
            // wait for it forever. Its READY may have come during the
            // leader's last map (kept in the stash) or comes now.
            let me = self.rank;
            let ahead = |src: usize, msg: &[u8]| {
                if msg.first() == Some(&wire::READY) && src != 0 {
                    let (seq, _, site) = map::read_ready(src, msg);
                    spmd_abort(&format!(
                        "rank {src} makes map #{seq} {site}, while rank {me}, the leader of its group, \
                         finished (its Cluster was dropped) after {}: {SPMD_RULE}",
                        map::maps(made)
                    ));
                }
            };
            for (src, msg) in self.stash.borrow_mut().drain(..) {
                ahead(src, &msg);
            }
            link.send(0, wire::bye(made));
            loop {
                match link.try_recv() {
                    Some((0, msg)) if msg.first() == Some(&wire::FIN) => break,
                    Some((src, msg)) if src != 0 => {
                        ahead(src, &msg);
                        link.event();
                    }
                    // The root is in a map this rank never made (it sent
                    // STOP before this rank's READY could come): our BYE
                    // makes it abort the job.
                    Some(_) => link.event(),
                    None => {
                        if link.progress() {
                            link.event();
                        } else {
                            link.wait();
                        }
                    }
                }
            }
            link.flush();
            return;
        }
        let mut waiting: Vec<bool> = (0..self.size).map(|r| r != 0).collect();
        let mut left = self.size - 1;
        // Whether `msg` is a rank's first BYE.
        let mut on_message = |src: usize, msg: Vec<u8>| -> bool {
            match msg.first().copied() {
                Some(wire::BYE) => {
                    let theirs = wire::Header::new(&msg).u64().unwrap_or(u64::MAX);
                    if theirs != made {
                        spmd_abort(&format!(
                            "rank {src} finished after {}, the root after {}: {SPMD_RULE}",
                            map::maps(theirs),
                            map::maps(made)
                        ));
                    }
                    std::mem::take(&mut waiting[src])
                }
                Some(wire::READY) => {
                    let (seq, _, site) = map::read_ready(src, &msg);
                    spmd_abort(&format!(
                        "rank {src} makes map #{seq} {site}, while the root finished (its Cluster was \
                     dropped) after {}: {SPMD_RULE}",
                        map::maps(made)
                    ));
                }
                other => spmd_abort(&format!(
                    "protocol error: rank {src} sent an unexpected message kind {other:?} while the root finished"
                )),
            }
        };
        let early: Vec<_> = self.stash.borrow_mut().drain(..).collect();
        for (src, msg) in early {
            left -= usize::from(on_message(src, msg));
        }
        while left > 0 {
            match link.try_recv() {
                Some((src, msg)) => {
                    left -= usize::from(on_message(src, msg));
                    link.event();
                }
                None => {
                    if link.progress() {
                        link.event();
                    } else {
                        link.wait();
                    }
                }
            }
        }
        for r in 1..self.size {
            link.send(r, vec![wire::FIN]);
        }
        link.flush();
    }
}

/// This rank's share of its node and its pool (see [`Cluster::init`]).
fn build_pool(
    topology: &Topology,
    masks: &[u64],
    mine: u64,
    rank: usize,
    node_rank: usize,
    node_size: usize,
) -> Result<(NodeShare, Pool), ClusterError> {
    let env_set =
        std::env::var_os(ENV_WORKERS).is_some() || std::env::var_os(ENV_PINNING).is_some();
    let share = if env_set {
        NodeShare::Environment
    } else if masks.iter().any(|&m| m != mine) {
        NodeShare::Bound
    } else {
        share::split(&topology.physical_cpus(), node_rank, node_size)
    };
    let name = move |i: usize| format!("corepool-r{rank}-{i}");
    let pool = match &share {
        NodeShare::Environment | NodeShare::Bound => Pool::builder().thread_name(name).build()?,
        NodeShare::Cores(cores) => Pool::builder()
            .pinning(Pinning::Cpus(cores.clone()))
            .thread_name(name)
            .build()?,
        NodeShare::Oversubscribed => Pool::builder()
            .workers(1)
            .pinning(Pinning::None)
            .thread_name(name)
            .build()?,
    };
    Ok((share, pool))
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The panic hook armed by `init` aborts before any unwinding;
            // here it was replaced, or the panic was re-raised from another
            // thread. Finalising MPI now would wait for the other ranks
            // forever.
            abort_unwinding("its Cluster");
        }
        self.goodbye();
        // Pairs with the hook's Acquire load: after this, a panic on this
        // thread unwinds normally (MPI is about to be finalised).
        ARMED.store(false, Ordering::Release);
    }
}

/// Ends the whole job over an SPMD mistake (the ranks are not making the
/// same maps), after printing `message` to stderr: one rank waiting for
/// another that will never come would hang the job.
#[cold]
pub(crate) fn spmd_abort(message: &str) -> ! {
    let rank = RANK.get().copied().unwrap_or(0);
    let role = if rank == 0 {
        "root"
    } else {
        "leader of its group"
    };
    eprintln!(
        "corepool cluster: rank {rank} ({role}) stops the job: {message}; aborting the MPI job (exit code {ABORT_CODE})"
    );
    let_the_launcher_read();
    SimpleCommunicator::world().abort(ABORT_CODE)
}

/// Ends the whole job when a panic on the thread that owns the cluster
/// unwinds through `what` (a map, or the `Cluster` itself) without
/// corepool's panic hook having aborted the job first: the hook was
/// replaced (`std::panic::set_hook` after `Cluster::init`), or the panic
/// was raised on another thread and re-raised here with `resume_unwind`
/// (a pool worker's, through `install`), which runs no hook. Returning from
/// the drop would leave the other ranks, and this rank's `MPI_Finalize`,
/// waiting forever.
#[cold]
pub(crate) fn abort_unwinding(what: &str) -> ! {
    let rank = RANK.get().copied().unwrap_or(0);
    eprintln!(
        "corepool cluster: rank {rank}: a panic on the thread that owns the Cluster is unwinding \
         through {what}, and the panic hook Cluster::init installs did not abort the job at the \
         panic (it was replaced, or the panic was raised on another thread and re-raised here \
         with resume_unwind); the other ranks would wait for this one forever; aborting the MPI \
         job (exit code {ABORT_CODE})"
    );
    let_the_launcher_read();
    SimpleCommunicator::world().abort(ABORT_CODE)
}

/// Waits, at most a second, until the launcher has read what this rank
/// wrote to its stdout and stderr pipes: MPICH's launcher drops what is
/// still unread in them when `MPI_Abort` tears the job down, and with it
/// the message saying why.
fn let_the_launcher_read() {
    let deadline = Instant::now() + Duration::from_secs(1);
    for fd in [libc::STDOUT_FILENO, libc::STDERR_FILENO] {
        // SAFETY: isatty only inspects the descriptor.
        if unsafe { libc::isatty(fd) } == 1 {
            continue; // FIONREAD on a terminal counts its input
        }
        loop {
            let mut unread: libc::c_int = 0;
            // SAFETY: FIONREAD writes one c_int through the pointer, which
            // points to a live local; on a descriptor it does not apply to
            // it fails and writes nothing.
            let rc = unsafe { libc::ioctl(fd, libc::FIONREAD, &mut unread) };
            if rc != 0 || unread <= 0 || Instant::now() >= deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Installs (once per process) a panic hook that aborts the MPI job when the
/// thread that owns the cluster panics, after the usual message.
fn arm_panic_hook(rank: usize) {
    let _ = RANK.set(rank);
    if OWNER.set(std::thread::current().id()).is_ok() {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            // Pairs with the Release stores in `arm_panic_hook` and `Drop`.
            let armed = ARMED.load(Ordering::Acquire);
            if armed && OWNER.get() == Some(&std::thread::current().id()) {
                let rank = RANK.get().copied().unwrap_or(0);
                let thread = std::thread::current();
                let name = thread.name().unwrap_or("<unnamed>");
                let place = info
                    .location()
                    .map_or_else(String::new, |l| format!(" at {l}"));
                eprintln!(
                    "corepool cluster: rank {rank} panicked on thread '{name}' (the one that owns its \
                     Cluster){place}; aborting the MPI job (exit code {ABORT_CODE})"
                );
                let_the_launcher_read();
                SimpleCommunicator::world().abort(ABORT_CODE);
            }
        }));
        // SAFETY: `atexit` only records the pointer; the function is a
        // plain `extern "C"` function that lives as long as the program and
        // does not unwind (it writes with `writeln!`, ignoring errors, and
        // `MPI_Abort` does not return).
        if unsafe { libc::atexit(exit_with_cluster_alive) } != 0 {
            // Not registered (the C library's table is full): a forgotten
            // `Cluster` then ends the way the launcher makes it end.
            eprintln!(
                "corepool cluster: rank {rank}: could not register the exit check \
                 (atexit failed); a Cluster still alive at exit will not abort the job"
            );
        }
    }
    // Pairs with the hook's Acquire load: MPI is initialised before this.
    ARMED.store(true, Ordering::Release);
}

/// Registered with `atexit` by [`arm_panic_hook`]: ends the whole job when
/// this process exits while its `Cluster` is alive — leaked with
/// `std::mem::forget`, or `std::process::exit` called before it was
/// dropped. MPI is then not finalised here: under Open MPI the launcher
/// ends the job with a message about an improper exit, but under MPICH
/// the job could end with exit code 0 and without the root's remaining
/// output, or the other ranks could wait for this one in a map forever.
/// A `Cluster` dropped normally disarms it (its `Drop` stores `false`
/// in `ARMED` before `MPI_Finalize`).
extern "C" fn exit_with_cluster_alive() {
    use std::io::Write as _;
    // Pairs with the Release stores in `arm_panic_hook` and `Drop`: armed
    // means MPI is initialised and not finalised.
    if !ARMED.load(Ordering::Acquire) {
        return;
    }
    let rank = RANK.get().copied().unwrap_or(0);
    let _ = writeln!(
        std::io::stderr(),
        "corepool cluster: rank {rank} is exiting with its Cluster still alive (leaked with \
         std::mem::forget, or std::process::exit called before the Cluster was dropped), so MPI \
         is not finalised and the other ranks could wait for this one or lose its output; drop \
         the Cluster before the process exits; aborting the MPI job (exit code {ABORT_CODE})"
    );
    let_the_launcher_read();
    SimpleCommunicator::world().abort(ABORT_CODE)
}

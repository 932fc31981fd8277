//! The cluster map: the root hands out chunks of input on request and
//! yields the results in order (or as they finish); every other rank pulls
//! chunks, runs them on its pool and sends the results back.
//!
//! # The protocol, for one map
//!
//! Every rank makes the same map calls in the same order, so rank *r*'s
//! map number *k* meets the root's map number *k*. The messages are in
//! `wire.rs`; MPI keeps the messages between two ranks in order.
//!
//! This is the flat protocol, where every rank talks to the root. In the
//! leader-per-group tree (`tree.rs`, [`Cluster::group_size`]) the root
//! runs the same protocol with the group leaders as its ranks, each leader
//! runs it with its members as their root, and members run exactly the
//! rank's side below, toward their leader.
//!
//! 1. A rank starts by sending `READY` with the map's number, a signature
//!    (a hash of the source's kind, items or an index range, the item,
//!    result and closure types, and the closure's `TypeId`), its worker
//!    count, and the map's description (call site, kind and type names). The root
//!    aborts the job if the number or the signature differs from its own
//!    (the ranks are making different maps), with a message naming the rank
//!    and both maps' descriptions.
//! 2. `READY` counts as two requests, and each `DONE` as one more, so every
//!    rank has up to two chunks outstanding: while it works on one, the next
//!    is already on its way (the round trip is hidden).
//! 3. The root answers a request with a `CHUNK` when the input has more and
//!    fewer than `window` chunks are unconsumed (sent, or finished but not
//!    yet taken by the consumer); otherwise the request waits. Requests are
//!    served round-robin. The root's own pool is a rank like the others
//!    (without messages), unless `root_works(false)`.
//! 4. A rank splits a chunk into one part per worker, runs the parts on its
//!    pool (each part encodes its own results, so encoding is parallel too)
//!    and, when all parts are back, sends `DONE` with the chunk's id, the
//!    time its parts were busy and one result frame per item.
//! 5. Chunk sizes adapt per rank, like the local map's: the first chunk has
//!    one item per worker; each `DONE` gives the time per item, and the
//!    next chunk moves toward [`CHUNK_TIME`] of work per worker (at most
//!    doubling or halving per step, at most [`MAX_CLUSTER_CHUNK`] items).
//! 6. Once the input is exhausted, the root sends `STOP` to each rank that
//!    has no chunk outstanding; the rank cancels what it has not started,
//!    answers `STOP_ACK` and returns from the map. When the consumer drops
//!    the iterator early, the root sends `STOP` to every rank at once and
//!    discards whatever they still send until their `STOP_ACK`.
//! 7. The root's map ends when every rank has acknowledged `STOP` and every
//!    send has completed. Nothing of this map is left in flight, so the
//!    next map starts clean; the only message that can reach the root early
//!    is a fast rank's `READY` for the next map (or its `BYE`), which waits
//!    in the stash. (The root tells a `BYE` that ends the job from one that
//!    skips this map by the number of maps it carries: in the tree a
//!    member's `BYE` comes straight to the root and may overtake its
//!    leader's `STOP_ACK`.)
//!
//! # The end of the job
//!
//! When a rank's [`Cluster`] is dropped, it sends `BYE` with the number of
//! maps it made and waits for the root's `FIN`; the root, when its own is
//! dropped, waits for every `BYE`, then sends `FIN` to all. A rank that
//! finishes while the others make maps is caught on the root either way:
//! in a map, it gets that rank's `BYE` where a `READY` should be; finished,
//! it gets a `READY` where a `BYE` should be. It aborts the job, naming the
//! rank and the map (call site, types).
//!
//! # Faults
//!
//! A panic in the closure is caught per item; the item's result frame
//! carries the message, and the chunk goes on. An item or result that fails
//! to encode or decode is a frame of its own kind. All of them come out of
//! the root's iterator at their item as a [`ClusterError`] naming the item
//! and the rank, and every rank ends the map normally. A rank that dies is
//! the launcher's business: Open MPI's and MPICH's launchers end the whole
//! job with a non-zero exit when one rank exits without finalising MPI.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::panic::Location;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crossbeam_channel::{Receiver, Sender};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ClusterError;
use super::handle::{Cluster, spmd_abort};
use super::source::{self, Batch, EncodedPart, LocalPart, PartInput, Source, sealed::Sealed};
use super::tree;
use super::wire::{self, Frames, Header, Link};
use crate::Task;

/// How much work a chunk should hold, per worker of the rank that runs it:
/// long enough that the root's cost per chunk (a few microseconds) and the
/// round trip vanish, short enough that the ranks finish together.
pub const CHUNK_TIME: Duration = Duration::from_millis(10);

/// The largest automatic chunk, in items.
pub const MAX_CLUSTER_CHUNK: usize = 1 << 20;

/// Requests a rank has outstanding: the chunk it works on and the next.
const PREFETCH: usize = 2;

/// Results of a cluster map ([`Cluster::map`] and friends): on the root,
/// one `Result` per item, in input order (or completion order for the
/// `_unordered` forms); on the other ranks nothing (their first `next()`
/// serves chunks until the root is done).
///
/// Lazy: nothing happens before the first `next()`. At most `window` chunks
/// are in flight or waiting to be consumed, so an endless input maps in
/// bounded memory. Dropping the iterator on the root stops the map on every
/// rank (chunks not started are cancelled); dropping it on another rank
/// before iterating serves the map to its end first, since the root counts
/// on every rank.
///
/// ```
/// # let cluster = corepool::cluster::Cluster::init()?;
/// let map = cluster
///     .map_range(0..1_000_000, |x| x % 7)
///     .chunk_size(4096)          // fixed instead of adaptive
///     .window(16)                // chunks in flight or unconsumed
///     .root_works(false);        // the root only feeds the others
/// let sevens = map.filter(|r| matches!(r, Ok(0))).count();
/// if cluster.is_root() {
///     assert_eq!(sevens, 142_858);
/// }
/// # Ok::<(), corepool::cluster::ClusterError>(())
/// ```
///
/// # Panics
///
/// `next()` panics (and so aborts the job, see [`Cluster`]) if another map
/// of the same cluster is under way, or if the ranks are not running the
/// same maps in the same order.
///
/// [`Cluster::map`]: super::Cluster::map
#[must_use = "iterators are lazy; every rank must iterate or drop its map"]
pub struct ClusterMap<'c, S, F, T>
where
    S: Source,
    F: Fn(<S as Sealed>::Item) -> T + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + 'static,
{
    cluster: &'c Cluster,
    source: Option<S>,
    f: Arc<F>,
    /// Where the map was made (`Cluster::map` and friends track their caller).
    site: &'static Location<'static>,
    ordered: bool,
    fixed: Option<usize>,
    window: Option<usize>,
    root_works: bool,
    state: State<S, F, T>,
}

enum State<S: Source, F, T> {
    /// Not started.
    Idle,
    /// The root's run, under way.
    Root(Box<RootRun<S, F, T>>),
    /// This rank's part of the map is over.
    Done,
}

impl<S, F, T> std::fmt::Debug for ClusterMap<'_, S, F, T>
where
    S: Source,
    F: Fn(<S as Sealed>::Item) -> T + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Idle => "not started",
            State::Root(_) => "running",
            State::Done => "done",
        };
        f.debug_struct("ClusterMap")
            .field("rank", &self.cluster.rank())
            .field("ordered", &self.ordered)
            .field("state", &state)
            .finish_non_exhaustive()
    }
}

impl<'c, S, F, T> ClusterMap<'c, S, F, T>
where
    S: Source,
    F: Fn(<S as Sealed>::Item) -> T + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + 'static,
{
    pub(crate) fn new(
        cluster: &'c Cluster,
        source: S,
        f: F,
        ordered: bool,
        site: &'static Location<'static>,
    ) -> Self {
        ClusterMap {
            cluster,
            source: Some(source),
            f: Arc::new(f),
            site,
            ordered,
            fixed: None,
            window: None,
            root_works: true,
            state: State::Idle,
        }
    }

    /// Fixes the number of items per chunk instead of adapting it (the root
    /// decides; on other ranks this does nothing). In the leader tree a
    /// chunk goes to a group, whose leader shares it among its ranks.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// let n = cluster.map_range(0..10, |x| x).chunk_size(3).count();
    /// assert_eq!(n, if cluster.is_root() { 10 } else { 0 });
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    ///
    /// At most [`MAX_CLUSTER_CHUNK`] items, the adaptive size's limit:
    /// a larger value is clamped to it (a chunk's length travels as a
    /// `u32`, and the root holds a chunk's results together).
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// let n = cluster.map_range(0..10, |x| x).chunk_size(usize::MAX).count();
    /// assert_eq!(n, if cluster.is_root() { 10 } else { 0 });
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If `items` is 0, as the local map's `chunk_size`.
    pub fn chunk_size(mut self, items: usize) -> Self {
        assert!(items > 0, "chunk_size must be positive");
        self.fixed = Some(items.min(MAX_CLUSTER_CHUNK));
        self
    }

    /// How many chunks may be in flight or finished but unconsumed at once
    /// (default: four per rank the root feeds: every rank when flat, the
    /// root and the group leaders in the tree, where a chunk is a whole
    /// group's). A window under two per rank leaves ranks waiting.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// let n = cluster.map_range(0..10, |x| x).window(2).count();
    /// assert_eq!(n, if cluster.is_root() { 10 } else { 0 });
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If `chunks` is 0.
    pub fn window(mut self, chunks: usize) -> Self {
        assert!(chunks > 0, "window must be positive");
        self.window = Some(chunks);
        self
    }

    /// Whether the root's own pool runs chunks too (default `true`). With
    /// many ranks, a root that only feeds answers faster. A job of one rank
    /// always works.
    ///
    /// ```
    /// # let cluster = corepool::cluster::Cluster::init()?;
    /// let n = cluster.map_range(0..10, |x| x).root_works(false).count();
    /// assert_eq!(n, if cluster.is_root() { 10 } else { 0 });
    /// # Ok::<(), corepool::cluster::ClusterError>(())
    /// ```
    pub fn root_works(mut self, works: bool) -> Self {
        self.root_works = works;
        self
    }

    /// Claims the cluster for this map and numbers it.
    fn begin(&self) -> u64 {
        assert!(
            self.cluster.busy.replace(Some(self.site)).is_none(),
            "corepool cluster: another map of this cluster is under way; run one map at a time"
        );
        let seq = self.cluster.maps.get();
        self.cluster.maps.set(seq + 1);
        seq
    }

    fn end(&self) {
        self.cluster.busy.set(None);
    }

    /// The root's run, started.
    fn start_root(&mut self, cancelling: bool) {
        let seq = self.begin();
        let source = self.source.take().expect("a map starts once");
        let mut run = RootRun::new(
            self.cluster,
            source,
            self.f.clone(),
            seq,
            MapSite::of::<S, F, T>(self.site),
            self.ordered,
            self.fixed,
            self.window,
            self.root_works,
        );
        if cancelling {
            run.cancel();
        }
        self.state = State::Root(Box::new(run));
    }

    /// A rank's whole part of the map.
    fn serve(&mut self) {
        let seq = self.begin();
        self.source = None;
        let site = MapSite::of::<S, F, T>(self.site);
        if self.cluster.layout.is_leader(self.cluster.rank()) {
            tree::lead::<S, F, T>(self.cluster, &self.f, seq, &site);
        } else {
            serve::<S, F, T>(self.cluster, &self.f, seq, &site);
        }
        self.end();
        self.state = State::Done;
    }
}

impl<S, F, T> Iterator for ClusterMap<'_, S, F, T>
where
    S: Source,
    F: Fn(<S as Sealed>::Item) -> T + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + 'static,
{
    type Item = Result<T, ClusterError>;

    fn next(&mut self) -> Option<Self::Item> {
        if matches!(self.state, State::Idle) {
            if self.cluster.is_root() {
                self.start_root(false);
            } else {
                self.serve();
            }
        }
        let State::Root(run) = &mut self.state else {
            return None;
        };
        match run.next(self.cluster) {
            Some(item) => Some(item),
            None => {
                self.state = State::Done;
                self.end();
                None
            }
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.state {
            State::Idle if self.cluster.is_root() => {
                self.source.as_ref().map_or((0, Some(0)), |s| s.remaining())
            }
            State::Root(run) => run.size_hint(),
            State::Idle | State::Done => (0, Some(0)),
        }
    }
}

impl<S, F, T> Drop for ClusterMap<'_, S, F, T>
where
    S: Source,
    F: Fn(<S as Sealed>::Item) -> T + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + 'static,
{
    fn drop(&mut self) {
        if std::thread::panicking() {
            // The panic hook armed by `Cluster::init` aborts the job before
            // unwinding begins; unwinding here means it was replaced (or the
            // panic was re-raised here from another thread), and
            // the other ranks would wait in this map forever.
            super::handle::abort_unwinding("a cluster map");
        }
        if matches!(self.state, State::Idle) {
            // Every rank takes part in every map, iterated or not.
            if self.cluster.is_root() {
                self.start_root(true);
            } else {
                self.serve();
            }
        }
        if let State::Root(run) = &mut self.state {
            run.cancel();
            run.finish(self.cluster);
            self.state = State::Done;
            self.end();
        }
    }
}

/// What a map is, for catching and reporting SPMD mistakes: its signature
/// (a hash of its source's kind, the item, result and closure type names,
/// and the closure's `TypeId`, which ranks compare) and, for the message
/// when they differ, where it was made, the kind and the type names.
///
/// The closure's type name is not enough: every closure of one function has
/// the same one (`main::{{closure}}`); its `TypeId` is different for every
/// closure expression of the program, and the same on every rank since they
/// run the same executable. The call site is not compared: the same closure
/// passed from two branches is the same map. Not checked: the values a
/// closure captures, which function a function pointer (`fn(u64) -> u64`,
/// one type for all of them) points at, and which closure a `Box<dyn Fn>`
/// holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MapSite {
    pub(crate) sig: u64,
    pub(crate) file: Cow<'static, str>,
    pub(crate) line: u32,
    pub(crate) column: u32,
    /// The source's kind: `items` or `index range`.
    pub(crate) source: Cow<'static, str>,
    pub(crate) item: Cow<'static, str>,
    pub(crate) result: Cow<'static, str>,
    pub(crate) closure: Cow<'static, str>,
}

impl MapSite {
    /// This rank's map, made at `site`.
    fn of<S: Sealed, F: 'static, T>(site: &'static Location<'static>) -> MapSite {
        use std::hash::{Hash, Hasher};
        let (source, item, result, closure) = (
            S::KIND,
            std::any::type_name::<S::Item>(),
            std::any::type_name::<T>(),
            std::any::type_name::<F>(),
        );
        let mut h = 0xcbf2_9ce4_8422_2325u64;
        for name in [source, item, result, closure] {
            for b in name.bytes().chain([0]) {
                h ^= u64::from(b);
                h = h.wrapping_mul(0x0000_0100_0000_01b3);
            }
        }
        // Tells apart the closures of one function, whose type names are
        // the same. `DefaultHasher::new` has fixed keys: the same value on
        // every rank of one executable.
        let mut id = std::hash::DefaultHasher::new();
        std::any::TypeId::of::<F>().hash(&mut id);
        MapSite {
            sig: h ^ id.finish(),
            file: Cow::Borrowed(site.file()),
            line: site.line(),
            column: site.column(),
            source: Cow::Borrowed(source),
            item: Cow::Borrowed(item),
            result: Cow::Borrowed(result),
            closure: Cow::Borrowed(closure),
        }
    }

    /// Appends the description (not the signature) to a `READY` message.
    pub(crate) fn encode(&self, out: &mut Vec<u8>) {
        wire::put_str(out, &self.file);
        out.extend_from_slice(&self.line.to_le_bytes());
        out.extend_from_slice(&self.column.to_le_bytes());
        wire::put_str(out, &self.source);
        wire::put_str(out, &self.item);
        wire::put_str(out, &self.result);
        wire::put_str(out, &self.closure);
    }

    /// Reads the description that follows a `READY` message's fixed fields.
    fn decode(sig: u64, h: &mut Header<'_>) -> Option<MapSite> {
        Some(MapSite {
            sig,
            file: Cow::Owned(h.str()?),
            line: h.u32()?,
            column: h.u32()?,
            source: Cow::Owned(h.str()?),
            item: Cow::Owned(h.str()?),
            result: Cow::Owned(h.str()?),
            closure: Cow::Owned(h.str()?),
        })
    }
}

impl std::fmt::Display for MapSite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "at {}:{}:{} ({}, item {}, result {}, closure {})",
            self.file, self.line, self.column, self.source, self.item, self.result, self.closure
        )
    }
}

/// What a `READY` message says: the map's number and what it is.
pub(crate) fn read_ready(src: usize, msg: &[u8]) -> (u64, u32, MapSite) {
    let mut h = Header::new(msg);
    let (Some(seq), Some(sig), Some(workers)) = (h.u64(), h.u64(), h.u32()) else {
        protocol_error(src, "a READY message without its header");
    };
    let Some(site) = MapSite::decode(sig, &mut h) else {
        protocol_error(src, "a READY message without its map's description");
    };
    (seq, workers, site)
}

/// Reads rank `src`'s `READY` for the map `seq` at `site`, made by `here`
/// ("the root", "rank 3, the leader of its group"), and returns its worker
/// count; a `READY` for another map ends the job naming both (step 1).
pub(crate) fn read_matching_ready(
    src: usize,
    msg: &[u8],
    seq: u64,
    site: &MapSite,
    here: &str,
) -> u32 {
    let (their_seq, workers, their_site) = read_ready(src, msg);
    if their_seq != seq || their_site.sig != site.sig {
        spmd_abort(&format!(
            "the ranks make different maps: rank {src} makes map #{their_seq} {their_site}, while {here} \
             makes map #{seq} {site}: {SPMD_RULE}"
        ));
    }
    workers
}

/// How every SPMD message ends.
pub(crate) const SPMD_RULE: &str =
    "every rank must make the same map calls, with the same closures, in the same order";

/// `n maps`, `1 map`.
pub(crate) fn maps(n: u64) -> String {
    format!("{n} map{}", if n == 1 { "" } else { "s" })
}

// ---------------------------------------------------------------------------
// The root.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PeerState {
    /// Its `READY` has not arrived.
    Waiting,
    /// Requesting and running chunks.
    Active,
    /// `STOP` sent; waiting for `STOP_ACK`.
    Stopping,
    /// Done with this map.
    Stopped,
    /// A member of a group: it talks to its leader, not to the root.
    Elsewhere,
}

#[derive(Debug)]
struct Peer {
    state: PeerState,
    workers: usize,
    /// Requests not yet answered.
    wants: usize,
    /// Chunks sent and not yet back.
    outstanding: usize,
    /// The next chunk's size, in items.
    next_size: usize,
    /// The fewest items an adaptive chunk has: 1, or a group leader's
    /// ranks (its own and its members'), so that each rank of the group
    /// gets an item of every chunk. (With 1 a leader's chunks of slow items
    /// shrank to one item, and its two chunks outstanding kept two ranks of
    /// the group busy and the others idle.)
    least: usize,
}

impl Peer {
    /// Learns from a chunk of `len` items whose parts were busy `busy_ns`.
    fn learn(&mut self, len: usize, busy_ns: u64) {
        if len == 0 {
            return;
        }
        let per_item = (u128::from(busy_ns) / len as u128).max(1);
        let target = CHUNK_TIME.as_nanos() * self.workers as u128;
        let least = self.least.clamp(1, MAX_CLUSTER_CHUNK) as u128;
        let ideal = (target / per_item).clamp(least, MAX_CLUSTER_CHUNK as u128) as usize;
        self.next_size = if ideal > self.next_size {
            ideal.min(self.next_size * 2)
        } else {
            ideal.max(self.next_size / 2).max(1)
        };
    }
}

enum ChunkState<T> {
    /// On the root's pool: one slot per part.
    Local {
        parts: Vec<Option<Vec<Result<T, ClusterError>>>>,
        left: usize,
        busy_ns: u64,
        tasks: Vec<Task<()>>,
    },
    /// Sent to a rank.
    Remote,
    /// The root's results.
    LocalDone(Vec<Result<T, ClusterError>>),
    /// A rank's `DONE` (or a leader's `GROUP_DONE`) message: its result
    /// frames start at byte `at`, and `runs` say which rank ran how many
    /// of its items, in order.
    RemoteDone {
        msg: Vec<u8>,
        at: usize,
        runs: Vec<(usize, usize)>,
    },
}

struct Chunk<T> {
    start: u64,
    len: usize,
    rank: usize,
    state: ChunkState<T>,
}

impl<T> Chunk<T> {
    fn finished(&self) -> bool {
        matches!(
            self.state,
            ChunkState::LocalDone(_) | ChunkState::RemoteDone { .. }
        )
    }
}

/// The chunk being yielded.
enum Current<T> {
    Empty,
    Local(std::vec::IntoIter<Result<T, ClusterError>>),
    Remote {
        msg: Vec<u8>,
        pos: usize,
        left: usize,
        index: u64,
        /// (rank, items) runs, the current one first, reversed.
        runs: Vec<(usize, usize)>,
    },
}

impl<T: DeserializeOwned> Current<T> {
    fn next(&mut self) -> Option<Result<T, ClusterError>> {
        match self {
            Current::Empty => None,
            Current::Local(it) => it.next(),
            Current::Remote {
                msg,
                pos,
                left,
                index,
                runs,
            } => {
                if *left == 0 {
                    return None;
                }
                while runs.last().is_some_and(|&(_, n)| n == 0) {
                    runs.pop();
                }
                let rank = match runs.last_mut() {
                    Some((rank, n)) => {
                        *n -= 1;
                        *rank
                    }
                    None => 0,
                };
                let mut frames = Frames::new(&msg[*pos..]);
                let frame = frames.next();
                *pos += frames.position();
                let out = source::decode_result(frame, *index, rank);
                *left -= 1;
                *index += 1;
                Some(out)
            }
        }
    }

    fn len(&self) -> usize {
        match self {
            Current::Empty => 0,
            Current::Local(it) => it.len(),
            Current::Remote { left, .. } => *left,
        }
    }
}

/// A finished part of the root's own chunk: (chunk id, part, results).
type LocalDoneMsg<T> = (u64, usize, LocalPart<T>);

struct RootRun<S: Source, F, T> {
    source: S,
    f: Arc<F>,
    seq: u64,
    site: MapSite,
    ordered: bool,
    fixed: Option<usize>,
    window: usize,
    peers: Vec<Peer>,
    chunks: BTreeMap<u64, Chunk<T>>,
    /// Finished chunks in completion order (unordered maps).
    ready: VecDeque<u64>,
    next_chunk: u64,
    next_index: u64,
    exhausted: bool,
    cancelling: bool,
    /// Round-robin cursor over the peers.
    turn: usize,
    current: Current<T>,
    tx: Sender<LocalDoneMsg<T>>,
    rx: Receiver<LocalDoneMsg<T>>,
}

impl<S, F, T> RootRun<S, F, T>
where
    S: Source,
    F: Fn(<S as Sealed>::Item) -> T + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + 'static,
{
    #[allow(clippy::too_many_arguments)]
    fn new(
        cluster: &Cluster,
        source: S,
        f: Arc<F>,
        seq: u64,
        site: MapSite,
        ordered: bool,
        fixed: Option<usize>,
        window: Option<usize>,
        root_works: bool,
    ) -> Self {
        let size = cluster.size();
        let layout = cluster.layout;
        let peers: Vec<Peer> = (0..size)
            .map(|r| {
                let me = r == 0;
                let works = root_works || size == 1;
                Peer {
                    state: match (me, works) {
                        (true, true) => PeerState::Active,
                        (true, false) => PeerState::Stopped,
                        (false, _) if layout.is_root_peer(r) => PeerState::Waiting,
                        (false, _) => PeerState::Elsewhere,
                    },
                    workers: if me { cluster.pool().workers() } else { 1 },
                    wants: if me && works { PREFETCH } else { 0 },
                    outstanding: 0,
                    next_size: fixed.unwrap_or(if me { cluster.pool().workers() } else { 1 }),
                    least: if layout.is_leader(r) {
                        layout.members(r).len() + 1
                    } else {
                        1
                    },
                }
            })
            .collect();
        let (tx, rx) = crossbeam_channel::unbounded();
        let mut run = RootRun {
            source,
            f,
            seq,
            site,
            ordered,
            fixed,
            // Four per rank the root feeds (leaders' chunks are their
            // groups' size).
            window: window
                .unwrap_or(
                    4 * peers
                        .iter()
                        .filter(|p| p.state != PeerState::Elsewhere)
                        .count(),
                )
                .max(1),
            peers,
            chunks: BTreeMap::new(),
            ready: VecDeque::new(),
            next_chunk: 0,
            next_index: 0,
            exhausted: false,
            cancelling: false,
            turn: 0,
            current: Current::Empty,
            tx,
            rx,
        };
        // Messages of this map that arrived during the previous one.
        let early: Vec<_> = cluster.stash.borrow_mut().drain(..).collect();
        let mut link = cluster.link.borrow_mut();
        for (src, msg) in early {
            run.on_message(cluster, &mut link, src, msg);
        }
        run
    }

    /// The next result, driving the protocol until one is ready; `None` once
    /// the map has ended on every rank.
    fn next(&mut self, cluster: &Cluster) -> Option<Result<T, ClusterError>> {
        loop {
            if let Some(item) = self.current.next() {
                return Some(item);
            }
            if let Some(chunk) = self.take_finished() {
                self.current = match chunk.state {
                    ChunkState::LocalDone(outcomes) => Current::Local(outcomes.into_iter()),
                    ChunkState::RemoteDone { msg, at, mut runs } => {
                        runs.reverse();
                        Current::Remote {
                            msg,
                            pos: at,
                            left: chunk.len,
                            index: chunk.start,
                            runs,
                        }
                    }
                    ChunkState::Local { .. } | ChunkState::Remote => Current::Empty,
                };
                continue;
            }
            if self.chunks.is_empty() && self.exhausted && self.all_stopped() {
                cluster.link.borrow_mut().flush();
                return None;
            }
            self.step(cluster);
        }
    }

    /// One round of the protocol, or one pause if nothing happened.
    fn step(&mut self, cluster: &Cluster) {
        let mut link = cluster.link.borrow_mut();
        let start = Instant::now();
        if self.pump(cluster, &mut link) {
            link.stats.busy += start.elapsed();
            link.event();
        } else {
            link.wait();
        }
    }

    /// Stops the map: no more chunks go out, `STOP` goes to every rank,
    /// and the root's own chunks not yet started are cancelled.
    fn cancel(&mut self) {
        self.cancelling = true;
        for chunk in self.chunks.values() {
            if let ChunkState::Local { tasks, .. } = &chunk.state {
                for task in tasks {
                    task.cancel();
                }
            }
        }
    }

    /// Drives the protocol until every rank has stopped (after `cancel`).
    fn finish(&mut self, cluster: &Cluster) {
        while !self.all_stopped() {
            self.step(cluster);
        }
        cluster.link.borrow_mut().flush();
    }

    fn all_stopped(&self) -> bool {
        self.peers.iter().enumerate().all(|(r, p)| {
            matches!(p.state, PeerState::Stopped | PeerState::Elsewhere)
                || (r == 0 && self.cancelling)
        })
    }

    /// The next chunk the consumer may take, removed from the table.
    fn take_finished(&mut self) -> Option<Chunk<T>> {
        let id = if self.ordered {
            let (&id, chunk) = self.chunks.first_key_value()?;
            if !chunk.finished() {
                return None;
            }
            id
        } else {
            self.ready.pop_front()?
        };
        self.chunks.remove(&id)
    }

    /// Handles every event that is waiting; true if there was any.
    fn pump(&mut self, cluster: &Cluster, link: &mut Link) -> bool {
        let mut any = false;
        while let Ok(done) = self.rx.try_recv() {
            self.local_done(done);
            any = true;
        }
        while let Some((src, msg)) = link.try_recv() {
            self.on_message(cluster, link, src, msg);
            any = true;
        }
        any |= self.assign(cluster, link);
        any |= self.send_stops(link);
        any |= link.progress();
        any
    }

    /// A part of the root's own chunk finished.
    fn local_done(&mut self, (id, part, out): LocalDoneMsg<T>) {
        let Some(chunk) = self.chunks.get_mut(&id) else {
            return; // cancelled
        };
        let ChunkState::Local {
            parts,
            left,
            busy_ns,
            ..
        } = &mut chunk.state
        else {
            return;
        };
        parts[part] = Some(out.outcomes);
        *busy_ns += out.busy_ns;
        *left -= 1;
        if *left > 0 {
            return;
        }
        let busy = *busy_ns;
        let outcomes: Vec<_> = parts.drain(..).flatten().flatten().collect();
        chunk.state = ChunkState::LocalDone(outcomes);
        let len = chunk.len;
        let me = &mut self.peers[0];
        me.outstanding -= 1;
        me.wants += 1;
        if self.fixed.is_none() {
            me.learn(len, busy);
        }
        if self.exhausted && me.outstanding == 0 {
            me.state = PeerState::Stopped;
        }
        if !self.ordered {
            self.ready.push_back(id);
        }
    }

    /// A message from rank `src`.
    fn on_message(&mut self, cluster: &Cluster, link: &mut Link, src: usize, msg: Vec<u8>) {
        let _ = link;
        let mut h = Header::new(&msg);
        if msg.first() == Some(&wire::BYE) {
            // Every rank, member of a group or not, says BYE to the root.
            // One that made this map (its count is past it) is finishing
            // the job: keep it for the end. (A member's BYE can overtake
            // its leader's STOP_ACK, so only the count can tell.)
            let made = h.u64().unwrap_or(0);
            if made > self.seq {
                cluster.stash.borrow_mut().push_back((src, msg));
                return;
            }
            spmd_abort(&format!(
                "rank {src} finished (its Cluster was dropped) after {}, while the root makes map #{} {}: \
                 {SPMD_RULE}",
                maps(made),
                self.seq,
                self.site
            ));
        }
        let Some(peer) = self.peers.get_mut(src) else {
            protocol_error(src, "a message from a rank outside the job");
        };
        if peer.state == PeerState::Elsewhere {
            protocol_error(src, "the root a map message meant for its group's leader");
        }
        if peer.state == PeerState::Stopped {
            // Only a rank's READY for the next map can come after its
            // STOP_ACK: keep it for that map.
            cluster.stash.borrow_mut().push_back((src, msg));
            return;
        }
        match msg.first().copied() {
            Some(wire::READY) => {
                let workers = read_matching_ready(src, &msg, self.seq, &self.site, "the root");
                if peer.state == PeerState::Waiting {
                    let workers = (workers as usize).max(1);
                    peer.state = PeerState::Active;
                    peer.workers = workers;
                    peer.wants = PREFETCH;
                    peer.next_size = self.fixed.unwrap_or(workers);
                }
            }
            Some(kind @ (wire::DONE | wire::GROUP_DONE)) => {
                if peer.state == PeerState::Stopping {
                    return; // results of a cancelled map
                }
                let (Some(id), Some(busy)) = (h.u64(), h.u64()) else {
                    protocol_error(src, "a DONE message without its header");
                };
                let Some(chunk) = self.chunks.get_mut(&id).filter(|c| c.rank == src) else {
                    protocol_error(src, &format!("DONE for chunk {id}, which it was not given"));
                };
                let runs = if kind == wire::DONE {
                    vec![(src, chunk.len)]
                } else {
                    read_runs(cluster, src, &mut h, chunk.len)
                };
                let at = msg.len() - h.rest().len();
                chunk.state = ChunkState::RemoteDone { msg, at, runs };
                let len = chunk.len;
                peer.outstanding -= 1;
                peer.wants += 1;
                if self.fixed.is_none() {
                    peer.learn(len, busy);
                }
                if !self.ordered {
                    self.ready.push_back(id);
                }
            }
            Some(wire::STOP_ACK) => peer.state = PeerState::Stopped,
            other => protocol_error(src, &format!("an unknown message kind {other:?}")),
        }
    }

    /// Answers waiting requests with chunks while the window allows; true if
    /// any chunk went out.
    fn assign(&mut self, cluster: &Cluster, link: &mut Link) -> bool {
        let mut any = false;
        let n = self.peers.len();
        while !self.exhausted && !self.cancelling && self.chunks.len() < self.window {
            let Some(r) = (0..n)
                .map(|k| (self.turn + k) % n)
                .find(|&r| self.peers[r].state == PeerState::Active && self.peers[r].wants > 0)
            else {
                break;
            };
            self.turn = (r + 1) % n;
            let size = self.fixed.unwrap_or(self.peers[r].next_size).max(1);
            let Some(batch) = self.source.take(size) else {
                self.exhausted = true;
                break;
            };
            let (id, start, len) = (self.next_chunk, self.next_index, batch.len());
            self.next_chunk += 1;
            self.next_index += len as u64;
            let state = if r == 0 {
                self.run_locally(cluster, id, start, batch)
            } else {
                // `len` is at most MAX_CLUSTER_CHUNK (`chunk_size` clamps).
                let wire_len =
                    u32::try_from(len).expect("a chunk holds at most MAX_CLUSTER_CHUNK items");
                let mut msg = wire::chunk_header(id, start, wire_len, batch.body_hint());
                batch.encode(&mut msg);
                link.send(r, msg);
                ChunkState::Remote
            };
            self.chunks.insert(
                id,
                Chunk {
                    start,
                    len,
                    rank: r,
                    state,
                },
            );
            let peer = &mut self.peers[r];
            peer.wants -= 1;
            peer.outstanding += 1;
            any = true;
        }
        if self.exhausted
            && self.peers[0].state == PeerState::Active
            && self.peers[0].outstanding == 0
        {
            self.peers[0].state = PeerState::Stopped;
        }
        any
    }

    /// Runs a chunk on the root's pool, one part per worker.
    fn run_locally(
        &self,
        cluster: &Cluster,
        id: u64,
        start: u64,
        batch: Batch<<S as Sealed>::Item>,
    ) -> ChunkState<T> {
        let parts = batch.split(cluster.pool().workers());
        let mut first = start;
        let tasks: Vec<Task<()>> = parts
            .into_iter()
            .enumerate()
            .map(|(p, input)| {
                let (f, tx, at) = (self.f.clone(), self.tx.clone(), first);
                let owner = std::thread::current();
                first += part_len(&input) as u64;
                cluster.pool().submit(move || {
                    let out = source::run_local::<S, F, T>(&*f, input, at);
                    let _ = tx.send((id, p, out));
                    owner.unpark();
                })
            })
            .collect();
        ChunkState::Local {
            parts: (0..tasks.len()).map(|_| None).collect(),
            left: tasks.len(),
            busy_ns: 0,
            tasks,
        }
    }

    /// Sends `STOP` to every rank that is done (or to all when cancelling);
    /// true if any went out.
    fn send_stops(&mut self, link: &mut Link) -> bool {
        if !self.exhausted && !self.cancelling {
            return false;
        }
        let mut any = false;
        for (r, peer) in self.peers.iter_mut().enumerate().skip(1) {
            let idle = peer.outstanding == 0 && peer.state != PeerState::Waiting;
            let due = matches!(peer.state, PeerState::Waiting | PeerState::Active)
                && (self.cancelling
                    || idle
                    || (peer.state == PeerState::Waiting && self.exhausted));
            if due {
                link.send(r, vec![wire::STOP]);
                peer.state = PeerState::Stopping;
                any = true;
            }
        }
        any
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let here: usize = self.current.len() + self.chunks.values().map(|c| c.len).sum::<usize>();
        let (lo, hi) = self.source.remaining();
        (
            here.saturating_add(lo),
            hi.and_then(|hi| hi.checked_add(here)),
        )
    }
}

/// The runs of a leader's `GROUP_DONE` for a chunk of `len` items: each
/// rank in `src`'s group, and they cover the chunk.
fn read_runs(cluster: &Cluster, src: usize, h: &mut Header<'_>, len: usize) -> Vec<(usize, usize)> {
    let group = cluster.layout.members(src);
    let mut runs = Vec::new();
    let mut total = 0usize;
    for _ in 0..h.u32().unwrap_or(0) {
        let (Some(rank), Some(count)) = (h.u32(), h.u32()) else {
            protocol_error(src, "a GROUP_DONE message cut short in its runs");
        };
        let (rank, count) = (rank as usize, count as usize);
        if rank != src && !group.contains(&rank) {
            protocol_error(
                src,
                &format!("a GROUP_DONE naming rank {rank}, not of its group"),
            );
        }
        total += count;
        runs.push((rank, count));
    }
    if total != len {
        protocol_error(
            src,
            &format!("a GROUP_DONE whose runs cover {total} items of a chunk of {len}"),
        );
    }
    runs
}

fn part_len<X>(input: &PartInput<X>) -> usize {
    match input {
        PartInput::Local(items) => items.len(),
        PartInput::Range(r) => (r.end - r.start) as usize,
        PartInput::Frames { count, .. } => *count,
    }
}

#[cold]
pub(crate) fn protocol_error(src: usize, what: &str) -> ! {
    panic!("corepool cluster: protocol error: rank {src} sent {what}")
}

// ---------------------------------------------------------------------------
// A rank other than the root.

/// A chunk on this rank's pool.
struct RankChunk {
    parts: Vec<Option<Vec<u8>>>,
    left: usize,
    busy_ns: u64,
    tasks: Vec<Task<()>>,
}

/// The chunks a rank other than the root runs on its own pool, one part per
/// worker, each part encoding its own results: a member's chunks, and a
/// leader's own pieces (`tree.rs`).
pub(crate) struct LocalChunks {
    workers: usize,
    chunks: HashMap<u64, RankChunk>,
    tx: Sender<(u64, usize, EncodedPart)>,
    rx: Receiver<(u64, usize, EncodedPart)>,
}

impl LocalChunks {
    pub(crate) fn new(cluster: &Cluster) -> LocalChunks {
        let (tx, rx) = crossbeam_channel::unbounded();
        LocalChunks {
            workers: cluster.pool().workers(),
            chunks: HashMap::new(),
            tx,
            rx,
        }
    }

    /// Starts chunk `id`, the `len` items of a `CHUNK` message's `body`.
    pub(crate) fn start<S, F, T>(
        &mut self,
        cluster: &Cluster,
        f: &Arc<F>,
        id: u64,
        body: &[u8],
        len: usize,
    ) where
        S: Source,
        F: Fn(<S as Sealed>::Item) -> T + Send + Sync + 'static,
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        let is_range = S::from_value(0).is_some();
        let parts =
            PartInput::<<S as Sealed>::Item>::split_message(body, len, self.workers, is_range);
        let tasks: Vec<Task<()>> = parts
            .into_iter()
            .enumerate()
            .map(|(p, input)| {
                let (f, tx, owner) = (f.clone(), self.tx.clone(), std::thread::current());
                cluster.pool().submit(move || {
                    let out = source::run_encoded::<S, F, T>(&*f, input);
                    let _ = tx.send((id, p, out));
                    owner.unpark();
                })
            })
            .collect();
        self.chunks.insert(
            id,
            RankChunk {
                parts: (0..tasks.len()).map(|_| None).collect(),
                left: tasks.len(),
                busy_ns: 0,
                tasks,
            },
        );
    }

    /// A chunk whose parts are all back: its id, its result frames in
    /// order, and the time its parts were busy.
    pub(crate) fn poll(&mut self) -> Option<(u64, Vec<u8>, u64)> {
        while let Ok((id, p, out)) = self.rx.try_recv() {
            let Some(chunk) = self.chunks.get_mut(&id) else {
                continue; // cancelled
            };
            chunk.parts[p] = Some(out.frames);
            chunk.busy_ns += out.busy_ns;
            chunk.left -= 1;
            if chunk.left == 0 {
                let chunk = self.chunks.remove(&id).expect("present above");
                let frames = chunk
                    .parts
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .concat();
                return Some((id, frames, chunk.busy_ns));
            }
        }
        None
    }

    /// Cancels every part not started and forgets every chunk.
    pub(crate) fn cancel_all(&mut self) {
        for chunk in self.chunks.values() {
            for task in &chunk.tasks {
                task.cancel();
            }
        }
        self.chunks.clear();
    }
}

/// This rank's part of map number `seq`: pull chunks from its parent (the
/// root, or its group's leader), run them, send the results, until the
/// parent says stop.
fn serve<S, F, T>(cluster: &Cluster, f: &Arc<F>, seq: u64, site: &MapSite)
where
    S: Source,
    F: Fn(<S as Sealed>::Item) -> T + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + 'static,
{
    let parent = cluster.layout.parent(cluster.rank());
    let mut link = cluster.link.borrow_mut();
    let workers = cluster.pool().workers();
    let mut ready = wire::ready(seq, site.sig, workers as u32);
    site.encode(&mut ready);
    link.send(parent, ready);
    let mut local = LocalChunks::new(cluster);

    loop {
        let start = Instant::now();
        let mut any = false;
        while let Some((id, frames, busy)) = local.poll() {
            let mut msg = wire::done_header(id, busy, frames.len());
            msg.extend_from_slice(&frames);
            link.send(parent, msg);
            any = true;
        }
        while let Some((src, msg)) = link.try_recv() {
            any = true;
            if src != parent {
                protocol_error(
                    src,
                    &format!("a message to a rank whose parent in the tree is rank {parent}"),
                );
            }
            match msg.first().copied() {
                Some(wire::CHUNK) => {
                    let mut h = Header::new(&msg);
                    let (Some(id), Some(_start), Some(len)) = (h.u64(), h.u64(), h.u32()) else {
                        protocol_error(parent, "a CHUNK message without its header");
                    };
                    local.start::<S, F, T>(cluster, f, id, h.rest(), len as usize);
                }
                Some(wire::STOP) => {
                    local.cancel_all();
                    link.send(parent, vec![wire::STOP_ACK]);
                    link.flush();
                    return;
                }
                other => protocol_error(parent, &format!("an unknown message kind {other:?}")),
            }
        }
        any |= link.progress();
        if any {
            link.stats.busy += start.elapsed();
            link.event();
        } else {
            link.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer(workers: usize, least: usize) -> Peer {
        Peer {
            state: PeerState::Active,
            workers,
            wants: 0,
            outstanding: 0,
            next_size: workers,
            least,
        }
    }

    #[test]
    fn chunks_of_slow_items_shrink_to_one_item_per_rank_of_a_group() {
        let second = Duration::from_secs(1).as_nanos() as u64;
        // A rank with one worker: one item of a second at a time.
        let mut rank = peer(1, 1);
        rank.learn(1, second);
        assert_eq!(rank.next_size, 1);
        // A leader of 4 ranks of one worker each: never fewer than one
        // item per rank of its group, however slow the items.
        let mut leader = peer(4, 4);
        for _ in 0..5 {
            let len = leader.next_size;
            leader.learn(len, len as u64 * second);
        }
        assert_eq!(leader.next_size, 4);
        // Fast items still grow the chunks.
        leader.learn(4, 4_000);
        assert_eq!(leader.next_size, 8);
    }
}

//! The leader-per-group tree: how the ranks are grouped, and a group
//! leader's part of a map (the root's side of the protocol toward its
//! members, a rank's side toward the root).
//!
//! # Why
//!
//! In the flat protocol (`map.rs`) every rank talks to the root: each chunk
//! is a `CHUNK` out of the root and a `DONE` back, a few to a few tens of
//! microseconds of the root's one thread, and every rank finishes about a
//! hundred chunks a second (a chunk is [`CHUNK_TIME`] of work per worker).
//! The root's load grows with the rank count (BENCHMARKS.md, "The root's
//! load as ranks are added"). With groups of `g`, the root talks to the
//! group leaders only, whose chunks are sized for their whole group: the
//! root's messages per second are divided by about `g`, and each leader
//! carries the load of a flat root with `g` ranks.
//!
//! # How groups are formed
//!
//! The group size `g` is the same on every rank: the root's
//! [`ENV_GROUP`] (the root's value is broadcast by `Cluster::init`), or,
//! unset, `ceil(sqrt(size - 1))` past [`AUTO_TREE_RANKS`] ranks and flat
//! below. `g` of 0 or 1 is flat. Ranks `1..size` are cut into contiguous
//! blocks of `g`: ranks `1..=g`, `g+1..=2g`, ... (the last one shorter);
//! the first rank of a block is its leader, the others its members. The
//! root (rank 0) is in no group: it works on its own pool, as in the flat
//! protocol. Contiguous blocks keep a group on one node when the launcher
//! places ranks by node (Open MPI's and MPICH's default), so the leader's
//! traffic with its members stays in shared memory.
//!
//! # One map through a leader
//!
//! 1. Members send `READY` to their leader, not to the root. The leader
//!    checks each against its own map (number and signature); a
//!    difference ends the job with the message the root gives for it,
//!    naming the member, the leader and both maps.
//! 2. The leader sends its own `READY` to the root as it starts the map,
//!    without waiting for its members (so the root checks the leader's map
//!    at once, whatever its members do), with the group's worker count
//!    guessed as its own times the group's ranks (the ranks of a group
//!    usually share a node and its split). The root treats the leader as
//!    one rank with that many workers: its first chunk has one item per
//!    worker of the group, and chunk sizes adapt toward [`CHUNK_TIME`] of
//!    work per worker of the group from the busy times the leader reports,
//!    but never below one item per rank of the group (however slow the
//!    items), with two chunks outstanding per leader, as for a rank.
//! 3. A `CHUNK` from the root is cut on arrival into one piece per rank of
//!    the group whose `READY` is in (the leader's first, then its members'
//!    in rank order), each in proportion to the rank's workers (from its
//!    `READY`), rounded so that the leftovers of a chunk with fewer items
//!    than ranks go to other ranks from one chunk to the next (`shares`);
//!    empty pieces are skipped. A member whose `READY` comes late
//!    gets pieces of the chunks that arrive after it.
//!    Item frames are cut at frame boundaries without being decoded (an
//!    item that failed to encode on the root travels as its error frame);
//!    an index range's piece is its first value. Each member's piece goes
//!    out as a `CHUNK` with an id of the leader's own; the leader's piece
//!    runs on its pool, one part per worker, as any rank's chunk. So every
//!    member still has about two pieces outstanding, one running and one
//!    waiting, and members run the plain rank code unchanged (`serve` in
//!    `map.rs`, talking to their leader instead of the root).
//! 4. When every piece of a chunk is back, the leader sends the root one
//!    `GROUP_DONE`: the chunk's id, the pieces' busy time added up, the
//!    runs `(rank, count)` of the pieces in order, and their result frames
//!    in order. The root yields the items in order and attributes each
//!    failure (panic, codec error) to the rank of its run, exactly as it
//!    would a flat rank's `DONE`.
//!
//! # Stopping, finishing, aborting
//!
//! - `STOP`: when the root sends its `STOP` to a leader (the input is
//!   exhausted and the leader has nothing outstanding, or the consumer
//!   dropped the map), the leader cancels its own pieces not started,
//!   forgets its unfinished chunks, sends `STOP` to every member, discards
//!   their `DONE`s from then on and waits for every member's `STOP_ACK`;
//!   only then does it answer the root with its own `STOP_ACK`. So when the
//!   root's map ends nothing of that map is in flight anywhere in the tree.
//!   A member whose `READY` had not come gets its `STOP` too (it answers
//!   `READY`, then `STOP_ACK`). A member's `READY` for the next map that reaches the leader after that member's `STOP_ACK` is
//!   kept in the leader's stash for the next map, as the root does.
//! - `BYE`/`FIN` do not travel through leaders: every rank sends its `BYE`
//!   to the root and waits for the root's `FIN`, as in the flat protocol.
//!   The root tells a `BYE` that belongs to the end of the job from one
//!   that skipped a map by the count of maps it carries (a member's `BYE`
//!   can overtake its leader's `STOP_ACK`, so the order of messages cannot
//!   tell).
//! - SPMD mistakes still end the job, never hang: a member that finishes
//!   early never answers its leader's `STOP`, so its group holds the
//!   root's map open, and the root gets that member's `BYE` with fewer maps
//!   than the map it is in and aborts, naming the member and the map. A
//!   leader that finishes early is a rank like any to the root, and a
//!   leader making a map the root never makes reaches the finished root
//!   with its `READY` at once (2. above), whatever its members do. A member
//!   making a map its finished leader never makes reaches the leader in
//!   its `Cluster`'s drop as a `READY`: the leader aborts, naming the
//!   member and the map. A root that finishes early gets a leader's
//!   `READY` and aborts, naming the leader. A mismatched member is caught
//!   by its leader (1. above), a mismatched leader by the root.
//! - A panic on a leader's or member's communication thread, and a rank
//!   that dies, end the job as in the flat protocol (`MPI_Abort`, or the
//!   launcher).
//!
//! [`CHUNK_TIME`]: super::CHUNK_TIME

use std::collections::HashMap;
use std::ffi::OsString;
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::error::ClusterError;
use super::handle::Cluster;
use super::map::{LocalChunks, MapSite, protocol_error, read_matching_ready};
use super::source::{Source, sealed::Sealed};
use super::wire::{self, Frames, Header, Link};

/// The environment variable that sets the group size of the tree on every
/// rank: `0` or `1` for the flat protocol, `g` ≥ 2 for groups of `g`;
/// unset, the size is chosen from the rank count (see [`AUTO_TREE_RANKS`]).
/// Anything but a whole number is [`ClusterError::BadEnvironment`] from
/// [`Cluster::init`](super::Cluster::init). Set it where `mpirun` starts
/// (`COREPOOL_CLUSTER_GROUP=4 mpirun -np 16 ...`; Open MPI forwards it to
/// other hosts with `-x COREPOOL_CLUSTER_GROUP`); the root's value counts.
///
/// ```
/// use corepool::cluster::{Cluster, ENV_GROUP};
///
/// let cluster = Cluster::init()?;
/// let asked = std::env::var(ENV_GROUP).ok().and_then(|v| v.trim().parse::<usize>().ok());
/// if let Some(g) = asked.filter(|&g| g >= 2 && cluster.size() >= 2) {
///     assert_eq!(cluster.group_size(), Some(g));
/// }
/// # Ok::<(), corepool::cluster::ClusterError>(())
/// ```
pub const ENV_GROUP: &str = "COREPOOL_CLUSTER_GROUP";

/// Past this many ranks, without [`ENV_GROUP`], the ranks form a tree with
/// groups of `ceil(sqrt(size - 1))` (32 groups of 32 for 1,025 ranks). At
/// the flat root's cost measured on this project's 2-core VM (about 25 µs of
/// the root's thread per chunk, a chunk per rank every 10 ms), 64 ranks keep
/// a flat root busy about 16 % of the time; past that the tree's extra hop
/// costs less than the root's growing share (BENCHMARKS.md, "The root's load
/// as ranks are added").
///
/// ```
/// let cluster = corepool::cluster::Cluster::init()?;
/// let forced = std::env::var_os(corepool::cluster::ENV_GROUP).is_some();
/// if !forced && cluster.size() <= corepool::cluster::AUTO_TREE_RANKS {
///     assert_eq!(cluster.group_size(), None); // flat
/// }
/// # Ok::<(), corepool::cluster::ClusterError>(())
/// ```
pub const AUTO_TREE_RANKS: usize = 64;

/// How the ranks of a job are grouped: `group` ≥ 2 for a tree, 0 for flat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Layout {
    size: usize,
    group: usize,
}

impl Layout {
    /// The layout of `size` ranks with groups of `group` (0 or 1: flat;
    /// `None`: automatic).
    pub(crate) fn new(size: usize, group: Option<usize>) -> Layout {
        let group = group.unwrap_or_else(|| auto_group(size));
        Layout {
            size,
            group: if group < 2 || size < 2 { 0 } else { group },
        }
    }

    /// The group size, `None` when flat.
    pub(crate) fn group(&self) -> Option<usize> {
        (self.group >= 2).then_some(self.group)
    }

    fn leader_of(&self, rank: usize) -> usize {
        1 + (rank - 1) / self.group * self.group
    }

    /// Whether `rank` leads a group.
    pub(crate) fn is_leader(&self, rank: usize) -> bool {
        self.group >= 2 && rank >= 1 && self.leader_of(rank) == rank
    }

    /// Whom `rank` talks to in a map: its leader, or the root.
    pub(crate) fn parent(&self, rank: usize) -> usize {
        if self.group < 2 || rank == 0 || self.is_leader(rank) {
            0
        } else {
            self.leader_of(rank)
        }
    }

    /// Whether the root talks to `rank` in a map (itself, a leader, or any
    /// rank when flat).
    pub(crate) fn is_root_peer(&self, rank: usize) -> bool {
        self.parent(rank) == 0
    }

    /// The members of `leader`'s group, the leader excluded.
    pub(crate) fn members(&self, leader: usize) -> Range<usize> {
        if !self.is_leader(leader) {
            return leader..leader;
        }
        leader + 1..(leader + self.group).min(self.size)
    }
}

/// The automatic group size for `size` ranks: flat up to
/// [`AUTO_TREE_RANKS`], then `ceil(sqrt(size - 1))`.
fn auto_group(size: usize) -> usize {
    if size <= AUTO_TREE_RANKS {
        return 0;
    }
    let n = size - 1;
    let mut g = (n as f64).sqrt() as usize;
    while g * g < n {
        g += 1;
    }
    g
}

/// The group size [`ENV_GROUP`] sets: `None` when unset.
pub(crate) fn group_from_env(value: Option<OsString>) -> Result<Option<usize>, ClusterError> {
    let Some(value) = value else {
        return Ok(None);
    };
    value
        .to_str()
        .and_then(|s| s.trim().parse::<usize>().ok())
        .map(Some)
        .ok_or_else(|| ClusterError::BadEnvironment {
            var: ENV_GROUP,
            value: value.to_string_lossy().into_owned(),
            expected: "a whole number: the group size, 0 or 1 for flat",
        })
}

// ---------------------------------------------------------------------------
// A leader's part of a map.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum MemberState {
    /// Its `READY` has not arrived.
    Waiting,
    /// Running pieces.
    Active,
    /// `STOP` sent; waiting for `STOP_ACK`.
    Stopping,
    /// Done with this map.
    Stopped,
}

#[derive(Debug)]
struct Member {
    rank: usize,
    state: MemberState,
    workers: usize,
}

/// One piece of a root's chunk.
#[derive(Debug)]
struct Piece {
    rank: usize,
    count: usize,
    frames: Option<Vec<u8>>,
}

/// A root's chunk being run by the group.
#[derive(Debug)]
struct GroupChunk {
    pieces: Vec<Piece>,
    left: usize,
    busy_ns: u64,
}

/// A leader's state in one map.
struct Leader<'a> {
    cluster: &'a Cluster,
    me: usize,
    seq: u64,
    site: &'a MapSite,
    is_range: bool,
    members: Vec<Member>,
    /// The root's chunks under way, by the root's id.
    chunks: HashMap<u64, GroupChunk>,
    /// The leader's own piece ids: (the root's chunk id, piece).
    subs: HashMap<u64, (u64, usize)>,
    next_sub: u64,
    /// The root's chunks shared so far: where the next one's sharing
    /// starts counting (`shares`).
    turn: usize,
    stopping: bool,
}

/// This leader's part of map number `seq`: the rank's side toward the root,
/// the root's side toward its members, until the root says stop and every
/// member has stopped.
pub(crate) fn lead<S, F, T>(cluster: &Cluster, f: &Arc<F>, seq: u64, site: &MapSite)
where
    S: Source,
    F: Fn(<S as Sealed>::Item) -> T + Send + Sync + 'static,
    T: Serialize + DeserializeOwned + Send + 'static,
{
    let me = cluster.rank();
    let mut lead = Leader {
        cluster,
        me,
        seq,
        site,
        is_range: S::from_value(0).is_some(),
        members: cluster
            .layout
            .members(me)
            .map(|rank| Member {
                rank,
                state: MemberState::Waiting,
                workers: 1,
            })
            .collect(),
        chunks: HashMap::new(),
        subs: HashMap::new(),
        next_sub: 0,
        turn: 0,
        stopping: false,
    };
    let mut local = LocalChunks::new(cluster);
    let mut link = cluster.link.borrow_mut();
    lead.send_ready(&mut link);
    // Members' READYs for this map that arrived during the previous one.
    let early: Vec<_> = cluster.stash.borrow_mut().drain(..).collect();
    for (src, msg) in early {
        lead.on_member(&mut link, src, msg);
    }
    loop {
        let start = Instant::now();
        let mut any = false;
        while let Some((sub, frames, busy)) = local.poll() {
            lead.piece_done(&mut link, me, sub, frames, busy);
            any = true;
        }
        while let Some((src, msg)) = link.try_recv() {
            any = true;
            if src == 0 {
                lead.on_root::<S, F, T>(&mut link, &mut local, f, msg);
            } else {
                lead.on_member(&mut link, src, msg);
            }
        }
        if lead.stopping && lead.members.iter().all(|m| m.state == MemberState::Stopped) {
            link.send(0, vec![wire::STOP_ACK]);
            link.flush();
            link.stats.busy += start.elapsed();
            return;
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

impl Leader<'_> {
    /// The leader's `READY`, with the group's worker count as it guesses it
    /// before its members answer: its own times the group's ranks.
    fn send_ready(&mut self, link: &mut Link) {
        let workers = self.cluster.pool().workers() * (1 + self.members.len());
        let mut ready = wire::ready(
            self.seq,
            self.site.sig,
            u32::try_from(workers).unwrap_or(u32::MAX),
        );
        self.site.encode(&mut ready);
        link.send(0, ready);
    }

    /// A message from the root.
    fn on_root<S, F, T>(
        &mut self,
        link: &mut Link,
        local: &mut LocalChunks,
        f: &Arc<F>,
        msg: Vec<u8>,
    ) where
        S: Source,
        F: Fn(<S as Sealed>::Item) -> T + Send + Sync + 'static,
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        match msg.first().copied() {
            Some(wire::CHUNK) => {
                let mut h = Header::new(&msg);
                let (Some(id), Some(start), Some(len)) = (h.u64(), h.u64(), h.u32()) else {
                    protocol_error(0, "a CHUNK message without its header");
                };
                if self.stopping {
                    return;
                }
                self.dispatch::<S, F, T>(link, local, f, id, start, len as usize, h.rest());
            }
            Some(wire::STOP) => {
                self.stopping = true;
                local.cancel_all();
                self.chunks.clear();
                self.subs.clear();
                for m in &mut self.members {
                    if matches!(m.state, MemberState::Waiting | MemberState::Active) {
                        link.send(m.rank, vec![wire::STOP]);
                        m.state = MemberState::Stopping;
                    }
                }
            }
            other => protocol_error(0, &format!("an unknown message kind {other:?}")),
        }
    }

    /// Cuts the root's chunk `id` into pieces and sends them out.
    #[allow(clippy::too_many_arguments)]
    fn dispatch<S, F, T>(
        &mut self,
        link: &mut Link,
        local: &mut LocalChunks,
        f: &Arc<F>,
        id: u64,
        start: u64,
        len: usize,
        body: &[u8],
    ) where
        S: Source,
        F: Fn(<S as Sealed>::Item) -> T + Send + Sync + 'static,
        T: Serialize + DeserializeOwned + Send + 'static,
    {
        // The leader and every member whose READY is in.
        let mut ranks = vec![(self.me, self.cluster.pool().workers())];
        ranks.extend(
            self.members
                .iter()
                .filter(|m| m.state == MemberState::Active)
                .map(|m| (m.rank, m.workers)),
        );
        let counts = shares(
            len,
            &ranks.iter().map(|&(_, w)| w).collect::<Vec<_>>(),
            self.turn,
        );
        self.turn = self.turn.wrapping_add(1);
        let bodies = cut(body, &counts, self.is_range);
        let mut pieces = Vec::new();
        let mut first = start;
        for ((&(rank, _), &count), piece) in ranks.iter().zip(&counts).zip(bodies) {
            if count == 0 {
                continue;
            }
            let sub = self.next_sub;
            self.next_sub += 1;
            self.subs.insert(sub, (id, pieces.len()));
            if rank == self.me {
                local.start::<S, F, T>(self.cluster, f, sub, &piece, count);
            } else {
                let mut msg = wire::chunk_header(sub, first, count as u32, piece.len());
                msg.extend_from_slice(&piece);
                link.send(rank, msg);
            }
            pieces.push(Piece {
                rank,
                count,
                frames: None,
            });
            first += count as u64;
        }
        let left = pieces.len();
        if left == 0 {
            // An empty chunk (the root never sends one): answer at once.
            link.send(0, wire::group_done_header(id, 0, &[], 0));
            return;
        }
        self.chunks.insert(
            id,
            GroupChunk {
                pieces,
                left,
                busy_ns: 0,
            },
        );
    }

    /// A message from a member.
    fn on_member(&mut self, link: &mut Link, src: usize, msg: Vec<u8>) {
        let Some(m) = self.members.iter_mut().find(|m| m.rank == src) else {
            protocol_error(src, "a message to a rank that is not its group's leader");
        };
        if m.state == MemberState::Stopped {
            // Only a member's READY for the next map can come after its
            // STOP_ACK: keep it for that map.
            self.cluster.stash.borrow_mut().push_back((src, msg));
            return;
        }
        match msg.first().copied() {
            Some(wire::READY) => {
                let here = format!("rank {}, the leader of its group,", self.me);
                let workers = read_matching_ready(src, &msg, self.seq, self.site, &here);
                if m.state == MemberState::Waiting {
                    m.state = MemberState::Active;
                    m.workers = (workers as usize).max(1);
                }
            }
            Some(wire::DONE) => {
                if m.state == MemberState::Stopping {
                    return; // results of a stopped map
                }
                let mut h = Header::new(&msg);
                let (Some(sub), Some(busy)) = (h.u64(), h.u64()) else {
                    protocol_error(src, "a DONE message without its header");
                };
                let frames = h.rest().to_vec();
                self.piece_done(link, src, sub, frames, busy);
            }
            Some(wire::STOP_ACK) => m.state = MemberState::Stopped,
            other => protocol_error(
                src,
                &format!("an unknown message kind {other:?} to its leader"),
            ),
        }
    }

    /// Piece `sub` came back from `rank`; the root's chunk goes back when
    /// it was the last.
    fn piece_done(&mut self, link: &mut Link, rank: usize, sub: u64, frames: Vec<u8>, busy: u64) {
        let Some((id, p)) = self.subs.remove(&sub) else {
            if self.stopping {
                return; // a piece of a stopped map
            }
            protocol_error(
                rank,
                &format!("DONE for piece {sub}, which it was not given"),
            );
        };
        let chunk = self
            .chunks
            .get_mut(&id)
            .expect("a piece's chunk is kept until its last piece");
        let piece = &mut chunk.pieces[p];
        if piece.rank != rank {
            protocol_error(
                rank,
                &format!("DONE for piece {sub}, which went to rank {}", piece.rank),
            );
        }
        piece.frames = Some(frames);
        chunk.busy_ns += busy;
        chunk.left -= 1;
        if chunk.left > 0 {
            return;
        }
        let chunk = self.chunks.remove(&id).expect("present above");
        let runs: Vec<(usize, usize)> = chunk.pieces.iter().map(|p| (p.rank, p.count)).collect();
        let size = chunk
            .pieces
            .iter()
            .filter_map(|p| p.frames.as_ref())
            .map(Vec::len)
            .sum();
        let mut msg = wire::group_done_header(id, chunk.busy_ns, &runs, size);
        for piece in chunk.pieces {
            msg.extend_from_slice(&piece.frames.unwrap_or_default());
        }
        link.send(0, msg);
    }
}

/// `len` items shared among ranks in proportion to their `workers`, in
/// order: contiguous counts that add up to `len`. Each count is rounded
/// down where the ranks before it end, counting from rank `turn % n`
/// around: the rounding's leftovers go to the ranks just before `turn`, so
/// a chunk with fewer items than ranks, shared with the next `turn`, goes
/// to other ranks (always counting from the first gave every one-item
/// chunk to the last rank, and left the others idle for the whole map).
fn shares(len: usize, workers: &[usize], turn: usize) -> Vec<usize> {
    let n = workers.len();
    let total: usize = workers.iter().sum::<usize>().max(1);
    let mut out = vec![0; n];
    let mut before = 0usize;
    let mut done = 0usize;
    for k in 0..n {
        let i = (turn % n.max(1) + k) % n;
        before += workers[i];
        let upto = (len as u128 * before as u128 / total as u128) as usize;
        out[i] = upto - done;
        done = upto;
    }
    out
}

/// The body of a `CHUNK` cut into pieces of `counts` items: item frames cut
/// at frame boundaries (a body cut short leaves the last pieces short,
/// which their rank reports as items that failed to decode), or, for an
/// index range, each piece's first value.
fn cut(body: &[u8], counts: &[usize], is_range: bool) -> Vec<Vec<u8>> {
    if is_range {
        let Some(first) = body
            .get(..8)
            .and_then(|b| b.try_into().ok())
            .map(u64::from_le_bytes)
        else {
            return counts.iter().map(|_| body.to_vec()).collect();
        };
        let mut at = first;
        return counts
            .iter()
            .map(|&c| {
                let piece = at.to_le_bytes().to_vec();
                at += c as u64;
                piece
            })
            .collect();
    }
    let mut frames = Frames::new(body);
    counts
        .iter()
        .map(|&c| {
            let from = frames.position();
            for _ in 0..c {
                if frames.next().is_none() {
                    break;
                }
            }
            body[from..frames.position()].to_vec()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_are_contiguous_blocks_led_by_their_first_rank() {
        let l = Layout::new(16, Some(4));
        assert_eq!(l.group(), Some(4));
        let leaders: Vec<usize> = (0..16).filter(|&r| l.is_leader(r)).collect();
        assert_eq!(leaders, [1, 5, 9, 13]);
        assert_eq!(l.members(1), 2..5);
        assert_eq!(l.members(13), 14..16);
        assert_eq!(l.members(2), 2..2);
        assert_eq!(
            (0..16).map(|r| l.parent(r)).collect::<Vec<_>>(),
            [0, 0, 1, 1, 1, 0, 5, 5, 5, 0, 9, 9, 9, 0, 13, 13]
        );
        // Every rank but the root is its leader or in exactly one group.
        for r in 1..16 {
            let p = l.parent(r);
            assert!(p == 0 && l.is_leader(r) || l.members(p).contains(&r));
        }
    }

    #[test]
    fn a_group_of_zero_or_one_is_flat_and_the_default_is_flat_up_to_the_threshold() {
        for g in [Some(0), Some(1), None] {
            let l = Layout::new(8, g);
            assert_eq!(l.group(), None);
            assert!((0..8).all(|r| l.parent(r) == 0 && !l.is_leader(r) && l.is_root_peer(r)));
        }
        assert_eq!(Layout::new(AUTO_TREE_RANKS, None).group(), None);
        assert_eq!(Layout::new(AUTO_TREE_RANKS + 1, None).group(), Some(8));
        assert_eq!(Layout::new(1025, None).group(), Some(32));
        assert_eq!(Layout::new(1026, None).group(), Some(33));
    }

    #[test]
    fn the_group_size_from_the_environment_is_a_number_or_a_typed_error() {
        assert_eq!(group_from_env(None).unwrap(), None);
        assert_eq!(group_from_env(Some("4".into())).unwrap(), Some(4));
        assert_eq!(group_from_env(Some(" 0 ".into())).unwrap(), Some(0));
        for bad in ["", "four", "-1", "2.5"] {
            let err = group_from_env(Some(bad.into())).unwrap_err();
            assert!(
                matches!(&err, ClusterError::BadEnvironment { var: ENV_GROUP, value, .. } if value == bad),
                "{err:?}"
            );
            assert!(err.to_string().contains(ENV_GROUP), "{err}");
        }
    }

    #[test]
    fn shares_follow_the_workers_and_add_up() {
        assert_eq!(shares(10, &[1, 1, 1, 1], 0), [2, 3, 2, 3]);
        assert_eq!(shares(3, &[1, 1, 1, 1], 0), [0, 1, 1, 1]);
        assert_eq!(shares(12, &[2, 1, 1], 0), [6, 3, 3]);
        assert_eq!(shares(12, &[2, 1, 1], 1), [6, 3, 3]);
        assert_eq!(shares(0, &[1, 1], 0), [0, 0]);
        assert_eq!(shares(5, &[], 3), Vec::<usize>::new());
    }

    #[test]
    fn chunks_smaller_than_the_group_go_around_it() {
        // One item at a time: each rank in turn, never the same one.
        let got: Vec<Vec<usize>> = (0..4).map(|t| shares(1, &[1, 1, 1, 1], t)).collect();
        assert_eq!(
            got,
            [[0, 0, 0, 1], [1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0]]
        );
        // Two items among four ranks: two chunks keep all four busy.
        assert_eq!(shares(2, &[1, 1, 1, 1], 0), [0, 1, 0, 1]);
        assert_eq!(shares(2, &[1, 1, 1, 1], 1), [1, 0, 1, 0]);
        for t in 0..7 {
            assert_eq!(shares(10, &[1, 2, 3], t).iter().sum::<usize>(), 10);
        }
    }

    #[test]
    fn a_chunk_is_cut_at_frame_boundaries_and_ranges_by_first_value() {
        let mut body = Vec::new();
        for b in [b"a".as_slice(), b"bb", b"ccc"] {
            wire::put_frame(&mut body, wire::OK, b);
        }
        let pieces = cut(&body, &[1, 0, 2], false);
        assert_eq!(pieces.iter().map(Vec::len).collect::<Vec<_>>(), [3, 0, 9]);
        assert_eq!(pieces.concat(), body);
        let ranges = cut(&40u64.to_le_bytes(), &[3, 4], true);
        assert_eq!(
            ranges,
            [40u64.to_le_bytes().to_vec(), 43u64.to_le_bytes().to_vec()]
        );
    }
}

//! The same map across MPI ranks, one pinned pool per rank (cargo feature
//! `mpi`).
//!
//! Every rank of an MPI job runs the same program (SPMD, as mpi4py's
//! `MPICommExecutor`): it calls [`Cluster::init`], then makes the same
//! [`map`](Cluster::map) calls with the same closures. Closures never
//! travel; items and results travel encoded with serde and postcard, and
//! for an index range ([`Cluster::map_range`]) only the bounds of each chunk
//! do. The root (rank 0) gets the results, in input order or in completion
//! order, lazily, with a bounded window; the other ranks pull chunks (two at
//! a time, so the round trip is hidden), run them on their pools and send
//! the results back. The root's pool works too.
//!
//! ```
//! use corepool::cluster::Cluster;
//!
//! fn is_prime(n: u64) -> bool {
//!     n >= 2 && (2..).take_while(|d| d * d <= n).all(|d| n % d != 0)
//! }
//!
//! let cluster = Cluster::init()?;
//! let count = cluster
//!     .map_range(0..100_000, is_prime)
//!     .filter(|r| matches!(r, Ok(true)))
//!     .count();
//! if cluster.is_root() {
//!     println!("{count} primes below 100,000 on {} ranks", cluster.size());
//! }
//! # Ok::<(), corepool::cluster::ClusterError>(())
//! ```
//!
//! Launch with `mpirun -np 4 --bind-to none target/release/your-program`
//! (as root, Open MPI also wants `OMPI_ALLOW_RUN_AS_ROOT=1
//! OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1`). The protocol is written out in
//! `map.rs`, the bytes on the wire in `wire.rs`.
//!
//! Past [`AUTO_TREE_RANKS`] ranks (or with `COREPOOL_CLUSTER_GROUP=g`,
//! [`ENV_GROUP`]) the root feeds group leaders instead of every rank, and
//! each leader feeds its group: the same results, a fraction of the root's
//! messages ([`Cluster::group_size`]; the protocol in `tree.rs`).
//!
//! # Faults
//!
//! - A panic in the closure on any rank comes back at its item, on the
//!   root, as [`ClusterError::Panicked`] with the rank and the message; the
//!   map goes on and every rank ends normally.
//! - An item or a result that fails to encode or decode is
//!   [`ClusterError::Encode`] or [`ClusterError::Decode`], naming the item;
//!   so is one whose `Serialize` or `Deserialize` panics on a rank other
//!   than the root (a panic in a result's `Drop` there is contained).
//! - A panic on the thread that owns the [`Cluster`] (outside the closure:
//!   in the consumer of a map, or anywhere else in `main`) aborts the whole
//!   job with `MPI_Abort` and exit code [`ABORT_CODE`], after a line naming
//!   the rank, the thread and where it panicked: unwinding out of the
//!   protocol would leave the other ranks waiting. (If the program
//!   replaces the panic hook that does this, the job is aborted when the
//!   unwinding drops a map or the `Cluster`.)
//! - SPMD mistakes end the job with `MPI_Abort` ([`ABORT_CODE`]) and a
//!   message from the root, instead of a hang: ranks making different maps
//!   (different closures, item or result types, or items against an index
//!   range; the message names the rank and both maps: call site, kind,
//!   item, result and closure types), and a rank that finishes (drops its [`Cluster`],
//!   returns from `main`) while the others still make maps (it names that
//!   rank, how many maps it made, and the map it skipped). Dropping a
//!   `Cluster` waits for every rank to finish theirs. A rank that exits
//!   with its `Cluster` alive (`std::mem::forget`, or `std::process::exit`
//!   before the drop) aborts the job at exit, saying so: without it MPICH
//!   could end the job with exit code 0 and without the root's output.
//! - A rank that dies (killed, or exiting without finalising MPI) is
//!   noticed by the launcher: Open MPI's `mpirun` and MPICH's `mpiexec` end
//!   the whole job with a non-zero exit and a message naming the rank.
//! - While it waits, the communication thread sleeps between non-blocking
//!   probes instead of spinning in a blocking MPI receive: it spins 20 µs
//!   after an event, then parks for an eighth of the time since the last
//!   event, at most 50 ms; work finishing on its pool wakes it at once.

// Layer: above the face (`lib.rs`, "Layers"), every file of `cluster/`. It uses
// the public API (`Pool`, `topology`, the root re-exports), the face's
// files and the base layer (`unwind`, `error`), nothing of the core's inside.

mod error;
mod handle;
mod map;
mod share;
mod source;
mod tree;
mod wire;

pub use error::{ClusterError, Payload};
pub use handle::{ABORT_CODE, Cluster};
pub use map::{CHUNK_TIME, ClusterMap, MAX_CLUSTER_CHUNK};
pub use mpi::Threading;
pub use share::NodeShare;
pub use source::{Indices, Items, Source};
pub use tree::{AUTO_TREE_RANKS, ENV_GROUP};
pub use wire::ClusterStats;

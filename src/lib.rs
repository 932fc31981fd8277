//! # corepool
//!
//! A work-stealing task pool with one worker pinned to each physical core,
//! and the handles Python programmers know from `concurrent.futures`:
//! [`Pool::submit`] a closure and get a [`Task`] to [`join`](Task::join),
//! [`wait_timeout`](Task::wait_timeout), [`cancel`](Task::cancel) or `.await`;
//! borrow the caller's data with [`Pool::scope`]; shut down with
//! [`Pool::shutdown`] or [`Pool::shutdown_now`].
//!
//! ```
//! use corepool::Pool;
//!
//! let pool = Pool::new()?;                       // one pinned worker per physical core
//! let task = pool.submit(|| (1..=20u64).product::<u64>());
//! assert_eq!(task.join().unwrap(), 2_432_902_008_176_640_000);
//!
//! let err = pool.submit(|| -> u64 { panic!("no value") }).join().unwrap_err();
//! assert!(err.is_panic());                       // the pool and its workers live on
//!
//! let mut data = vec![1u32; 4096];
//! pool.scope(|s| {
//!     for chunk in data.chunks_mut(512) {
//!         let _ = s.submit(move || chunk.iter_mut().for_each(|x| *x += 1));
//!     }
//! });
//! assert!(data.iter().all(|&x| x == 2));
//! # Ok::<(), corepool::BuildError>(())
//! ```
//!
//! ## How it schedules
//!
//! Each worker owns a LIFO deque (`crossbeam-deque`); the pool has one global
//! injector (`src/injector.rs`: a FIFO of recycled blocks). A worker pops
//! its own deque, then takes one task from the injector (a small batch
//! when it is the pool's only worker), then steals
//! half of a random victim's deque, then spins briefly, yields its CPU
//! once and parks. Tasks
//! submitted on a worker go to its own deque; tasks from other threads go
//! to the injector. An idle pool's workers are all parked:
//! it burns no CPU. The parking protocol is written out in `src/sleep.rs`,
//! the task state machine in `src/task/`, shutdown in `src/registry.rs`.

#![deny(unsafe_op_in_unsafe_fn, clippy::undocumented_unsafe_blocks)]
#![warn(missing_docs, missing_debug_implementations, unreachable_pub)]

/// The README's code blocks, compiled and run as doctests.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

// # Layers
//
// The core is five layers; a file uses only its own layer and the ones below
// (`tests/no_module_imports_a_higher_layer.rs` reads every `crate::` path
// and names any that goes up). Circles are allowed inside a layer only.
//
// | layer | files | may use |
// |---|---|---|
// | base | topology, sync, util, error, unwind, clock, injector | std and the dependencies |
// | sched | job, sleep, slots, registry, worker, blocking | base |
// | cell | task/ (state word; cell; handles), cancel, wait | sched, base |
// | many | join, scope, submit, install, map, completion, group, shared, promise, par/ | cell, sched, base, and the `Pool` type |
// | face | pool, builder, global, prelude, this file | everything below |
//
// `cluster/` and `process/` sit above the face and use its public API.
// Where a lower layer must reach a higher one it does so type-erased,
// through a table the higher layer fills in: a task cell's `Owner` (a
// scope's latch hears of its tasks' panics and ends), a `JoinFrame`
// (fork-join halves published to thieves), the registry's `Weak<dyn Any>`
// handle (for `Pool::current`). A spawned job's closure, wrapped by the
// layer that spawns it, does its scope's bookkeeping and sets the
// cancellation context itself (`submit.rs`).

// base
mod clock;
mod error;
mod injector;
mod sync;
pub mod topology;
mod unwind;
mod util;

// sched
mod blocking;
mod job;
mod registry;
mod sleep;
mod slots;
mod worker;

// cell
mod cancel;
mod task;
mod wait;

// many
mod completion;
mod group;
mod install;
mod join;
mod map;
pub mod par;
mod promise;
mod scope;
mod shared;
mod submit;

// face
mod builder;
mod global;
mod pool;
pub mod prelude;

// above the face
#[cfg(feature = "mpi")]
pub mod cluster;
#[cfg(all(unix, feature = "process"))]
pub mod process;

pub use blocking::{BLOCKING_KEEP_ALIVE, MAX_BLOCKING_THREADS};
pub use builder::{ENV_PINNING, ENV_WORKERS, MIN_STACK_SIZE, PoolBuilder};
pub use cancel::is_cancelled;
pub use completion::{
    AsCompleted, Completed, Completes, Timeout, WaitFor, Waited, Watch, Within, as_completed, wait,
};
pub use error::{BuildError, ShutdownError, TaskError};
pub use global::{default_pool, join, scope, set_default_pool, spawn};
pub use group::{GroupError, GroupTask, TaskGroup};
pub use map::{MAX_CHUNK, Map, MapUnordered, MapUnorderedWithin, MapWithin, TARGET_CHUNK_TIME};
pub use par::{IntoPar, Par};
pub use pool::{Pool, PoolStats, WorkerStats};
pub use promise::{Promise, promise};
pub use registry::Pinning;
pub use scope::{Scope, ScopedTask};
pub use shared::{Done, SharedTask};
pub use task::Task;

//! The default pool and the free functions that use the current pool:
//! [`join`], [`scope`], [`spawn`], so that a recursive function does not need
//! a `&Pool` parameter.
//!
//! "The current pool" is the pool whose worker or blocking-lane thread runs
//! the calling code ([`Pool::current`]), even while that pool shuts down: a
//! task never falls through to the default pool because another thread
//! dropped its pool's last clone. On any other thread it is the default pool, built on first use with the default
//! settings ([`Pool::new`], which reads `COREPOOL_WORKERS` and
//! `COREPOOL_PINNING`), or the one given to [`set_default_pool`] before that.
//! The default pool lives until the process exits.

// Layer: face (`lib.rs`, "Layers"). It may use every layer below.

use std::sync::OnceLock;

use crate::error::BuildError;
use crate::pool::Pool;
use crate::scope::Scope;

static DEFAULT: OnceLock<Pool> = OnceLock::new();

/// The default pool, built with [`Pool::new`] on first use; the build error
/// if that fails (a bad `COREPOOL_WORKERS`, say). A failed build is not
/// cached: a later call tries again.
///
/// ```
/// let pool = corepool::default_pool()?;
/// assert!(pool.workers() >= 1);
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub fn default_pool() -> Result<&'static Pool, BuildError> {
    if let Some(pool) = DEFAULT.get() {
        return Ok(pool);
    }
    let pool = Pool::new()?;
    // Two threads may race to build it: the loser's pool is shut down.
    Ok(DEFAULT.get_or_init(|| pool))
}

/// Makes `pool` the default pool, if none was built or set yet; otherwise
/// hands it back.
///
/// ```
/// // In `main`, before anything uses the default pool:
/// let pool = corepool::Pool::builder().workers(2).build()?;
/// match corepool::set_default_pool(pool) {
///     Ok(()) => assert_eq!(corepool::default_pool()?.workers(), 2),
///     Err(_pool) => { /* a default pool existed already */ }
/// }
/// # Ok::<(), corepool::BuildError>(())
/// ```
pub fn set_default_pool(pool: Pool) -> Result<(), Pool> {
    DEFAULT.set(pool)
}

/// The pool running this code, or else the default pool.
///
/// # Panics
///
/// If the default pool is needed and cannot be built; the message is the
/// [`BuildError`]. Call [`default_pool`] first to handle that error.
fn current_or_default() -> Pool {
    Pool::current().unwrap_or_else(|| Pool::default_or_panic().clone())
}

impl Pool {
    /// The default pool, built if need be: how the layers below the face
    /// (`par`'s prelude entries) reach it (`lib.rs`, "Layers").
    ///
    /// # Panics
    ///
    /// If it cannot be built; the message is the [`BuildError`].
    pub(crate) fn default_or_panic() -> &'static Pool {
        match default_pool() {
            Ok(pool) => pool,
            Err(err) => panic!("corepool: the default pool could not be built: {err}"),
        }
    }
}

/// [`Pool::join`] on the current pool (the pool running this code, else the
/// default pool).
///
/// # Panics
///
/// Re-raises a panic of `a` or `b`; panics if the default pool is needed and
/// cannot be built (see [`default_pool`]).
///
/// ```
/// fn fib(n: u64) -> u64 {
///     if n < 2 {
///         return n;
///     }
///     let (a, b) = corepool::join(|| fib(n - 1), || fib(n - 2));
///     a + b
/// }
/// assert_eq!(fib(20), 6765);
/// ```
pub fn join<A, B, RA, RB>(a: A, b: B) -> (RA, RB)
where
    A: FnOnce() -> RA + Send,
    B: FnOnce() -> RB + Send,
    RA: Send,
    RB: Send,
{
    if let Some(worker) = crate::worker::WorkerThread::current() {
        return worker.join(a, b);
    }
    current_or_default().join(a, b)
}

/// [`Pool::scope`] on the current pool (the pool running this code, else the
/// default pool).
///
/// # Panics
///
/// As [`Pool::scope`]; and if the default pool is needed and cannot be built.
///
/// ```
/// let mut data = vec![1u32; 1000];
/// corepool::scope(|s| {
///     for chunk in data.chunks_mut(100) {
///         s.spawn(move |_| chunk.iter_mut().for_each(|x| *x += 1));
///     }
/// });
/// assert!(data.iter().all(|&x| x == 2));
/// ```
pub fn scope<'env, F, R>(f: F) -> R
where
    F: for<'scope> FnOnce(&'scope Scope<'scope, 'env>) -> R,
{
    current_or_default().scope(f)
}

/// [`Pool::spawn`] on the current pool (the pool running this code, else the
/// default pool). As with [`Pool::spawn`], once the current pool has shut
/// down `f` is dropped without running (it never moves to another pool); use
/// [`Pool::submit`] on [`Pool::current`] to get a handle that reports it.
///
/// # Panics
///
/// If the default pool is needed and cannot be built.
///
/// ```
/// let (tx, rx) = std::sync::mpsc::channel();
/// corepool::spawn(move || tx.send(5).unwrap());
/// assert_eq!(rx.recv().unwrap(), 5);
/// ```
pub fn spawn<F>(f: F)
where
    F: FnOnce() + Send + 'static,
{
    current_or_default().spawn(f);
}

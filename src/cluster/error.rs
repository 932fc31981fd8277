//! Why a cluster could not start ([`ClusterError`] from [`Cluster::init`]) and
//! why one item of a cluster map has no value (also [`ClusterError`], at that
//! item).
//!
//! [`Cluster::init`]: crate::cluster::Cluster::init

use std::any::Any;

use crate::BuildError;

/// Which value failed to encode or decode.
///
/// ```
/// use corepool::cluster::{ClusterError, Payload};
///
/// let err = ClusterError::Decode { what: Payload::Item, index: 4, rank: 1, message: "x".into() };
/// assert_eq!(err.to_string(), "item 4 could not be decoded on rank 1: x");
/// assert_eq!(Payload::Result.to_string(), "result");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// An input item (root → rank).
    Item,
    /// A closure's result (rank → root).
    Result,
}

impl std::fmt::Display for Payload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Payload::Item => "item",
            Payload::Result => "result",
        })
    }
}

/// Why a cluster could not start, or why one item of a cluster map has no
/// value. `Display` is one readable line that names the rank and the item.
///
/// ```
/// use corepool::cluster::ClusterError;
///
/// let err = ClusterError::Panicked { index: 7, rank: 2, message: "boom".into() };
/// assert!(err.is_panic());
/// assert_eq!(err.index(), Some(7));
/// assert_eq!(err.rank(), Some(2));
/// assert_eq!(err.to_string(), "item 7 panicked on rank 2: boom");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// MPI was already initialised in this process (one cluster per process:
    /// MPI cannot be initialised twice, nor again after it was finalised).
    #[error("MPI is already initialised in this process: one Cluster per process")]
    AlreadyInitialized,
    /// The MPI library gives less thread support than a communication
    /// thread beside the pool's workers needs.
    #[error("the MPI library provides thread level {provided}, corepool needs at least {needed}")]
    ThreadLevel {
        /// What corepool asked for (`Funneled`).
        needed: &'static str,
        /// What the library provided.
        provided: &'static str,
    },
    /// An environment variable the cluster reads holds a value it cannot
    /// use (on the root: every rank takes the root's value).
    ///
    /// ```
    /// use corepool::cluster::ClusterError;
    ///
    /// let err = ClusterError::BadEnvironment {
    ///     var: "COREPOOL_CLUSTER_GROUP",
    ///     value: "four".into(),
    ///     expected: "a whole number",
    /// };
    /// assert_eq!(err.to_string(), r#"COREPOOL_CLUSTER_GROUP="four": expected a whole number"#);
    /// ```
    #[error("{var}={value:?}: expected {expected}")]
    BadEnvironment {
        /// The variable.
        var: &'static str,
        /// Its value (lossily UTF-8).
        value: String,
        /// What it should hold.
        expected: &'static str,
    },
    /// This rank's pool could not be built.
    #[error("cannot build this rank's pool: {0}")]
    Pool(#[from] BuildError),
    /// This rank started, but another could not (its own `init` returned
    /// the reason, and it printed nothing unless the program does): `init`
    /// fails on every rank together, so that none is left waiting for it.
    ///
    /// ```
    /// use corepool::cluster::ClusterError;
    ///
    /// let err = ClusterError::OtherRankFailed { rank: 3 };
    /// assert_eq!(err.rank(), Some(3));
    /// assert_eq!(
    ///     err.to_string(),
    ///     "rank 3 could not start its part of the cluster (its own Cluster::init error says why)"
    /// );
    /// ```
    #[error(
        "rank {rank} could not start its part of the cluster (its own Cluster::init error says why)"
    )]
    OtherRankFailed {
        /// The first rank whose `init` failed.
        rank: usize,
    },
    /// The closure panicked on this item.
    #[error("item {index} panicked on rank {rank}: {message}")]
    Panicked {
        /// The item's position in the input.
        index: u64,
        /// The rank that ran it.
        rank: usize,
        /// The panic's message (`Box<dyn Any>` when the payload was not a string).
        message: String,
    },
    /// An item or a result could not be encoded.
    #[error("{what} {index} could not be encoded on rank {rank}: {message}")]
    Encode {
        /// Item or result.
        what: Payload,
        /// The item's position in the input.
        index: u64,
        /// The rank that tried.
        rank: usize,
        /// The codec's message.
        message: String,
    },
    /// An item or a result could not be decoded.
    #[error("{what} {index} could not be decoded on rank {rank}: {message}")]
    Decode {
        /// Item or result.
        what: Payload,
        /// The item's position in the input.
        index: u64,
        /// The rank that tried.
        rank: usize,
        /// The codec's message.
        message: String,
    },
}

impl ClusterError {
    /// Whether the closure panicked.
    ///
    /// ```
    /// # use corepool::cluster::{ClusterError, Payload};
    /// let err = ClusterError::Decode { what: Payload::Result, index: 1, rank: 0, message: "eof".into() };
    /// assert!(!err.is_panic());
    /// ```
    pub fn is_panic(&self) -> bool {
        matches!(self, ClusterError::Panicked { .. })
    }

    /// Whether an item or a result failed to encode or decode.
    ///
    /// ```
    /// # use corepool::cluster::{ClusterError, Payload};
    /// let err = ClusterError::Encode { what: Payload::Item, index: 3, rank: 0, message: "no".into() };
    /// assert!(err.is_codec());
    /// assert_eq!(err.to_string(), "item 3 could not be encoded on rank 0: no");
    /// ```
    pub fn is_codec(&self) -> bool {
        matches!(
            self,
            ClusterError::Encode { .. } | ClusterError::Decode { .. }
        )
    }

    /// The panic's message, if the closure panicked.
    ///
    /// ```
    /// # use corepool::cluster::ClusterError;
    /// let err = ClusterError::Panicked { index: 0, rank: 1, message: "odd".into() };
    /// assert_eq!(err.panic_message(), Some("odd"));
    /// ```
    pub fn panic_message(&self) -> Option<&str> {
        match self {
            ClusterError::Panicked { message, .. } => Some(message),
            _ => None,
        }
    }

    /// The position in the input of the item this error is about.
    ///
    /// ```
    /// # use corepool::cluster::ClusterError;
    /// assert_eq!(ClusterError::AlreadyInitialized.index(), None);
    /// ```
    pub fn index(&self) -> Option<u64> {
        match self {
            ClusterError::Panicked { index, .. }
            | ClusterError::Encode { index, .. }
            | ClusterError::Decode { index, .. } => Some(*index),
            _ => None,
        }
    }

    /// The rank where it happened, for an error about an item, and the
    /// rank that could not start for [`ClusterError::OtherRankFailed`].
    ///
    /// ```
    /// # use corepool::cluster::ClusterError;
    /// assert_eq!(ClusterError::AlreadyInitialized.rank(), None);
    /// ```
    pub fn rank(&self) -> Option<usize> {
        match self {
            ClusterError::Panicked { rank, .. }
            | ClusterError::Encode { rank, .. }
            | ClusterError::Decode { rank, .. }
            | ClusterError::OtherRankFailed { rank } => Some(*rank),
            _ => None,
        }
    }
}

/// The message of a panic payload that is a `&str` or a `String`.
pub(crate) fn panic_text(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "Box<dyn Any>".to_owned()
    }
}

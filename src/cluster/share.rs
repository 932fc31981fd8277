//! How many workers this rank's pool gets, and on which cores: its share of
//! the node.

/// How this rank's pool was sized. Read it with
/// [`Cluster::node_share`](super::Cluster::node_share).
///
/// ```
/// use corepool::cluster::NodeShare;
///
/// let share = NodeShare::Cores(vec![0, 2]);
/// assert_eq!(share.workers(), Some(2));
/// assert_eq!(NodeShare::Bound.workers(), None);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum NodeShare {
    /// The launcher bound this rank (its affinity mask differs from another
    /// rank's on the node): one pinned worker per physical core of its mask.
    Bound,
    /// Ranks on the node are not bound: this rank's slice of the node's
    /// physical cores (one CPU each), one pinned worker on each.
    Cores(Vec<usize>),
    /// More ranks than physical cores on the node: one unpinned worker.
    Oversubscribed,
    /// `COREPOOL_WORKERS` or `COREPOOL_PINNING` is set: the pool's defaults,
    /// which read them.
    Environment,
}

impl NodeShare {
    /// The worker count this share fixes, if it fixes one.
    ///
    /// ```
    /// assert_eq!(corepool::cluster::NodeShare::Oversubscribed.workers(), Some(1));
    /// ```
    pub fn workers(&self) -> Option<usize> {
        match self {
            NodeShare::Cores(cores) => Some(cores.len()),
            NodeShare::Oversubscribed => Some(1),
            NodeShare::Bound | NodeShare::Environment => None,
        }
    }
}

/// The share of rank `local_rank` of `local_size` unbound ranks on a node
/// whose physical cores (one CPU each) are `cores`: contiguous slices of
/// near-equal size, so ranks 0 and 1 of 2 on 8 cores get 4 each.
pub(crate) fn split(cores: &[usize], local_rank: usize, local_size: usize) -> NodeShare {
    let n = cores.len();
    if local_size == 0 || n < local_size {
        return NodeShare::Oversubscribed;
    }
    let from = n * local_rank / local_size;
    let to = n * (local_rank + 1) / local_size;
    NodeShare::Cores(cores[from..to].to_vec())
}

/// FNV-1a over a list of CPUs: ranks compare masks by this hash.
pub(crate) fn mask_hash(cpus: &[usize]) -> u64 {
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for &cpu in cpus {
        for b in (cpu as u64).to_le_bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_split_the_cores_into_slices_that_cover_them_once() {
        let cores: Vec<usize> = (0..10).map(|c| c * 2).collect();
        for size in 1..=10 {
            let mut all = Vec::new();
            for rank in 0..size {
                match split(&cores, rank, size) {
                    NodeShare::Cores(mine) => {
                        assert!(!mine.is_empty());
                        assert!(mine.len() >= 10 / size && mine.len() <= 10_usize.div_ceil(size));
                        all.extend(mine);
                    }
                    other => panic!("{other:?}"),
                }
            }
            assert_eq!(all, cores);
        }
    }

    #[test]
    fn more_ranks_than_cores_is_oversubscribed() {
        assert_eq!(split(&[0, 1], 2, 3), NodeShare::Oversubscribed);
        assert_eq!(split(&[0, 1], 0, 3), NodeShare::Oversubscribed);
    }

    #[test]
    fn different_masks_hash_differently() {
        assert_ne!(mask_hash(&[0]), mask_hash(&[1]));
        assert_eq!(mask_hash(&[0, 1]), mask_hash(&[0, 1]));
    }
}

//! Parallel sorts.

use std::cmp::Ordering;

use super::PoolRef;

/// Sorts `v` by `compare`; stable if `stable`.
pub(super) fn par_sort_by<T: Send, C>(pool: PoolRef<'_>, v: &mut [T], compare: &C, stable: bool)
where
    C: Fn(&T, &T) -> Ordering + Sync,
{
    let _ = pool;
    if stable {
        v.sort_by(compare);
    } else {
        v.sort_unstable_by(compare);
    }
}

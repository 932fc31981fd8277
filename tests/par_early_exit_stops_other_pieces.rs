//! `any`, `all`, `find_*`, `position_*` and `Result` collects stop early:
//! once the answer is known, the other pieces stop at their next item; and
//! `find_first` / `position_first` still give the first match.
use std::sync::atomic::{AtomicUsize, Ordering};

use corepool::Pool;
use proptest::prelude::*;

fn pool(workers: usize) -> Pool {
    Pool::builder().workers(workers).build().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn searches_equal_sequential(
        items in proptest::collection::vec(0u32..300, 0..3000),
        workers in 1usize..=4,
        min_len in 0usize..40,
        target in 0u32..300,
    ) {
        let pool = pool(workers);
        let par = || pool.par(&items).with_min_len(min_len);
        let hit = |x: &u32| *x == target;
        prop_assert_eq!(par().any(hit), items.iter().any(hit));
        prop_assert_eq!(par().all(|x| *x != target), items.iter().all(|x| *x != target));
        prop_assert_eq!(par().find_first(|x| hit(x)).map(|x| x as *const u32), items.iter().find(|x| hit(x)).map(|x| x as *const u32));
        prop_assert_eq!(par().position_first(hit), items.iter().position(hit));
        // After a filter (no indices) find_first is still the first match.
        prop_assert_eq!(
            par().filter(|x| *x % 2 == target % 2).find_first(|x| **x > target / 2).copied(),
            items.iter().filter(|x| *x % 2 == target % 2).find(|x| **x > target / 2).copied()
        );
        match par().find_any(|x| hit(x)) {
            Some(x) => prop_assert_eq!(*x, target),
            None => prop_assert!(!items.contains(&target)),
        }
        match par().position_any(hit) {
            Some(i) => prop_assert_eq!(items[i], target),
            None => prop_assert!(!items.contains(&target)),
        }
    }
}

/// With one worker the pieces run one after the other, left to right: once
/// the first piece has found the answer, every later piece must stop at its
/// first item, so far fewer items than the input holds are visited.
#[test]
fn later_pieces_stop_once_the_answer_is_known() {
    let pool = pool(1);
    let n = 100_000usize;
    let visited = AtomicUsize::new(0);
    let visit = |x: usize| {
        visited.fetch_add(1, Ordering::Relaxed);
        x
    };
    let visits = |run: &dyn Fn()| {
        visited.store(0, Ordering::Relaxed);
        run();
        visited.load(Ordering::Relaxed)
    };
    // Without early exit every item would be visited (n).
    let limit = n / 4;
    assert!(visits(&|| assert!(pool.par(0..n).map(visit).any(|x| x == 0))) < limit);
    assert!(visits(&|| assert!(!pool.par(0..n).map(visit).all(|x| x != 1))) < limit);
    assert!(
        visits(&|| assert_eq!(pool.par(0..n).map(visit).find_any(|&x| x == 2), Some(2))) < limit
    );
    assert!(
        visits(&|| assert_eq!(pool.par(0..n).map(visit).find_first(|&x| x >= 3), Some(3))) < limit
    );
    assert!(
        visits(&|| assert_eq!(
            pool.par(0..n).map(visit).position_first(|x| x == 4),
            Some(4)
        )) < limit
    );
    assert!(
        visits(&|| assert_eq!(pool.par(0..n).map(visit).position_any(|x| x == 5), Some(5))) < limit
    );
    assert!(
        visits(&|| {
            let r: Result<Vec<usize>, usize> = pool
                .par(0..n)
                .map(visit)
                .map(|x| if x == 6 { Err(x) } else { Ok(x) })
                .collect();
            assert_eq!(r, Err(6));
        }) < limit
    );
    assert!(
        visits(&|| {
            let r: Option<Vec<usize>> = pool
                .par(0..n)
                .map(visit)
                .map(|x| (x != 7).then_some(x))
                .collect();
            assert_eq!(r, None);
        }) < limit
    );
}

//! The lazy fork-join path against the sequential result: random recursion
//! trees (depth, fan-out through nested joins, leaves that submit and wait,
//! scopes inside halves) on 1 to 4 workers compute what the sequential code
//! computes, whether a half was published or run inline.
mod common;

use common::watchdog;
use corepool::Pool;
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Tree {
    Leaf(u64),
    /// A leaf that submits its value as a task and joins it.
    Submitted(u64),
    /// A scope whose tasks sum the children.
    Scoped(Vec<Tree>),
    Join(Box<Tree>, Box<Tree>),
}

fn tree() -> impl Strategy<Value = Tree> {
    let leaf = prop_oneof![
        any::<u32>().prop_map(|v| Tree::Leaf(v as u64)),
        any::<u32>().prop_map(|v| Tree::Submitted(v as u64)),
    ];
    leaf.prop_recursive(8, 128, 4, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| Tree::Join(Box::new(a), Box::new(b))),
            prop::collection::vec(inner, 0..4).prop_map(Tree::Scoped),
        ]
    })
}

fn sequential(t: &Tree) -> u64 {
    match t {
        Tree::Leaf(v) | Tree::Submitted(v) => *v,
        Tree::Scoped(children) => children.iter().map(sequential).sum(),
        Tree::Join(a, b) => sequential(a) + sequential(b),
    }
}

fn parallel(pool: &Pool, t: &Tree) -> u64 {
    match t {
        Tree::Leaf(v) => *v,
        Tree::Submitted(v) => {
            let v = *v;
            pool.submit(move || v).join().unwrap()
        }
        Tree::Scoped(children) => {
            let sums: Vec<std::sync::atomic::AtomicU64> =
                children.iter().map(|_| Default::default()).collect();
            pool.scope(|s| {
                for (child, sum) in children.iter().zip(&sums) {
                    s.spawn(move |_| {
                        sum.store(parallel(pool, child), std::sync::atomic::Ordering::Relaxed)
                    });
                }
            });
            sums.into_iter().map(|s| s.into_inner()).sum()
        }
        Tree::Join(a, b) => {
            let (x, y) = corepool::join(|| parallel(pool, a), || parallel(pool, b));
            x + y
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    #[test]
    fn join_trees_compute_the_sequential_sum(t in tree(), workers in 1usize..5) {
        let expected = sequential(&t);
        let got = watchdog(60, move || {
            let pool = Pool::builder().workers(workers).build().unwrap();
            let inside = pool.install(|| parallel(&pool, &t));
            let outside = parallel(&pool, &t);
            (inside, outside)
        });
        prop_assert_eq!(got, (expected, expected));
    }
}

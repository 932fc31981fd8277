//! rayon's vocabulary on corepool: `use corepool::prelude::*;` and
//! `.par_iter()`, `.par_iter_mut()`, `.into_par_iter()`, `.par_chunks(n)`,
//! `.par_chunks_mut(n)` and `.par_sort*()` work on `Vec`s, slices, arrays
//! and ranges with no pool in sight.
//!
//! ```
//! use corepool::prelude::*;
//!
//! struct Record { name: String, score: u32 }
//! let records: Vec<Record> = (0..1000u32).map(|i| Record { name: format!("r{i}"), score: i % 97 }).collect();
//!
//! let mut best: Vec<&Record> = records.par_iter().filter(|r| r.score > 90).collect();
//! best.par_sort_by_key(|r| std::cmp::Reverse(r.score));
//! let total: u64 = records.par_iter().map(|r| u64::from(r.score)).sum();
//! let first = records.par_iter().position_first(|r| r.name == "r500");
//! assert_eq!((best[0].score, total, first), (96, 46_995, Some(500)));
//! ```
//!
//! # Where it runs
//!
//! Each entry point resolves the pool once: the *current* pool (the one
//! whose worker runs the call — inside [`Pool::install`](crate::Pool::install),
//! a task, a [`join`](crate::join), or another `par`), else the
//! [default pool](crate::default_pool). It builds the same
//! [`Par`](crate::Par) as [`Pool::par`](crate::Pool::par), which stays the
//! way in on an explicit pool. If the default pool is needed and cannot be
//! built (a bad `COREPOOL_WORKERS`, say) the entry point panics with the
//! [`BuildError`](crate::BuildError)'s message, as `corepool::join` does and
//! as rayon does for its global pool; call
//! [`default_pool`](crate::default_pool)`()?` first to handle that error.
//!
//! # Every adaptor and method
//!
//! `p` is a `Par`, such as `v.par_iter()` or `pool.par(&v)`. Each method's
//! own page has a runnable example.
//!
//! | method | one line |
//! |---|---|
//! | [`map`](crate::Par::map) | `p.map(\|x\| x * 2)` |
//! | [`filter`](crate::Par::filter) | `p.filter(\|x\| *x > 0)` |
//! | [`filter_map`](crate::Par::filter_map) | `p.filter_map(\|s\| s.parse::<u32>().ok())` |
//! | [`flat_map_iter`](crate::Par::flat_map_iter), [`flat_map`](crate::Par::flat_map) | `p.flat_map_iter(\|x\| 0..x)` |
//! | [`flatten`](crate::Par::flatten) | `vec_of_vecs.into_par_iter().flatten()` |
//! | [`inspect`](crate::Par::inspect) | `p.inspect(\|x\| log(x))` |
//! | [`copied`](crate::Par::copied), [`cloned`](crate::Par::cloned) | `v.par_iter().copied()` |
//! | [`map_init`](crate::Par::map_init) | `p.map_init(Vec::new, \|buf, x\| work(buf, x))` |
//! | [`map_with`](crate::Par::map_with) | `p.map_with(rng_seed, \|seed, x\| x ^ *seed)` |
//! | [`with_min_len`](crate::Par::with_min_len), [`with_max_len`](crate::Par::with_max_len) | `p.with_min_len(1024)` |
//! | [`zip`](crate::Par::zip) | `a.par_iter().zip(&b)` or `.zip(b.par_iter())`, also after `map` |
//! | [`enumerate`](crate::Par::enumerate) | `p.enumerate()` |
//! | [`rev`](crate::Par::rev) | `p.rev()` |
//! | [`skip`](crate::Par::skip), [`take`](crate::Par::take) | `p.skip(10).take(5)` |
//! | [`step_by`](crate::Par::step_by) | `p.step_by(3)` |
//! | [`chain`](crate::Par::chain) | `(0..5).into_par_iter().chain(10..15)` |
//! | [`chunks`](crate::Par::chunks) | `p.chunks(64)` (items in `Vec`s) |
//! | [`len`](crate::Par::len), [`is_empty`](crate::Par::is_empty) | `p.len()` |
//! | [`for_each`](crate::Par::for_each) | `v.par_iter_mut().for_each(\|x\| *x += 1)` |
//! | [`for_each_init`](crate::Par::for_each_init), [`for_each_with`](crate::Par::for_each_with) | `p.for_each_with(tx, \|tx, x\| tx.send(x).unwrap())` |
//! | [`collect`](crate::Par::collect) | `p.collect::<Vec<_>>()`, `HashMap`, `HashSet`, `BTreeMap`, `BTreeSet`, `VecDeque`, `LinkedList`, `BinaryHeap`, `String`, `Result<C, E>`, `Option<C>` |
//! | [`unzip`](crate::Par::unzip) | `let (a, b): (Vec<_>, Vec<_>) = p.unzip();` |
//! | [`partition`](crate::Par::partition) | `let (even, odd): (Vec<_>, Vec<_>) = p.partition(\|x\| x % 2 == 0);` |
//! | [`sum`](crate::Par::sum), [`product`](crate::Par::product), [`count`](crate::Par::count) | `p.sum::<u64>()` |
//! | [`reduce`](crate::Par::reduce), [`reduce_with`](crate::Par::reduce_with) | `p.reduce(\|\| 0, \|a, b\| a + b)` |
//! | [`fold`](crate::Par::fold), [`fold_with`](crate::Par::fold_with) | `p.fold(\|\| 0, \|a, x\| a + x).sum::<u64>()` (a `Par` of per-piece accumulators) |
//! | [`fold_reduce`](crate::Par::fold_reduce), [`fold_reduce_with`](crate::Par::fold_reduce_with) | `p.fold_reduce(\|\| 0, \|a, x\| a + x, \|a, b\| a + b)` (fold and combine in one step) |
//! | [`min`](crate::Par::min), [`max`](crate::Par::max) | `p.min()` |
//! | [`min_by`](crate::Par::min_by), [`max_by`](crate::Par::max_by) | `p.max_by(\|a, b\| a.total_cmp(b))` |
//! | [`min_by_key`](crate::Par::min_by_key), [`max_by_key`](crate::Par::max_by_key) | `p.min_by_key(\|r\| r.age)` |
//! | [`any`](crate::Par::any), [`all`](crate::Par::all) | `p.any(\|x\| x == 7)` (stops early) |
//! | [`find_any`](crate::Par::find_any), [`find_first`](crate::Par::find_first) | `p.find_first(\|x\| *x > 9)` (stops early) |
//! | [`position_any`](crate::Par::position_any), [`position_first`](crate::Par::position_first) | `p.position_first(\|x\| x > 9)` (stops early) |
//! | [`par_bridge`](ParallelBridge::par_bridge) | `text.lines().par_bridge().map(parse).collect()` (any iterator; read first, then split) |
//! | [`par_sort`](ParallelSliceMut::par_sort), [`par_sort_by`](ParallelSliceMut::par_sort_by), [`par_sort_by_key`](ParallelSliceMut::par_sort_by_key) | `v.par_sort_by_key(\|r\| r.age)` (stable) |
//! | [`par_sort_unstable`](ParallelSliceMut::par_sort_unstable), `_by`, `_by_key` | `v.par_sort_unstable()` |
//!
//! `len`, `zip`, `enumerate`, `rev`, `skip`, `take`, `step_by`, `chain`,
//! `chunks` and `position_*` need the items' positions: they exist while
//! every adaptor so far maps one item to one item (`map`, `inspect`,
//! `copied`, `cloned`), as on rayon's `IndexedParallelIterator`.
//!
//! # Coming from rayon
//!
//! Change `use rayon::prelude::*` to `use corepool::prelude::*` and
//! `rayon::join` to `corepool::join`; `rayon::scope` is `corepool::scope`,
//! `ThreadPool::install` is [`Pool::install`](crate::Pool::install).
//! What differs, and why:
//!
//! | rayon | corepool | why |
//! |---|---|---|
//! | `ParallelIterator`, `IndexedParallelIterator` traits | inherent methods of one type, [`Par`](crate::Par) | one page of docs, nothing to import but the entry points; a function taking "any parallel iterator" takes a [`Par`](crate::Par) or an [`IntoPar`](crate::IntoPar) input |
//! | `flat_map(\|x\| par_iter)` | `flat_map` / `flat_map_iter` walk each item's iterator sequentially | nested parallel iterators rarely pay; a `Vec` or range returned ports unchanged |
//! | `collect::<Result<C, E>>()` | the same; one of the errors seen is returned, as in rayon | pieces stop at the first failure they see, not in input order |
//! | `iter.par_bridge()` hands items to the workers as they are pulled, in no order | [`par_bridge`](ParallelBridge::par_bridge) reads the iterator into a `Vec` first, then splits it; order kept | fits the one splitter over inputs of known length; an endless iterator is not supported |
//! | `par_windows`, `par_split`, `find_last`, `position_last`, `sum` of `Option`s, `ParallelExtend` | not provided | not yet asked for |
//! | a closure panic | re-raised from the method after every piece has stopped, items dropped once | as rayon |
//! | `0..=u64::MAX` | panics when handed over (more items than a `usize` counts) | rayon runs it unindexed |

// Layer: face (`lib.rs`, "Layers"). It may use every layer below.

pub use crate::par::{
    IntoParallelIterator, IntoParallelRefIterator, IntoParallelRefMutIterator, ParallelBridge,
    ParallelSlice, ParallelSliceMut,
};

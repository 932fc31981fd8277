// rayon-demo/src/join_microbench.rs, rayon's code, copied from the
// rayon-rs/rayon repository at commit c4dac9f82ee03f61e855075b668229a9e4d759ad
// with only `rayon::` -> `backend::` changed and its `//!` module comment made
// a `//` one. Included (`include!`, not a module of its own) into a module
// that says which library `backend` is: `use corepool as backend;` in
// tests/par_rayon_demos_port.rs, both `rayon` and `corepool` in
// bench/examples/demos_ratio.rs.
// Some microbenchmarks that stress test a pure `join` path.

use backend::prelude::*;
use test::Bencher;

fn increment_all(b: &mut Bencher) {
    let mut big_vec = vec![0_usize; 100 * 1024];
    b.iter(|| {
        big_vec.par_iter_mut().for_each(|p| *p = p.wrapping_add(1));
    });
}

fn increment_all_min(b: &mut Bencher) {
    let mut big_vec = vec![0_usize; 100 * 1024];
    b.iter(|| {
        big_vec
            .par_iter_mut()
            .with_min_len(1024)
            .for_each(|p| *p = p.wrapping_add(1));
    });
}

fn increment_all_serialized(b: &mut Bencher) {
    let mut big_vec = vec![0_usize; 100 * 1024];
    b.iter(|| {
        big_vec
            .par_iter_mut()
            .with_min_len(usize::MAX)
            .for_each(|p| *p = p.wrapping_add(1));
    });
}

fn increment_all_max(b: &mut Bencher) {
    let mut big_vec = vec![0_usize; 100 * 1024];
    b.iter(|| {
        big_vec
            .par_iter_mut()
            .with_max_len(100)
            .for_each(|p| *p = p.wrapping_add(1));
    });
}

fn increment_all_atomized(b: &mut Bencher) {
    let mut big_vec = vec![0_usize; 100 * 1024];
    b.iter(|| {
        big_vec
            .par_iter_mut()
            .with_max_len(1)
            .for_each(|p| *p = p.wrapping_add(1));
    });
}

fn join_recursively(b: &mut Bencher) {
    fn join_recursively(n: usize) {
        if n == 0 {
            return;
        }
        backend::join(|| join_recursively(n - 1), || join_recursively(n - 1));
    }

    b.iter(|| {
        join_recursively(16);
    });
}

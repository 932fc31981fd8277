//! rayon's demo programs (rayon-demo: quicksort, mergesort, life, nbody,
//! matmul, sieve, and the join microbenchmarks' "increment all"), their
//! rayon code ported to corepool, each checked to give the sequential
//! version's output on pools of 1, 2 and 3 workers and on the default pool.
//!
//! The code between a module's "rayon's code from here" line and its
//! "the check" line is rayon-demo's, copied from the rayon-rs/rayon
//! repository at commit c4dac9f82ee03f61e855075b668229a9e4d759ad, with only
//! `use rayon::prelude::*` -> `use corepool::prelude::*` and `rayon::join`
//! -> `corepool::join` changed.
//!
//! What is not rayon's code, and so left out or stood in for:
//! - the command-line and timing harness of each demo (`docopt`, `main`,
//!   `timed_sort`, `measure`, `cpu_time`, `default_vec`, the `bench.rs`
//!   files): replaced by the checks;
//! - rayon's own `#[test]` functions inside the demos (`test_merge_sort`,
//!   `test_life`, `test_splayed_counter`, `test_matmul`): left out of the
//!   copy and run, with the same assertions, inside the checks (under a
//!   watchdog, and with `test_merge_sort`'s 1 M and 200 k items shrunk to 150 k and 100 k and
//!   `test_life`'s 200 x 200 board and 100 generations to 64 x 64 and 20);
//! - the `rand` and `cgmath` crates (life, nbody) and libtest's `Bencher`
//!   (the join microbenchmarks): small local stand-ins with the same names
//!   and the calls the demos make, so `use rand::…`, `use cgmath::…` and
//!   `use test::Bencher` resolve unchanged; the join microbenchmarks lose
//!   their `#[bench]` attributes (a nightly feature) and are called from
//!   the check.
//!
//! Which demos needed more than the two changes: none. Two methods were
//! missing and were added to corepool rather than change the demos:
//! `par_bridge` (life's and nbody's `par_bridge` forms) and rayon's
//! `fold(identity, op)` returning the accumulators (nbody's
//! `.fold(..).reduce(..)`).

use corepool::Pool;

mod common;

/// Runs `check` inside pools of 1, 2 and 3 workers (the prelude's entry
/// points and `corepool::join` run on the current pool), then outside any
/// pool (the default pool), each under a watchdog.
fn on_pools(check: fn()) {
    for workers in 1..=3 {
        common::watchdog(120, move || {
            Pool::builder()
                .workers(workers)
                .build()
                .unwrap()
                .install(check);
        });
    }
    common::watchdog(120, check);
}

/// `n` pseudo-random `u32`s (xorshift, fixed seed).
fn random_u32s(n: usize) -> Vec<u32> {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    (0..n)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u32
        })
        .collect()
}

mod quicksort {
    #![expect(non_camel_case_types)]
    // ---- rayon-demo/src/quicksort/mod.rs: rayon's code from here ----
    pub trait Joiner {
        fn is_parallel() -> bool;
        fn join<A, R_A, B, R_B>(oper_a: A, oper_b: B) -> (R_A, R_B)
        where
            A: FnOnce() -> R_A + Send,
            B: FnOnce() -> R_B + Send,
            R_A: Send,
            R_B: Send;
    }

    pub struct Parallel;
    impl Joiner for Parallel {
        #[inline]
        fn is_parallel() -> bool {
            true
        }
        #[inline]
        fn join<A, R_A, B, R_B>(oper_a: A, oper_b: B) -> (R_A, R_B)
        where
            A: FnOnce() -> R_A + Send,
            B: FnOnce() -> R_B + Send,
            R_A: Send,
            R_B: Send,
        {
            corepool::join(oper_a, oper_b)
        }
    }

    struct Sequential;
    impl Joiner for Sequential {
        #[inline]
        fn is_parallel() -> bool {
            false
        }
        #[inline]
        fn join<A, R_A, B, R_B>(oper_a: A, oper_b: B) -> (R_A, R_B)
        where
            A: FnOnce() -> R_A + Send,
            B: FnOnce() -> R_B + Send,
            R_A: Send,
            R_B: Send,
        {
            let a = oper_a();
            let b = oper_b();
            (a, b)
        }
    }

    pub fn quick_sort<J: Joiner, T: PartialOrd + Send>(v: &mut [T]) {
        if v.len() <= 1 {
            return;
        }

        if J::is_parallel() && v.len() <= 5 * 1024 {
            return quick_sort::<Sequential, T>(v);
        }

        let mid = partition(v);
        let (lo, hi) = v.split_at_mut(mid);
        J::join(|| quick_sort::<J, T>(lo), || quick_sort::<J, T>(hi));
    }

    fn partition<T: PartialOrd + Send>(v: &mut [T]) -> usize {
        let pivot = v.len() - 1;
        let mut i = 0;
        for j in 0..pivot {
            if v[j] <= v[pivot] {
                v.swap(i, j);
                i += 1;
            }
        }
        v.swap(i, pivot);
        i
    }

    pub fn is_sorted<T: Send + Ord>(v: &[T]) -> bool {
        (1..v.len()).all(|i| v[i - 1] <= v[i])
    }
    // ---- the check (not rayon's code) ----
    #[test]
    fn quick_sort_parallel_matches_sequential() {
        crate::on_pools(|| {
            let v = crate::random_u32s(40_000);
            let mut seq = v.clone();
            quick_sort::<Sequential, u32>(&mut seq);
            let mut par = v.clone();
            quick_sort::<Parallel, u32>(&mut par);
            let mut std_sorted = v;
            std_sorted.sort();
            assert!(is_sorted(&par));
            assert_eq!(par, seq);
            assert_eq!(par, std_sorted);
        });
    }
}

mod mergesort {
    // ---- rayon-demo/src/mergesort/mod.rs: rayon's code from here ----
    use std::mem::MaybeUninit;
    use std::slice;

    pub fn merge_sort<T: Ord + Send + Copy>(v: &mut [T]) {
        let n = v.len();
        let mut buf: Vec<MaybeUninit<T>> = Vec::with_capacity(n);
        // SAFETY: MaybeUninit can be uninitialized
        unsafe {
            buf.set_len(n);
        }
        rsort(v, &mut buf[..]);
    }

    // Values from manual tuning gigasort on one machine.
    const SORT_CHUNK: usize = 32 * 1024;
    const MERGE_CHUNK: usize = 64 * 1024;

    fn as_uninit_slice<T: Copy>(slice: &[T]) -> &[MaybeUninit<T>] {
        let len = slice.len();
        // SAFETY: MaybeUninit is transparent to T, and we're only dealing with T: Copy
        unsafe { slice::from_raw_parts(slice.as_ptr().cast(), len) }
    }

    fn as_uninit_slice_mut<T: Copy>(slice: &mut [T]) -> &mut [MaybeUninit<T>] {
        let len = slice.len();
        // SAFETY: MaybeUninit is transparent to T, and we're only dealing with T: Copy
        unsafe { slice::from_raw_parts_mut(slice.as_mut_ptr().cast(), len) }
    }

    unsafe fn slice_assume_init_mut<T>(slice: &mut [MaybeUninit<T>]) -> &mut [T] {
        let len = slice.len();
        unsafe { slice::from_raw_parts_mut(slice.as_mut_ptr().cast(), len) }
    }

    // Sort src, possibly making use of identically sized buf.
    fn rsort<T: Ord + Send + Copy>(src: &mut [T], buf: &mut [MaybeUninit<T>]) {
        if src.len() <= SORT_CHUNK {
            src.sort();
            return;
        }

        // Sort each half into half of the buffer.
        let mid = src.len() / 2;
        let (sa, sb) = src.split_at_mut(mid);
        let (bufa, bufb) = buf.split_at_mut(mid);
        let (sorta, sortb) = corepool::join(|| rsort_into(sa, bufa), || rsort_into(sb, bufb));

        // Merge the buffer halves back into the original.
        rmerge(sorta, sortb, as_uninit_slice_mut(src));
    }

    // Sort src, putting the result into dest.
    fn rsort_into<'dest, T: Ord + Send + Copy>(
        src: &mut [T],
        dest: &'dest mut [MaybeUninit<T>],
    ) -> &'dest mut [T] {
        let mid = src.len() / 2;
        let (s1, s2) = src.split_at_mut(mid);
        {
            // Sort each half.
            let (d1, d2) = dest.split_at_mut(mid);
            corepool::join(|| rsort(s1, d1), || rsort(s2, d2));
        }

        // Merge the halves into dest.
        rmerge(s1, s2, dest);
        unsafe { slice_assume_init_mut(dest) }
    }

    // Merge sorted inputs a and b, putting result in dest.
    //
    // Note: `a` and `b` have type `&mut [T]` and not `&[T]` because we do
    // not want to require a `T: Sync` bound. Using `&mut` references
    // proves to the compiler that we are not sharing `a` and `b` across
    // threads and thus we only need a `T: Send` bound.
    fn rmerge<T: Ord + Send + Copy>(a: &mut [T], b: &mut [T], dest: &mut [MaybeUninit<T>]) {
        // Swap so a is always longer.
        let (a, b) = if a.len() > b.len() { (a, b) } else { (b, a) };
        if dest.len() <= MERGE_CHUNK {
            seq_merge(a, b, dest);
            return;
        }

        // Find the middle element of the longer list, and
        // use binary search to find its location in the shorter list.
        let ma = a.len() / 2;
        let mb = match b.binary_search(&a[ma]) {
            Ok(i) => i,
            Err(i) => i,
        };

        let (a1, a2) = a.split_at_mut(ma);
        let (b1, b2) = b.split_at_mut(mb);
        let (d1, d2) = dest.split_at_mut(ma + mb);
        corepool::join(|| rmerge(a1, b1, d1), || rmerge(a2, b2, d2));
    }

    // Merges sorted a and b into sorted dest.
    #[inline(never)]
    fn seq_merge<T: Ord + Copy>(a: &[T], b: &[T], dest: &mut [MaybeUninit<T>]) {
        if b.is_empty() {
            dest.copy_from_slice(as_uninit_slice(a));
            return;
        }
        let biggest = Ord::max(*a.last().unwrap(), *b.last().unwrap());
        let mut ai = a.iter();
        let mut an = *ai.next().unwrap();
        let mut bi = b.iter();
        let mut bn = *bi.next().unwrap();
        for d in dest.iter_mut() {
            if an < bn {
                *d = MaybeUninit::new(an);
                an = match ai.next() {
                    Some(x) => *x,
                    None => biggest,
                }
            } else {
                *d = MaybeUninit::new(bn);
                bn = match bi.next() {
                    Some(x) => *x,
                    None => biggest,
                }
            }
        }
    }

    pub fn seq_merge_sort<T: Ord + Copy>(v: &mut [T]) {
        let n = v.len();
        let mut buf: Vec<MaybeUninit<T>> = Vec::with_capacity(n);
        // SAFETY: MaybeUninit can be uninitialized
        unsafe {
            buf.set_len(n);
        }
        seq_sort(v, &mut buf[..]);
    }

    // Sort src, possibly making use of identically sized buf.
    fn seq_sort<T: Ord + Copy>(src: &mut [T], buf: &mut [MaybeUninit<T>]) {
        if src.len() <= SORT_CHUNK {
            src.sort();
            return;
        }

        // Sort each half into half of the buffer.
        let mid = src.len() / 2;
        let (sa, sb) = src.split_at_mut(mid);
        let (bufa, bufb) = buf.split_at_mut(mid);
        let (sorta, sortb) = (seq_sort_into(sa, bufa), seq_sort_into(sb, bufb));

        // Merge the buffer halves back into the original.
        seq_merge(sorta, sortb, as_uninit_slice_mut(src));
    }

    // Sort src, putting the result into dest.
    fn seq_sort_into<'dest, T: Ord + Copy>(
        src: &mut [T],
        dest: &'dest mut [MaybeUninit<T>],
    ) -> &'dest mut [T] {
        let mid = src.len() / 2;
        let (s1, s2) = src.split_at_mut(mid);
        {
            // Sort each half.
            let (d1, d2) = dest.split_at_mut(mid);
            seq_sort(s1, d1);
            seq_sort(s2, d2);
        }

        // Merge the halves into dest.
        seq_merge(s1, s2, dest);
        unsafe { slice_assume_init_mut(dest) }
    }

    pub fn is_sorted<T: Send + Ord>(v: &mut [T]) -> bool {
        let n = v.len();
        if n <= SORT_CHUNK {
            for i in 1..n {
                if v[i - 1] > v[i] {
                    return false;
                }
            }
            return true;
        }

        let mid = n / 2;
        if v[mid - 1] > v[mid] {
            return false;
        }
        let (a, b) = v.split_at_mut(mid);
        let (left, right) = corepool::join(|| is_sorted(a), || is_sorted(b));
        left && right
    }
    // ---- the check (not rayon's code) ----
    #[test]
    fn merge_sort_matches_sequential() {
        crate::on_pools(|| {
            // rayon's `test_merge_sort`, with 150_000 items where it has 1_000_000 (and 100_000 equal ones where it has 200_000).
            let mut v = vec![1; 100_000];
            merge_sort(&mut v[..]);
            assert!(v.iter().all(|&x| x == 1));
            let sorted: Vec<u32> = (1..150_000).collect();
            let mut v = sorted.clone();
            merge_sort(&mut v[..]);
            assert_eq!(sorted, v);
            v.reverse();
            merge_sort(&mut v[..]);
            assert_eq!(sorted, v);
            // Random input: the parallel sort gives the sequential one's output.
            let input = crate::random_u32s(150_000);
            let mut par = input.clone();
            merge_sort(&mut par[..]);
            let mut seq = input;
            seq_merge_sort(&mut seq[..]);
            assert_eq!(par, seq);
            assert!(is_sorted(&mut par[..]));
        });
    }
}

mod life {
    // Stand-in for the `rand` crate (not rayon's code): the calls this demo
    // makes, on a fixed-seed xorshift generator, so the test needs no new
    // dependency and every run sees the same board.
    mod rand {
        pub mod distr {
            pub struct StandardUniform;
        }
        pub struct Rng(u64);
        pub fn rng() -> Rng {
            Rng(0x9E37_79B9_7F4A_7C15)
        }
        pub trait RngExt: Sized {
            fn sample_iter(self, distr: &distr::StandardUniform) -> SampleIter;
        }
        impl RngExt for Rng {
            fn sample_iter(self, _: &distr::StandardUniform) -> SampleIter {
                SampleIter(self)
            }
        }
        pub struct SampleIter(Rng);
        impl Iterator for SampleIter {
            type Item = bool;
            fn next(&mut self) -> Option<bool> {
                let x = &mut (self.0).0;
                *x ^= *x << 13;
                *x ^= *x >> 7;
                *x ^= *x << 17;
                Some(*x >> 63 == 1)
            }
        }
    }

    // ---- rayon-demo/src/life/mod.rs: rayon's code from here ----
    use rand::distr::StandardUniform;
    use rand::{RngExt, rng};
    use std::iter::repeat_n;
    use std::sync::Arc;

    use corepool::prelude::*;

    #[derive(PartialEq, Eq, Clone, Debug)]
    pub struct Board {
        board: Vec<bool>,
        survive: Arc<Vec<usize>>,
        born: Arc<Vec<usize>>,
        rows: usize,
        cols: usize,
    }

    impl Board {
        pub fn new(rows: usize, cols: usize) -> Board {
            let born = vec![3];
            let survive = vec![2, 3];

            Board::new_with_custom_rules(rows, cols, born, survive)
        }

        fn new_with_custom_rules(
            rows: usize,
            cols: usize,
            born: Vec<usize>,
            survive: Vec<usize>,
        ) -> Board {
            let new_board = repeat_n(false, rows * cols).collect();

            Board {
                board: new_board,
                born: Arc::new(born),
                survive: Arc::new(survive),
                rows,
                cols,
            }
        }

        fn len(&self) -> usize {
            self.rows * self.cols
        }

        fn next_board(&self, new_board: Vec<bool>) -> Board {
            assert!(new_board.len() == self.len());

            Board {
                board: new_board,
                born: self.born.clone(),
                survive: self.survive.clone(),
                rows: self.rows,
                cols: self.cols,
            }
        }

        pub fn random(&self) -> Board {
            let new_brd = rng()
                .sample_iter(&StandardUniform)
                .take(self.len())
                .collect();

            self.next_board(new_brd)
        }

        pub fn next_generation(&self) -> Board {
            let new_brd = (0..self.len())
                .map(|cell| self.successor_cell(cell))
                .collect();

            self.next_board(new_brd)
        }

        pub fn parallel_next_generation(&self) -> Board {
            let new_brd = (0..self.len())
                .into_par_iter()
                .map(|cell| self.successor_cell(cell))
                .collect();

            self.next_board(new_brd)
        }

        pub fn par_bridge_next_generation(&self) -> Board {
            let new_brd = (0..self.len())
                .par_bridge()
                .map(|cell| self.successor_cell(cell))
                .collect();

            self.next_board(new_brd)
        }

        fn cell_live(&self, x: usize, y: usize) -> bool {
            !(x >= self.cols || y >= self.rows) && self.board[y * self.cols + x]
        }

        fn living_neighbors(&self, x: usize, y: usize) -> usize {
            let x_1 = x.wrapping_sub(1);
            let y_1 = y.wrapping_sub(1);
            let neighbors = [
                self.cell_live(x_1, y_1),
                self.cell_live(x, y_1),
                self.cell_live(x + 1, y_1),
                self.cell_live(x_1, y),
                self.cell_live(x + 1, y),
                self.cell_live(x_1, y + 1),
                self.cell_live(x, y + 1),
                self.cell_live(x + 1, y + 1),
            ];
            neighbors.iter().filter(|&x| *x).count()
        }

        fn successor_cell(&self, cell: usize) -> bool {
            self.successor(cell % self.cols, cell / self.cols)
        }

        fn successor(&self, x: usize, y: usize) -> bool {
            let neighbors = self.living_neighbors(x, y);
            if self.cell_live(x, y) {
                self.survive.contains(&neighbors)
            } else {
                self.born.contains(&neighbors)
            }
        }
    }
    // ---- the check (not rayon's code) ----
    #[test]
    fn life_parallel_and_par_bridge_match_sequential() {
        crate::on_pools(|| {
            // rayon's `test_life`, on a 64 x 64 board for 20 generations (200 x
            // 200 for 100 there), with the par_bridge form checked too.
            let mut brd1 = Board::new(64, 64).random();
            let mut brd2 = brd1.clone();
            let mut brd3 = brd1.clone();
            for _ in 0..20 {
                brd1 = brd1.next_generation();
                brd2 = brd2.parallel_next_generation();
                brd3 = brd3.par_bridge_next_generation();
                assert_eq!(brd1, brd2);
                assert_eq!(brd1, brd3);
            }
        });
    }
}

mod nbody {
    // Stand-in for the `cgmath` crate (not rayon's code): the points, vectors
    // and operations this demo uses, on `f64`.
    mod cgmath {
        use std::ops::{Add, AddAssign, Div, Mul, MulAssign, Sub, SubAssign};
        #[derive(Copy, Clone, Debug, PartialEq)]
        pub struct Point3<S> {
            pub x: S,
            pub y: S,
            pub z: S,
        }
        #[derive(Copy, Clone, Debug, PartialEq)]
        pub struct Vector3<S> {
            pub x: S,
            pub y: S,
            pub z: S,
        }
        type V = Vector3<f64>;
        type P = Point3<f64>;
        pub trait Zero {
            fn zero() -> Self;
        }
        impl Zero for V {
            fn zero() -> V {
                Vector3 {
                    x: 0.0,
                    y: 0.0,
                    z: 0.0,
                }
            }
        }
        pub trait InnerSpace: Sized {
            fn magnitude2(self) -> f64;
            fn magnitude(self) -> f64 {
                self.magnitude2().sqrt()
            }
        }
        impl InnerSpace for V {
            fn magnitude2(self) -> f64 {
                self.x * self.x + self.y * self.y + self.z * self.z
            }
        }
        impl Sub for P {
            type Output = V;
            fn sub(self, o: P) -> V {
                Vector3 {
                    x: self.x - o.x,
                    y: self.y - o.y,
                    z: self.z - o.z,
                }
            }
        }
        impl Add<V> for P {
            type Output = P;
            fn add(self, o: V) -> P {
                Point3 {
                    x: self.x + o.x,
                    y: self.y + o.y,
                    z: self.z + o.z,
                }
            }
        }
        impl Add for V {
            type Output = V;
            fn add(self, o: V) -> V {
                Vector3 {
                    x: self.x + o.x,
                    y: self.y + o.y,
                    z: self.z + o.z,
                }
            }
        }
        impl Sub for V {
            type Output = V;
            fn sub(self, o: V) -> V {
                Vector3 {
                    x: self.x - o.x,
                    y: self.y - o.y,
                    z: self.z - o.z,
                }
            }
        }
        impl Mul<f64> for V {
            type Output = V;
            fn mul(self, k: f64) -> V {
                Vector3 {
                    x: self.x * k,
                    y: self.y * k,
                    z: self.z * k,
                }
            }
        }
        impl Div<f64> for V {
            type Output = V;
            fn div(self, k: f64) -> V {
                Vector3 {
                    x: self.x / k,
                    y: self.y / k,
                    z: self.z / k,
                }
            }
        }
        impl AddAssign for V {
            fn add_assign(&mut self, o: V) {
                *self = *self + o;
            }
        }
        impl SubAssign for V {
            fn sub_assign(&mut self, o: V) {
                *self = *self - o;
            }
        }
        impl MulAssign<f64> for V {
            fn mul_assign(&mut self, k: f64) {
                *self = *self * k;
            }
        }
    }

    // Stand-in for the `rand` crate (not rayon's code): `RngExt` with the two
    // calls this demo makes, on a fixed-seed xorshift generator.
    mod rand {
        pub trait RngExt {
            fn next_u64(&mut self) -> u64;
            fn random<T: FromBits>(&mut self) -> T {
                T::from_bits(self.next_u64())
            }
            fn random_range(&mut self, range: std::ops::Range<f64>) -> f64 {
                range.start + (range.end - range.start) * self.random::<f64>()
            }
        }
        pub trait FromBits {
            fn from_bits(bits: u64) -> Self;
        }
        impl FromBits for f64 {
            fn from_bits(bits: u64) -> f64 {
                (bits >> 11) as f64 / (1u64 << 53) as f64
            }
        }
        pub struct XorShift(pub u64);
        impl RngExt for XorShift {
            fn next_u64(&mut self) -> u64 {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                self.0
            }
        }
    }

    // ---- rayon-demo/src/nbody/nbody.rs: rayon's code from here ----

    use cgmath::{InnerSpace, Point3, Vector3, Zero};
    use corepool::prelude::*;
    use rand::RngExt;
    use std::f64::consts::PI;

    const INITIAL_VELOCITY: f64 = 8.0; // set to 0.0 to turn off.

    pub struct NBodyBenchmark {
        time: usize,
        bodies: (Vec<Body>, Vec<Body>),
    }

    #[derive(Copy, Clone, Debug)]
    pub struct Body {
        pub position: Point3<f64>,
        pub velocity: Vector3<f64>,
        pub velocity2: Vector3<f64>,
    }

    impl NBodyBenchmark {
        pub fn new<R: RngExt>(num_bodies: usize, rng: &mut R) -> NBodyBenchmark {
            let bodies0: Vec<_> = (0..num_bodies)
                .map(|_| {
                    let r = rng.random_range(0.0..10_000.0);
                    let theta = rng.random_range(0.0..PI);
                    let phi = rng.random_range(0.0..2.0 * PI);
                    let position = Point3 {
                        x: r * theta.sin() * phi.cos(),
                        y: r * theta.sin() * phi.sin(),
                        z: r * theta.cos(),
                    };

                    let velocity = Vector3 {
                        x: rng.random_range(-0.5..0.5) * INITIAL_VELOCITY,
                        y: rng.random_range(-0.5..0.5) * INITIAL_VELOCITY,
                        z: rng.random::<f64>() * INITIAL_VELOCITY + 10.0,
                    };

                    let velocity2 = Vector3 {
                        x: rng.random_range(-0.5..0.5) * INITIAL_VELOCITY,
                        y: rng.random_range(-0.5..0.5) * INITIAL_VELOCITY,
                        z: rng.random::<f64>() * INITIAL_VELOCITY,
                    };

                    Body {
                        position,
                        velocity,
                        velocity2,
                    }
                })
                .collect();

            let bodies1 = bodies0.clone();

            NBodyBenchmark {
                time: 0,
                bodies: (bodies0, bodies1),
            }
        }

        pub fn tick_par(&mut self) -> &[Body] {
            let (in_bodies, out_bodies) = if (self.time & 1) == 0 {
                (&self.bodies.0, &mut self.bodies.1)
            } else {
                (&self.bodies.1, &mut self.bodies.0)
            };

            let time = self.time;
            out_bodies
                .par_iter_mut()
                .zip(&in_bodies[..])
                .for_each(|(out, prev)| {
                    let (vel, vel2) = next_velocity(time, prev, in_bodies);
                    out.velocity = vel;
                    out.velocity2 = vel2;

                    let next_velocity = vel - vel2;
                    out.position = prev.position + next_velocity;
                });

            self.time += 1;

            out_bodies
        }

        #[cfg(test)]
        pub fn tick_par_bridge(&mut self) -> &[Body] {
            let (in_bodies, out_bodies) = if (self.time & 1) == 0 {
                (&self.bodies.0, &mut self.bodies.1)
            } else {
                (&self.bodies.1, &mut self.bodies.0)
            };

            let time = self.time;
            out_bodies
                .iter_mut()
                .zip(&in_bodies[..])
                .par_bridge()
                .for_each(|(out, prev)| {
                    let (vel, vel2) = next_velocity(time, prev, in_bodies);
                    out.velocity = vel;
                    out.velocity2 = vel2;

                    let next_velocity = vel - vel2;
                    out.position = prev.position + next_velocity;
                });

            self.time += 1;

            out_bodies
        }

        pub fn tick_par_reduce(&mut self) -> &[Body] {
            let (in_bodies, out_bodies) = if (self.time & 1) == 0 {
                (&self.bodies.0, &mut self.bodies.1)
            } else {
                (&self.bodies.1, &mut self.bodies.0)
            };

            let time = self.time;
            out_bodies
                .par_iter_mut()
                .zip(&in_bodies[..])
                .for_each(|(out, prev)| {
                    let (vel, vel2) = next_velocity_par(time, prev, in_bodies);
                    out.velocity = vel;
                    out.velocity2 = vel2;

                    let next_velocity = vel - vel2;
                    out.position = prev.position + next_velocity;
                });

            self.time += 1;

            out_bodies
        }

        pub fn tick_seq(&mut self) -> &[Body] {
            let (in_bodies, out_bodies) = if (self.time & 1) == 0 {
                (&self.bodies.0, &mut self.bodies.1)
            } else {
                (&self.bodies.1, &mut self.bodies.0)
            };

            let time = self.time;
            for (out, prev) in out_bodies.iter_mut().zip(&in_bodies[..]) {
                let (vel, vel2) = next_velocity(time, prev, in_bodies);
                out.velocity = vel;
                out.velocity2 = vel2;

                let next_velocity = vel - vel2;
                out.position = prev.position + next_velocity;
            }

            self.time += 1;

            out_bodies
        }
    }

    /// Compute next velocity of `prev`
    fn next_velocity(time: usize, prev: &Body, bodies: &[Body]) -> (Vector3<f64>, Vector3<f64>) {
        let time = time as f64;
        let center = Point3 {
            x: (time / 22.0).cos() * -4200.0,
            y: (time / 14.0).sin() * 9200.0,
            z: (time / 27.0).sin() * 6000.0,
        };

        // pull to center
        let max_distance = 3400.0;
        let pull_strength = 0.042;

        // zones
        let zone = 400.0;
        let repel = 100.0;
        let align = 300.0;
        let attract = 100.0;

        let (speed_limit, attract_power);
        if time < 500.0 {
            speed_limit = 2000.0;
            attract_power = 100.9;
        } else {
            speed_limit = 0.2;
            attract_power = 20.9;
        }

        let zone_sqrd = 3.0 * (zone * zone);

        let mut acc = Vector3::zero();
        let mut acc2 = Vector3::zero();

        let dir_to_center = center - prev.position;
        let dist_to_center = dir_to_center.magnitude();

        // orient to center
        if dist_to_center > max_distance {
            let velc = if time < 200.0 {
                0.2
            } else {
                (dist_to_center - max_distance) * pull_strength
            };

            let diff = (dir_to_center / dist_to_center) * velc;
            acc += diff;
        }

        // TODO -- parallelize this loop too? would be easy enough, it's just a reduction
        // Just have to factor things so that `tick_seq` doesn't do it in parallel.
        let zero: Vector3<f64> = Vector3::zero();
        let (diff, diff2) = bodies
            .iter()
            .fold((zero, zero), |(mut diff, mut diff2), body| {
                let r = body.position - prev.position;

                // make sure we are not testing the particle against its own position
                let are_same = r == Vector3::zero();

                let dist_sqrd = r.magnitude2();

                if dist_sqrd < zone_sqrd && !are_same {
                    let length = dist_sqrd.sqrt();
                    let percent = dist_sqrd / zone_sqrd;

                    if dist_sqrd < repel {
                        let f = (repel / percent - 1.0) * 0.025;
                        let normal = (r / length) * f;
                        diff += normal;
                        diff2 += normal;
                    } else if dist_sqrd < align {
                        let thresh_delta = align - repel;
                        let adjusted_percent = (percent - repel) / thresh_delta;
                        let q = (0.5 - (adjusted_percent * PI * 2.0).cos() * 0.5 + 0.5) * 100.9;

                        // normalize vel2 and multiply by factor
                        let vel2_length = body.velocity2.magnitude();
                        let vel2 = (body.velocity2 / vel2_length) * q;

                        // normalize own velocity
                        let vel_length = prev.velocity.magnitude();
                        let vel = (prev.velocity / vel_length) * q;

                        diff += vel2;
                        diff2 += vel;
                    }

                    if dist_sqrd > attract {
                        // attract
                        let thresh_delta2 = 1.0 - attract;
                        let adjusted_percent2 = (percent - attract) / thresh_delta2;
                        let c = (1.0 - ((adjusted_percent2 * PI * 2.0).cos() * 0.5 + 0.5))
                            * attract_power;

                        // normalize the distance vector
                        let d = (r / length) * c;

                        diff += d;
                        diff2 -= d;
                    }
                }

                (diff, diff2)
            });

        acc += diff;
        acc2 += diff2;

        // Speed limits
        if time > 500.0 {
            let acc_squared = acc.magnitude2();
            if acc_squared > speed_limit {
                acc *= 0.015;
            }

            let acc_squared2 = acc2.magnitude2();
            if acc_squared2 > speed_limit {
                acc2 *= 0.015;
            }
        }

        let mut new = prev.velocity + acc;
        let mut new2 = prev.velocity2 + acc2;

        if time < 500.0 {
            let acs = new2.magnitude2();
            if acs > speed_limit {
                new2 *= 0.15;
            }

            let acs2 = new.magnitude2();
            if acs2 > speed_limit {
                new *= 0.15;
            }
        }

        (new, new2)
    }

    /// Compute next velocity of `prev`
    fn next_velocity_par(
        time: usize,
        prev: &Body,
        bodies: &[Body],
    ) -> (Vector3<f64>, Vector3<f64>) {
        let time = time as f64;
        let center = Point3 {
            x: (time / 22.0).cos() * -4200.0,
            y: (time / 14.0).sin() * 9200.0,
            z: (time / 27.0).sin() * 6000.0,
        };

        // pull to center
        let max_distance = 3400.0;
        let pull_strength = 0.042;

        // zones
        let zone = 400.0;
        let repel = 100.0;
        let align = 300.0;
        let attract = 100.0;

        let (speed_limit, attract_power);
        if time < 500.0 {
            speed_limit = 2000.0;
            attract_power = 100.9;
        } else {
            speed_limit = 0.2;
            attract_power = 20.9;
        }

        let zone_sqrd = 3.0 * (zone * zone);

        let mut acc = Vector3::zero();
        let mut acc2 = Vector3::zero();

        let dir_to_center = center - prev.position;
        let dist_to_center = dir_to_center.magnitude();

        // orient to center
        if dist_to_center > max_distance {
            let velc = if time < 200.0 {
                0.2
            } else {
                (dist_to_center - max_distance) * pull_strength
            };

            let diff = (dir_to_center / dist_to_center) * velc;
            acc += diff;
        }

        let (diff, diff2) = bodies
            .par_iter()
            .fold(
                || (Vector3::zero(), Vector3::zero()),
                |(mut diff, mut diff2), body| {
                    let r = body.position - prev.position;

                    // make sure we are not testing the particle against its own position
                    let are_same = r == Vector3::zero();

                    let dist_sqrd = r.magnitude2();

                    if dist_sqrd < zone_sqrd && !are_same {
                        let length = dist_sqrd.sqrt();
                        let percent = dist_sqrd / zone_sqrd;

                        if dist_sqrd < repel {
                            let f = (repel / percent - 1.0) * 0.025;
                            let normal = (r / length) * f;
                            diff += normal;
                            diff2 += normal;
                        } else if dist_sqrd < align {
                            let thresh_delta = align - repel;
                            let adjusted_percent = (percent - repel) / thresh_delta;
                            let q = (0.5 - (adjusted_percent * PI * 2.0).cos() * 0.5 + 0.5) * 100.9;

                            // normalize vel2 and multiply by factor
                            let vel2_length = body.velocity2.magnitude();
                            let vel2 = (body.velocity2 / vel2_length) * q;

                            // normalize own velocity
                            let vel_length = prev.velocity.magnitude();
                            let vel = (prev.velocity / vel_length) * q;

                            diff += vel2;
                            diff2 += vel;
                        }

                        if dist_sqrd > attract {
                            // attract
                            let thresh_delta2 = 1.0 - attract;
                            let adjusted_percent2 = (percent - attract) / thresh_delta2;
                            let c = (1.0 - ((adjusted_percent2 * PI * 2.0).cos() * 0.5 + 0.5))
                                * attract_power;

                            // normalize the distance vector
                            let d = (r / length) * c;

                            diff += d;
                            diff2 -= d;
                        }
                    }

                    (diff, diff2)
                },
            )
            .reduce(
                || (Vector3::zero(), Vector3::zero()),
                |(diffa, diff2a), (diffb, diff2b)| (diffa + diffb, diff2a + diff2b),
            );

        acc += diff;
        acc2 += diff2;

        // Speed limits
        if time > 500.0 {
            let acc_squared = acc.magnitude2();
            if acc_squared > speed_limit {
                acc *= 0.015;
            }

            let acc_squared2 = acc2.magnitude2();
            if acc_squared2 > speed_limit {
                acc2 *= 0.015;
            }
        }

        let mut new = prev.velocity + acc;
        let mut new2 = prev.velocity2 + acc2;

        if time < 500.0 {
            let acs = new2.magnitude2();
            if acs > speed_limit {
                new2 *= 0.15;
            }

            let acs2 = new.magnitude2();
            if acs2 > speed_limit {
                new *= 0.15;
            }
        }

        (new, new2)
    }
    // ---- the check (not rayon's code) ----
    #[test]
    fn nbody_par_par_bridge_and_par_reduce_match_sequential() {
        crate::on_pools(|| {
            let new = || NBodyBenchmark::new(200, &mut rand::XorShift(0x2545_F491_4F6C_DD1D));
            let (mut seq, mut par, mut bridge, mut reduce) = (new(), new(), new(), new());
            let state = |b: &Body| (b.position, b.velocity, b.velocity2);
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-9 * a.abs().max(1.0);
            for _ in 0..4 {
                let s: Vec<_> = seq.tick_seq().iter().map(state).collect();
                let p: Vec<_> = par.tick_par().iter().map(state).collect();
                let b: Vec<_> = bridge.tick_par_bridge().iter().map(state).collect();
                assert_eq!(p, s);
                assert_eq!(b, s);
                // `tick_par_reduce` sums each body's forces in parallel: floating
                // point sums grouped otherwise than the sequential loop's, as in
                // rayon, agree to rounding.
                for (r, s) in reduce.tick_par_reduce().iter().map(state).zip(&s) {
                    for (x, y) in [
                        (r.0.x, s.0.x),
                        (r.0.y, s.0.y),
                        (r.0.z, s.0.z),
                        (r.1.x, s.1.x),
                        (r.2.z, s.2.z),
                    ] {
                        assert!(close(x, y), "{x} vs {y}");
                    }
                }
            }
        });
    }
}

mod matmul {
    // ---- rayon-demo/src/matmul/mod.rs: rayon's code from here ----
    use corepool::prelude::*;

    // TODO: Investigate other cache patterns for row-major order that may be more
    // parallelizable.
    // https://tavianator.com/a-quick-trick-for-faster-naive-matrix-multiplication/
    pub fn seq_matmul(a: &[f32], b: &[f32], dest: &mut [f32]) {
        // Zero dest, as it may be uninitialized.
        for d in dest.iter_mut() {
            *d = 0.0;
        }
        // Multiply in row-major order.
        // D[i,j] = sum for all k A[i,k] * B[k,j]
        let bits = dest.len().trailing_zeros() / 2;
        let n = 1 << bits;
        for i in 0..n {
            for j in 0..n {
                let mut sum = 0.0;
                for k in 0..n {
                    sum +=
                        unsafe { a.get_unchecked(i << bits | k) * b.get_unchecked(k << bits | j) };
                }
                dest[i << bits | j] = sum;
            }
        }
    }

    // Iterator that counts in interleaved bits.
    // e.g. 0b0, 0b1, 0b100, 0b101, 0b10000, 0b10001, ...
    struct SplayedBitsCounter {
        value: usize,
        max: usize,
    }

    impl SplayedBitsCounter {
        fn new(max: usize) -> Self {
            SplayedBitsCounter { value: 0, max }
        }
    }

    impl Iterator for SplayedBitsCounter {
        type Item = usize;

        fn next(&mut self) -> Option<usize> {
            // Return only odd bits.
            let prev = self.value & 0x5555_5555;
            if prev < self.max {
                // Set all even bits.
                self.value |= 0xaaaa_aaaa;
                // Add one, carrying through even bits.
                self.value += 1;
                Some(prev)
            } else {
                None
            }
        }
    }

    // Multiply the matrices laid out in z order.
    // https://en.wikipedia.org/wiki/Z-order_curve
    #[inline(never)]
    pub fn seq_matmulz(a: &[f32], b: &[f32], dest: &mut [f32]) {
        // All inputs need to be the same length.
        assert!(a.len() == b.len() && a.len() == dest.len());
        // Input matrices must be square with each side a power of 2.
        assert!(a.len().count_ones() == 1 && a.len().trailing_zeros() % 2 == 0);
        // Zero dest, as it may be uninitialized.
        for d in dest.iter_mut() {
            *d = 0.0;
        }

        // Multiply in morton order
        // D[i,j] = sum for all k A[i,k] * B[k,j]
        let n = dest.len();
        for (ij, d) in dest.iter_mut().enumerate() {
            let i = ij & 0xaaaa_aaaa;
            let j = ij & 0x5555_5555;
            let mut sum = 0.0;
            for k in SplayedBitsCounter::new(n) {
                // sum += a[i, k] * b[k, j];
                sum += unsafe {
                    // If n is a power of 4: i, j, or k should produce
                    // no bits outside a valid index of n.
                    a.get_unchecked(i | k) * b.get_unchecked(k << 1 | j)
                };
            }
            *d = sum;
        }
    }

    #[expect(clippy::identity_op)]
    const MULT_CHUNK: usize = 1 * 1024;
    const LINEAR_CHUNK: usize = 64 * 1024;

    fn quarter_chunks(v: &[f32]) -> (&[f32], &[f32], &[f32], &[f32]) {
        let mid = v.len() / 2;
        let quarter = mid / 2;
        let (left, right) = v.split_at(mid);
        let (a, b) = left.split_at(quarter);
        let (c, d) = right.split_at(quarter);
        (a, b, c, d)
    }

    fn quarter_chunks_mut(v: &mut [f32]) -> (&mut [f32], &mut [f32], &mut [f32], &mut [f32]) {
        let mid = v.len() / 2;
        let quarter = mid / 2;
        let (left, right) = v.split_at_mut(mid);
        let (a, b) = left.split_at_mut(quarter);
        let (c, d) = right.split_at_mut(quarter);
        (a, b, c, d)
    }

    fn join4<F1, F2, F3, F4, R1, R2, R3, R4>(f1: F1, f2: F2, f3: F3, f4: F4) -> (R1, R2, R3, R4)
    where
        F1: FnOnce() -> R1 + Send,
        R1: Send,
        F2: FnOnce() -> R2 + Send,
        R2: Send,
        F3: FnOnce() -> R3 + Send,
        R3: Send,
        F4: FnOnce() -> R4 + Send,
        R4: Send,
    {
        let ((r1, r2), (r3, r4)) =
            corepool::join(|| corepool::join(f1, f2), || corepool::join(f3, f4));
        (r1, r2, r3, r4)
    }

    #[expect(clippy::too_many_arguments)]
    fn join8<F1, F2, F3, F4, F5, F6, F7, F8, R1, R2, R3, R4, R5, R6, R7, R8>(
        f1: F1,
        f2: F2,
        f3: F3,
        f4: F4,
        f5: F5,
        f6: F6,
        f7: F7,
        f8: F8,
    ) -> (R1, R2, R3, R4, R5, R6, R7, R8)
    where
        F1: FnOnce() -> R1 + Send,
        R1: Send,
        F2: FnOnce() -> R2 + Send,
        R2: Send,
        F3: FnOnce() -> R3 + Send,
        R3: Send,
        F4: FnOnce() -> R4 + Send,
        R4: Send,
        F5: FnOnce() -> R5 + Send,
        R5: Send,
        F6: FnOnce() -> R6 + Send,
        R6: Send,
        F7: FnOnce() -> R7 + Send,
        R7: Send,
        F8: FnOnce() -> R8 + Send,
        R8: Send,
    {
        let (((r1, r2), (r3, r4)), ((r5, r6), (r7, r8))) = corepool::join(
            || corepool::join(|| corepool::join(f1, f2), || corepool::join(f3, f4)),
            || corepool::join(|| corepool::join(f5, f6), || corepool::join(f7, f8)),
        );
        (r1, r2, r3, r4, r5, r6, r7, r8)
    }

    // Multiply two square power of two matrices, given in Z-order.
    pub fn matmulz(a: &[f32], b: &[f32], dest: &mut [f32]) {
        if a.len() <= MULT_CHUNK {
            seq_matmulz(a, b, dest);
            return;
        }

        // Allocate uninitialized scratch space.
        let mut tmp = raw_buffer(dest.len());

        let (a1, a2, a3, a4) = quarter_chunks(a);
        let (b1, b2, b3, b4) = quarter_chunks(b);
        {
            let (d1, d2, d3, d4) = quarter_chunks_mut(dest);
            let (t1, t2, t3, t4) = quarter_chunks_mut(&mut tmp[..]);
            // Multiply 8 submatrices
            join8(
                || matmulz(a1, b1, d1),
                || matmulz(a1, b2, d2),
                || matmulz(a3, b1, d3),
                || matmulz(a3, b2, d4),
                || matmulz(a2, b3, t1),
                || matmulz(a2, b4, t2),
                || matmulz(a4, b3, t3),
                || matmulz(a4, b4, t4),
            );
        }

        // Sum each quarter
        rmatsum(tmp.as_mut(), dest);
    }

    pub fn matmul_strassen(a: &[f32], b: &[f32], dest: &mut [f32]) {
        if a.len() <= MULT_CHUNK {
            seq_matmulz(a, b, dest);
            return;
        }

        // Naming taken from https://en.wikipedia.org/wiki/Strassen_algorithm
        let (a11, a12, a21, a22) = quarter_chunks(a);
        let (b11, b12, b21, b22) = quarter_chunks(b);
        // 7 submatrix multiplies.
        // Maybe the tree should be leaning the other way...
        let (m1, m2, m3, m4, m5, m6, m7, _) = join8(
            || strassen_add2_mul(a11, a22, b11, b22),
            || strassen_add_mul(a21, a22, b11),
            || strassen_sub_mul(b12, b22, a11),
            || strassen_sub_mul(b21, b11, a22),
            || strassen_add_mul(a11, a12, b22),
            || strassen_sub_add_mul(a21, a11, b11, b12),
            || strassen_sub_add_mul(a12, a22, b21, b22),
            || (),
        );

        // Sum results into dest.
        let (c11, c12, c21, c22) = quarter_chunks_mut(dest);
        join4(
            || strassen_sum_sub(&m1[..], &m4[..], &m7[..], &m5[..], c11),
            || strassen_sum(&m3[..], &m5[..], c12),
            || strassen_sum(&m2[..], &m4[..], c21),
            || strassen_sum_sub(&m1[..], &m3[..], &m6[..], &m2[..], c22),
        );
    }

    fn raw_buffer(n: usize) -> Vec<f32> {
        // A zero-initialized buffer is fast enough for our purposes.
        vec![0f32; n]
    }

    fn strassen_add2_mul(a1: &[f32], a2: &[f32], b1: &[f32], b2: &[f32]) -> Vec<f32> {
        let mut dest = raw_buffer(a1.len());
        let (a, b) = corepool::join(|| rtmp_sum(a1, a2), || rtmp_sum(b1, b2));
        matmul_strassen(&a[..], &b[..], &mut dest[..]);
        dest
    }

    fn strassen_sub_add_mul(a1: &[f32], a2: &[f32], b1: &[f32], b2: &[f32]) -> Vec<f32> {
        let mut dest = raw_buffer(a1.len());
        let (a, b) = corepool::join(|| rtmp_sub(a1, a2), || rtmp_sum(b1, b2));
        matmul_strassen(&a[..], &b[..], &mut dest[..]);
        dest
    }

    fn strassen_add_mul(a1: &[f32], a2: &[f32], b: &[f32]) -> Vec<f32> {
        let mut dest = raw_buffer(a1.len());
        let a = rtmp_sum(a1, a2);
        matmul_strassen(&a[..], b, &mut dest[..]);
        dest
    }

    fn strassen_sub_mul(b1: &[f32], b2: &[f32], a: &[f32]) -> Vec<f32> {
        let mut dest = raw_buffer(a.len());
        let b = rtmp_sub(b1, b2);
        matmul_strassen(a, &b[..], &mut dest[..]);
        dest
    }

    fn strassen_sum_sub(a: &[f32], b: &[f32], c: &[f32], s: &[f32], dest: &mut [f32]) {
        rcopy(a, dest);
        rmatsum(b, dest);
        rmatsum(c, dest);
        rmatsub(s, dest);
    }

    fn strassen_sum(a: &[f32], b: &[f32], dest: &mut [f32]) {
        rcopy(a, dest);
        rmatsum(b, dest);
    }

    fn rtmp_sum(a: &[f32], b: &[f32]) -> Vec<f32> {
        let mut tmp = raw_buffer(a.len());
        rcopy(a, &mut tmp[..]);
        rmatsum(b, &mut tmp[..]);
        tmp
    }

    fn rtmp_sub(a: &[f32], b: &[f32]) -> Vec<f32> {
        let mut tmp = raw_buffer(a.len());
        rcopy(a, &mut tmp[..]);
        rmatsub(b, &mut tmp[..]);
        tmp
    }

    // Any layout works, we're just adding by element.
    fn rmatsum(src: &[f32], dest: &mut [f32]) {
        dest.par_iter_mut()
            .zip(src.par_iter())
            .for_each(|(d, s)| *d += *s);
    }

    fn rmatsub(src: &[f32], dest: &mut [f32]) {
        dest.par_iter_mut()
            .zip(src.par_iter())
            .for_each(|(d, s)| *d -= *s);
    }

    fn rcopy(src: &[f32], dest: &mut [f32]) {
        if dest.len() <= LINEAR_CHUNK {
            dest.copy_from_slice(src);
            return;
        }

        let mid = dest.len() / 2;
        let (s1, s2) = src.split_at(mid);
        let (d1, d2) = dest.split_at_mut(mid);
        corepool::join(|| rcopy(s1, d1), || rcopy(s2, d2));
    }
    // ---- the check (not rayon's code) ----
    #[test]
    fn matmul_matches_sequential() {
        crate::on_pools(|| {
            // rayon's `test_splayed_counter` and `test_matmul`, at their sizes.
            let bits: Vec<usize> = SplayedBitsCounter::new(64).collect();
            assert_eq!(
                vec![0b0, 0b1, 0b100, 0b101, 0b10000, 0b10001, 0b10100, 0b10101],
                bits
            );
            let a: Vec<f32> = vec![1.0, 2.0, 3.0, 4.0];
            let b: Vec<f32> = vec![5.0, 6.0, 7.0, 8.0];
            let mul: Vec<f32> = vec![19.0, 22.0, 43.0, 50.0];
            let mut dest = vec![0f32; 4];
            matmulz(&a[..], &b[..], &mut dest[..]);
            assert_eq!(mul, dest);
            seq_matmulz(&a[..], &b[..], &mut dest[..]);
            assert_eq!(mul, dest);
            matmul_strassen(&a[..], &b[..], &mut dest[..]);
            assert_eq!(mul, dest);
            seq_matmul(&a[..], &b[..], &mut dest[..]); // row-major; 2 x 2 is z-order too
            assert_eq!(mul, dest);
            let n = 1 << 14;
            assert!(n > MULT_CHUNK);
            let a: Vec<f32> = (0..n).map(|i| (i % 101) as f32).collect();
            let b: Vec<f32> = (0..n).map(|i| (i % 101 + 7) as f32).collect();
            let mut seqmul = vec![0f32; n];
            seq_matmulz(&a[..], &b[..], &mut seqmul[..]);
            let mut rmul = vec![0f32; n];
            matmulz(&a[..], &b[..], &mut rmul[..]);
            assert_eq!(rmul, seqmul);
            for d in rmul.iter_mut() {
                *d = 0.0;
            }
            matmul_strassen(&a[..], &b[..], &mut rmul[..]);
            assert_eq!(rmul, seqmul);
        });
    }
}

mod sieve {
    // ---- rayon-demo/src/sieve/mod.rs: rayon's code from here ----
    use corepool::prelude::*;

    const CHUNK_SIZE: usize = 100_000;

    // Number of Primes < 10^n
    // https://oeis.org/A006880
    const NUM_PRIMES: &[usize] = &[
        0,  // primes in 0..10^0
        4,  // primes in 0..10^1
        25, // etc
        168,
        1_229,
        9_592,
        78_498,
        664_579,
        5_761_455,
        50_847_534,
        455_052_511,
        4_118_054_813,
        37_607_912_018,
        346_065_536_839,
        3_204_941_750_802,
        29_844_570_422_669,
        279_238_341_033_925,
        2_623_557_157_654_233,
        24_739_954_287_740_860,
        234_057_667_276_344_607,
        2_220_819_602_560_918_840,
    ];

    // For all of these sieves, sieve[i]==true -> 2*i+1 is prime

    fn max(magnitude: usize) -> usize {
        10_usize.pow(magnitude as u32)
    }

    /// Sieve odd integers for primes < max.
    fn sieve_serial(max: usize) -> Vec<bool> {
        let mut sieve = vec![true; max / 2];
        sieve[0] = false; // 1 is not prime
        for i in 1.. {
            if sieve[i] {
                let p = 2 * i + 1;
                let pp = p * p;
                if pp >= max {
                    break;
                }
                clear_stride(&mut sieve, pp / 2, p);
            }
        }
        sieve
    }

    /// Sieve odd integers for primes < max using chunks.
    fn sieve_chunks(max: usize) -> Vec<bool> {
        // first compute the small primes, up to sqrt(max).
        let small_max = (max as f64).sqrt().ceil() as usize;
        let mut sieve = sieve_serial(small_max);
        sieve.resize(max / 2, true);

        {
            let (low, high) = sieve.split_at_mut(small_max / 2);
            for (chunk_index, chunk) in high.chunks_mut(CHUNK_SIZE).enumerate() {
                let i = small_max / 2 + chunk_index * CHUNK_SIZE;
                let base = i * 2 + 1;
                update_chunk(low, chunk, base);
            }
        }

        sieve
    }

    /// Sieve odd integers for primes < max, in parallel!
    fn sieve_parallel(max: usize) -> Vec<bool> {
        // first compute the small primes, up to sqrt(max).
        let small_max = (max as f64).sqrt().ceil() as usize;
        let mut sieve = sieve_serial(small_max);
        sieve.resize(max / 2, true);

        {
            let (low, high) = sieve.split_at_mut(small_max / 2);
            high.par_chunks_mut(CHUNK_SIZE)
                .enumerate() // to figure out where this chunk came from
                .with_max_len(1) // ensure every single chunk is a separate rayon job
                .for_each(|(chunk_index, chunk)| {
                    let i = small_max / 2 + chunk_index * CHUNK_SIZE;
                    let base = i * 2 + 1;
                    update_chunk(low, chunk, base);
                });
        }

        sieve
    }

    /// Update a chunk with low primes
    fn update_chunk(low: &[bool], chunk: &mut [bool], base: usize) {
        let max = base + chunk.len() * 2;
        for (i, &is_prime) in low.iter().enumerate() {
            if is_prime {
                let p = 2 * i + 1;
                let pp = p * p;
                if pp >= max {
                    break;
                }

                let pm = if pp < base {
                    // p² is too small - find the first odd multiple that's in range
                    (base.div_ceil(p) | 1) * p
                } else {
                    pp
                };

                if pm < max {
                    clear_stride(chunk, (pm - base) / 2, p);
                }
            }
        }
    }

    fn clear_stride(slice: &mut [bool], from: usize, stride: usize) {
        slice[from..]
            .iter_mut()
            .step_by(stride)
            .for_each(|x| *x = false)
    }
    // ---- the check (not rayon's code) ----
    #[test]
    fn sieve_parallel_matches_serial() {
        crate::on_pools(|| {
            // rayon's benchmark sieves to 10^9; 10^3 (one short chunk) and 10^6
            // (five chunks) here.
            for magnitude in [3, 6] {
                let serial = sieve_serial(max(magnitude));
                let chunks = sieve_chunks(max(magnitude));
                let parallel = sieve_parallel(max(magnitude));
                assert_eq!(chunks, serial);
                assert_eq!(parallel, serial);
                let num_primes = 1 + parallel.into_iter().filter(|&b| b).count();
                assert_eq!(num_primes, NUM_PRIMES[magnitude]);
            }
        });
    }
}

mod join_microbench {
    // ---- rayon-demo/src/join_microbench.rs: rayon's code from here ----
    //! Some microbenchmarks that stress test a pure `join` path.

    use corepool::prelude::*;
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
            corepool::join(|| join_recursively(n - 1), || join_recursively(n - 1));
        }

        b.iter(|| {
            join_recursively(16);
        });
    }
    // ---- the check (not rayon's code) ----
    // Stand-in for libtest's `Bencher` (not rayon's code; `#[bench]` needs a
    // nightly compiler): runs the benchmark body `runs` times.
    mod test {
        pub struct Bencher {
            pub runs: usize,
        }
        impl Bencher {
            pub fn iter<T>(&mut self, mut inner: impl FnMut() -> T) {
                for _ in 0..self.runs {
                    std::hint::black_box(inner());
                }
            }
        }
    }

    #[test]
    fn increment_all_benches_give_the_sequential_result() {
        crate::on_pools(|| {
            let mut b = test::Bencher { runs: 1 };
            increment_all(&mut b);
            increment_all_min(&mut b);
            increment_all_serialized(&mut b);
            increment_all_max(&mut b);
            increment_all_atomized(&mut b);
            join_recursively(&mut b);
            // What the bodies above do to their vector, checked.
            let mut big_vec = vec![0_usize; 10 * 1024];
            big_vec.par_iter_mut().for_each(|p| *p = p.wrapping_add(1));
            big_vec
                .par_iter_mut()
                .with_min_len(1024)
                .for_each(|p| *p = p.wrapping_add(1));
            big_vec
                .par_iter_mut()
                .with_min_len(usize::MAX)
                .for_each(|p| *p = p.wrapping_add(1));
            big_vec
                .par_iter_mut()
                .with_max_len(100)
                .for_each(|p| *p = p.wrapping_add(1));
            big_vec
                .par_iter_mut()
                .with_max_len(1)
                .for_each(|p| *p = p.wrapping_add(1));
            assert!(big_vec.iter().all(|&x| x == 5));
        });
    }
}

// libtest's `Bencher` (not rayon's code): stand-in for libtest (`#[bench]`
// needs a nightly compiler) with the calls the join microbenchmarks' demo
// makes, so that its `use test::…` lines resolve unchanged. Included
// (`include!`) as the body of a `mod test` next to the demo, in
// tests/par_rayon_demos_port.rs and bench/examples/demos_ratio.rs.
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

// A fixed-seed xorshift generator (not rayon's code): stand-in for the `rand`
// crate with the calls the life demo makes, so that its `use rand::…` lines
// resolve unchanged. Included (`include!`) as the body of a `mod rand` next to
// the demo, in tests/par_rayon_demos_port.rs and
// bench/examples/demos_ratio.rs.
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

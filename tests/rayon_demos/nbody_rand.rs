// A fixed-seed xorshift generator (not rayon's code): stand-in for the `rand`
// crate with the calls the nbody demo makes, so that its `use rand::…` lines
// resolve unchanged. Included (`include!`) as the body of a `mod rand` next to
// the demo, in tests/par_rayon_demos_port.rs and
// bench/examples/demos_ratio.rs.
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

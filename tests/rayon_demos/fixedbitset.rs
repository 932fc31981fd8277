// A bit set on `u64` words (not rayon's code): stand-in for the
// `fixedbitset` crate with the calls the tsp demo makes, so that its
// `FixedBitSet` resolves. Included (`include!`) as the body of a
// `mod fixedbitset` next to the demo, in tests/par_rayon_demos_port.rs and
// bench/examples/demos_ratio.rs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FixedBitSet {
    words: Vec<u64>,
    len: usize,
}

impl FixedBitSet {
    /// An empty set of `bits` bits, all clear.
    pub fn with_capacity(bits: usize) -> FixedBitSet {
        FixedBitSet {
            words: vec![0; bits.div_ceil(64)],
            len: bits,
        }
    }

    /// Whether bit `bit` is set; `false` past the end, as fixedbitset.
    pub fn contains(&self, bit: usize) -> bool {
        bit < self.len && self.words[bit / 64] & (1 << (bit % 64)) != 0
    }

    /// Sets bit `bit`.
    ///
    /// # Panics
    ///
    /// If `bit` is past the end.
    pub fn insert(&mut self, bit: usize) {
        assert!(
            bit < self.len,
            "insert at index {bit} exceeds length {}",
            self.len
        );
        self.words[bit / 64] |= 1 << (bit % 64);
    }

    /// Clears bit `bit`.
    ///
    /// # Panics
    ///
    /// If `bit` is past the end.
    pub fn remove(&mut self, bit: usize) {
        assert!(
            bit < self.len,
            "remove at index {bit} exceeds length {}",
            self.len
        );
        self.words[bit / 64] &= !(1 << (bit % 64));
    }
}

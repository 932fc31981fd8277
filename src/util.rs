//! Small helpers shared by the scheduler's files.

// Layer: base (`lib.rs`, "Layers"). It may use std and the dependencies; of
// the crate, only the other base files.

/// Aligns `T` to 128 bytes so two workers' hot fields never share a cache
/// line (two 64-byte lines: adjacent-line prefetchers pull pairs).
#[derive(Debug, Default)]
#[repr(align(128))]
pub(crate) struct Padded<T>(pub(crate) T);

/// A small, fast, non-cryptographic generator (xorshift64*), one per worker,
/// for picking a random victim to steal from.
#[derive(Debug)]
pub(crate) struct XorShift(std::cell::Cell<u64>);

impl XorShift {
    pub(crate) fn new(seed: u64) -> XorShift {
        // Zero is a fixed point of xorshift: avoid it.
        XorShift(std::cell::Cell::new(
            seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        ))
    }

    /// A value in `0..n`; `n` must be positive.
    pub(crate) fn below(&self, n: usize) -> usize {
        let mut x = self.0.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0.set(x);
        (x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 32) as usize % n
    }
}

//! The benchmark and heavy-example companion of corepool: nothing to use
//! here; see `benches/` and `examples/`.

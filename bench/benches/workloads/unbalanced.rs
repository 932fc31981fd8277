//! The unbalanced workload, which the pool benchmark and the
//! `wait_for_all` example both run: 10,000 tasks of a fixed amount of spin
//! work, 1 % of them 400 times longer, placed by a seeded shuffle.

/// Tasks in `unbalanced`, of which `UNBALANCED_LONG_PERCENT` % are long.
pub const UNBALANCED_TASKS: usize = 10_000;
pub const UNBALANCED_LONG_PERCENT: usize = 1;
/// Spin iterations of a short (~5 µs) and a long (~2 ms) unbalanced task.
pub const SHORT_ITERS: u32 = 2_400;
pub const LONG_ITERS: u32 = 950_000;
/// Seed of the shuffle that places the long tasks.
pub const UNBALANCED_SEED: u64 = 0x00C0_FFEE_2024;

/// `iters` rounds of a dependent multiply-xorshift chain: CPU work of a fixed
/// size that the compiler cannot shorten.
#[inline(never)]
pub fn spin(iters: u32, seed: u64) -> u64 {
    let mut h = seed;
    for _ in 0..iters {
        h = h
            .wrapping_mul(0x5851_F42D_4C95_7F2D)
            .wrapping_add(0x1405_7B7E_F767_814F);
        h ^= h >> 29;
    }
    h
}

/// The unbalanced workload: spin iterations per task, long ones placed by a
/// seeded shuffle.
pub fn unbalanced_tasks() -> Vec<u32> {
    let long = UNBALANCED_TASKS * UNBALANCED_LONG_PERCENT / 100;
    let mut tasks: Vec<u32> = (0..UNBALANCED_TASKS)
        .map(|i| if i < long { LONG_ITERS } else { SHORT_ITERS })
        .collect();
    let mut state = UNBALANCED_SEED;
    for i in (1..tasks.len()).rev() {
        let j = (splitmix64(&mut state) % (i as u64 + 1)) as usize;
        tasks.swap(i, j);
    }
    tasks
}

fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

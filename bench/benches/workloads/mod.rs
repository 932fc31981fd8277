//! Work that the pool benchmark and the streaming-map example both run:
//! the cheap map's function and the prime count in chunks.

/// `primes` counts the primes below `PRIMES_LIMIT` in chunks of `PRIMES_CHUNK`.
pub const PRIMES_LIMIT: u32 = 2_000_000;
pub const PRIMES_CHUNK: u32 = 10_000;

/// The cheap map's function: a few cycles.
#[inline]
pub fn cheap(x: usize) -> u64 {
    (x as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 7
}

fn is_prime(n: u32) -> bool {
    if n < 2 {
        return false;
    }
    if n % 2 == 0 {
        return n == 2;
    }
    let mut d = 3u32;
    while d * d <= n {
        if n % d == 0 {
            return false;
        }
        d += 2;
    }
    true
}

/// Primes in chunk `c`: `[c * PRIMES_CHUNK, (c + 1) * PRIMES_CHUNK)`, cut at
/// the limit.
pub fn primes_in_chunk(c: usize) -> usize {
    let lo = c as u32 * PRIMES_CHUNK;
    let hi = (lo + PRIMES_CHUNK).min(PRIMES_LIMIT);
    (lo..hi).filter(|&n| is_prime(n)).count()
}

/// How many chunks `primes` counts in.
pub fn primes_chunks() -> usize {
    PRIMES_LIMIT.div_ceil(PRIMES_CHUNK) as usize
}

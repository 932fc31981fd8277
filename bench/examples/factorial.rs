//! n! for a large n as a product tree on the pool with `join`, timed beside
//! the same tree on one thread, then written out in decimal on the pool.
//!
//! Mirrors the `ProcessPoolExecutor` factorial of the "Parallel Computing in
//! Python" chapter (`executor.submit(factorial, 1000000)`), but splits the
//! work three ways:
//!
//! - **the tree**: `1..=n` is halved recursively, each half a `join` branch,
//!   down to about `--leaves` ranges; each range is multiplied on one thread
//!   exactly as the one-thread tree does, so both trees are the same;
//! - **the top multiplications**: each forked node's product splits its
//!   larger operand into a high and a low half, multiplies both halves by
//!   the other operand as the two sides of a `join`, and recombines them
//!   with a shift and an add, so the root's multiplication (and whichever
//!   one a worker would otherwise wait for) runs on both workers;
//! - **the decimal digits**: divide and conquer, as `x = q * 10^k + r` with
//!   `k` half the digits (`10^k = 5^k * 2^k`, so the one division is by
//!   `5^k`), `q` and `r` converted in parallel and `r` padded to `k` digits.
//!
//! Big integers are `malachite-nz` naturals (FFT multiplication and
//! sub-quadratic decimal conversion, which the halves use on each worker).
//! The result is checked against the one-thread product, and the digits
//! against the number modulo three primes near 2^32.
//!
//! usage: `cargo run --release -p corepool-bench --example factorial -- [N]
//! [--leaves L] [--split LIMBS] [--rounds R]`. `--split` is the smallest
//! operand (in 64-bit limbs) whose multiplication or conversion is split
//! across workers (default 4096); the tests set it low to run the split
//! paths on small numbers. Each of the R rounds (default 3) times the tree
//! on the pool, the tree on one thread and the conversion back to back; the
//! best and the median of each are printed, the speed-up is best over best,
//! and the whole job is the best round's product plus its digits.
//! `python3 bench/python/factorial_vs_cpython.py` runs this beside CPython's
//! `math.factorial` and prints the ratio.

#[path = "../../examples/common/mod.rs"]
mod common;

use common::{Args, grouped, secs, speedup, timed};
use corepool::Pool;
use malachite_base::num::arithmetic::traits::{DivMod, ModPowerOf2, Pow};
use malachite_base::num::logic::traits::SignificantBits;
use malachite_nz::natural::Natural;
use std::time::Duration;

const USAGE: &str = "factorial [N] [--leaves L] [--split LIMBS]   (N! for N >= 0, default 1000000)";

/// Ranges this short are multiplied in machine words, not split further.
const LEAF: u64 = 64;

/// The product of `lo..hi` as a balanced tree of multiplications, on the
/// calling thread. Small ranges are multiplied in machine words first.
fn product(lo: u64, hi: u64) -> Natural {
    if hi - lo <= LEAF {
        let mut acc = Natural::from(1u32);
        let mut word = 1u64;
        for k in lo..hi {
            match word.checked_mul(k) {
                Some(w) => word = w,
                None => {
                    acc *= Natural::from(word);
                    word = k;
                }
            }
        }
        return acc * Natural::from(word);
    }
    let mid = lo + (hi - lo) / 2;
    product(lo, mid) * product(mid, hi)
}

/// How the pool's work is cut: forks of the tree, and the size from which a
/// multiplication or a conversion is split across workers.
#[derive(Clone, Copy)]
struct Plan {
    /// Levels of the tree forked with `join` (2^forks leaf ranges).
    forks: u32,
    /// Smallest operand, in limbs, worth splitting.
    split_limbs: u64,
}

/// The same tree as [`product`] on the pool: the top `forks` levels are
/// `join`s, the ranges below them run [`product`], and each forked node's
/// multiplication is offered to `workers` workers (see [`multiply`]).
fn parallel_product(
    pool: &Pool,
    plan: Plan,
    lo: u64,
    hi: u64,
    forks: u32,
    workers: usize,
) -> Natural {
    if forks == 0 || hi - lo <= LEAF {
        return product(lo, hi);
    }
    let mid = lo + (hi - lo) / 2;
    let (a, b) = pool.join(
        || parallel_product(pool, plan, lo, mid, forks - 1, workers),
        || parallel_product(pool, plan, mid, hi, forks - 1, workers),
    );
    multiply(pool, plan, &a, &b, workers)
}

/// `a * b` in up to `width` pieces: the larger operand is cut into a high
/// and a low half of limbs, both halves are multiplied by the other operand
/// as the two sides of a `join` (each in up to half as many pieces), and
/// `high << 64h` is added to `low`. Measured here at 1000000!, two half
/// products cost about what the whole one does (the FFT sizes fit them as
/// well or better), so even a node whose sibling keeps the other worker busy
/// loses nothing by splitting: its caller runs both halves, and a worker
/// that goes idle takes one.
fn multiply(pool: &Pool, plan: Plan, a: &Natural, b: &Natural, width: usize) -> Natural {
    let (big, small) = if a.limb_count() >= b.limb_count() {
        (a, b)
    } else {
        (b, a)
    };
    if width < 2 || small.limb_count() < plan.split_limbs || big.limb_count() < 2 {
        return a * b;
    }
    let limbs = big.as_limbs_asc();
    let h = limbs.len() / 2;
    let (high, low) = (
        Natural::from_limbs_asc(&limbs[h..]),
        Natural::from_limbs_asc(&limbs[..h]),
    );
    let half = width / 2;
    let (mut top, bottom) = pool.join(
        || multiply(pool, plan, &high, small, half),
        || multiply(pool, plan, &low, small, width - half),
    );
    top <<= 64 * h as u64;
    top += bottom;
    top
}

/// `x` in decimal on up to `width` workers, left-padded with zeros to `pad`
/// digits. Splits `x = q * 10^k + r` with `k` about half of `x`'s digits and
/// converts `q` and `r` (padded to `k` digits) in parallel; `10^k` is
/// `5^k << k`, so `q` and `r` come from one division of `x >> k` by `5^k`.
fn to_decimal(pool: &Pool, plan: Plan, x: &Natural, width: usize, pad: usize) -> String {
    // floor(bits * log10 2) is at most the digit count.
    let digits_at_least = (x.significant_bits() as f64 * std::f64::consts::LOG10_2) as u64;
    let k = digits_at_least / 2;
    if width < 2 || x.limb_count() < plan.split_limbs || k == 0 {
        return padded(x.to_string(), pad);
    }
    let (q, r_odd) = (x >> k).div_mod(Natural::from(5u32).pow(k));
    let r = (r_odd << k) + x.mod_power_of_2(k);
    let k = usize::try_from(k).expect("a digit count fits in usize");
    let half = width / 2;
    let (mut high, low) = pool.join(
        || to_decimal(pool, plan, &q, half, pad.saturating_sub(k)),
        || to_decimal(pool, plan, &r, width - half, k),
    );
    high.push_str(&low);
    high
}

/// `digits` with zeros in front up to `width` characters.
fn padded(digits: String, width: usize) -> String {
    if digits.len() >= width {
        return digits;
    }
    let mut out = "0".repeat(width - digits.len());
    out.push_str(&digits);
    out
}

/// Whether `decimal` spells `x`: compares them modulo three primes near
/// 2^32 (nine digits at a time), a linear-time check of every digit.
fn digits_check_out(x: &Natural, decimal: &str) -> bool {
    const PRIMES: [u64; 3] = [4_294_967_291, 4_294_967_279, 4_294_967_231];
    if decimal.is_empty() || !decimal.bytes().all(|b| b.is_ascii_digit()) {
        return false;
    }
    let bytes = decimal.as_bytes();
    let first = match bytes.len() % 9 {
        0 => 9,
        r => r,
    };
    PRIMES.iter().all(|&p| {
        let expected = u64::try_from(&(x % Natural::from(p))).expect("a remainder below p");
        let mut acc = 0u64;
        let mut start = 0;
        let mut end = first;
        while start < bytes.len() {
            let chunk = bytes[start..end]
                .iter()
                .fold(0u64, |v, &b| v * 10 + u64::from(b - b'0'));
            let scale = 10u64.pow((end - start) as u32);
            acc = (acc * scale + chunk) % p;
            start = end;
            end += 9;
        }
        acc == expected
    })
}

/// The shortest of `times`.
fn best(times: &[Duration]) -> Duration {
    times.iter().copied().min().unwrap_or_default()
}

/// The middle of `times` (the upper middle for an even count).
fn median(times: &[Duration]) -> Duration {
    let mut sorted = times.to_vec();
    sorted.sort();
    sorted.get(sorted.len() / 2).copied().unwrap_or_default()
}

fn main() {
    let mut args = Args::parse(USAGE);
    let leaves_arg: u64 = args.option("--leaves", 0);
    let split_limbs: u64 = args.option("--split", 4096);
    let rounds: usize = args.option("--rounds", 3);
    let n: u64 = args.next_or("N", 1_000_000);
    args.check(split_limbs >= 1, "--split must be at least 1");
    args.check(rounds >= 1, "--rounds must be at least 1");
    args.finish();

    let pool = common::pool();
    common::banner(&pool);
    let workers = pool.workers();
    // Eight leaves per worker: the halves of the tree are not equal (the
    // upper numbers are longer), and stealing evens them out.
    let leaves = if leaves_arg == 0 {
        8 * workers as u64
    } else {
        leaves_arg
    };
    let leaves = leaves.clamp(1, n.max(1));
    let plan = Plan {
        forks: leaves.next_power_of_two().trailing_zeros(),
        split_limbs,
    };

    // Each round times the tree on the pool, the same tree on one thread
    // and the conversion, back to back; the best of each is reported (and
    // the median beside it), and the whole job is the best round's product
    // plus its digits.
    let mut t_par = Vec::with_capacity(rounds);
    let mut t_seq = Vec::with_capacity(rounds);
    let mut t_dec = Vec::with_capacity(rounds);
    let mut decimal = String::new();
    for round in 0..rounds {
        let (parallel, par) =
            timed(|| pool.install(|| parallel_product(&pool, plan, 1, n + 1, plan.forks, workers)));
        let (sequential, seq) = timed(|| product(1, n + 1));
        if parallel != sequential {
            eprintln!("error: the pool's product differs from the sequential one");
            std::process::exit(1);
        }
        let (digits, dec) =
            timed(|| pool.install(|| to_decimal(&pool, plan, &parallel, workers, 0)));
        let good = if round == 0 {
            digits_check_out(&parallel, &digits)
        } else {
            digits == decimal
        };
        if !good {
            eprintln!("error: the decimal digits do not spell the product");
            std::process::exit(1);
        }
        decimal = digits;
        t_par.push(par);
        t_seq.push(seq);
        t_dec.push(dec);
    }
    let whole = (0..rounds)
        .map(|i| t_par[i] + t_dec[i])
        .min()
        .unwrap_or_default();
    let significant = decimal.trim_end_matches('0');
    let zeros = decimal.len() - significant.len();
    let head = &decimal[..decimal.len().min(20)];
    let tail = &significant[significant.len().saturating_sub(20)..];

    println!("{n}! has {} digits", grouped(decimal.len() as u64));
    println!("first digits: {head}...");
    println!(
        "last digits:  ...{tail} followed by {} zeros",
        grouped(zeros as u64)
    );
    let (best_par, best_seq, best_dec) = (best(&t_par), best(&t_seq), best(&t_dec));
    println!(
        "product tree, {} leaves on {workers} workers: {}  (best of {rounds}; median {})",
        1u64 << plan.forks,
        secs(best_par),
        secs(median(&t_par))
    );
    println!(
        "same tree on one thread:          {}  (best of {rounds}; median {}; speed-up {})",
        secs(best_seq),
        secs(median(&t_seq)),
        speedup(best_seq, best_par)
    );
    println!(
        "decimal conversion on the pool:   {}  (best of {rounds}; median {})",
        secs(best_dec),
        secs(median(&t_dec))
    );
    println!(
        "whole job (product + digits):     {}  ({:.6} s, the best round)",
        secs(whole),
        whole.as_secs_f64()
    );
    println!("results match the sequential product; the digits check out");
}

//! What every example shares: reading its arguments (a bad one is a one-line
//! usage error and exit code 2), timing, the pool banner and a tiny random
//! number generator. Each example pulls it in with
//! `#[path = "common/mod.rs"] mod common;`; no example uses all of it.

#![allow(dead_code)]

use std::fmt::Display;
use std::str::FromStr;
use std::time::{Duration, Instant};

use corepool::Pool;

/// An example's command line: positional values in order, plus `--flag`s and
/// `--option VALUE`s anywhere. `-h`/`--help` prints the usage and exits 0;
/// anything it cannot use prints one usage line to stderr and exits with 2.
#[derive(Debug)]
pub struct Args {
    usage: &'static str,
    words: Vec<String>,
    next: usize,
}

impl Args {
    /// Reads `std::env::args`; `usage` is the text after `usage: `, e.g.
    /// `"primes [LIMIT] [--list]"`.
    pub fn parse(usage: &'static str) -> Args {
        let words: Vec<String> = std::env::args().skip(1).collect();
        if words.iter().any(|w| w == "-h" || w == "--help") {
            println!("usage: {usage}");
            std::process::exit(0);
        }
        Args {
            usage,
            words,
            next: 0,
        }
    }

    /// Prints `error: WHY; usage: ...` on one line and exits with code 2.
    pub fn fail(&self, why: impl Display) -> ! {
        eprintln!("error: {why}; usage: {}", self.usage);
        std::process::exit(2);
    }

    /// Exits with a usage error saying `why` unless `ok`.
    pub fn check(&self, ok: bool, why: impl Display) {
        if !ok {
            self.fail(why);
        }
    }

    /// Whether `--name` was given (it is taken out of the arguments).
    pub fn flag(&mut self, name: &str) -> bool {
        let before = self.words.len();
        self.words.retain(|w| w != name);
        before != self.words.len()
    }

    /// The value after `--name`, parsed, or `default` when it is absent.
    pub fn option<T: FromStr>(&mut self, name: &str, default: T) -> T {
        let Some(at) = self.words.iter().position(|w| w == name) else {
            return default;
        };
        if at + 1 >= self.words.len() {
            self.fail(format_args!("{name} needs a value"));
        }
        let value = self.words.remove(at + 1);
        self.words.remove(at);
        self.parse_word(name, &value)
    }

    /// The next positional value, parsed, or `default` when there is none.
    /// `what` names it in the error message (`LIMIT`).
    pub fn next_or<T: FromStr>(&mut self, what: &str, default: T) -> T {
        match self.next_word() {
            Some(word) => self.parse_word(what, &word),
            None => default,
        }
    }

    /// All remaining positional values, parsed; `default` when there are none.
    pub fn rest_or<T: FromStr>(&mut self, what: &str, default: Vec<T>) -> Vec<T> {
        let mut values = Vec::new();
        while let Some(word) = self.next_word() {
            values.push(self.parse_word(what, &word));
        }
        if values.is_empty() { default } else { values }
    }

    /// Exits with a usage error if any argument was not used.
    pub fn finish(self) {
        if let Some(extra) = self.words.get(self.next) {
            self.fail(format_args!("unexpected argument {extra:?}"));
        }
    }

    fn next_word(&mut self) -> Option<String> {
        let word = self.words.get(self.next)?.clone();
        if word.starts_with("--") {
            self.fail(format_args!("unknown option {word:?}"));
        }
        self.next += 1;
        Some(word)
    }

    fn parse_word<T: FromStr>(&self, what: &str, word: &str) -> T {
        // Allow `1_000_000` and `1,000,000` for readability.
        let cleaned: String = word.chars().filter(|&c| c != '_' && c != ',').collect();
        cleaned
            .parse()
            .unwrap_or_else(|_| self.fail(format_args!("{what} cannot be {word:?}")))
    }
}

/// The pool with default settings (one pinned worker per physical core), or
/// a one-line error and exit code 1.
pub fn pool() -> Pool {
    match Pool::new() {
        Ok(pool) => pool,
        Err(err) => {
            eprintln!("error: cannot start the pool: {err}");
            std::process::exit(1);
        }
    }
}

/// A pool of exactly `workers` workers (pinned as by default).
pub fn pool_of(workers: usize) -> Pool {
    match Pool::builder().workers(workers).build() {
        Ok(pool) => pool,
        Err(err) => {
            eprintln!("error: cannot start a pool of {workers} workers: {err}");
            std::process::exit(1);
        }
    }
}

/// Prints `pool: N workers, pinned to CPUs [..]` (or `not pinned`).
pub fn banner(pool: &Pool) {
    let cpus: Option<Vec<usize>> = pool.stats().workers.iter().map(|w| w.cpu).collect();
    match cpus {
        Some(cpus) => println!("pool: {} workers, pinned to CPUs {cpus:?}", pool.workers()),
        None => println!("pool: {} workers, not pinned", pool.workers()),
    }
}

/// Runs `f` and returns its value with the time it took.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed())
}

/// A duration for people: `1.234 s`, `56.7 ms` or `890 µs`.
pub fn secs(d: Duration) -> String {
    let s = d.as_secs_f64();
    if s >= 1.0 {
        format!("{s:.3} s")
    } else if s >= 1e-3 {
        format!("{:.1} ms", s * 1e3)
    } else {
        format!("{:.0} µs", s * 1e6)
    }
}

/// How many times faster `parallel` was than `sequential`, as `1.93x`.
pub fn speedup(sequential: Duration, parallel: Duration) -> String {
    let ratio = sequential.as_secs_f64() / parallel.as_secs_f64().max(1e-9);
    format!("{ratio:.2}x")
}

/// `1234567` as `1,234,567`.
pub fn grouped(n: impl Into<u128>) -> String {
    let digits = n.into().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Marsaglia's xorshift64: fast, deterministic, good enough for test data
/// (not for anything that needs real randomness).
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    /// A generator from `seed` (zero is replaced, as xorshift never leaves 0).
    pub fn new(seed: u64) -> XorShift {
        XorShift(if seed == 0 {
            0x9E37_79B9_7F4A_7C15
        } else {
            seed
        })
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A number in `0..bound` (slightly biased for huge bounds; fine here).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }
}

/// Whether `n` is prime, by trial division by 2, 3 and 6k ± 1 (the prime
/// examples: `primes`, `process_primes`, `cluster_primes`).
pub fn is_prime(n: u64) -> bool {
    if n < 4 {
        return n >= 2;
    }
    if n % 2 == 0 || n % 3 == 0 {
        return false;
    }
    let mut d = 5;
    while d * d <= n {
        if n % d == 0 || n % (d + 2) == 0 {
            return false;
        }
        d += 6;
    }
    true
}

/// The primes in `lo..hi`.
pub fn primes_in((lo, hi): (u64, u64)) -> Vec<u64> {
    (lo..hi).filter(|&n| is_prime(n)).collect()
}

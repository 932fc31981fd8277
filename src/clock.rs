//! A cheap monotonic clock for the scheduler's hints: nanoseconds since the
//! first reading in this process.
//!
//! `par`'s walk reads the clock after each of its first steps, and an idle
//! worker reads it on every search round while the pool lingers (`sleep.rs`,
//! step 6). `Instant::now()` (the vDSO's `clock_gettime`) took 29.6 ns a
//! read on the development VM, and a profile of 1 Ki-element `par` calls
//! put half of their time in it and in `Instant` arithmetic. The CPU's
//! time-stamp counter reads in 11.6 ns there.
//!
//! # How a reading is taken
//!
//! 1. The first reading records a base: where the counter is trusted
//!    (below), a counter read *bracketed* by two `Instant` reads, taken
//!    again until the bracket is at most [`BRACKET_MAX`] wide (a thread
//!    paused between the reads would otherwise skew the rate by the pause;
//!    after [`BRACKET_TRIES`] wide brackets the counter is not used). The
//!    counter's moment is taken as the bracket's middle.
//! 2. Until [`CALIBRATE_AFTER`] has passed since the base's counter read,
//!    readings are `Instant`'s nanoseconds since the base.
//! 3. Then a reading takes a second bracketed counter read and, if that
//!    bracket is narrow too, fixes the counter's rate from the two middles
//!    (a wide one is dropped and a later reading tries again). Each middle
//!    is within half a bracket of the counter's true moment, so the rate is
//!    off by at most `BRACKET_MAX / CALIBRATE_AFTER`: 1 in 10,000.
//! 4. From then on a reading is the base's moment plus the counter's ticks
//!    since the base, scaled: it agrees with `Instant` to within a bracket
//!    plus the rate's error over the time since the base (0.1 µs a
//!    millisecond at worst), so readings around the switch may step back
//!    by about a microsecond; callers take spans with `saturating_sub`.
//!
//! The counter is trusted only on x86-64 Linux when the kernel's own
//! clocksource is `tsc`: the kernel then has checked that the counter runs
//! at a constant rate, through idle states, and in step on every CPU (an
//! unpinned thread may read it on several). Anywhere else, and under Miri
//! or loom, every reading is `Instant`'s.
//!
//! Why not the `quanta` crate, which reads the same counter: it calibrates
//! on its first reading by sampling against the OS clock in a loop (a full
//! second in 2020, metrics-rs/quanta#16; shorter since, still a loop), and
//! a first `par` call would wait for that. Here the rate is fixed in
//! passing, by a reading 10 ms after the first, in three reads.
//!
//! Readings are hints for deciding when to fork and how long to linger;
//! nothing that must be right (a deadline a user gave, a timeout) uses
//! them, and `sleep.rs` ignores a lingering window that reaches further
//! ahead than any it sets. A reading is never 0 (`sleep.rs` keeps 0 for
//! "no window").

use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// `d` in nanoseconds, to compare with spans of [`now`] readings (meant for
/// constants: folded at compile time).
pub(crate) const fn nanos(d: Duration) -> u64 {
    d.as_nanos() as u64
}

/// How long after the base the counter's rate is fixed, in nanoseconds.
const CALIBRATE_AFTER: u64 = 10_000_000;

/// The widest bracket (two `Instant` reads around a counter read) that is
/// believed, in nanoseconds; the reads took ~30 ns each here.
const BRACKET_MAX: u64 = 1_000;

/// How many brackets the base tries before it gives up on the counter.
const BRACKET_TRIES: usize = 16;

/// The first reading's moment.
struct Base {
    instant: Instant,
    /// A counter read and its moment, in nanoseconds after `instant`
    /// (step 1); `None` if the counter is not trusted.
    counter: Option<(u64, u64)>,
}

/// The counter's rate, once fixed.
struct Rate {
    /// The counter at the base.
    base_ticks: u64,
    /// Nanoseconds from the base's `instant` to `base_ticks`' moment.
    base_nanos: u64,
    /// Nanoseconds per tick, as a 32.32 fixed-point number.
    nanos_per_tick: u64,
}

static BASE: OnceLock<Base> = OnceLock::new();
static RATE: OnceLock<Rate> = OnceLock::new();

/// Nanoseconds since the first reading in this process (at least 1).
#[inline]
pub(crate) fn now() -> u64 {
    match RATE.get() {
        Some(rate) => {
            let ticks = counter().saturating_sub(rate.base_ticks);
            let nanos = (u128::from(ticks) * u128::from(rate.nanos_per_tick)) >> 32;
            rate.base_nanos.saturating_add(nanos as u64).max(1)
        }
        None => now_uncalibrated(),
    }
}

/// Nanoseconds from `base` to `instant`.
fn nanos_since(base: Instant, instant: Instant) -> u64 {
    u64::try_from(instant.saturating_duration_since(base).as_nanos()).unwrap_or(u64::MAX)
}

/// A counter read between two `Instant` reads: the counter and the
/// bracket's middle, in nanoseconds after `base`, if the bracket is at most
/// [`BRACKET_MAX`] wide.
fn bracketed(base: Instant) -> Option<(u64, u64)> {
    let before = Instant::now();
    let ticks = counter();
    let after = Instant::now();
    let (from, to) = (nanos_since(base, before), nanos_since(base, after));
    let width = to.saturating_sub(from);
    (width <= BRACKET_MAX).then(|| (ticks, from + width / 2))
}

/// Steps 1–3: `Instant`'s reading, and the rate fixed once it is time.
#[cold]
fn now_uncalibrated() -> u64 {
    let base = BASE.get_or_init(|| {
        // Whether to trust the counter is asked first: it reads a file,
        // which took 30-70 µs here, and must not sit inside the base.
        let trusted = trusted();
        let instant = Instant::now();
        let counter = if trusted {
            (0..BRACKET_TRIES).find_map(|_| bracketed(instant))
        } else {
            None
        };
        Base { instant, counter }
    });
    let nanos = nanos_since(base.instant, Instant::now());
    if let Some((base_ticks, base_nanos)) = base.counter {
        // Timed from the base's counter read, not from `instant`: a thread
        // paused before its first narrow bracket would otherwise fix the
        // rate over a span of nanoseconds.
        if nanos >= base_nanos.saturating_add(CALIBRATE_AFTER) {
            if let Some((ticks, at)) = bracketed(base.instant) {
                let ticks = ticks.saturating_sub(base_ticks);
                let span = at.saturating_sub(base_nanos);
                if ticks > 0 {
                    let rate = (u128::from(span) << 32) / u128::from(ticks);
                    let nanos_per_tick = u64::try_from(rate).unwrap_or(0);
                    if nanos_per_tick > 0 {
                        let _ = RATE.set(Rate {
                            base_ticks,
                            base_nanos,
                            nanos_per_tick,
                        });
                    }
                }
            }
        }
    }
    nanos.max(1)
}

/// Whether the time-stamp counter may be read instead of `Instant`: the
/// kernel's clocksource is `tsc`.
#[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri), not(loom)))]
fn trusted() -> bool {
    std::fs::read_to_string("/sys/devices/system/clocksource/clocksource0/current_clocksource")
        .is_ok_and(|source| source.trim() == "tsc")
}

#[cfg(not(all(target_arch = "x86_64", target_os = "linux", not(miri), not(loom))))]
fn trusted() -> bool {
    false
}

/// The time-stamp counter.
#[cfg(all(target_arch = "x86_64", target_os = "linux", not(miri), not(loom)))]
#[inline]
fn counter() -> u64 {
    // `_rdtsc` is a safe function from Rust 1.87 on; the crate supports
    // 1.85, where it is `unsafe`.
    #[allow(unused_unsafe)]
    // SAFETY: `rdtsc` reads a register; it has no preconditions and touches
    // no memory. Every x86-64 CPU has it.
    unsafe {
        std::arch::x86_64::_rdtsc()
    }
}

/// Never called where the counter is not trusted.
#[cfg(not(all(target_arch = "x86_64", target_os = "linux", not(miri), not(loom))))]
fn counter() -> u64 {
    0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether this process reads the counter (step 1 found a narrow
    /// bracket where the counter is trusted).
    fn counting() -> bool {
        now();
        BASE.get().is_some_and(|base| base.counter.is_some())
    }

    /// Spins until calibration is past, reading the clock all along: every
    /// reading follows the one before, up to the switch's step back.
    fn read_through_calibration() {
        let started = Instant::now();
        let mut last = now();
        while started.elapsed().as_nanos() < 2 * u128::from(CALIBRATE_AFTER) {
            let reading = now();
            // Step 4: around the switch a reading may step back by about a
            // bracket; 5 µs is five brackets.
            assert!(reading + 5_000 >= last, "{reading} after {last}");
            last = last.max(reading);
        }
        if counting() {
            // The base may have been taken late (a paused thread): give the
            // calibration its 10 ms from there, reading all along.
            while RATE.get().is_none() && started.elapsed().as_secs() < 5 {
                now();
            }
            assert!(RATE.get().is_some(), "calibrated by now");
        }
    }

    #[test]
    fn readings_never_step_back_by_more_than_a_few_brackets() {
        read_through_calibration();
    }

    #[test]
    fn a_calibrated_clock_runs_at_instant_s_rate() {
        read_through_calibration();
        // A reading and the middle of a narrow `Instant` bracket around it.
        let paired = || loop {
            let before = Instant::now();
            let reading = now();
            let after = Instant::now();
            if after - before <= Duration::from_nanos(BRACKET_MAX) {
                return (reading, before + (after - before) / 2);
            }
        };
        let (first, first_at) = paired();
        while first_at.elapsed().as_millis() < 20 {
            std::hint::spin_loop();
        }
        let (last, last_at) = paired();
        let ratio = (last - first) as f64 / (last_at - first_at).as_nanos() as f64;
        // Step 3 bounds the rate's error at 1 in 10,000; each pair adds at
        // most half a microsecond over 20 ms (1 in 40,000 each).
        assert!(
            (ratio - 1.0).abs() < 0.001,
            "the clock runs at {ratio}× Instant"
        );
    }
}

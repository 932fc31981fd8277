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
//! 1. The first reading records a base: an `Instant` and, where the counter
//!    is trusted (below), the counter read right after it.
//! 2. Until [`CALIBRATE_AFTER`] has passed since the base, readings are
//!    `Instant`'s nanoseconds since the base.
//! 3. The first reading after that also reads the counter and fixes its
//!    rate: nanoseconds per tick, from the two spans since the base. The
//!    reads at either end are tens of nanoseconds apart, so over 2 ms the
//!    rate is off by a few parts in 100,000.
//! 4. From then on a reading is the counter's ticks since the base, scaled.
//!    Both kinds of reading count from the same base, so a span that
//!    straddles the switch is off by no more than the calibration's error.
//!
//! The counter is trusted only on x86-64 Linux when the kernel's own
//! clocksource is `tsc`: the kernel then has checked that the counter runs
//! at a constant rate, through idle states, and in step on every CPU (an
//! unpinned thread may read it on several). Anywhere else, and under Miri
//! or loom, every reading is `Instant`'s.
//!
//! Around the switch (step 4) a reading may lag one taken a moment before
//! it by the nanoseconds between the calibration's two reads; callers take
//! spans with `saturating_sub`.
//!
//! Why not the `quanta` crate, which reads the same counter: it calibrates
//! on its first reading by sampling against the OS clock in a loop (a full
//! second in 2020, metrics-rs/quanta#16; shorter since, still a loop), and
//! a first `par` call would wait for that. Here the rate is fixed in
//! passing, by whichever reading comes 2 ms after the first, in two reads.
//!
//! Readings are hints for deciding when to fork and how long to linger;
//! nothing that must be right (a deadline a user gave, a timeout) uses
//! them. A reading is never 0 (`sleep.rs` keeps 0 for "no window").

use std::sync::OnceLock;
use std::time::Instant;

/// How long after the base the counter's rate is fixed.
const CALIBRATE_AFTER: u64 = 2_000_000;

/// The first reading's moment.
struct Base {
    instant: Instant,
    /// The counter right after `instant`; `None` if it is not trusted.
    ticks: Option<u64>,
}

/// The counter's rate, once fixed.
struct Rate {
    /// The counter at the base.
    base_ticks: u64,
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
            (nanos as u64).max(1)
        }
        None => now_uncalibrated(),
    }
}

/// Steps 1–3: `Instant`'s reading, and the rate fixed once it is time.
#[cold]
fn now_uncalibrated() -> u64 {
    let base = BASE.get_or_init(|| {
        let instant = Instant::now();
        let ticks = trusted().then(counter);
        Base { instant, ticks }
    });
    let nanos = u64::try_from(base.instant.elapsed().as_nanos()).unwrap_or(u64::MAX);
    if let Some(base_ticks) = base.ticks {
        if nanos >= CALIBRATE_AFTER {
            let ticks = counter().saturating_sub(base_ticks);
            if ticks > 0 {
                let nanos_per_tick = ((u128::from(nanos) << 32) / u128::from(ticks)) as u64;
                if nanos_per_tick > 0 {
                    let _ = RATE.set(Rate {
                        base_ticks,
                        nanos_per_tick,
                    });
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

    #[test]
    fn readings_follow_instant_and_never_go_back_by_more_than_a_read() {
        let first = now();
        assert!(first >= 1);
        let started = Instant::now();
        let mut last = first;
        // Past calibration (2 ms), so both kinds of reading are compared.
        while started.elapsed().as_nanos() < 3 * u128::from(CALIBRATE_AFTER) {
            let reading = now();
            // Across the switch to the counter (step 4) a reading may lag
            // an `Instant` reading taken a moment before by the few
            // nanoseconds between the calibration's two reads.
            assert!(reading + 1_000 >= last, "{reading} after {last}");
            last = last.max(reading);
        }
        let span = (now() - first) as f64;
        let instant_span = started.elapsed().as_nanos() as f64;
        // The readings' span covers the `Instant` span it encloses, and is
        // not far longer (generous bounds: a loaded machine may pause the
        // thread between the reads).
        assert!(span >= 0.99 * instant_span, "{span} against {instant_span}");
        assert!(
            span <= 1.5 * instant_span + 1e6,
            "{span} against {instant_span}"
        );
        if trusted() {
            assert!(
                RATE.get().is_some(),
                "calibrated after {CALIBRATE_AFTER} ns"
            );
        }
    }
}

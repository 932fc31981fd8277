//! A large `collect` (10,000,000 `u64`, 80 MB) made alone and made in a
//! loop, corepool's `par` beside rayon's `par_iter`, each from outside the
//! pools: what the library does for large outputs costs or gains
//! (`prepare_output` in `src/util.rs`: huge-page advice, or prefaulting a
//! block at a time where that advice is not given).
//!
//! - **apart**: one call, then a pause of `--gap-ms` (default 3,000: longer
//!   than the two seconds between a Linux guest's free-page-reporting
//!   passes), corepool and rayon taking turns; every call's time.
//! - **loop**: `--loop` calls back to back (default 10), then the same for
//!   rayon; the median call of each, for `--rounds` rounds.
//!
//! ```sh
//! cargo run --release -p corepool-bench --example huge_pages
//! cargo run --release -p corepool-bench --example huge_pages -- --gap-ms 500 --rounds 4
//! ```
//!
//! It prints whether this machine is a guest that reports its free huge
//! blocks to the hypervisor (a virtio balloon with free page reporting),
//! where the library gives no huge-page advice (a fresh huge page is cold
//! there) and prefaults the output instead.

use std::hint::black_box;
use std::time::{Duration, Instant};

use rayon::prelude::*;

const ITEMS: u64 = 10_000_000;

fn arg(args: &[String], name: &str, default: u64) -> u64 {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(|s| {
            s.parse()
                .unwrap_or_else(|_| panic!("{name} takes a number"))
        })
        .unwrap_or(default)
}

/// The time of one call of `f`, whose output is dropped inside the timing
/// (freeing it is part of a call's cost, on either side).
fn time<T>(f: impl FnOnce() -> T) -> f64 {
    let start = Instant::now();
    drop(black_box(f()));
    start.elapsed().as_secs_f64() * 1e3
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Whether a virtio balloon with free page reporting (feature bit 5) is
/// present: the same test the library makes.
fn reporting_balloon() -> bool {
    let Ok(devices) = std::fs::read_dir("/sys/bus/virtio/devices") else {
        return false;
    };
    devices.flatten().any(|d| {
        let read = |f: &str| std::fs::read_to_string(d.path().join(f)).unwrap_or_default();
        read("device").trim() == "0x0005"
            && read("features").trim().as_bytes().get(5) == Some(&b'1')
    })
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let gap = Duration::from_millis(arg(&args, "--gap-ms", 3_000));
    let rounds = arg(&args, "--rounds", 6) as usize;
    let in_a_loop = arg(&args, "--loop", 10).max(1) as usize;
    let pool = corepool::Pool::builder()
        .workers(2)
        .build()
        .expect("corepool");
    let ray = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .expect("rayon");
    let v: Vec<u64> = (0..ITEMS).collect();
    let corepool_call = || pool.par(&v).map(|x| x * 3 + 1).collect::<Vec<u64>>();
    let rayon_call = || ray.install(|| v.par_iter().map(|x| x * 3 + 1).collect::<Vec<u64>>());
    // Both compute the same.
    assert_eq!(corepool_call(), rayon_call());

    println!(
        "guest reporting free huge blocks: {}",
        if reporting_balloon() { "yes" } else { "no" }
    );
    println!("apart ({} ms between calls), ms a call:", gap.as_millis());
    println!("| round | corepool | rayon |");
    println!("|---:|---:|---:|");
    for round in 0..rounds {
        std::thread::sleep(gap);
        let c = time(corepool_call);
        std::thread::sleep(gap);
        let r = time(rayon_call);
        println!("| {round} | {c:.1} | {r:.1} |");
    }
    println!("in a loop of {in_a_loop} calls, median ms a call:");
    println!("| round | corepool | rayon |");
    println!("|---:|---:|---:|");
    for round in 0..rounds {
        let c = median((0..in_a_loop).map(|_| time(corepool_call)).collect());
        let r = median((0..in_a_loop).map(|_| time(rayon_call)).collect());
        println!("| {round} | {c:.1} | {r:.1} |");
    }
}

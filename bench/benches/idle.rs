//! What criterion cannot measure: the CPU an idle pool burns, the CPU a
//! trickle of tiny tasks costs, and how fast an idle pool wakes up — for
//! corepool, rayon and threadpool, beside the floor: one thread parked on a
//! std `Condvar` that is handed each task.
//!
//! ```sh
//! cargo bench -p corepool-bench --bench idle                 # full run, about 30 s
//! cargo bench -p corepool-bench --bench idle -- --quick      # smoke run, a few seconds
//! COREPOOL_BENCH_QUICK=1 cargo bench -p corepool-bench --bench idle
//! ```
//!
//! Run without `--bench` (as `cargo test --benches` does) it takes the quick
//! settings too.
//!
//! 1. **Idle CPU.** Burst of 20,000 tiny tasks, wait for all, then read
//!    `getrusage(RUSAGE_SELF)` around one second of sleep on the bench thread.
//!    Raw process CPU in ms per idle second; nothing is subtracted.
//! 2. **Trickle CPU.** One tiny task submitted every millisecond (to an
//!    absolute schedule) for one second, handles dropped (fire and forget);
//!    process CPU per second, raw and above the condvar floor measured the
//!    same way (the submitting thread's own sleeps are in the floor).
//! 3. **Wake-up latency.** Sleep 2 ms so the pool is idle and parked, then
//!    time from just before `submit` on the bench thread to the first
//!    instruction of the task; p50 and p99 over 300 samples.
//!
//! Idle and trickle are measured three times (once in quick mode) and the
//! median is kept. Only one contender exists at a time, so the process CPU
//! is its own; each is shut down and given 100 ms to exit before the next.
//! The table is printed as markdown, and written as JSON to
//! `corepool-idle.json` in criterion's output folder for
//! `benches/summarize.py`.

use std::collections::VecDeque;
use std::hint::black_box;
use std::sync::{Arc, Condvar, Mutex, mpsc};
use std::thread;
use std::time::{Duration, Instant};

#[path = "common/mod.rs"]
mod common;

use common::LATCH;
use corepool::Pool;

/// Settings of one run.
struct Settings {
    /// Length of the idle and trickle windows.
    window: Duration,
    /// Repetitions of the idle and trickle windows (median kept).
    rounds: usize,
    /// Wake-up latency samples.
    samples: usize,
    /// Pause before each latency sample, so the pool is parked.
    gap: Duration,
    /// Tasks in the burst before the idle window.
    burst: usize,
}

impl Settings {
    fn from_env() -> Settings {
        let args: Vec<String> = std::env::args().collect();
        // `cargo bench` passes `--bench`; `cargo test --benches` does not,
        // and gets the quick run, as criterion's test mode does.
        let quick = args.iter().any(|a| a == "--quick")
            || !args.iter().any(|a| a == "--bench")
            || std::env::var_os("COREPOOL_BENCH_QUICK").is_some_and(|v| v != "0" && !v.is_empty());
        if quick {
            Settings {
                window: Duration::from_millis(250),
                rounds: 1,
                samples: 50,
                gap: Duration::from_millis(2),
                burst: 20_000,
            }
        } else {
            Settings {
                window: Duration::from_secs(1),
                rounds: 3,
                samples: 300,
                gap: Duration::from_millis(2),
                burst: 20_000,
            }
        }
    }
}

/// One thread parked on a `Condvar`, handed each task: the floor any pool
/// pays to wake a sleeping thread.
struct CondvarThread {
    shared: Arc<CondvarShared>,
    thread: Option<thread::JoinHandle<()>>,
}

type Job = Box<dyn FnOnce() + Send>;

struct CondvarShared {
    queue: Mutex<(VecDeque<Job>, bool)>,
    cond: Condvar,
}

impl CondvarThread {
    fn new() -> CondvarThread {
        let shared = Arc::new(CondvarShared {
            queue: Mutex::new((VecDeque::new(), false)),
            cond: Condvar::new(),
        });
        let worker = Arc::clone(&shared);
        let thread = thread::spawn(move || {
            loop {
                let job = {
                    let mut queue = worker.queue.lock().unwrap();
                    loop {
                        if let Some(job) = queue.0.pop_front() {
                            break job;
                        }
                        if queue.1 {
                            return;
                        }
                        queue = worker.cond.wait(queue).unwrap();
                    }
                };
                job();
            }
        });
        CondvarThread {
            shared,
            thread: Some(thread),
        }
    }

    fn spawn(&self, job: impl FnOnce() + Send + 'static) {
        self.shared.queue.lock().unwrap().0.push_back(Box::new(job));
        self.shared.cond.notify_one();
    }
}

impl Drop for CondvarThread {
    fn drop(&mut self) {
        self.shared.queue.lock().unwrap().1 = true;
        self.shared.cond.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// A contender, handed fire-and-forget tasks.
enum Subject {
    Corepool(Pool),
    Rayon(rayon::ThreadPool),
    Threadpool(threadpool::ThreadPool),
    Condvar(CondvarThread),
}

impl Subject {
    const NAMES: [&'static str; 4] = ["corepool", "rayon", "threadpool", "condvar floor"];

    fn build(index: usize, workers: usize) -> Subject {
        match index {
            0 => Subject::Corepool(
                Pool::builder()
                    .workers(workers)
                    .build()
                    .expect("build corepool"),
            ),
            1 => Subject::Rayon(
                rayon::ThreadPoolBuilder::new()
                    .num_threads(workers)
                    .build()
                    .expect("build rayon pool"),
            ),
            2 => Subject::Threadpool(threadpool::ThreadPool::new(workers)),
            _ => Subject::Condvar(CondvarThread::new()),
        }
    }

    fn spawn(&self, job: impl FnOnce() + Send + 'static) {
        match self {
            // Dropping the handle detaches the task: corepool has no separate
            // fire-and-forget call.
            Subject::Corepool(pool) => drop(pool.submit(job)),
            Subject::Rayon(pool) => pool.spawn(job),
            Subject::Threadpool(pool) => pool.execute(job),
            Subject::Condvar(thread) => thread.spawn(job),
        }
    }

    /// Stops the contender and waits until its threads are gone (or, for
    /// rayon and threadpool, which cannot wait, gives them time to exit).
    fn retire(self) {
        match self {
            Subject::Corepool(pool) => pool.shutdown(),
            Subject::Rayon(pool) => drop(pool),
            Subject::Threadpool(pool) => {
                pool.join();
                drop(pool);
            }
            Subject::Condvar(thread) => drop(thread),
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// User plus system CPU time of the whole process.
fn process_cpu() -> Duration {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: `getrusage` writes a `rusage` into the pointer it is given,
    // which points to writable memory of the right size.
    let rc = unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) };
    assert_eq!(
        rc,
        0,
        "getrusage failed: {}",
        std::io::Error::last_os_error()
    );
    // SAFETY: `getrusage` succeeded, so it initialised the struct (and it was
    // zeroed before, which is a valid `rusage` anyway).
    let usage = unsafe { usage.assume_init() };
    let micros = |t: libc::timeval| t.tv_sec as u64 * 1_000_000 + t.tv_usec as u64;
    Duration::from_micros(micros(usage.ru_utime) + micros(usage.ru_stime))
}

/// Process CPU in ms per second of wall time over `window`, running `body`.
fn cpu_ms_per_second(body: impl FnOnce()) -> f64 {
    let (cpu0, wall0) = (process_cpu(), Instant::now());
    body();
    let (cpu1, wall1) = (process_cpu(), Instant::now());
    (cpu1 - cpu0).as_secs_f64() * 1e3 / (wall1 - wall0).as_secs_f64()
}

fn tiny_task(i: usize) -> impl FnOnce() + Send + 'static {
    move || {
        black_box(i);
        LATCH.count_down();
    }
}

/// 1. CPU during `window` of idleness right after a burst.
fn idle_cpu(subject: &Subject, settings: &Settings) -> f64 {
    LATCH.reset(settings.burst);
    for i in 0..settings.burst {
        subject.spawn(tiny_task(i));
    }
    LATCH.wait();
    cpu_ms_per_second(|| thread::sleep(settings.window))
}

/// 2. CPU while one tiny task arrives every millisecond during `window`.
fn trickle_cpu(subject: &Subject, settings: &Settings) -> f64 {
    let ticks = settings.window.as_millis().max(1) as usize;
    LATCH.reset(ticks);
    cpu_ms_per_second(|| {
        let start = Instant::now();
        for k in 0..ticks {
            subject.spawn(tiny_task(k));
            let next = start + Duration::from_millis(k as u64 + 1);
            if let Some(pause) = next.checked_duration_since(Instant::now()) {
                thread::sleep(pause);
            }
        }
        LATCH.wait();
    })
}

/// 3. Wake-up latencies, sorted, in µs.
fn wake_latencies(subject: &Subject, settings: &Settings) -> Vec<f64> {
    let (tx, rx) = mpsc::channel::<Instant>();
    let warm_up = 5;
    let mut samples = Vec::with_capacity(settings.samples);
    for s in 0..warm_up + settings.samples {
        let tx = tx.clone();
        let job = move || {
            let started = Instant::now();
            let _ = tx.send(started);
        };
        thread::sleep(settings.gap);
        let submitted = Instant::now();
        subject.spawn(job);
        let started = rx.recv().expect("the task reports its start");
        if s >= warm_up {
            samples.push(started.saturating_duration_since(submitted).as_secs_f64() * 1e6);
        }
    }
    samples.sort_by(f64::total_cmp);
    samples
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    percentile(&values, 50.0)
}

/// What was measured for one contender.
struct Figures {
    idle: f64,
    trickle: f64,
    p50: f64,
    p99: f64,
}

fn measure(subject: &Subject, settings: &Settings) -> Figures {
    let idle = median(
        (0..settings.rounds)
            .map(|_| idle_cpu(subject, settings))
            .collect(),
    );
    let trickle = median(
        (0..settings.rounds)
            .map(|_| trickle_cpu(subject, settings))
            .collect(),
    );
    let latencies = wake_latencies(subject, settings);
    Figures {
        idle,
        trickle,
        p50: percentile(&latencies, 50.0),
        p99: percentile(&latencies, 99.0),
    }
}

fn criterion_home() -> std::path::PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return home.into();
    }
    // The workspace's target folder: this package sits one level below it.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .unwrap_or_else(|| concat!(env!("CARGO_MANIFEST_DIR"), "/../target").into());
    std::path::PathBuf::from(target).join("criterion")
}

fn main() {
    let settings = Settings::from_env();
    let workers = Pool::new().expect("build corepool").workers();
    thread::sleep(Duration::from_millis(100));
    println!(
        "idle bench: {workers} workers; windows of {} ms x {} round(s), {} latency samples{}",
        settings.window.as_millis(),
        settings.rounds,
        settings.samples,
        if settings.rounds == 1 { " (quick)" } else { "" },
    );

    let mut all = Vec::new();
    for (index, name) in Subject::NAMES.iter().enumerate() {
        let subject = Subject::build(index, workers);
        let figures = measure(&subject, &settings);
        subject.retire();
        println!(
            "  {name:<14} idle {:7.3} ms/s  trickle {:7.3} ms/s  wake p50 {:7.1} µs  p99 {:7.1} µs",
            figures.idle, figures.trickle, figures.p50, figures.p99
        );
        all.push(figures);
    }
    let [core, rayon, tp, floor] = [&all[0], &all[1], &all[2], &all[3]];
    let above = |f: &Figures| f.trickle - floor.trickle;

    println!();
    println!(
        "| measurement | corepool | rayon | threadpool | condvar floor | corepool ratio | target |"
    );
    println!("|---|---:|---:|---:|---:|---:|---|");
    println!(
        "| idle CPU, ms per idle second (raw) | {:.3} | {:.3} | {:.3} | {:.3} | — | ≤ 0.1 ms |",
        core.idle, rayon.idle, tp.idle, floor.idle
    );
    println!(
        "| trickle CPU, ms per second (raw) | {:.2} | {:.2} | {:.2} | {:.2} | — | — |",
        core.trickle, rayon.trickle, tp.trickle, floor.trickle
    );
    println!(
        "| trickle CPU above floor, ms per second | {:.2} | {:.2} | {:.2} | 0 | {:.2}× rayon | ≤ 0.25× rayon |",
        above(core),
        above(rayon),
        above(tp),
        above(core) / above(rayon)
    );
    println!(
        "| wake-up latency p50, µs | {:.1} | {:.1} | {:.1} | {:.1} | {:.2}× floor | ≤ 1.2× floor |",
        core.p50,
        rayon.p50,
        tp.p50,
        floor.p50,
        core.p50 / floor.p50
    );
    println!(
        "| wake-up latency p99, µs | {:.1} | {:.1} | {:.1} | {:.1} | {:.2}× floor | ≤ 1.5× floor |",
        core.p99,
        rayon.p99,
        tp.p99,
        floor.p99,
        core.p99 / floor.p99
    );

    let json_row = |f: &Figures| {
        format!(
            "{{\"idle_ms_per_s\": {:.4}, \"trickle_ms_per_s\": {:.4}, \"wake_p50_us\": {:.2}, \"wake_p99_us\": {:.2}}}",
            f.idle, f.trickle, f.p50, f.p99
        )
    };
    let json = format!(
        "{{\n  \"workers\": {workers},\n  \"window_ms\": {},\n  \"rounds\": {},\n  \"samples\": {},\n  \
         \"corepool\": {},\n  \"rayon\": {},\n  \"threadpool\": {},\n  \"condvar_floor\": {}\n}}\n",
        settings.window.as_millis(),
        settings.rounds,
        settings.samples,
        json_row(core),
        json_row(rayon),
        json_row(tp),
        json_row(floor),
    );
    let home = criterion_home();
    let written = std::fs::create_dir_all(&home)
        .and_then(|()| std::fs::write(home.join("corepool-idle.json"), json));
    match written {
        Ok(()) => println!(
            "\n(written to {})",
            home.join("corepool-idle.json").display()
        ),
        Err(err) => eprintln!("cannot write {}: {err}", home.display()),
    }
}

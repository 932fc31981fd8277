//! Helpers shared by the integration tests: a watchdog for anything that
//! could hang, and drop counters that prove values are freed exactly once.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// Runs `body` on its own thread and aborts the whole test process if it has
/// not finished within `secs` seconds: a deadlock fails loudly instead of
/// hanging CI. A panic in `body` is re-raised here.
pub fn watchdog<R: Send + 'static>(secs: u64, body: impl FnOnce() -> R + Send + 'static) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    let runner = std::thread::spawn(move || {
        let result = body();
        let _ = tx.send(());
        result
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(()) | Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => match runner.join() {
            Ok(result) => result,
            Err(payload) => std::panic::resume_unwind(payload),
        },
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            eprintln!("watchdog: test still running after {secs} s: deadlock? aborting");
            std::process::abort();
        }
    }
}

/// Counts how many values were created and how many dropped.
#[derive(Clone, Default)]
pub struct DropCounter {
    created: Arc<AtomicUsize>,
    dropped: Arc<AtomicUsize>,
}

impl DropCounter {
    pub fn new() -> Self {
        Self::default()
    }

    /// A new tracked value.
    pub fn token(&self) -> Token {
        self.created.fetch_add(1, Ordering::SeqCst);
        Token {
            dropped: self.dropped.clone(),
        }
    }

    pub fn created(&self) -> usize {
        self.created.load(Ordering::SeqCst)
    }

    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }

    /// Every value created has been dropped, each exactly once (a double drop
    /// would push `dropped` past `created`).
    pub fn assert_all_dropped_once(&self) {
        assert_eq!(self.dropped(), self.created(), "created vs dropped");
    }
}

/// A value whose drop is counted.
pub struct Token {
    dropped: Arc<AtomicUsize>,
}

impl Drop for Token {
    fn drop(&mut self) {
        self.dropped.fetch_add(1, Ordering::SeqCst);
    }
}

/// A one-shot gate: tasks `wait` on it until the test `open`s it.
#[derive(Clone, Default)]
pub struct Gate {
    inner: Arc<(std::sync::Mutex<bool>, std::sync::Condvar)>,
}

impl Gate {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn open(&self) {
        let (lock, cond) = &*self.inner;
        *lock.lock().unwrap() = true;
        cond.notify_all();
    }

    pub fn wait(&self) {
        let (lock, cond) = &*self.inner;
        let mut open = lock.lock().unwrap();
        while !*open {
            open = cond.wait(open).unwrap();
        }
    }
}

/// Opens its gate when dropped. A pool's drop waits for its tasks, so a
/// failed assertion while tasks are held at a gate would hang until the
/// watchdog aborts, hiding the assertion's message; hold one of these
/// (declared after the pool, so it drops first) and the test fails instead.
pub struct OpenOnDrop(pub Gate);

impl Drop for OpenOnDrop {
    fn drop(&mut self) {
        self.0.open();
    }
}

/// A task on `pool` that waits for `gate` to open, then returns `value`.
pub fn gated(pool: &corepool::Pool, gate: &Gate, value: u32) -> corepool::Task<u32> {
    let gate = gate.clone();
    pool.submit(move || {
        gate.wait();
        value
    })
}

/// Polls `what` (yielding between tries) until it holds; the caller's
/// watchdog bounds the wait. For conditions no channel can announce, such as
/// "every worker has parked".
pub fn eventually(mut what: impl FnMut() -> bool) {
    while !what() {
        std::thread::yield_now();
    }
}

/// A minimal single-future executor, so the tests need no async runtime.
pub fn block_on<F: std::future::Future>(future: F) -> F::Output {
    use std::task::{Context, Poll, Wake, Waker};

    struct ThreadWaker(std::thread::Thread);
    impl Wake for ThreadWaker {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }

    let mut future = std::pin::pin!(future);
    let waker = Waker::from(Arc::new(ThreadWaker(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match future.as_mut().poll(&mut cx) {
            Poll::Ready(value) => return value,
            Poll::Pending => std::thread::park(),
        }
    }
}

/// Runs the test `name` of the current test binary in a child process with
/// the environment variable `var` set (so the test runs its case for real)
/// and asserts that the child passed it: no crash, no abort, no hang past
/// the child's own watchdog.
pub fn in_child(var: &str, name: &str) {
    let output = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", name, "--nocapture", "--test-threads=1"])
        .env(var, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && stdout.contains("1 passed"),
        "child {name} failed: {:?}\n{stdout}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Whether this process is a child started by [`in_child`] with `var`.
pub fn is_child(var: &str) -> bool {
    std::env::var_os(var).is_some()
}

/// A pool of `workers` unpinned workers (tests run beside each other, and
/// pinning would stack them on the same CPUs).
pub fn unpinned_pool(workers: usize) -> corepool::Pool {
    corepool::Pool::builder()
        .pinning(corepool::Pinning::None)
        .workers(workers)
        .build()
        .expect("pool")
}

/// Items in the `par_from_*` tests' calls: a few thousand items of ~50 ns,
/// tens of microseconds a call in a release build, under the size where a
/// call from outside hops into the pool.
pub const PAR_ITEMS: usize = 4096;

/// Calls in a loop in the `par_from_*` tests.
pub const PAR_CALLS: usize = 300;

/// ~50 ns of work on item `i` that the optimiser cannot remove; the value
/// is below 2^48, so a sum of `PAR_ITEMS` of them cannot overflow.
pub fn item_work(i: usize) -> u64 {
    let mut x = i as u64;
    for _ in 0..16 {
        x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
    }
    x >> 16
}

/// Keeps this thread busy for `d`: a heavy item of a known length, not a
/// wait (nothing here orders threads).
pub fn busy_for(d: Duration) {
    let start = std::time::Instant::now();
    while start.elapsed() < d {
        std::hint::spin_loop();
    }
}

/// A panic payload's text, when it is a `String` or a `&str`.
pub fn panic_text(payload: &(dyn std::any::Any + Send)) -> Option<&str> {
    payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
}

/// Keeps panics made on purpose out of the test log: from the first call
/// on, a panic whose message contains `marker` prints nothing, and any other
/// prints as before. One hook per test binary, so the first marker given
/// is the one that counts.
pub fn quiet_panics_containing(marker: &'static str) {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !panic_text(info.payload()).is_some_and(|m| m.contains(marker)) {
                default(info);
            }
        }));
    });
}

/// Each worker's park count, read while every worker of `pool` (of
/// `workers`) holds a task at once, so that none is parked at the reading;
/// then all are let go. Pair with [`every_worker_parks_after`].
pub fn parks_while_all_are_awake(pool: &corepool::Pool, workers: usize) -> Vec<u64> {
    use std::sync::{Arc, Barrier};
    let arrive = Arc::new(Barrier::new(workers + 1));
    let leave = Arc::new(Barrier::new(workers + 1));
    let tasks: Vec<_> = (0..workers)
        .map(|_| {
            let (arrive, leave) = (arrive.clone(), leave.clone());
            pool.submit(move || {
                arrive.wait();
                leave.wait();
            })
        })
        .collect();
    arrive.wait();
    let before = pool
        .stats()
        .workers
        .iter()
        .map(|w| w.times_parked)
        .collect();
    leave.wait();
    for task in tasks {
        task.join().unwrap();
    }
    before
}

/// Waits until every worker has parked since `before` (from
/// [`parks_while_all_are_awake`]); the caller's watchdog fails a pool whose
/// workers never park.
pub fn every_worker_parks_after(pool: &corepool::Pool, before: &[u64]) {
    eventually(|| {
        pool.stats()
            .workers
            .iter()
            .zip(before)
            .all(|(w, &b)| w.times_parked > b)
    });
}

/// Occupies one of `pool`'s workers with a task that blocks until the
/// returned sender sends (or is dropped), and returns once it runs: the
/// other workers are the only ones free until then. Join the task after
/// releasing it.
pub fn occupy_one_worker(
    pool: &corepool::Pool,
) -> (corepool::Task<()>, std::sync::mpsc::Sender<()>) {
    let (started_tx, started) = std::sync::mpsc::channel();
    let (release_tx, release) = std::sync::mpsc::channel::<()>();
    let busy = pool.submit(move || {
        started_tx.send(()).unwrap();
        let _ = release.recv();
    });
    started.recv().unwrap();
    (busy, release_tx)
}

/// Runs `body` inside `pool.install` on a scoped thread. Once `reached`
/// says the body got where it waits, shuts `pool` down from another thread
/// (`shutdown` waits for the workers), and once the flag is set, frees the
/// worker that `occupy_one_worker` holds (`busy`, `release`). Returns the
/// body's value after the shutdown has returned and the busy task ended.
pub fn install_then_shut_down<R: Send>(
    pool: &corepool::Pool,
    (busy, release): (corepool::Task<()>, std::sync::mpsc::Sender<()>),
    reached: std::sync::mpsc::Receiver<()>,
    body: impl FnOnce() -> R + Send,
) -> R {
    let got = std::thread::scope(|s| {
        let installer = s.spawn(|| pool.install(body));
        reached.recv().unwrap();
        let stopper = s.spawn(|| pool.shutdown());
        eventually(|| pool.is_shutdown());
        release.send(()).unwrap();
        let got = installer.join().unwrap();
        stopper.join().unwrap();
        got
    });
    busy.join().unwrap();
    got
}

/// Forks `depth` nested joins (`corepool::join`, on the current or the
/// default pool); at the innermost one it sends on `at_bottom`, then each
/// level's `a` waits (up to 30 s) for its own `b`'s value, the level's
/// depth. Returns the values received, innermost first (`u32::MAX` for a
/// `b` that never ran): `[1, 2, …, depth]` when every level ended. Each `b`
/// is left for an idle worker to take: exposed or rescued (`job.rs`,
/// "Rescue").
pub fn nested_waiting_joins(depth: u32, at_bottom: std::sync::mpsc::Sender<()>) -> Vec<u32> {
    if depth == 0 {
        at_bottom.send(()).unwrap();
        return Vec::new();
    }
    let (tx, rx) = std::sync::mpsc::sync_channel::<u32>(1);
    corepool::join(
        move || {
            let mut got = nested_waiting_joins(depth - 1, at_bottom);
            got.push(rx.recv_timeout(Duration::from_secs(30)).unwrap_or(u32::MAX));
            got
        },
        move || {
            let _ = tx.send(depth);
        },
    )
    .0
}

/// The `main` loop of a `harness = false` test binary (the process pool's
/// tests, whose binaries are also their worker processes): runs each of
/// `tests` whose name contains one of the arguments (all of them without
/// arguments) under a [`watchdog`] of `secs`, prints `test NAME ... ok` or
/// `FAILED` and then `N passed, M failed`, and exits non-zero on a failure
/// or when no test matched.
pub fn run_tests(tests: &[(&str, fn())], secs: u64) {
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let (mut passed, mut failed) = (0, 0);
    for &(name, test) in tests {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let outcome =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| watchdog(secs, test)));
        match outcome {
            Ok(()) => {
                println!("test {name} ... ok");
                passed += 1;
            }
            Err(_) => {
                println!("test {name} ... FAILED");
                failed += 1;
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    if passed + failed == 0 {
        eprintln!("no test matches {filter:?}");
        std::process::exit(1);
    }
    if failed > 0 {
        std::process::exit(1);
    }
}

/// Runs this test binary again as a child process with `var=name` and the
/// environment `vars` set (so it runs the case `name` and exits), and
/// returns its output; `None` if it was still running after `secs` (it is
/// then killed). For cases that could hang or crash the process.
pub fn run_case(
    var: &str,
    name: &str,
    secs: u64,
    vars: &[(&str, &str)],
) -> Option<std::process::Output> {
    let mut command = std::process::Command::new(std::env::current_exe().unwrap());
    command.env(var, name);
    for (k, v) in vars {
        command.env(k, v);
    }
    command.stdout(std::process::Stdio::piped());
    command.stderr(std::process::Stdio::piped());
    let child = command.spawn().expect("start the case");
    let id = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    match rx.recv_timeout(Duration::from_secs(secs)) {
        Ok(output) => Some(output.expect("wait for the case")),
        Err(_) => {
            // SAFETY: `kill` takes plain numbers; `id` is our child, not
            // yet reaped (its waiting thread has not returned).
            unsafe { libc::kill(id as libc::pid_t, libc::SIGKILL) };
            let _ = rx.recv();
            None
        }
    }
}

/// Drives `next` to the end, catching panics: the values in order and how
/// many panics were raised (at most 9; a tenth fails: the iterator keeps
/// panicking).
pub fn drain_catching<T>(mut next: impl FnMut() -> Option<T>) -> (Vec<T>, usize) {
    let (mut values, mut panics) = (Vec::new(), 0);
    loop {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(&mut next)) {
            Ok(Some(value)) => values.push(value),
            Ok(None) => return (values, panics),
            Err(_) => {
                panics += 1;
                assert!(panics < 10, "the iterator keeps panicking");
            }
        }
    }
}

/// Holds each of `pool`'s workers in a task until `gate` opens, and returns
/// once all of them are held.
pub fn hold_workers(pool: &corepool::Pool, workers: usize, gate: &Gate) -> Vec<corepool::Task<()>> {
    let (busy_tx, busy) = std::sync::mpsc::channel();
    let held: Vec<_> = (0..workers)
        .map(|_| {
            let (gate, busy_tx) = (gate.clone(), busy_tx.clone());
            pool.submit(move || {
                busy_tx.send(()).unwrap();
                gate.wait();
            })
        })
        .collect();
    for _ in 0..workers {
        busy.recv().unwrap();
    }
    held
}

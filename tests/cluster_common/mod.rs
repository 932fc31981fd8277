//! Launching MPI jobs from the cluster tests: `mpirun` (Open MPI or MPICH;
//! `COREPOOL_MPIRUN` names another launcher, e.g. `mpirun.mpich`, which must
//! belong to the MPI the tests were built against) under a `timeout`
//! watchdog, on an example or on a test of the calling test binary (re-run
//! under `mpirun` with `COREPOOL_CLUSTER_CHILD=1`).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// Set in the environment of the ranks of a child job.
pub const CHILD: &str = "COREPOOL_CLUSTER_CHILD";

/// Whether this process is a rank of a child job (else a child test returns
/// at once: it only makes sense under `mpirun`).
pub fn is_child() -> bool {
    std::env::var_os(CHILD).is_some()
}

/// The launcher: `$COREPOOL_MPIRUN`, else `mpirun`.
pub fn launcher() -> String {
    std::env::var("COREPOOL_MPIRUN").unwrap_or_else(|_| "mpirun".to_owned())
}

/// Which MPI launcher is installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    OpenMpi,
    Mpich,
}

/// The launcher's flavour, from `mpirun --version`.
pub fn flavour() -> Flavour {
    static FLAVOUR: OnceLock<Flavour> = OnceLock::new();
    *FLAVOUR.get_or_init(|| {
        let out = Command::new(launcher())
            .arg("--version")
            .output()
            .expect("mpirun is not installed: run .ci/mpi.sh, which installs it");
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        if text.contains("Open MPI") || text.contains("OpenRTE") {
            Flavour::OpenMpi
        } else {
            Flavour::Mpich
        }
    })
}

/// What a job printed, how it ended and how long it took.
#[derive(Debug)]
pub struct Job {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
    /// The watchdog's limit.
    pub limit: Duration,
}

impl Job {
    /// Both streams, for assertion messages.
    pub fn all(&self) -> String {
        format!(
            "exit {:?} after {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.elapsed, self.stdout, self.stderr
        )
    }

    /// Whether the watchdog had to kill it: `timeout` exits with 124 (or
    /// 137 after its `-k` KILL), but `mpirun` itself answers 137 when a
    /// rank was killed, so the time tells them apart. (No exit code at all
    /// means `mpirun` died of a signal: Open MPI 4.1.4's sometimes
    /// segfaults in `PMIx_server_finalize` after an `MPI_Abort`.)
    pub fn timed_out(&self) -> bool {
        self.code == Some(124) || self.elapsed >= self.limit
    }
}

/// Runs `exe args` on `np` ranks (unbound, oversubscribed if need be),
/// killed by `timeout` after `limit` seconds.
pub fn mpirun(np: usize, exe: &Path, args: &[&str], limit: u64) -> Job {
    mpirun_env(np, exe, args, limit, &[])
}

/// Session directories made so far by this process (`mpirun_env`).
static SESSIONS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// As [`mpirun`], with `env` added to the ranks' environment (both
/// launchers pass their own environment on to the ranks).
pub fn mpirun_env(np: usize, exe: &Path, args: &[&str], limit: u64, env: &[(&str, &str)]) -> Job {
    let mut cmd = Command::new("timeout");
    cmd.args([
        "-k",
        "5",
        &limit.to_string(),
        &launcher(),
        "-np",
        &np.to_string(),
    ]);
    // Open MPI's session directory, one per job: the tests of one binary
    // run at once, and two `mpirun`s creating the shared default
    // (`/tmp/ompi.<host>.<uid>`) together can fail with "mkdir ... File
    // exists" and "orte_init failed" (seen here under load, 1 run in 5).
    let session = std::env::temp_dir().join(format!(
        "corepool-ompi-{}-{}",
        std::process::id(),
        SESSIONS.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
    ));
    match flavour() {
        Flavour::OpenMpi => {
            cmd.args(["--oversubscribe", "--bind-to", "none"]);
            cmd.env("OMPI_ALLOW_RUN_AS_ROOT", "1");
            cmd.env("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1");
            // No network interfaces to probe on one machine.
            cmd.env("OMPI_MCA_btl", "self,vader");
            std::fs::create_dir_all(&session).expect("create a session directory");
            cmd.env("OMPI_MCA_orte_tmpdir_base", &session);
        }
        Flavour::Mpich => {
            cmd.args(["-bind-to", "none"]);
        }
    }
    cmd.arg(exe).args(args);
    cmd.env(CHILD, "1").env("RUST_BACKTRACE", "0");
    cmd.envs(env.iter().copied());
    cmd.stdin(Stdio::null());
    let start = Instant::now();
    let out = cmd.output().expect("run timeout/mpirun");
    let _ = std::fs::remove_dir_all(&session);
    Job {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
        limit: Duration::from_secs(limit),
    }
}

/// Runs the test `name` of the calling test binary on `np` ranks.
pub fn child(np: usize, name: &str, limit: u64) -> Job {
    child_env(np, name, limit, &[])
}

/// As [`child`], with `env` added to the ranks' environment (e.g.
/// `COREPOOL_CLUSTER_GROUP` for the leader tree).
pub fn child_env(np: usize, name: &str, limit: u64, env: &[(&str, &str)]) -> Job {
    let exe = std::env::current_exe().expect("the test binary's path");
    mpirun_env(
        np,
        &exe,
        &[
            "--ignored",
            "--exact",
            name,
            "--nocapture",
            "--test-threads=1",
        ],
        limit,
        env,
    )
}

/// As [`child_env`], for a job that must end by aborting (an SPMD mistake
/// stopped with a message): asserts that it ended within `limit` seconds,
/// with corepool's abort code or with a launcher that died itself (Open MPI
/// 4.1.4's `mpirun` sometimes does after an abort), and returns it for the
/// caller's checks of what it printed.
pub fn aborted_child(np: usize, name: &str, limit: u64, env: &[(&str, &str)]) -> Job {
    let job = child_env(np, name, limit, env);
    assert!(
        !job.timed_out(),
        "{name} on {np} ranks: still running after {limit} s\n{}",
        job.all()
    );
    assert!(
        job.code == Some(corepool::cluster::ABORT_CODE) || job.code.is_none(),
        "{name} on {np} ranks: not an abort\n{}",
        job.all()
    );
    job
}

/// `target/<profile>/examples`, with the cluster examples built.
pub fn examples_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let mut build = Command::new(env!("CARGO"));
        build.args([
            "build",
            "--quiet",
            "--features",
            "mpi",
            "--example",
            "cluster_primes",
            "--example",
            "cluster_matrix_rows",
            "--example",
            "cluster_root_load",
        ]);
        if !cfg!(debug_assertions) {
            build.arg("--release");
        }
        let status = build
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .expect("run cargo build");
        assert!(
            status.success(),
            "cargo build of the cluster examples failed"
        );
        let exe = std::env::current_exe().expect("the test binary's path");
        exe.parent()
            .and_then(|deps| deps.parent())
            .expect("target/<profile>")
            .join("examples")
    })
}

/// Runs cluster example `name` on `np` ranks.
pub fn example(np: usize, name: &str, args: &[&str]) -> Job {
    let exe = examples_dir().join(name);
    mpirun(np, &exe, args, 120)
}

/// `file:line` of the line of test source `file` (as `file!()` gives it)
/// that holds `marker`: where a child's map call is, for the parent to look
/// for in the abort message.
pub fn site_of(file: &str, marker: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(file);
    let text = std::fs::read_to_string(&path).expect("read the test's source");
    let line = text
        .lines()
        .position(|l| l.contains(marker) && !l.contains("site_of("))
        .unwrap_or_else(|| panic!("no line holds {marker:?} in {file}"));
    format!("{file}:{}", line + 1)
}

// Codec types shared by the codec tests: values that refuse to travel.

use serde::de::Error as _;
use serde::ser::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// An item that refuses to be encoded when it is 13 and to be decoded when
/// it is 7.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Item(pub u64);

impl Serialize for Item {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == 13 {
            return Err(S::Error::custom("13 may not travel"));
        }
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Item {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u64::deserialize(d)? {
            7 => Err(D::Error::custom("7 is refused on arrival")),
            v => Ok(Item(v)),
        }
    }
}

/// A result that refuses to be encoded when it is 5 and to be decoded when
/// it is 9.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Answer(pub u64);

impl Serialize for Answer {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0 == 5 {
            return Err(S::Error::custom("5 may not travel"));
        }
        s.serialize_u64(self.0)
    }
}

impl<'de> Deserialize<'de> for Answer {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match u64::deserialize(d)? {
            9 => Err(D::Error::custom("9 is refused on arrival")),
            v => Ok(Answer(v)),
        }
    }
}

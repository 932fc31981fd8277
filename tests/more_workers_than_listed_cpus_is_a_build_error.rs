//! Issue 16, item 17: `Pinning::Cpus` gives one worker per listed CPU;
//! asking `workers(n)` for more than the list holds is a typed
//! `BuildError::MoreWorkersThanCpus`, not several workers silently pinned to
//! one CPU. Fewer workers than CPUs is fine (the first `n` CPUs are used).
mod common;

use common::watchdog;
use corepool::topology::process_cpus;
use corepool::{BuildError, Pinning, Pool};

#[test]
fn three_workers_on_one_listed_cpu_is_refused() {
    watchdog(60, || {
        // A CPU this process may use, whatever the machine.
        let cpu = process_cpus().unwrap()[0];
        let result = Pool::builder()
            .workers(3)
            .pinning(Pinning::Cpus(vec![cpu]))
            .build();
        match result {
            Err(
                err @ BuildError::MoreWorkersThanCpus {
                    workers: 3,
                    cpus: 1,
                },
            ) => {
                assert_eq!(
                    err.to_string(),
                    "3 workers were asked for but Pinning::Cpus lists only 1 CPU(s); \
                     each worker needs its own CPU"
                );
            }
            Err(other) => panic!("wrong error: {other}"),
            Ok(pool) => panic!("built {} workers on one CPU", pool.workers()),
        }
        // As many workers as CPUs, or fewer, still builds.
        let pool = Pool::builder()
            .workers(1)
            .pinning(Pinning::Cpus(vec![cpu]))
            .build()
            .unwrap();
        assert_eq!(pool.workers(), 1);
    });
}

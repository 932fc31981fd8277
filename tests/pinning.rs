//! Each worker pins itself to one CPU of its own physical core, and the pool
//! reports what it applied.
mod common;

use common::watchdog;
use corepool::topology::{Topology, current_thread_cpus};
use corepool::{BuildError, Pinning, Pool};

/// Every worker's affinity mask, asked from inside the worker, in worker
/// index order (by number: a name sort puts "corepool-10" before
/// "corepool-2").
fn worker_masks(pool: &Pool) -> Vec<Vec<usize>> {
    let (tx, rx) = std::sync::mpsc::channel();
    let barrier = std::sync::Arc::new(std::sync::Barrier::new(pool.workers()));
    // One task per worker, each held at a barrier so no worker runs two.
    let tasks: Vec<_> = (0..pool.workers())
        .map(|_| {
            let (tx, barrier) = (tx.clone(), barrier.clone());
            pool.submit(move || {
                barrier.wait();
                let index = Pool::current_worker_index().unwrap();
                tx.send((index, current_thread_cpus().unwrap())).unwrap();
            })
        })
        .collect();
    for task in tasks {
        task.join().unwrap();
    }
    drop(tx);
    let mut masks: Vec<(usize, Vec<usize>)> = rx.iter().collect();
    masks.sort();
    masks.into_iter().map(|(_, mask)| mask).collect()
}

#[cfg(target_os = "linux")]
#[test]
fn each_worker_is_pinned_to_one_cpu_and_the_cpus_differ() {
    watchdog(60, || {
        let machine = Topology::detect().unwrap();
        let pool = Pool::builder()
            .pinning(Pinning::PhysicalCores)
            .build()
            .unwrap();
        assert_eq!(pool.pinning(), &Pinning::PhysicalCores);
        assert_eq!(pool.workers(), machine.physical_cpus().len());
        let masks = worker_masks(&pool);
        assert_eq!(masks.len(), pool.workers());
        for mask in &masks {
            assert_eq!(mask.len(), 1, "pinned to exactly one CPU: {mask:?}");
        }
        let mut cpus: Vec<usize> = masks.iter().map(|m| m[0]).collect();
        let reported: Vec<usize> = pool
            .stats()
            .workers
            .iter()
            .map(|w| w.cpu.unwrap())
            .collect();
        assert_eq!(cpus, reported, "stats report the CPU each worker is on");
        cpus.sort_unstable();
        cpus.dedup();
        assert_eq!(cpus.len(), pool.workers(), "no two workers share a CPU");
        assert_eq!(cpus, {
            let mut p = machine.physical_cpus();
            p.sort_unstable();
            p
        });
    });
}

#[cfg(target_os = "linux")]
#[test]
fn explicit_cpu_list_is_applied_in_order() {
    watchdog(60, || {
        let machine = Topology::detect().unwrap();
        let last = *machine.allowed_cpus().last().unwrap();
        let pool = Pool::builder()
            .pinning(Pinning::Cpus(vec![last]))
            .build()
            .unwrap();
        assert_eq!(pool.workers(), 1);
        assert_eq!(pool.pinning(), &Pinning::Cpus(vec![last]));
        assert_eq!(worker_masks(&pool), [vec![last]]);
    });
}

#[test]
fn unpinned_workers_keep_the_process_mask() {
    watchdog(60, || {
        let machine = Topology::detect().unwrap();
        let pool = Pool::builder()
            .workers(2)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        assert_eq!(pool.pinning(), &Pinning::None);
        for mask in worker_masks(&pool) {
            assert_eq!(mask, machine.allowed_cpus());
        }
    });
}

#[test]
fn a_cpu_outside_the_mask_is_an_error() {
    let machine = Topology::detect().unwrap();
    let outside = machine.allowed_cpus().last().unwrap() + 1000;
    let err = Pool::builder()
        .pinning(Pinning::Cpus(vec![outside]))
        .build()
        .unwrap_err();
    match err {
        BuildError::CpuNotAllowed { cpu, allowed } => {
            assert_eq!(cpu, outside);
            assert_eq!(allowed, machine.allowed_cpus());
        }
        other => panic!("expected CpuNotAllowed, got {other:?}"),
    }
}

#[test]
fn empty_and_duplicate_cpu_lists_are_errors() {
    let err = Pool::builder()
        .pinning(Pinning::Cpus(vec![]))
        .build()
        .unwrap_err();
    assert!(matches!(err, BuildError::EmptyCpuList), "{err:?}");
    let cpu = Topology::detect().unwrap().allowed_cpus()[0];
    let err = Pool::builder()
        .pinning(Pinning::Cpus(vec![cpu, cpu]))
        .build()
        .unwrap_err();
    assert!(
        matches!(err, BuildError::DuplicateCpu { cpu: c } if c == cpu),
        "{err:?}"
    );
    assert_eq!(
        err.to_string(),
        format!("CPU {cpu} appears more than once in Pinning::Cpus")
    );
}

#[test]
fn more_workers_than_cores_are_pinned_round_robin() {
    watchdog(60, || {
        let machine = Topology::detect().unwrap();
        let cores = machine.physical_cpus();
        let pool = Pool::builder().workers(cores.len() * 2).build().unwrap();
        let cpus: Vec<Option<usize>> = pool.stats().workers.iter().map(|w| w.cpu).collect();
        let expected: Vec<Option<usize>> = if corepool::topology::PINNING_SUPPORTED {
            (0..cores.len() * 2)
                .map(|i| Some(cores[i % cores.len()]))
                .collect()
        } else {
            vec![None; cores.len() * 2]
        };
        assert_eq!(cpus, expected);
    });
}

#[test]
fn the_pool_is_sized_from_the_topology_it_is_given() {
    watchdog(60, || {
        // A machine with 3 physical cores, read from a fake sysfs tree.
        let root = std::env::temp_dir().join(format!("corepool-pinning-{}", std::process::id()));
        for cpu in 0..6 {
            let dir = root.join(format!("sys/devices/system/cpu/cpu{cpu}/topology"));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("core_id"), format!("{}\n", cpu % 3)).unwrap();
            std::fs::write(dir.join("physical_package_id"), "0\n").unwrap();
        }
        let fake = Topology::from_root(&root, &[0, 1, 2, 3, 4, 5]).unwrap();
        assert_eq!(fake.physical_cpus(), [0, 1, 2]);
        let pool = Pool::builder()
            .topology(fake)
            .pinning(Pinning::None)
            .build()
            .unwrap();
        assert_eq!(pool.workers(), 3);
        let _ = std::fs::remove_dir_all(&root);
    });
}

//! Reading physical cores, the affinity mask and the CPU quota, from fake
//! sysfs/cgroup trees and from this machine.
use std::path::PathBuf;

use corepool::topology::{
    Topology, TopologyError, current_thread_cpus, parse_cpu_list, pin_current_thread,
};

/// A fresh fake root for one test.
struct FakeRoot(PathBuf);

impl FakeRoot {
    fn new(name: &str) -> FakeRoot {
        let dir = std::env::temp_dir().join(format!("corepool-topo-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        FakeRoot(dir)
    }

    fn write(&self, path: &str, content: &str) -> &Self {
        let path = self.0.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    fn cpu(&self, cpu: usize, package: usize, core: usize) -> &Self {
        self.write(
            &format!("sys/devices/system/cpu/cpu{cpu}/topology/physical_package_id"),
            &format!("{package}\n"),
        )
        .write(
            &format!("sys/devices/system/cpu/cpu{cpu}/topology/core_id"),
            &format!("{core}\n"),
        )
    }

    /// Writes the two id files verbatim (e.g. `-1`).
    fn cpu_raw(&self, cpu: usize, package: &str, core: &str) -> &Self {
        self.write(
            &format!("sys/devices/system/cpu/cpu{cpu}/topology/physical_package_id"),
            &format!("{package}\n"),
        )
        .write(
            &format!("sys/devices/system/cpu/cpu{cpu}/topology/core_id"),
            &format!("{core}\n"),
        )
    }

    /// Writes `cpuN/topology/<file>` (a siblings list).
    fn siblings(&self, cpu: usize, file: &str, list: &str) -> &Self {
        self.write(
            &format!("sys/devices/system/cpu/cpu{cpu}/topology/{file}"),
            &format!("{list}\n"),
        )
    }

    /// `n` cores with hyper-thread pairs numbered as Linux does on x86:
    /// cpu i and cpu i+n are siblings.
    fn smt_pairs(name: &str, n: usize) -> FakeRoot {
        let root = FakeRoot::new(name);
        for core in 0..n {
            root.cpu(core, 0, core).cpu(core + n, 0, core);
        }
        root
    }
}

impl Drop for FakeRoot {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn smt_pairs_give_one_cpu_per_core() {
    let root = FakeRoot::smt_pairs("smt", 4);
    let t = Topology::from_root(&root.0, &(0..8).collect::<Vec<_>>()).unwrap();
    assert_eq!(t.physical_cpus(), [0, 1, 2, 3]);
    assert_eq!(t.cores().len(), 4);
    assert_eq!(t.cores()[2].cpus, [2, 6]);
    assert_eq!(t.cpu_quota(), None);
}

#[test]
fn two_sockets_with_repeating_core_ids() {
    let root = FakeRoot::new("sockets");
    // Package 0: cores 0,1 on cpus 0,1 (siblings 4,5); package 1: cores 0,1
    // on cpus 2,3 (siblings 6,7).
    for (cpu, package, core) in [
        (0, 0, 0),
        (1, 0, 1),
        (2, 1, 0),
        (3, 1, 1),
        (4, 0, 0),
        (5, 0, 1),
        (6, 1, 0),
        (7, 1, 1),
    ] {
        root.cpu(cpu, package, core);
    }
    let t = Topology::from_root(&root.0, &(0..8).collect::<Vec<_>>()).unwrap();
    assert_eq!(t.physical_cpus(), [0, 1, 2, 3]);
    let keys: Vec<(Option<usize>, Option<usize>)> =
        t.cores().iter().map(|c| (c.package, c.core)).collect();
    assert_eq!(
        keys,
        [
            (Some(0), Some(0)),
            (Some(0), Some(1)),
            (Some(1), Some(0)),
            (Some(1), Some(1))
        ]
    );
}

#[test]
fn offline_cpus_are_left_out() {
    let root = FakeRoot::new("offline");
    for cpu in 0..6 {
        root.cpu(cpu, 0, cpu);
    }
    root.write("sys/devices/system/cpu/online", "0-2,4-5\n");
    let t = Topology::from_root(&root.0, &(0..6).collect::<Vec<_>>()).unwrap();
    assert_eq!(t.allowed_cpus(), [0, 1, 2, 4, 5]);
    assert_eq!(t.physical_cpus(), [0, 1, 2, 4, 5]);
}

#[test]
fn holes_in_the_numbering() {
    let root = FakeRoot::new("holes");
    root.cpu(0, 0, 0).cpu(2, 0, 4).cpu(8, 0, 9);
    let t = Topology::from_root(&root.0, &[8, 2, 0]).unwrap();
    assert_eq!(t.physical_cpus(), [0, 2, 8]);
}

#[test]
fn a_mask_that_excludes_some_siblings() {
    let root = FakeRoot::smt_pairs("mask", 4);
    // Allowed: 4 (sibling of 0), 1 and 5 (siblings of each other).
    let t = Topology::from_root(&root.0, &[4, 1, 5]).unwrap();
    assert_eq!(t.allowed_cpus(), [1, 4, 5]);
    // Core 0 is represented by CPU 4, core 1 by CPU 1; cores in core order.
    assert_eq!(t.physical_cpus(), [4, 1]);
    assert_eq!(t.cores()[1].cpus, [1, 5]);
}

#[test]
fn cgroup_v2_quota_of_one_and_a_half_cpus_gives_one_worker() {
    let root = FakeRoot::smt_pairs("v2", 4);
    root.write("proc/self/cgroup", "0::/app.slice/job\n")
        .write("sys/fs/cgroup/app.slice/job/cpu.max", "150000 100000\n");
    let t = Topology::from_root(&root.0, &(0..8).collect::<Vec<_>>()).unwrap();
    assert_eq!(t.cpu_quota(), Some(1.5));
    assert_eq!(t.physical_cpus(), [0]);
}

#[test]
fn cgroup_v2_unlimited_and_a_smaller_parent_quota() {
    let root = FakeRoot::smt_pairs("v2parent", 4);
    root.write("proc/self/cgroup", "0::/outer/inner\n")
        .write("sys/fs/cgroup/outer/inner/cpu.max", "max 100000\n")
        .write("sys/fs/cgroup/outer/cpu.max", "200000 100000\n");
    let t = Topology::from_root(&root.0, &(0..8).collect::<Vec<_>>()).unwrap();
    assert_eq!(t.cpu_quota(), Some(2.0));
    assert_eq!(t.physical_cpus(), [0, 1]);
    root.write("sys/fs/cgroup/outer/cpu.max", "max 100000\n");
    let t = Topology::from_root(&root.0, &(0..8).collect::<Vec<_>>()).unwrap();
    assert_eq!(t.cpu_quota(), None);
    assert_eq!(t.physical_cpus().len(), 4);
}

#[test]
fn cgroup_v1_quota() {
    let root = FakeRoot::smt_pairs("v1", 4);
    root.write(
        "proc/self/cgroup",
        "5:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n",
    )
    .write(
        "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us",
        "300000\n",
    )
    .write(
        "sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us",
        "100000\n",
    )
    .write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_quota_us", "-1\n")
    .write("sys/fs/cgroup/cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    let t = Topology::from_root(&root.0, &(0..8).collect::<Vec<_>>()).unwrap();
    assert_eq!(t.cpu_quota(), Some(3.0));
    assert_eq!(t.physical_cpus(), [0, 1, 2]);
}

#[test]
fn a_tiny_quota_still_gives_one_worker() {
    let root = FakeRoot::smt_pairs("tiny", 2);
    root.write("proc/self/cgroup", "0::/\n")
        .write("sys/fs/cgroup/cpu.max", "10000 100000\n");
    let t = Topology::from_root(&root.0, &[0, 1, 2, 3]).unwrap();
    assert_eq!(t.cpu_quota(), Some(0.1));
    assert_eq!(t.physical_cpus(), [0]);
}

#[test]
fn garbage_in_a_file_is_a_typed_error_naming_it() {
    let root = FakeRoot::smt_pairs("garbage", 2);
    root.write("sys/devices/system/cpu/cpu1/topology/core_id", "one\n");
    match Topology::from_root(&root.0, &[0, 1]).unwrap_err() {
        TopologyError::Parse { path, content } => {
            assert!(
                path.ends_with("cpu1/topology/core_id"),
                "{}",
                path.display()
            );
            assert_eq!(content, "one\n");
        }
        other => panic!("expected Parse, got {other:?}"),
    }
    let root = FakeRoot::smt_pairs("garbage-quota", 2);
    root.write("proc/self/cgroup", "0::/\n")
        .write("sys/fs/cgroup/cpu.max", "lots\n");
    let err = Topology::from_root(&root.0, &[0, 1]).unwrap_err();
    assert!(err.to_string().contains("cpu.max"), "{err}");
}

#[test]
fn a_cpu_without_topology_is_its_own_core() {
    let root = FakeRoot::smt_pairs("missing", 2); // cpus 0..4, 0/2 and 1/3 siblings
    let t = Topology::from_root(&root.0, &[0, 1, 2, 3, 9]).unwrap();
    assert_eq!(t.physical_cpus(), [0, 1, 9]);
}

#[test]
fn minus_one_ids_mean_unknown_not_a_parse_error() {
    // Some powerpc and arm64 kernels: no package, and sometimes no core id.
    let root = FakeRoot::new("minus-one");
    root.cpu_raw(0, "-1", "0").cpu_raw(1, "-1", "1");
    root.cpu_raw(2, "0", "-1").cpu_raw(3, "-1", "-1");
    let t = Topology::from_root(&root.0, &[0, 1, 2, 3]).unwrap();
    // Without both ids nothing can be grouped: every CPU is its own core.
    assert_eq!(t.cores().len(), 4);
    assert_eq!(t.physical_cpus(), [2, 0, 1, 3], "known ids first");
    assert_eq!(t.cores()[0].package, Some(0));
    assert_eq!(t.cores()[0].core, None);
    assert_eq!(t.cores()[1].package, None);
    assert_eq!(t.cores()[1].core, Some(0));
}

#[test]
fn siblings_lists_group_cpus_whatever_the_ids_say() {
    // A -1 package with siblings lists: the lists decide.
    let root = FakeRoot::new("siblings");
    for cpu in 0..4 {
        root.cpu_raw(cpu, "-1", "-1").siblings(
            cpu,
            "thread_siblings_list",
            &format!("{},{}", cpu % 2, cpu % 2 + 2),
        );
    }
    let t = Topology::from_root(&root.0, &[0, 1, 2, 3]).unwrap();
    assert_eq!(t.cores().len(), 2);
    assert_eq!(t.cores()[0].cpus, [0, 2]);
    assert_eq!(t.cores()[1].cpus, [1, 3]);
    assert_eq!(t.physical_cpus(), [0, 1]);

    // Ids that repeat across clusters (one core per cluster, as on some
    // arm64 boards) would merge CPUs that the siblings lists keep apart.
    let root = FakeRoot::new("clusters");
    for cpu in 0..4 {
        root.cpu(cpu, 0, 0)
            .siblings(cpu, "core_cpus_list", &format!("{cpu}"));
    }
    let t = Topology::from_root(&root.0, &[0, 1, 2, 3]).unwrap();
    assert_eq!(t.physical_cpus(), [0, 1, 2, 3]);

    // `core_cpus_list` (the newer name) wins over `thread_siblings_list`.
    let root = FakeRoot::new("both-lists");
    for cpu in 0..2 {
        root.cpu(cpu, 0, cpu)
            .siblings(cpu, "core_cpus_list", "0-1")
            .siblings(cpu, "thread_siblings_list", &format!("{cpu}"));
    }
    let t = Topology::from_root(&root.0, &[0, 1]).unwrap();
    assert_eq!(t.cores().len(), 1);
    assert_eq!(t.cores()[0].cpus, [0, 1]);
}

#[test]
fn siblings_outside_the_mask_are_ignored() {
    let root = FakeRoot::new("siblings-mask");
    for cpu in 0..8 {
        root.siblings(
            cpu,
            "thread_siblings_list",
            &format!("{},{}", cpu % 4, cpu % 4 + 4),
        );
    }
    // CPU 4's sibling 0 is not allowed; 1 and 5 share a core.
    let t = Topology::from_root(&root.0, &[1, 4, 5]).unwrap();
    assert_eq!(t.cores().len(), 2);
    assert_eq!(t.physical_cpus(), [1, 4]);
    assert_eq!(t.cores()[0].cpus, [1, 5]);
}

#[test]
fn missing_directories_mean_one_core_per_cpu() {
    // No sysfs at all: every CPU online and its own core.
    let root = FakeRoot::new("empty");
    let t = Topology::from_root(&root.0, &[3, 1, 2]).unwrap();
    assert_eq!(t.allowed_cpus(), [1, 2, 3]);
    assert_eq!(t.physical_cpus(), [1, 2, 3]);
    assert!(
        t.cores()
            .iter()
            .all(|c| c.package.is_none() && c.core.is_none())
    );
    // A cpu directory without a topology directory.
    let root = FakeRoot::new("no-topology-dir");
    root.write("sys/devices/system/cpu/cpu0/online", "1\n");
    root.cpu(1, 0, 0);
    let t = Topology::from_root(&root.0, &[0, 1]).unwrap();
    assert_eq!(t.physical_cpus(), [1, 0]);
}

#[test]
fn a_garbage_siblings_list_is_a_parse_error_naming_it() {
    let root = FakeRoot::smt_pairs("garbage-siblings", 2);
    root.siblings(1, "thread_siblings_list", "1-x");
    match Topology::from_root(&root.0, &[0, 1]).unwrap_err() {
        TopologyError::Parse { path, .. } => {
            assert!(path.ends_with("cpu1/topology/thread_siblings_list"));
        }
        other => panic!("expected Parse, got {other:?}"),
    }
}

#[test]
fn a_mask_of_offline_cpus_only_is_an_error() {
    let root = FakeRoot::smt_pairs("nocpus", 2);
    root.write("sys/devices/system/cpu/online", "0-1\n");
    assert!(matches!(
        Topology::from_root(&root.0, &[2, 3]),
        Err(TopologyError::NoCpus)
    ));
}

#[test]
fn cpu_list_parsing() {
    assert_eq!(parse_cpu_list(""), Some(vec![]));
    assert_eq!(parse_cpu_list("0"), Some(vec![0]));
    assert_eq!(parse_cpu_list("0-3,8"), Some(vec![0, 1, 2, 3, 8]));
    assert_eq!(parse_cpu_list(" 1-2\n"), Some(vec![1, 2]));
    assert_eq!(parse_cpu_list("3-1"), None);
    assert_eq!(parse_cpu_list("a"), None);
    assert_eq!(parse_cpu_list("1,,2"), None);
    // A garbage range does not expand without bound.
    assert_eq!(parse_cpu_list("0-18446744073709551615"), None);
    assert_eq!(parse_cpu_list("70000"), None);
}

#[test]
fn this_machine() {
    let t = Topology::detect().unwrap();
    let physical = t.physical_cpus();
    assert!(!physical.is_empty());
    assert!(physical.iter().all(|cpu| t.allowed_cpus().contains(cpu)));
    if corepool::topology::PINNING_SUPPORTED {
        for cpu in physical {
            let mask = std::thread::spawn(move || {
                assert!(pin_current_thread(cpu).unwrap());
                current_thread_cpus().unwrap()
            })
            .join()
            .unwrap();
            assert_eq!(mask, [cpu]);
        }
        let err = pin_current_thread(1 << 20).unwrap_err();
        assert!(matches!(err, TopologyError::Affinity { cpu: Some(c), .. } if c == 1 << 20));
    }
}

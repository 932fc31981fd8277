# Side by side: primes below LIMIT in blocks of 10,000 on corepool's cluster
# (examples/cluster_primes.rs, Cluster::map_range) and on
# mpi4py.futures.MPIPoolExecutor (bench/python/primes_mpi4py.py), back to
# back in one run, under the same mpirun, with
#   - the same ranks: both `mpirun -np R` (corepool: R ranks of 1 worker
#     each, the root working too; mpi4py: 1 master and R - 1 workers), and
#   - the same workers: corepool `-np W`, mpi4py `-np W + 1`.
# Prints each time and the ratios. Needs mpi4py (`pip install mpi4py`).
#
#   python3 bench/python/cluster_primes_vs_mpi4py.py [LIMIT] [--ranks R] [--pairs P] [--mpirun mpirun.openmpi]
#
# Builds the example first (cargo build --release --features mpi).
import argparse, json, os, re, statistics, subprocess, sys

HERE = os.path.dirname(os.path.abspath(__file__))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_btl="self,vader", COREPOOL_WORKERS="1")


def seconds(text):
    value, unit = text.split()
    return float(value) * {"s": 1.0, "ms": 1e-3, "µs": 1e-6}[unit]


def run(cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=ENV, timeout=600).stdout


def build():
    subprocess.run(["cargo", "build", "-q", "--release", "--features", "mpi", "--example", "cluster_primes"],
                   check=True)
    meta = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                                     check=True, capture_output=True, text=True).stdout)
    return f"{meta['target_directory']}/release/examples/cluster_primes"


def corepool(mpirun, exe, ranks, limit):
    out = run([mpirun, "-np", str(ranks), "--oversubscribe", "--bind-to", "none", exe, str(limit)])
    count = re.search(r"^([0-9,]+) primes", out, re.M).group(1)
    return count, seconds(re.search(r"^\d+ ranks, \d+ workers: (.*)$", out, re.M).group(1))


def run_mpi4py(mpirun, ranks, limit):
    out = run([mpirun, "-np", str(ranks), "--oversubscribe", "--bind-to", "none", sys.executable,
               "-m", "mpi4py.futures", os.path.join(HERE, "primes_mpi4py.py"), str(limit), "10000"])
    m = re.search(r"^([0-9,]+) primes in .*: ([0-9.]+) s$", out, re.M)
    return m.group(1), float(m.group(2))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("limit", nargs="?", type=int, default=1_000_000)
    ap.add_argument("--ranks", type=int, default=2)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--mpirun", default="mpirun")
    a = ap.parse_args()
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        sys.exit("mpi4py is not installed (pip install mpi4py): no comparison")
    exe = build()
    r = a.ranks
    print(f"primes below {a.limit:,}, blocks of 10,000, {a.mpirun}")
    same_ranks, same_workers = [], []
    for pair in range(a.pairs):
        c_count, c = corepool(a.mpirun, exe, r, a.limit)
        p_count, p_ranks = run_mpi4py(a.mpirun, r, a.limit)
        _, p_workers = run_mpi4py(a.mpirun, r + 1, a.limit)
        if c_count != p_count:
            sys.exit(f"the counts differ: corepool {c_count}, mpi4py {p_count}")
        same_ranks.append(p_ranks / c)
        same_workers.append(p_workers / c)
        print(f"pair {pair + 1}: corepool -np {r} ({r} workers) {c * 1e3:.1f} ms; "
              f"MPIPoolExecutor -np {r} ({r - 1} workers) {p_ranks * 1e3:.0f} ms ({p_ranks / c:.1f}x), "
              f"-np {r + 1} ({r} workers) {p_workers * 1e3:.0f} ms ({p_workers / c:.1f}x)")
    print(f"median: corepool {statistics.median(same_ranks):.1f}x faster than MPIPoolExecutor "
          f"with the same ranks, {statistics.median(same_workers):.1f}x with the same workers")

# Side by side: 100,000 tiny items through corepool's ProcessPool::map on 2
# worker processes (examples/process_map_tiny.rs) and through Python's
# multiprocessing.Pool(2).map with its default chunksize, back to back in
# one run, same job (x -> x ^ 1 over range(N)), same number of workers.
# Prints each side's median over ROUNDS maps, per pair, and the ratio.
#
#   python3 bench/python/process_map_vs_pool.py [N] [--pairs P] [--rounds R]
#
# Builds the example first (cargo build --release --features process).
import argparse, json, re, statistics, subprocess, sys, time
from multiprocessing import Pool


def tiny(x):
    return x ^ 1


def python_median(n, rounds, workers):
    with Pool(workers) as pool:
        pool.map(tiny, range(100))  # every worker started
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            out = pool.map(tiny, range(n))
            times.append(time.perf_counter() - t)
            assert len(out) == n and out[-1] == (n - 1) ^ 1
    return statistics.median(times)


def corepool_median(exe, n, rounds, workers):
    out = subprocess.run(
        [exe, str(n), "--rounds", str(rounds), "--workers", str(workers)],
        check=True, capture_output=True, text=True,
    ).stdout
    m = re.search(r"median of \d+: ([0-9.]+) ms", out)
    if not m:
        sys.exit(f"unexpected output from {exe}:\n{out}")
    return float(m.group(1)) / 1e3


def build():
    subprocess.run(
        ["cargo", "build", "-q", "--release", "--features", "process", "--example", "process_map_tiny"],
        check=True,
    )
    meta = json.loads(subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        check=True, capture_output=True, text=True,
    ).stdout)
    return f"{meta['target_directory']}/release/examples/process_map_tiny"


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=100_000)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--workers", type=int, default=2)
    a = ap.parse_args()
    exe = build()
    ratios = []
    print(f"{a.n:,} tiny items, {a.workers} worker processes, median of {a.rounds} maps per side")
    for pair in range(a.pairs):
        py = python_median(a.n, a.rounds, a.workers)
        rs = corepool_median(exe, a.n, a.rounds, a.workers)
        ratios.append(py / rs)
        print(f"pair {pair + 1}: multiprocessing.Pool({a.workers}).map {py * 1e3:.2f} ms, "
              f"corepool ProcessPool::map {rs * 1e3:.2f} ms: corepool {py / rs:.1f}x faster")
    print(f"median ratio: corepool {statistics.median(ratios):.1f}x faster "
          f"(range {min(ratios):.1f}-{max(ratios):.1f}x)")

# Side by side: the process_primes job (primes below LIMIT by trial division
# by 2, 3 and 6k +- 1, blocks of 100,000 numbers, 2 worker processes) on
# corepool's ProcessPool::map (examples/process_primes.rs), Python's
# concurrent.futures.ProcessPoolExecutor(2) and multiprocessing.Pool(2),
# back to back in one run; then a tiny task's round trip (submit + wait for
# the result) on each, with one worker. Prints each time and the ratios.
#
#   python3 bench/python/process_primes_vs_pools.py [LIMIT] [--pairs P]
#
# Builds the examples first (cargo build --release --features process).
import argparse, json, os, re, statistics, subprocess, sys, time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import Pool

from primes_job import primes_in


def noop(x):
    return x


def seconds(text):
    """'52.3 ms', '1.234 s' or '890 µs' in seconds."""
    value, unit = text.split()
    return float(value) * {"s": 1.0, "ms": 1e-3, "µs": 1e-6}[unit]


def build():
    subprocess.run(["cargo", "build", "-q", "--release", "--features", "process",
                    "--example", "process_primes", "--example", "process_crash"], check=True)
    meta = json.loads(subprocess.run(["cargo", "metadata", "--format-version", "1", "--no-deps"],
                                     check=True, capture_output=True, text=True).stdout)
    return f"{meta['target_directory']}/release/examples"


def corepool_primes(exe_dir, limit, block):
    out = subprocess.run([f"{exe_dir}/process_primes", str(limit), "--block", str(block)],
                         check=True, capture_output=True, text=True,
                         env=dict(os.environ, COREPOOL_WORKERS="2")).stdout
    count = re.search(r"^([0-9,]+) primes", out, re.M).group(1)
    t = seconds(re.search(r"^\d+ workers: (.*)$", out, re.M).group(1))
    return count, t


def corepool_round_trip(exe_dir):
    out = subprocess.run([f"{exe_dir}/process_crash", "20", "--measure"],
                         check=True, capture_output=True, text=True).stdout
    return seconds(re.search(r"round trip of a tiny task.*: median ([0-9.]+ µs)", out).group(1))


def python_side(limit, block, round_trips):
    blocks = [(lo, min(lo + block, limit)) for lo in range(0, limit, block)]
    times = {}
    with ProcessPoolExecutor(2) as ex:
        list(ex.map(noop, range(10)))
        t = time.perf_counter(); found = list(ex.map(primes_in, blocks)); times["ppe"] = time.perf_counter() - t
    with Pool(2) as mp:
        mp.map(noop, range(10))
        t = time.perf_counter(); found2 = mp.map(primes_in, blocks); times["mp"] = time.perf_counter() - t
    assert found == found2
    if round_trips:
        with ProcessPoolExecutor(1) as ex:
            ex.submit(noop, 0).result()
            samples = []
            for i in range(round_trips):
                t = time.perf_counter(); ex.submit(noop, i).result(); samples.append(time.perf_counter() - t)
            times["ppe_rt"] = statistics.median(samples)
        with Pool(1) as mp:
            mp.apply_async(noop, (0,)).get()
            samples = []
            for i in range(round_trips):
                t = time.perf_counter(); mp.apply_async(noop, (i,)).get(); samples.append(time.perf_counter() - t)
            times["mp_rt"] = statistics.median(samples)
    return f"{sum(map(len, found)):,}", times


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("limit", nargs="?", type=int, default=2_000_000)
    ap.add_argument("--block", type=int, default=100_000)
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("--round-trips", type=int, default=5000)
    a = ap.parse_args()
    exe_dir = build()
    print(f"primes below {a.limit:,}, blocks of {a.block:,}, 2 worker processes")
    ratios_ppe, ratios_mp = [], []
    for pair in range(a.pairs):
        count, py = python_side(a.limit, a.block, 0)
        count2, rs = corepool_primes(exe_dir, a.limit, a.block)
        if count != count2:
            sys.exit(f"the counts differ: Python {count}, corepool {count2}")
        ratios_ppe.append(py["ppe"] / rs)
        ratios_mp.append(py["mp"] / rs)
        print(f"pair {pair + 1}: corepool {rs * 1e3:.1f} ms, ProcessPoolExecutor(2) {py['ppe'] * 1e3:.1f} ms "
              f"({py['ppe'] / rs:.1f}x), multiprocessing.Pool(2) {py['mp'] * 1e3:.1f} ms ({py['mp'] / rs:.1f}x)")
    print(f"median: corepool {statistics.median(ratios_ppe):.1f}x faster than ProcessPoolExecutor(2), "
          f"{statistics.median(ratios_mp):.1f}x faster than multiprocessing.Pool(2)")
    if a.round_trips:
        _, py = python_side(a.limit, a.block, a.round_trips)
        rt = corepool_round_trip(exe_dir)
        print(f"tiny task round trip, 1 worker (median): corepool {rt * 1e6:.1f} µs, "
              f"ProcessPoolExecutor {py['ppe_rt'] * 1e6:.0f} µs ({py['ppe_rt'] / rt:.1f}x), "
              f"multiprocessing.Pool {py['mp_rt'] * 1e6:.0f} µs ({py['mp_rt'] / rt:.1f}x)")

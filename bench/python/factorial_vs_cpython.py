#!/usr/bin/env python3
"""The factorial example beside CPython's math.factorial, back to back.

Builds `cargo run --release -p corepool-bench --example factorial`, then for
each round times `math.factorial(N)` in this interpreter (the product alone;
no decimal digits) and runs the example on the same machine right after it,
and prints how many times faster the example's whole job (product tree on
the pool plus every decimal digit, its best of 3 rounds) was than CPython's
product alone, and the example's product-tree speed-up over the same tree
on one thread.

usage: python3 bench/python/factorial_vs_cpython.py [N] [--rounds R]
       (N defaults to 1000000, R to 1; with R > 1 the medians are printed)
"""

import argparse
import json
import math
import os
import re
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def example_binary():
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "corepool-bench", "--example", "factorial"],
        cwd=ROOT,
        check=True,
    )
    meta = subprocess.run(
        ["cargo", "metadata", "--format-version", "1", "--no-deps"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    target = json.loads(meta.stdout)["target_directory"]
    return os.path.join(target, "release", "examples", "factorial")


def field(pattern, text):
    match = re.search(pattern, text, re.MULTILINE)
    if match is None:
        sys.exit(f"error: the example's output has no line matching {pattern!r}:\n{text}")
    return float(match.group(1))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    if args.n < 0 or args.rounds < 1:
        parser.error("N must be >= 0 and R >= 1")

    binary = example_binary()
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at start")
    print(f"CPython {sys.version.split()[0]}: math.factorial({args.n:_}) vs {binary} {args.n}")
    ratios, speedups = [], []
    for round_no in range(1, args.rounds + 1):
        start = time.perf_counter()
        math.factorial(args.n)
        cpython = time.perf_counter() - start
        out = subprocess.run(
            [binary, str(args.n)], check=True, capture_output=True, text=True
        ).stdout
        whole = field(r"^whole job .*\(([0-9.]+) s, ", out)
        speedup = field(r"speed-up ([0-9.]+)x", out)
        ratios.append(cpython / whole)
        speedups.append(speedup)
        if round_no == 1:
            print(out.rstrip())
        print(
            f"round {round_no}: CPython math.factorial {cpython:.3f} s, "
            f"example's whole job {whole:.3f} s: {cpython / whole:.1f}x faster than CPython; "
            f"tree speed-up {speedup:.2f}x"
        )
    if args.rounds > 1:
        print(
            f"median over {args.rounds} rounds: {statistics.median(ratios):.1f}x faster than "
            f"CPython; tree speed-up {statistics.median(speedups):.2f}x"
        )
    print(f"load average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()

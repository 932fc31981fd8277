#!/usr/bin/env python3
"""A/B of corepool's own rows in the criterion benches, two revisions, one run.

    python3 bench/ab.py BEFORE_REV [AFTER_REV] [--rounds N] [--benches pool,par]
                        [--filter REGEX]

Builds each bench binary of both revisions (BEFORE in a temporary git
worktree, AFTER = the working tree unless a revision is given), then runs the
`corepool` rows of each bench alternately, before, after, before, after, ...
(`--rounds` times each), and prints, per row, the best median of each side and
after / before. Run it on a quiet machine: nothing else building or running.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
UNITS = {"ps": 1e-12, "ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def build(tree, benches, target_dir, out_dir):
    """Builds the benches of the checkout at `tree`; copies the binaries."""
    cmd = ["cargo", "bench", "-p", "corepool-bench", "--no-run", "--message-format", "json"]
    for bench in benches:
        cmd += ["--bench", bench]
    env = dict(os.environ, CARGO_TARGET_DIR=target_dir)
    out = subprocess.run(cmd, cwd=tree, env=env, check=True, capture_output=True, text=True)
    paths = {}
    for line in out.stdout.splitlines():
        match = re.search(r'"executable":"([^"]+)"', line)
        name = re.search(r'"target":\{[^}]*"name":"([^"]+)"', line)
        if match and name and name.group(1) in benches:
            dest = os.path.join(out_dir, name.group(1))
            shutil.copy2(match.group(1), dest)
            paths[name.group(1)] = dest
    missing = set(benches) - set(paths)
    if missing:
        sys.exit(f"no binary for {sorted(missing)} in {tree}")
    return paths


def run(binary, filter_):
    """Runs the rows matching `filter_` of one bench binary; returns {row: median s}."""
    out = subprocess.run(
        [binary, "--bench", filter_, "--noplot"],
        capture_output=True, text=True, check=True,
    ).stdout
    medians, row = {}, None
    for line in out.splitlines():
        if line and not line[0].isspace() and not line.startswith(("Benchmarking", "Warning", "Found")):
            row = line.split()[0]
        match = re.search(r"time:\s+\[\S+ \S+ (\S+) (\S+) \S+ \S+\]", line)
        if match and row:
            medians[row] = float(match.group(1)) * UNITS[match.group(2)]
    return medians


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("before")
    parser.add_argument("after", nargs="?")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--benches", default="pool,par")
    parser.add_argument("--filter", default="corepool", help="criterion filter (regex)")
    args = parser.parse_args()
    benches = args.benches.split(",")
    work = tempfile.mkdtemp(prefix="corepool-ab-")
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    trees = {}
    for side, rev in (("before", args.before), ("after", args.after)):
        if rev is None:
            trees[side] = ROOT
            continue
        tree = os.path.join(work, side)
        subprocess.run(["git", "worktree", "add", "-q", "--detach", tree, rev], cwd=ROOT, check=True)
        trees[side] = tree
    try:
        bins = {}
        for side, tree in trees.items():
            out_dir = os.path.join(work, side + "-bin")
            os.makedirs(out_dir)
            print(f"building {side} ({tree})", file=sys.stderr)
            bins[side] = build(tree, benches, target, out_dir)
        best = {"before": {}, "after": {}}
        for round_ in range(args.rounds):
            for side in ("before", "after"):
                for bench in benches:
                    print(f"round {round_ + 1}: {side} {bench}", file=sys.stderr)
                    for row, median in run(bins[side][bench], args.filter).items():
                        key = (bench, row)
                        best[side][key] = min(best[side].get(key, median), median)
        print(f"| bench | row | before | after | after ÷ before |")
        print(f"|---|---|---:|---:|---:|")
        for key in sorted(best["before"]):
            if key not in best["after"]:
                continue
            b, a = best["before"][key], best["after"][key]
            print(f"| {key[0]} | {key[1]} | {fmt(b)} | {fmt(a)} | {a / b:.3f} |")
    finally:
        for side, tree in trees.items():
            if tree != ROOT:
                subprocess.run(["git", "worktree", "remove", "--force", tree], cwd=ROOT)
        shutil.rmtree(work, ignore_errors=True)


def fmt(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-12:.3g} ps"


if __name__ == "__main__":
    main()

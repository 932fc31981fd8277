#!/usr/bin/env python3
"""Print the markdown tables of BENCHMARKS.md from a `cargo bench` run.

Reads criterion's `<criterion dir>/<group>/<function>/new/estimates.json` (the
median of each benchmark) and `benchmark.json` (its throughput), plus the two
files the benches write beside them: `corepool-meta.json` (worker count,
from `benches/pool.rs`) and `corepool-idle.json` (from `benches/idle.rs`).

    cargo bench --bench pool && cargo bench --bench idle
    python3 benches/summarize.py                 # tables on stdout
    python3 benches/summarize.py --chart benches/chart.png

The criterion folder is found as criterion finds it: $CRITERION_HOME, else
$CARGO_TARGET_DIR/criterion, else the workspace's target/criterion; or
name it with --criterion-dir. The PNG bar chart needs matplotlib; without it
the chart is skipped with a message and the tables are still printed.
Standard library only otherwise.
"""

import argparse
import json
import math
import os
import sys
from pathlib import Path

# Columns of the main table: criterion function id -> heading.
COLUMNS = [
    ("corepool", "corepool"),
    ("rayon", "rayon"),
    ("threadpool", "threadpool"),
    ("std_scope", "std scope"),
    ("sequential", "sequential"),
]

# Groups in table order: id, workload label, how a cell is shown, and the
# derived row (if any) that follows it.
#   "per_element": median / throughput elements, in ns per unit
#   "total": median per iteration, in ms
GROUPS = [
    ("submit_outside", "submit from outside, 200,000 tiny tasks", "per_element", "ns/task", None),
    ("spawn_inside", "spawn inside (scope on a worker), 200,000 tiny tasks", "per_element", "ns/task", None),
    ("fork_join", "fork-join fib(30), join at every level", "per_element", "ns/join", None),
    ("map_cheap", "ordered map, 10,000,000 cheap items", "total", "ms", "speedup"),
    ("map_heavy", "ordered map, 200,000 items of ~2 µs", "total", "ms", "speedup"),
    ("unbalanced", "unbalanced: 10,000 tasks, 99 % ~5 µs, 1 % ~2 ms", "total", "ms", "efficiency"),
    ("primes", "primes below 2,000,000, trial division, 200 chunks", "total", "ms", "speedup"),
]

# The targets: (group, what is compared, test, text).
TARGETS = [
    ("submit_outside", "time", lambda r: r <= 0.5, "≤ 0.5× rayon per task"),
    ("spawn_inside", "time", lambda r: r <= 0.5, "≤ 0.5× rayon per task"),
    ("fork_join", "time", lambda r: r <= 1.0, "≤ 1.0× rayon per join"),
    ("map_cheap", "time", lambda r: r <= 1.0, "≤ 1.0× rayon"),
    ("map_heavy", "speedup", None, "speed-up ≥ 1.95 and ≥ rayon's"),
    ("primes", "speedup", None, "speed-up ≥ 1.95 and ≥ rayon's"),
    ("unbalanced", "efficiency", None, "efficiency ≥ 0.97"),
]


def criterion_dir(explicit):
    if explicit:
        return Path(explicit)
    if os.environ.get("CRITERION_HOME"):
        return Path(os.environ["CRITERION_HOME"])
    if os.environ.get("CARGO_TARGET_DIR"):
        return Path(os.environ["CARGO_TARGET_DIR"]) / "criterion"
    return Path(__file__).resolve().parent.parent.parent / "target" / "criterion"


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def load_results(root):
    """{group: {function: (median_ns, elements or None)}} from every
    `*/*/new/estimates.json` under `root`."""
    results = {}
    for estimates_path in sorted(root.glob("*/*/new/estimates.json")):
        estimates = load_json(estimates_path)
        if not estimates:
            continue
        bench = load_json(estimates_path.with_name("benchmark.json")) or {}
        group = bench.get("group_id") or estimates_path.parents[2].name
        function = bench.get("function_id") or estimates_path.parents[1].name
        throughput = bench.get("throughput") or {}
        elements = throughput.get("Elements")
        median_ns = estimates["median"]["point_estimate"]
        results.setdefault(group, {})[function] = (median_ns, elements)
    return results


def cell(entry, kind):
    """The figure a table cell shows for one benchmark, or None."""
    if entry is None:
        return None
    median_ns, elements = entry
    if kind == "per_element":
        return median_ns / elements if elements else None
    return median_ns / 1e6


def fmt(value, digits=None):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if digits is None:
        digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def derived(group_results, what, workers):
    """Speed-up over sequential, or efficiency (speed-up / workers), per
    column, from the medians per iteration."""
    seq = group_results.get("sequential")
    row = {}
    for function, _ in COLUMNS:
        entry = group_results.get(function)
        if seq is None or entry is None:
            row[function] = None
            continue
        speedup = seq[0] / entry[0]
        row[function] = speedup / workers if what == "efficiency" else speedup
    return row


def main_table(results, workers):
    heading = ["workload"] + [h for _, h in COLUMNS] + ["corepool ÷ rayon"]
    lines = ["| " + " | ".join(heading) + " |", "|---|" + "---:|" * (len(heading) - 1)]
    summary = {}
    for group, label, kind, unit, extra in GROUPS:
        group_results = results.get(group, {})
        figures = {f: cell(group_results.get(f), kind) for f, _ in COLUMNS}
        r = ratio(figures["corepool"], figures["rayon"])
        summary[(group, "time")] = r
        lines.append(
            f"| {label} ({unit}) | "
            + " | ".join(fmt(figures[f]) for f, _ in COLUMNS)
            + f" | {fmt(r, 2)}× |"
        )
        if extra:
            row = derived(group_results, extra, workers)
            name = "speed-up over sequential" if extra == "speedup" else f"efficiency (speed-up ÷ {workers} workers)"
            r = ratio(row["corepool"], row["rayon"])
            summary[(group, extra)] = row
            lines.append(
                f"| ↳ {name} | "
                + " | ".join(fmt(row[f], 2) for f, _ in COLUMNS)
                + f" | {fmt(r, 2)}× |"
            )
    return lines, summary


def variants_table(results):
    """Benchmarks outside the main columns (e.g. corepool_scope_on_caller)."""
    known = {f for f, _ in COLUMNS}
    kinds = {g: (kind, unit) for g, _, kind, unit, _ in GROUPS}
    lines = []
    for group in sorted(results):
        kind, unit = kinds.get(group, ("total", "ms"))
        rayon = cell(results[group].get("rayon"), kind)
        for function in sorted(set(results[group]) - known):
            value = cell(results[group][function], kind)
            lines.append(f"| {group} | {function} | {fmt(value)} {unit} | {fmt(ratio(value, rayon), 2)}× |")
    if lines:
        lines = ["| group | variant | median | ÷ rayon |", "|---|---|---:|---:|"] + lines
    return lines


def target_lines(summary):
    lines = []
    for group, what, test, text in TARGETS:
        if what == "time":
            r = summary.get((group, "time"))
            if r is None:
                continue
            verdict = "met" if test(r) else "NOT met"
            lines.append(f"- {group}: {r:.2f}× rayon — target {text}: {verdict}")
        else:
            row = summary.get((group, what))
            if not row or row.get("corepool") is None:
                continue
            core, ray = row["corepool"], row.get("rayon")
            if what == "speedup":
                ok = core >= 1.95 and (ray is None or core >= ray)
                lines.append(
                    f"- {group}: speed-up {core:.2f} (rayon {fmt(ray, 2)}) — target {text}: {'met' if ok else 'NOT met'}"
                )
            else:
                ok = core >= 0.97
                lines.append(f"- {group}: efficiency {core:.3f} (rayon {fmt(ray, 3)}) — target {text}: {'met' if ok else 'NOT met'}")
    return lines


def idle_table(idle):
    names = [("corepool", "corepool"), ("rayon", "rayon"), ("threadpool", "threadpool"), ("condvar_floor", "condvar floor")]
    if not all(k in idle for k, _ in names):
        return []
    floor = idle["condvar_floor"]

    def above(k):
        return idle[k]["trickle_ms_per_s"] - floor["trickle_ms_per_s"]

    core = idle["corepool"]
    rows = [
        ("idle CPU, ms per idle second (raw)", lambda k: idle[k]["idle_ms_per_s"], 3,
         f"{core['idle_ms_per_s']:.3f} ms (target ≤ 0.1 ms)"),
        ("trickle CPU, ms per second (raw)", lambda k: idle[k]["trickle_ms_per_s"], 2, ""),
        ("trickle CPU above the floor, ms per second", above, 2,
         f"{fmt(ratio(above('corepool'), above('rayon')), 2)}× rayon (target ≤ 0.25×)"),
        ("wake-up latency p50, µs", lambda k: idle[k]["wake_p50_us"], 1,
         f"{fmt(ratio(core['wake_p50_us'], floor['wake_p50_us']), 2)}× floor (target ≤ 1.2×)"),
        ("wake-up latency p99, µs", lambda k: idle[k]["wake_p99_us"], 1,
         f"{fmt(ratio(core['wake_p99_us'], floor['wake_p99_us']), 2)}× floor (target ≤ 1.5×)"),
    ]
    lines = [
        "| measurement | " + " | ".join(h for _, h in names) + " | corepool vs. target |",
        "|---|" + "---:|" * len(names) + "---|",
    ]
    for label, get, digits, note in rows:
        lines.append(f"| {label} | " + " | ".join(fmt(get(k), digits) for k, _ in names) + f" | {note} |")
    lines.append("")
    lines.append(
        f"Idle measurements: {idle.get('window_ms', '?')} ms windows × {idle.get('rounds', '?')} rounds (median), "
        f"{idle.get('samples', '?')} wake-up samples."
    )
    return lines


def chart(results, path):
    """A grouped bar chart of each contender's time relative to rayon."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(
            f"\n(matplotlib is not installed: no chart written to {path}; `pip install matplotlib` to get it)",
            file=sys.stderr,
        )
        return
    groups = [(g, label) for g, label, *_ in GROUPS if "rayon" in results.get(g, {})]
    if not groups:
        print("\n(no results with a rayon baseline: no chart)", file=sys.stderr)
        return
    width = 0.8 / len(COLUMNS)
    fig, ax = plt.subplots(figsize=(11, 5))
    for i, (function, heading) in enumerate(COLUMNS):
        xs, ys = [], []
        for x, (g, _) in enumerate(groups):
            entry = results[g].get(function)
            if entry is not None:
                xs.append(x + (i - (len(COLUMNS) - 1) / 2) * width)
                ys.append(entry[0] / results[g]["rayon"][0])
        ax.bar(xs, ys, width, label=heading)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels([g.replace("_", "\n") for g, _ in groups])
    ax.set_yscale("log")
    ax.set_ylabel("median time ÷ rayon's (log scale, lower is better)")
    ax.set_title("corepool benchmarks: time relative to rayon")
    ax.legend(ncol=len(COLUMNS), fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.12))
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"\n(chart written to {path})", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--criterion-dir", help="criterion's output folder (default: found as criterion does)")
    parser.add_argument("--workers", type=int, help="worker count for efficiency (default: from corepool-meta.json)")
    parser.add_argument("--chart", metavar="PNG", help="also write a bar chart there (needs matplotlib)")
    args = parser.parse_args()

    root = criterion_dir(args.criterion_dir)
    if not root.is_dir():
        sys.exit(f"no criterion results in {root}: run `cargo bench --bench pool` first")
    meta = load_json(root / "corepool-meta.json") or {}
    workers = args.workers or meta.get("workers") or os.cpu_count() or 1
    results = load_results(root)

    print(f"Workers: {workers} for every pool" + (f" (corepool pinning: {meta['pinning']})" if "pinning" in meta else "") + ".")
    if "spin_ns_per_iter" in meta:
        print(f"One spin iteration: {meta['spin_ns_per_iter']:.2f} ns.")
    print("Medians of 10 criterion samples; time cells are per task / per join (ns) or per run (ms).")
    print()
    lines, summary = main_table(results, workers)
    print("\n".join(lines))
    variants = variants_table(results)
    if variants:
        print()
        print("\n".join(variants))
    targets = target_lines(summary)
    if targets:
        print()
        print("\n".join(targets))
    idle = load_json(root / "corepool-idle.json")
    if idle:
        print()
        print("\n".join(idle_table(idle)))
    else:
        print(f"\n(no {root / 'corepool-idle.json'}: run `cargo bench --bench idle` for the idle table)")
    if args.chart:
        chart(results, args.chart)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Draws the table that `par_sizes` prints as an SVG chart, with nothing
but the standard library (no matplotlib needed).

    cargo bench -p corepool-bench --bench par_sizes | tee par_sizes.md
    python3 bench/benches/par_sizes_chart.py par_sizes.md bench/benches/par_sizes.svg

Two panels, calls from outside the pool and inside `install`. In each, per
operation, corepool's per-call time divided by rayon's in the same run
(solid) and the plain loop's divided by rayon's (dashed), against the input
size; both axes logarithmic. Below the line at 1 is faster than rayon.
"""

import math
import sys

OPS = [("for_each +1", "#1f77b4"), ("map.collect", "#d62728"), ("sum", "#2ca02c")]
PANELS = [("outside", "from a thread outside the pool"), ("inside", "inside install")]
Y_LOW, Y_HIGH = 0.005, 4.0
Y_TICKS = [0.01, 0.03, 0.1, 0.3, 1, 3]


def parse(lines):
    """(op, elements, from) -> (sequential, rayon, corepool) in µs."""
    rows = {}
    for line in lines:
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) != 7 or not cells[1].isdigit():
            continue
        op, n, where = cells[0], int(cells[1]), cells[2]
        try:
            seq, ray, core = (float(c) for c in cells[3:6])
        except ValueError:
            continue
        rows[(op, n, where)] = (seq, ray, core)
    if not rows:
        sys.exit("no par_sizes table rows found in the input")
    return rows


def fmt_size(n):
    for unit, scale in (("Mi", 1 << 20), ("Ki", 1 << 10)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    for unit, scale in (("M", 10**6), ("k", 10**3)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return str(n)


def chart(rows, title):
    sizes = sorted({n for (_, n, _) in rows})
    x_low, x_high = math.log10(sizes[0]), math.log10(sizes[-1])
    if x_high == x_low:
        x_high = x_low + 1
    pw, ph = 380, 260  # plot area of one panel
    left, top, gap = 60, 50, 90
    width = left + 2 * pw + gap + 30
    height = top + ph + 110
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="15">{title}</text>',
    ]

    def y_of(ratio):
        ratio = min(max(ratio, Y_LOW), Y_HIGH)
        span = math.log10(Y_HIGH) - math.log10(Y_LOW)
        return top + ph * (math.log10(Y_HIGH) - math.log10(ratio)) / span

    for p, (where, label) in enumerate(PANELS):
        x0 = left + p * (pw + gap)

        def x_of(n):
            return x0 + pw * (math.log10(n) - x_low) / (x_high - x_low)

        out.append(f'<rect x="{x0}" y="{top}" width="{pw}" height="{ph}" fill="none" stroke="#888"/>')
        out.append(f'<text x="{x0 + pw / 2}" y="{top - 8}" text-anchor="middle">{label}</text>')
        for t in Y_TICKS:
            y = y_of(t)
            stroke = "#000" if t == 1 else "#ddd"
            out.append(f'<line x1="{x0}" y1="{y:.1f}" x2="{x0 + pw}" y2="{y:.1f}" stroke="{stroke}"/>')
            out.append(f'<text x="{x0 - 6}" y="{y + 4:.1f}" text-anchor="end">{t:g}×</text>')
        for n in sizes:
            x = x_of(n)
            out.append(f'<line x1="{x:.1f}" y1="{top + ph}" x2="{x:.1f}" y2="{top + ph + 5}" stroke="#888"/>')
            out.append(f'<text x="{x:.1f}" y="{top + ph + 18}" text-anchor="middle">{fmt_size(n)}</text>')
        out.append(
            f'<text x="{x0 + pw / 2}" y="{top + ph + 36}" text-anchor="middle">elements per call</text>'
        )
        for op, color in OPS:
            for column, dash in ((2, ""), (0, ' stroke-dasharray="5,4"')):
                points = []
                for n in sizes:
                    row = rows.get((op, n, where))
                    if row and row[1] > 0:
                        points.append((x_of(n), y_of(row[column] / row[1])))
                if not points:
                    continue
                path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
                width_px = 2.2 if column == 2 else 1.2
                out.append(
                    f'<polyline points="{path}" fill="none" stroke="{color}" '
                    f'stroke-width="{width_px}"{dash}/>'
                )
                if column == 2:
                    for x, y in points:
                        out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"/>')
    out.append(
        f'<text x="14" y="{top + ph / 2}" transform="rotate(-90 14 {top + ph / 2})" '
        f'text-anchor="middle">time per call ÷ rayon\'s (log)</text>'
    )
    ly = top + ph + 62
    out.append(f'<line x1="{left}" y1="{ly}" x2="{left + 26}" y2="{ly}" stroke="#000"/>')
    out.append(f'<text x="{left + 32}" y="{ly + 4}">rayon (1×)</text>')
    lx = left + 120
    for op, color in OPS:
        out.append(f'<line x1="{lx}" y1="{ly}" x2="{lx + 26}" y2="{ly}" stroke="{color}" stroke-width="2.2"/>')
        out.append(f'<text x="{lx + 32}" y="{ly + 4}">corepool {op}</text>')
        out.append(
            f'<line x1="{lx}" y1="{ly + 20}" x2="{lx + 26}" y2="{ly + 20}" stroke="{color}" '
            f'stroke-width="1.2" stroke-dasharray="5,4"/>'
        )
        out.append(f'<text x="{lx + 32}" y="{ly + 24}">sequential loop, {op}</text>')
        lx += 235
    out.append("</svg>")
    return "\n".join(out) + "\n"


def main():
    if len(sys.argv) not in (2, 3, 4):
        sys.exit("usage: par_sizes_chart.py TABLE.md [OUT.svg] [TITLE]")
    with open(sys.argv[1], encoding="utf-8") as f:
        rows = parse(f)
    title = sys.argv[3] if len(sys.argv) == 4 else "par per call, corepool and the loop against rayon (2 workers)"
    svg = chart(rows, title)
    if len(sys.argv) >= 3:
        with open(sys.argv[2], "w", encoding="utf-8") as f:
            f.write(svg)
    else:
        sys.stdout.write(svg)


if __name__ == "__main__":
    main()

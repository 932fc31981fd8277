#!/usr/bin/env bash
# CI for the process pool (feature `process`): lints with every feature, the
# harness=false test binary in debug and release, the module's unit and doc
# tests, and the two process examples with small arguments against known
# answers. Runs from the repository root; well under 3 minutes once the
# dependencies are built.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
export RUST_BACKTRACE=0

# Each step's line says when it started (UTC), so a slow step shows.
step() { printf '\n== %s  [%s]\n' "$*" "$(date -u +%T)"; }

step "cargo clippy --all-targets --features process -- -D warnings"
cargo clippy --all-targets --features process -- -D warnings

step "process pool tests (debug)"
cargo test --features process --test process --test process_edges --test process_limits

step "process pool tests (release)"
# process_limits stays out of release: its cases are about stacks in
# unoptimised builds, and rustc spent over 7 minutes optimising its arrays
# of megabytes.
cargo test --release --features process --test process --test process_edges

step "process pool unit and doc tests"
cargo test --features process --lib process
cargo test --features process --doc process

step "process examples (release, small arguments)"
cargo build --release --features process --example process_primes --example process_crash --example process_map_tiny
# `cargo run` finds the binaries wherever cargo builds (CARGO_TARGET_DIR,
# build.target-dir): no path under target/ is assumed. `-q` keeps cargo's
# own lines out of the output the checks read.
run=(cargo run -q --release --features process --example)

# expect NAME OUTPUT LINE...: every LINE must appear in OUTPUT.
expect() {
    local name=$1 out=$2
    shift 2
    for line in "$@"; do
        if ! grep -qF -- "$line" <<<"$out"; then
            printf 'FAIL %s: no line %q in:\n%s\n' "$name" "$line" "$out"
            exit 1
        fi
    done
    printf 'ok   %s\n' "$name"
}

out=$(timeout 120 "${run[@]}" process_primes -- 1000000)
expect process_primes "$out" "78,498 primes in 0..1,000,000" "worker processes"

out=$(timeout 120 "${run[@]}" process_primes -- 100 --from 10 --block 7 --list)
expect "process_primes --list" "$out" "21 primes in 10..100" $'11\n13\n17'

out=$(timeout 120 "${run[@]}" process_crash -- 200 2>/dev/null)
expect process_crash "$out" "200 tasks: 180 finished, 20 crashed" "SIGSEGV: 10 tasks" "SIGABRT: 10 tasks"

# The command BENCHMARKS.md gives for the crash measurements.
out=$(timeout 300 "${run[@]}" process_crash -- 20 --measure 2>/dev/null)
expect "process_crash --measure" "$out" "20 tasks: 18 finished, 2 crashed" \
    "round trip of a tiny task" "after a crash, the next task's result back" "after its 20 ms timeout"

# The tiny-item map bench/python/process_map_vs_pool.py times (it checks
# every result itself).
out=$(timeout 120 "${run[@]}" process_map_tiny -- 10000 --rounds 2)
expect process_map_tiny "$out" "map 10,000 items on 2 workers" "median of 2"

set +e
err=$(timeout 60 "${run[@]}" process_primes -- nonsense 2>&1 >/dev/null)
code=$?
set -e
if [[ $code -ne 2 || "$err" != error:*usage:* ]]; then
    printf 'FAIL a bad argument: exit %s, %q\n' "$code" "$err"
    exit 1
fi
printf 'ok   a bad argument is a usage error with exit code 2\n'

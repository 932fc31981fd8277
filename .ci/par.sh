#!/usr/bin/env bash
# CI for `Pool::par` (src/par/): its tests several times in release (they
# race pieces across workers), and one smoke run of bench/benches/par.rs, which
# checks every contender's result against the sequential version.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
export RUST_BACKTRACE=0

tests=()
for t in tests/par_*.rs; do
    tests+=(--test "$(basename "$t" .rs)")
done

printf '\n== par tests, release, 5 rounds\n'
for _ in 1 2 3 4 5; do
    cargo test --release "${tests[@]}"
done

printf '\n== bench/benches/par.rs smoke run (each benchmark once, results checked)\n'
cargo bench -p corepool-bench --bench par -- --test

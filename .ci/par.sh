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

# Three rounds on top of the one in `cargo test --release`: they race
# pieces across workers, so each round is another draw of the timing.
printf '\n== par tests, release, 3 rounds  [%s]\n' "$(date -u +%T)"
for _ in 1 2 3; do
    cargo test --release "${tests[@]}"
done

printf '\n== bench/benches/par.rs smoke run (each benchmark once, results checked)  [%s]\n' "$(date -u +%T)"
cargo bench -p corepool-bench --bench par -- --test

#!/usr/bin/env bash
# CI for the `mpi` feature (src/cluster): installs Open MPI, libclang (for
# rsmpi's bindgen) and pkg-config when they are missing, then lints the
# feature and runs the cluster tests, which launch the cluster examples and
# test programs under `mpirun -np 1`, `-np 2` and `-np 3 --oversubscribe`.
# Called from .ci/run; runs from the repository root. About 3-5 minutes on
# 2 cores once the packages are there.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
export RUST_BACKTRACE=0
# Open MPI refuses to run as root without these (CI runs as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# One machine: shared memory and self only, no network interfaces to probe.
export OMPI_MCA_btl=self,vader

step() { printf '\n== %s\n' "$*"; }

missing=()
command -v mpirun >/dev/null || missing+=(openmpi-bin)
[ -e /usr/include/x86_64-linux-gnu/openmpi/mpi.h ] || [ -n "$(find /usr/include /usr/lib -name mpi.h -print -quit 2>/dev/null)" ] || missing+=(libopenmpi-dev)
[ -n "$(find /usr/lib /usr/lib64 -name 'libclang*.so*' -print -quit 2>/dev/null)" ] || missing+=(libclang-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
if [ ${#missing[@]} -gt 0 ]; then
    step "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
mpirun --version | head -1

step "cargo clippy --features mpi --all-targets -- -D warnings"
cargo clippy --features mpi --all-targets -- -D warnings

step "cargo test --features mpi --lib cluster (unit tests of the wire format and the node split)"
cargo test --features mpi --lib cluster

step "cargo test --features mpi --doc cluster (examples in the docs, as one-rank jobs)"
cargo test --features mpi --doc cluster

step "cluster tests under mpirun (debug)"
cargo test --features mpi --test 'cluster_*'

step "cluster tests under mpirun (release)"
cargo test --release --features mpi --test 'cluster_*'

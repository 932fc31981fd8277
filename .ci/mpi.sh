#!/usr/bin/env bash
# CI for the `mpi` feature (src/cluster): installs Open MPI, MPICH, libclang
# (for rsmpi's bindgen) and pkg-config when they are missing, then lints the
# feature and runs the cluster tests, which launch the cluster examples and
# test programs under `mpirun -np 1`, `-np 2` and `-np 3` (oversubscribed;
# the leader tree's tests up to `-np 16` with COREPOOL_CLUSTER_GROUP),
# against each implementation: Open MPI (debug and release), then MPICH
# (debug). rsmpi picks its MPI when mpi-sys is built (`$MPICC -show`, then
# pkg-config), and does not rebuild when that changes, so each
# implementation gets its own target directory, `mpicc.<impl>` as MPICC and
# `mpirun.<impl>` as the launcher (COREPOOL_MPIRUN, read by
# tests/cluster_common), whatever Debian's alternatives point `mpicc` and
# `mpirun` at. Called from .ci/run; runs from the repository root. About
# 5-8 minutes on 2 cores once the packages are there.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR=never
export RUST_BACKTRACE=0
# Open MPI refuses to run as root without these (CI runs as root).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
# One machine: shared memory and self only, no network interfaces to probe.
export OMPI_MCA_btl=self,vader

# Each step's line says when it started (UTC), so a slow step shows.
step() { printf '\n== %s  [%s]\n' "$*" "$(date -u +%T)"; }

missing=()
command -v mpirun.openmpi >/dev/null || missing+=(openmpi-bin)
command -v mpicc.openmpi >/dev/null || missing+=(libopenmpi-dev)
command -v mpirun.mpich >/dev/null || missing+=(mpich)
command -v mpicc.mpich >/dev/null || missing+=(libmpich-dev)
# libclang itself, not libclang-cpp (which some machines have alone, and
# bindgen cannot use).
[ -n "$(find /usr/lib /usr/lib64 \( -name 'libclang.so*' -o -name 'libclang-[0-9]*.so*' \) -print -quit 2>/dev/null)" ] || missing+=(libclang-dev)
command -v pkg-config >/dev/null || missing+=(pkg-config)
if [ ${#missing[@]} -gt 0 ]; then
    step "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# Which versions ran. No reader here stops early (head, grep -m1): under
# pipefail the launcher would then die of SIGPIPE and end CI with 141.
mpirun.openmpi --version 2>&1 | awk 'NR == 1'
mpirun.mpich --version 2>&1 | awk '/Version/ && !seen++'

# Where cargo builds (target/, or $CARGO_TARGET_DIR).
target=$(cargo metadata --format-version 1 --no-deps | sed 's/.*"target_directory":"\([^"]*\)".*/\1/')

# Open MPI in the usual target directory.
export MPICC=mpicc.openmpi COREPOOL_MPIRUN=mpirun.openmpi

step "cargo clippy --features mpi --all-targets -- -D warnings"
cargo clippy --features mpi --all-targets -- -D warnings

step "cargo test --features mpi --lib cluster (unit tests of the wire format and the node split)"
cargo test --features mpi --lib cluster

step "cargo test --features mpi --doc cluster (examples in the docs, as one-rank jobs)"
cargo test --features mpi --doc cluster

step "cluster tests under Open MPI (debug)"
cargo test --features mpi --test 'cluster_*'

step "cluster tests under Open MPI (release)"
cargo test --release --features mpi --test 'cluster_*'

step "cluster tests under MPICH (debug, target directory $target/mpich)"
CARGO_TARGET_DIR="$target/mpich" MPICC=mpicc.mpich COREPOOL_MPIRUN=mpirun.mpich \
    cargo test --features mpi --test 'cluster_*'

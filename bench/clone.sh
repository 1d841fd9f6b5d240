#!/usr/bin/env bash
# Clone benchmark (issue 3): a 4 GiB thick volume with 10% written, cloned by cinderkit
# and copied with dd, in one run.  Needs device-mapper: runs here when the kernel has
# it, otherwise in the test VM (bench/in_guest.sh). CLONE_GB / CLONE_WRITTEN / CLONE_RUNS: knobs.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
VM_DISK_GB=${VM_DISK_GB:-40} VM_TIMEOUT=${VM_TIMEOUT:-3600} exec bench/in_guest.sh bench/clone_bench.py clone \
  CINDERKIT_TEST_WORKDIR=/mnt/scratch/bench CLONE_GB="${CLONE_GB:-4}" CLONE_WRITTEN="${CLONE_WRITTEN:-0.10}" CLONE_RUNS="${CLONE_RUNS:-3}"

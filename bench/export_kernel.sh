#!/usr/bin/env bash
# Bulk exports on LIO and nvmet (issue 12, Build 2): bench/export_kernel_bench.py where the
# kernel has LIO, nvmet and device-mapper, else in a qemu guest (tests/harness/vm.sh).
# Knobs: BENCH_KERNEL_EXPORTS (N list, default 50), BENCH_RUNS (3), BENCH_KERNEL_HELPERS
# (lioadm,nvmet), BENCH_KERNEL_COLUMNS (task,module,raw), BENCH_PROFILE (1: cProfile the module). Writes
# bench/results/export-kernel-latest.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
tests/harness/link.sh
run="PATH=$ROOT/.venv/bin:\$PATH:/usr/sbin:/sbin ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/collections"
run="$run BENCH_KERNEL_EXPORTS=${BENCH_KERNEL_EXPORTS:-50} BENCH_RUNS=${BENCH_RUNS:-3}"
run="$run BENCH_KERNEL_COLUMNS=${BENCH_KERNEL_COLUMNS:-task,module,raw} BENCH_PROFILE=${BENCH_PROFILE:-0}"
run="$run BENCH_KERNEL_HELPERS=${BENCH_KERNEL_HELPERS:-lioadm,nvmet}"
if grep -qw device-mapper /proc/misc && modprobe -n target_core_mod 2>/dev/null && modprobe -n nvmet 2>/dev/null; then
  env BENCH_RESULTS="$ROOT/bench/results" bash -c "$run $ROOT/.venv/bin/python bench/export_kernel_bench.py"
else
  VM_OUT="$ROOT/bench/results" VM_TIMEOUT=${VM_TIMEOUT:-3000} tests/harness/vm.sh run \
    "cd $ROOT && $run BENCH_RESULTS=\$VM_OUT_GUEST $ROOT/.venv/bin/python bench/export_kernel_bench.py"
fi

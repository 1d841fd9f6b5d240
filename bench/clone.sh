#!/usr/bin/env bash
# Clone benchmark (issue 3): a 4 GiB thick volume with 10% written, cloned by cinderkit
# and copied with dd, in one run.  Needs device-mapper: runs here when the kernel has
# it, otherwise in the test VM (tests/harness/vm.sh). CLONE_GB / CLONE_WRITTEN: knobs.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
tests/harness/link.sh
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/collections PYTHONPATH=$ROOT/.build/collections
if grep -qw device-mapper /proc/misc 2>/dev/null; then
  exec .venv/bin/python bench/clone_bench.py
fi
echo "[bench] no device-mapper here: the clone benchmark runs in the test VM (emulated I/O: compare the rows, not absolute times)"
OUT=$ROOT/.build/bench-clone
rm -rf "$OUT"; mkdir -p "$OUT"
VM_DISK_GB=${VM_DISK_GB:-40} VM_OUT=$OUT VM_CWD=$ROOT tests/harness/vm.sh run "
export ANSIBLE_COLLECTIONS_PATH=$ANSIBLE_COLLECTIONS_PATH PYTHONPATH=$PYTHONPATH
export CINDERKIT_TEST_WORKDIR=/mnt/scratch/bench BENCH_OUT=\$VM_OUT_GUEST BENCH_WHERE='qemu TCG guest (tests/harness/vm.sh)'
export CLONE_GB=${CLONE_GB:-4} CLONE_WRITTEN=${CLONE_WRITTEN:-0.10}
$ROOT/.venv/bin/python bench/clone_bench.py"
cp "$OUT"/clone-*.md bench/results/

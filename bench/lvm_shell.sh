#!/usr/bin/env bash
# LVM commands in one lvm shell per task vs one process each (bench/lvm_shell_bench.py). Needs
# device-mapper: runs here when the kernel has it, otherwise in the test VM (tests/harness/vm.sh).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
tests/harness/link.sh
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/collections PYTHONPATH=$ROOT/.build/collections
if grep -qw device-mapper /proc/misc 2>/dev/null; then
  exec .venv/bin/python bench/lvm_shell_bench.py
fi
echo "[bench] no device-mapper here: the lvm shell benchmark runs in the test VM (TCG: compare the columns, not absolute times)"
OUT=$ROOT/.build/bench-lvm-shell
rm -rf "$OUT"; mkdir -p "$OUT"
VM_OUT=$OUT VM_CWD=$ROOT tests/harness/vm.sh run "
export ANSIBLE_COLLECTIONS_PATH=$ANSIBLE_COLLECTIONS_PATH PYTHONPATH=$PYTHONPATH
export BENCH_OUT=\$VM_OUT_GUEST BENCH_WHERE='qemu TCG guest (tests/harness/vm.sh)' BENCH_RUNS=${BENCH_RUNS:-3}
$ROOT/.venv/bin/python bench/lvm_shell_bench.py"
cp "$OUT"/lvm-shell-*.md bench/results/

#!/usr/bin/env bash
# bench/in_guest.sh SCRIPT NAME [VAR=VALUE ...]: run a benchmark that needs device-mapper here when
# the kernel has it, otherwise in the test VM (tests/harness/vm.sh), with the VAR=VALUE settings
# (guest only); then copy the guest's bench/results/NAME-*.md tables here.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
SCRIPT=$1 NAME=$2; shift 2
tests/harness/link.sh
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/collections PYTHONPATH=$ROOT/.build/collections
if grep -qw device-mapper /proc/misc 2>/dev/null; then
  exec .venv/bin/python "$SCRIPT"
fi
echo "[bench] no device-mapper here: $NAME runs in the test VM (emulated: compare the rows, not absolute times)"
OUT=$ROOT/.build/bench-$NAME
rm -rf "$OUT"; mkdir -p "$OUT"
settings=""
for kv in "$@"; do settings="$settings $(printf '%q' "$kv")"; done
VM_OUT=$OUT VM_CWD=$ROOT tests/harness/vm.sh run "
export ANSIBLE_COLLECTIONS_PATH=$ANSIBLE_COLLECTIONS_PATH PYTHONPATH=$PYTHONPATH
export BENCH_OUT=\$VM_OUT_GUEST BENCH_WHERE='qemu TCG guest (tests/harness/vm.sh)'$settings
$ROOT/.venv/bin/python $SCRIPT"
cp "$OUT/$NAME"-*.md bench/results/

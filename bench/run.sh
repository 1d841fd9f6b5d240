#!/usr/bin/env bash
# make bench (N = 10, 100, 1000; medians of 3) / make bench-quick (BENCH_QUICK=1: N = 10)
# Prints one markdown table and writes it to bench/results/.  Timings never fail the run;
# a cinderkit column that does not converge correctly does.  Knobs: bench/README.md.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
if [ "$(id -u)" != 0 ]; then echo "[bench] needs root (loop devices, LVM)" >&2; exit 1; fi
[ -x .venv/bin/python ] || tests/harness/venv.sh
tests/harness/link.sh
VB=${BENCH_VENV:-$ROOT/.venv-bench}
want=$(sha256sum bench/requirements-bench.txt | cut -d' ' -f1)
if [ ! -x "$VB/bin/ansible-playbook" ] || [ "$(cat "$VB/.requirements.sha" 2>/dev/null)" != "$want" ]; then
  echo "[bench] creating $VB (the ansible package, for community.general.lvol)" >&2
  /usr/bin/python3 -m venv "$VB"
  "$VB/bin/pip" install -q -r bench/requirements-bench.txt >"$VB.pip.log" 2>&1 \
    || { grep -v "is ignored: it is neither" "$VB.pip.log" >&2; echo "[bench] pip install failed" >&2; exit 1; }
  echo "$want" > "$VB/.requirements.sha"
fi
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/collections ANSIBLE_PYTHON_INTERPRETER=$ROOT/.venv/bin/python
rc=0
since=$(mktemp); trap 'rm -f "$since"' EXIT
.venv/bin/python bench/lvm_bench.py "$@" || rc=$?
# exports in bulk (tgtadm, this host): N = 20, 100, 200, or 20 with BENCH_QUICK
PYTHONPATH=$ROOT/.build/collections .venv/bin/python bench/export_bench.py || rc=$?
# one single-volume task against a ping task plus its LVM commands (issue 12, Build 3); full runs
# only (bench-quick is a tier of make test, which is CPU-bound beside the guest stream)
if [ -z "${BENCH_QUICK:-}" ]; then PYTHONPATH=$ROOT/.build/collections .venv/bin/python bench/task_bench.py || rc=$?; fi
# RBD at scale (one-node Ceph of the host tier): N = 100 and 1000 vs raw python-rbd loops; full runs only
if [ -z "${BENCH_QUICK:-}" ] && [ -z "${BENCH_NO_RBD:-}" ]; then .venv/bin/python bench/rbd_bench.py || rc=$?; fi
# a clone of a 4 GiB thick volume with 10% written vs dd (needs device-mapper: VM here); full runs only
if [ -z "${BENCH_QUICK:-}" ] && [ -z "${BENCH_NO_CLONE:-}" ]; then bench/clone.sh || rc=$?; fi
# the same clone with the file driver, on this host (sparse file, 10% written) vs dd and cp; full
# runs only
if [ -z "${BENCH_QUICK:-}" ] && [ -z "${BENCH_NO_CLONE_FILE:-}" ]; then
  PYTHONPATH=$ROOT/.build/collections:$ROOT/tests/integration .venv/bin/python bench/clone_file_bench.py || rc=$?
fi
# one volume's life with the LVM commands in one lvm shell per task vs a process each (a guest
# here); full runs only
if [ -z "${BENCH_QUICK:-}" ] && [ -z "${BENCH_NO_LVM_SHELL:-}" ]; then bench/lvm_shell.sh || rc=$?; fi
# bulk exports on LIO and nvmet against raw rtslib/configfs writes (a guest here); full runs only
if [ -z "${BENCH_QUICK:-}" ] && [ -z "${BENCH_NO_KERNEL_EXPORTS:-}" ]; then bench/export_kernel.sh || rc=$?; fi
# a chart beside each table written now (time against N, SVG; matplotlib from the bench venv)
mapfile -t made < <(find bench/results -maxdepth 1 -newer "$since" \( -name 'lvm-*.json' -o -name 'quick.json' \
  -o -name 'custom-*.json' -o -name 'export-*.json' \) | sort)
if [ "${#made[@]}" -gt 0 ]; then
  "$VB/bin/python" bench/charts.py --latest "${made[@]}" || rc=$?
fi
exit $rc

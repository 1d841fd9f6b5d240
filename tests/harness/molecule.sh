#!/usr/bin/env bash
# The molecule tier (make molecule; a tier of make test): the scenarios under extensions/molecule
# (default: tgt, lio: LIO, nvmet: NVMe/TCP), each run by pytest-ansible's MoleculeScenario
# (tests/integration/test_integration.py -> `molecule test -s NAME`).
#
# On a host without device-mapper (this lab) the instance is a qemu guest booted by
# tests/harness/vm.sh; molecule and the Ansible controller stay on this host. With device-mapper
# the instance is this host (CINDERKIT_MOLECULE_INSTANCE=local|vm forces one).
# One guest serves every scenario (CINDERKIT_MOLECULE_VM, default molecule-shared; set it empty
# for a guest per scenario): the first create boots it, each destroy removes what its scenario
# made and fails if anything of it is left, and this script stops the guest at the end. Two
# boots less (about 30 s each under make test's load).
#
# Output: every line with the time since its scenario started, a line per stage with its outcome
# and time, and a summary table; records in .build/molecule/<scenario>.json, JUnit XML there too.
# A scenario that did not run (NOT RUN, with its reason) fails the tier unless
# CINDERKIT_ALLOW_SKIP names it (comma list of scenario names, "molecule", or 1 for all).
# No VM of this tier is left running, also after a failure or an interrupt.
#
# Env: MOLECULE_SCENARIOS (default "default lio nvmet"), extra pytest arguments as "$@".
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit
SCENARIOS=${MOLECULE_SCENARIOS:-default lio nvmet}
OUT=$ROOT/.build/molecule
VM=$ROOT/tests/harness/vm.sh

export ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/collections
export PATH=$ROOT/.venv/bin:$PATH:/usr/sbin:/sbin
export ANSIBLE_NOCOLOR=1 NO_COLOR=1 PYTHONUNBUFFERED=1 ANSIBLE_LOCALHOST_WARNING=False
export CINDERKIT_MOLECULE_RESULTS=$OUT

allowed() {  # allowed SCENARIO -> 0 when CINDERKIT_ALLOW_SKIP permits it not to run
  local a=${CINDERKIT_ALLOW_SKIP:-}
  case "$a" in 1|all|yes|true) return 0 ;; esac
  [[ ",$a," == *",$1,"* || ",$a," == *",molecule,"* ]]
}

export CINDERKIT_MOLECULE_VM=${CINDERKIT_MOLECULE_VM-molecule-shared}

# shellcheck disable=SC2317  # called from the traps below
stop_vms() {  # the shared guest, and any a scenario's destroy left (interrupted or failed runs)
  local s name pid
  for s in ${CINDERKIT_MOLECULE_VM:-} $SCENARIOS; do
    name=$s; [ "$s" = "${CINDERKIT_MOLECULE_VM:-}" ] || name=molecule-$s
    [ -d "$ROOT/.build/vm/$name" ] || continue
    pid=$(cat "$ROOT/.build/vm/$name/pid" 2>/dev/null)
    echo "[molecule.sh] stopping VM $name${pid:+ (pid $pid)}"
    "$VM" stop "$name" || true
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
      echo "[molecule.sh] WARNING: VM $name (pid $pid) is still running"
    fi
  done
}
PYTEST_PID=
# shellcheck disable=SC2317  # called from the trap below
on_signal() {
  echo "[molecule.sh] interrupted: stopping pytest and the scenario VMs"
  [ -n "$PYTEST_PID" ] && kill -TERM "$PYTEST_PID" 2>/dev/null
  [ -n "$PYTEST_PID" ] && wait "$PYTEST_PID" 2>/dev/null
  stop_vms
  exit 130
}
trap on_signal INT TERM
trap stop_vms EXIT

"$ROOT/tests/harness/link.sh"
rm -rf "$OUT"; mkdir -p "$OUT"

# pytest-ansible lists scenarios with `git ls-files`: an untracked scenario would silently vanish
declare -A WHY
select_expr=
for s in $SCENARIOS; do
  if [ -z "$(git ls-files "extensions/molecule/$s/molecule.yml" 2>/dev/null)" ]; then
    WHY[$s]="extensions/molecule/$s/molecule.yml is not tracked by git (pytest-ansible only finds tracked scenarios)"
    continue
  fi
  select_expr="${select_expr:+$select_expr or }extensions-$s"
done

T0=$(date +%s)
rc=0
if [ -n "$select_expr" ]; then
  if grep -qw device-mapper /proc/misc; then where='instance: this host, it has device-mapper'
  elif [ -n "$CINDERKIT_MOLECULE_VM" ]; then where="instance: one qemu guest ($CINDERKIT_MOLECULE_VM) for all scenarios, this host has no device-mapper"
  else where='instance: a qemu guest per scenario, this host has no device-mapper'; fi
  echo "[molecule.sh] scenarios: $SCENARIOS ($where)"
  "$ROOT/.venv/bin/pytest" -p no:cacheprovider -s -ra -o testpaths=tests/integration \
    tests/integration/test_integration.py -k "$select_expr" --junitxml="$OUT/junit.xml" "$@" &
  PYTEST_PID=$!
  wait "$PYTEST_PID"; rc=$?
  PYTEST_PID=
fi

# ---------------------------------------------------------------- summary
echo
echo "==================== molecule summary ($(( $(date +%s) - T0 ))s) ===================="
printf '%-9s %-12s %-40s %8s\n' scenario stage outcome time
missing=0
for s in $SCENARIOS; do
  rec=$OUT/$s.json
  if [ ! -f "$rec" ]; then
    reason=${WHY[$s]:-no result recorded (see the pytest output above)}
    if allowed "$s"; then tag="NOT RUN (allowed)"; else tag="NOT RUN -> FAIL"; missing=1; fi
    printf '%-9s %-12s %-40s %8s  %s\n' "$s" - "$tag" - "$reason"
    continue
  fi
  "$ROOT/.venv/bin/python" - "$rec" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
for st in r['stages']:
    print('%-9s %-12s %-40s %7.1fs' % (r['scenario'], st['stage'], st['outcome'][:40], st['seconds']))
res = r['result'].upper()
if r['result'] == 'not run':
    res = 'NOT RUN: %s' % (r['reason'] or '')
elif r['result'] == 'failed':
    res = 'FAILED in %s' % (r['failed_stage'] or '?')
print('%-9s %-12s %-40s %7.0fs' % (r['scenario'], 'TOTAL', res[:40], r['seconds']))
if len(res) > 40:
    print('%-9s %-12s %s' % ('', '', res))
PY
  if grep -q '"result": "not run"' "$rec" && ! allowed "$s"; then missing=1; fi
done
if [ "$rc" = 0 ] && [ "$missing" = 1 ]; then rc=1; fi
if [ "$rc" = 0 ]; then echo "molecule: PASS"; else echo "molecule: FAIL (rc=$rc)"; fi
exit "$rc"

#!/usr/bin/env bash
# make test: every tier, in order, with a summary of outcome and time per tier.
#
# A tier that cannot run here is reported as NOT RUN with the reason and fails
# the run, unless CINDERKIT_ALLOW_SKIP names it (comma list, or 1 for all).
# TIERS (env) selects tiers, default: all of them in the order below.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit
LOGS=$ROOT/.build/test-logs
mkdir -p "$LOGS"
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/collections
export ANSIBLE_PYTHON_INTERPRETER=$ROOT/.venv/bin/python
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False ANSIBLE_NOCOLOR=1
export PATH=$ROOT/.venv/bin:$PATH:/usr/sbin:/sbin
PYTEST=$ROOT/.venv/bin/pytest

ALL="units sanity lint build docs host contract vm playbooks bench matrix vm-auth molecule"
TIERS=${TIERS:-$ALL}
declare -a ROWS
FAILED=0

allowed() {  # allowed TIER -> 0 when CINDERKIT_ALLOW_SKIP permits skipping it
  local a=${CINDERKIT_ALLOW_SKIP:-}
  [ "$a" = 1 ] || [ "$a" = all ] && return 0
  [[ ",$a," == *",$1,"* ]]
}

has_dm() { grep -qw device-mapper /proc/misc 2>/dev/null; }

why_not() {  # why_not TIER -> prints a reason when the tier cannot run here
  case "$1" in
    vm|playbooks|molecule|vm-auth)
      if ! has_dm; then
        command -v qemu-system-x86_64 >/dev/null || { echo "no device-mapper and no qemu-system-x86_64 for the VM"; return; }
        ls /boot/vmlinuz-* >/dev/null 2>&1 || { echo "no device-mapper and no kernel image for the VM (linux-image-amd64)"; return; }
        if [ "$1" = vm-auth ]; then
          ls /boot/vmlinuz-"${VM_AUTH_KERNEL:-6.12}"* >/dev/null 2>&1 || { echo "no kernel ${VM_AUTH_KERNEL:-6.12} in /boot for the DH-HMAC-CHAP tests (linux-image-6.12-amd64, bookworm-security; or set VM_AUTH_KERNEL)"; return; }
        fi
      fi ;;
    host|matrix)
      command -v lvcreate >/dev/null || { echo "lvm2 is not installed"; return; }
      command -v tgtd >/dev/null || { echo "tgt is not installed"; return; } ;;
    contract)
      command -v lvcreate >/dev/null || { echo "lvm2 is not installed"; return; }
      command -v mkfs.xfs >/dev/null || { echo "xfsprogs is not installed (the file driver's reflink rig)"; return; }
      command -v qemu-img >/dev/null || { echo "qemu-utils is not installed"; return; } ;;
  esac
}

run_tier() {  # run_tier NAME COMMAND...
  local name=$1; shift
  local reason; reason=$(why_not "$name")
  if [ -n "$reason" ]; then
    if allowed "$name"; then
      ROWS+=("$(printf '%-10s %-22s %6s  %s' "$name" "NOT RUN (allowed)" "-" "$reason")")
    else
      ROWS+=("$(printf '%-10s %-22s %6s  %s' "$name" "NOT RUN -> FAIL" "-" "$reason")"); FAILED=1
    fi
    echo "!!!!!!!! tier $name NOT RUN: $reason"
    return
  fi
  echo "======== tier $name: $*"
  local t0 rc; t0=$(date +%s)
  : > "$LOGS/running.$name"
  # the tier's CPU time: bash's `times` counts every descendant that was waited for (vm.sh run's
  # qemu too; not a guest that vm.sh start daemonised, as molecule's and the playbook tests' are)
  ( "$@"; rc=$?; times > "$LOGS/$name.times"; exit $rc ) 2>&1 | tee "$LOGS/$name.log"
  rc=${PIPESTATUS[0]}
  rm -f "$LOGS/running.$name"
  local dt=$(( $(date +%s) - t0 )) cpu
  cpu=$(awk 'NR == 2 { n = split($1 " " $2, f, " "); c = 0
          for (k = 1; k <= n; k++) { split(f[k], ms, /[ms]/); c += ms[1] * 60 + ms[2] }
          printf "%.0f", c }' "$LOGS/$name.times" 2>/dev/null)
  cpu="cpu ${cpu:-?}s, "
  if [ "$rc" = 0 ]; then
    ROWS+=("$(printf '%-10s %-22s %5ss  %s' "$name" "PASS" "$dt" "${cpu}log: .build/test-logs/$name.log")")
  else
    ROWS+=("$(printf '%-10s %-22s %5ss  %s' "$name" "FAIL (rc=$rc)" "$dt" "${cpu}log: .build/test-logs/$name.log")"); FAILED=1
  fi
  echo "======== tier $name: rc=$rc in ${dt}s"
}

T0=$(date +%s)
# How busy the cores were while the tiers ran: a line every CPU_EVERY s in cpu.log (share of
# all cores busy, load, the tiers running), summed up per phase after the tier table
CPU_EVERY=${CPU_EVERY:-30}
rm -f "$LOGS"/running.* "$LOGS/cpu.log"
cpu_sampler() {
  local a b pb=0 pt=0 busy total
  while :; do
    read -r _ a < /proc/stat
    # shellcheck disable=SC2086  # split on purpose: the cpu line's fields become $1...
    set -- $a
    busy=$(( $1 + $2 + $3 + $6 + $7 + $8 )); total=$(( busy + $4 + $5 ))
    if [ "$pt" -gt 0 ] && [ "$total" -gt "$pt" ]; then
      # shellcheck disable=SC2012  # the marker files are named running.TIER
      b=$(cd "$LOGS" && ls running.* 2>/dev/null | sed 's/^running\.//' | tr '\n' ' ')
      printf '%5d %3d %s %s\n' $(( $(date +%s) - T0 )) $(( 100 * (busy - pb) / (total - pt) )) \
        "$(cut -d' ' -f1 /proc/loadavg)" "$b" >> "$LOGS/cpu.log"
    fi
    pb=$busy pt=$total
    sleep "$CPU_EVERY"
  done
}
cpu_sampler & CPU_PID=$!
tier_cmd() {  # tier_cmd TIER -> the command line of a tier
  case "$1" in
    units)    echo "$PYTEST -q -ra tests/unit" ;;
    sanity)   echo "tests/harness/sanity.sh" ;;
    lint)     echo "tests/harness/lint.sh" ;;
    build)    echo "tests/harness/build.sh" ;;
    docs)     echo "tests/harness/docs.sh all" ;;  # HTML docs (warnings are errors), then ee.sh
    host)     echo "$PYTEST -q -ra -n 2 --durations=15 tests/integration/host" ;;
    contract) echo "$PYTEST -q -ra tests/integration/contract" ;;  # one process: one Ceph cluster
    vm)       echo "env VM_SKIP_AUTH=1 VM_SKIP_GUEST=1 tests/harness/vm-tier.sh" ;;
    # the two-host playbooks (tests/integration/guest): the controller here, the modules in a guest
    playbooks) echo "tests/harness/vm-tier.sh tests/integration/guest" ;;
    # the NVMe DH-HMAC-CHAP tests (and the RBD attachment, with its own Ceph) in a guest on
    # VM_AUTH_KERNEL (6.12): last in the host stream,
    # where the host tiers have left the CPU to it
    vm-auth)  echo "tests/harness/vm-tier.sh tests/integration/vm/test_nvmet_auth.py tests/integration/vm/test_attach_rbd.py" ;;
    molecule) echo "tests/harness/molecule.sh" ;;
    # bench-quick as a test: every bench script runs and every cinderkit column converges
    # correctly; one run per column (the tables of record come from make bench, medians of 3)
    bench)    echo "env BENCH_QUICK=1 BENCH_RUNS=1 bench/run.sh" ;;
    # every ansible-core minor README claims, with its controller and managed-node Pythons
    # (tests/harness/matrix.sh; venvs cached in ~/.cache/cinderkit/matrix)
    matrix)   echo "tests/harness/matrix.sh" ;;
    *) return 1 ;;
  esac
}

# The guest tiers (vm, playbooks, molecule) are mostly emulated CPU; the host tiers mostly
# wait on LVM metadata commits, tgtd and Ceph. Running the guest tiers in the
# background while the host tiers run in the foreground halves the wall time.
# CINDERKIT_SERIAL=1 runs everything in order instead.
GUEST="" HOST=""
for tier in $TIERS; do
  tier_cmd "$tier" >/dev/null || { echo "unknown tier $tier" >&2; FAILED=1; continue; }
  case "$tier" in vm|playbooks) GUEST="$GUEST $tier" ;; *) HOST="$HOST $tier" ;; esac
done
trap 'echo "interrupted: stopping every tier" >&2; kill 0' INT TERM
if [ -n "$GUEST" ] && [ -z "${CINDERKIT_SERIAL:-}" ]; then
  echo "======== guest tiers (${GUEST# }) start in the background; their output follows when they end"
  # the guest tiers vm and playbooks run one after the other in one background stream; the
  # molecule tier runs last in the foreground stream, after vm-auth. A molecule task and a
  # playbook task are each one Python process in a guest at a time (about one core): side by
  # side at the end of the run they keep both cores busy, where one after the other left one
  # idle for the last ~35 minutes (CI of 2026-12-02: 5,174 s, the host stream done at
  # ~3,030 s). Layouts tried before this one, on clean-clone runs:
  # - both cores 94% busy through the run (the run was CPU-bound then);
  # - playbooks and molecule side by side in one-vCPU guests, beside the host tiers
  #   (2026-12-02): little gain (63 min against 67), and one playbook test stretched from
  #   298 s to 960 s, near its 1200 s limit;
  # - two guests of two vCPUs each beside the host tiers: every stream several-fold slower.
  # CINDERKIT_GUEST_PARALLEL=1 gives each guest tier its own stream.
  BG_PIDS=()
  guest_tier() {
    # shellcheck disable=SC2030,SC2046  # ROWS is local to the subshell on purpose (it writes $1.row); tier_cmd's line is split into a command on purpose
    ( ROWS=(); FAILED=0; run_tier "$1" $(tier_cmd "$1") > "$LOGS/$1.console" 2>&1
      printf '%s\n' "${ROWS[@]}" > "$LOGS/$1.row"; exit $FAILED )
  }
  if [ -z "${CINDERKIT_GUEST_PARALLEL:-}" ]; then
    ( for tier in $GUEST; do guest_tier "$tier"; done ) &
    BG_PIDS+=($!)
  else
    for tier in $GUEST; do guest_tier "$tier" & BG_PIDS+=($!); done
  fi
  # shellcheck disable=SC2046  # tier_cmd's line is split into a command on purpose
  for tier in $HOST; do run_tier "$tier" $(tier_cmd "$tier"); done
  echo "======== waiting for the guest tiers (${GUEST# })"
  for pid in "${BG_PIDS[@]}"; do wait "$pid" || true; done
  for tier in $GUEST; do
    cat "$LOGS/$tier.console" 2>/dev/null
    if [ -s "$LOGS/$tier.row" ]; then
      # shellcheck disable=SC2031  # this is the main shell's ROWS; guest_tier's subshell ROWS are separate on purpose
      ROWS+=("$(cat "$LOGS/$tier.row")")
      grep -q "PASS\|allowed" "$LOGS/$tier.row" || FAILED=1
    else
      ROWS+=("$(printf '%-10s %-22s %6s  %s' "$tier" "FAIL (no result)" "-" "see .build/test-logs/$tier.console")"); FAILED=1
    fi
  done
else
  # shellcheck disable=SC2046  # tier_cmd's line is split into a command on purpose
  for tier in $TIERS; do run_tier "$tier" $(tier_cmd "$tier"); done
fi
echo
echo "==================== make test summary ($(( $(date +%s) - T0 ))s) ===================="
printf '%-10s %-22s %6s  %s\n' tier outcome time detail
for r in "${ROWS[@]}"; do echo "$r"; done
kill "$CPU_PID" 2>/dev/null
if [ -s "$LOGS/cpu.log" ]; then
  # per stretch of tiers running together: wall time, cores busy (share of all of them)
  echo "cores busy, by the tiers running together (samples every ${CPU_EVERY}s; .build/test-logs/cpu.log):"
  awk -v n="$(nproc)" -v dt="$CPU_EVERY" '
    { t = ""; for (k = 4; k <= NF; k++) t = t (t == "" ? "" : "+") $k; if (t == "") t = "(none)"
      if (t != last) { order[++m] = t; last = t }
      secs[t] += dt; busy[t] += $2 * dt; all += $2 * dt; tot += dt }
    END { for (k = 1; k <= m; k++) { t = order[k]; if (seen[t]++) continue
            printf "  %-40s %5ds  %3.0f%%\n", t, secs[t], busy[t] / secs[t] }
          printf "  %-40s %5ds  %3.0f%% of %d cores (%.0f core-min busy)\n", "whole run", tot, all / tot, n, all * n / 100 / 60 }' \
    "$LOGS/cpu.log"
fi
# CI shows only the tail of this output: name what failed right here, a few lines per tier
for r in "${ROWS[@]}"; do
  case "$r" in *FAIL*) ;; *) continue ;; esac
  tier=${r%% *}
  [ -s "$LOGS/$tier.log" ] || continue
  grep -aE '^(FAILED|ERROR) |^ERROR:|^E +(Failed|Timeout|AssertionError|.*Error:)|vm\.sh: |\+{5} Timeout|fatal: \[|PLAY RECAP|failed=[1-9]' \
      "$LOGS/$tier.log" | grep -av 'failed=0' | tail -n 6 | cut -c1-220 | sed "s/^/  $tier> /"
done
if has_dm; then echo "device-mapper: present on this host (VM tier ran here)";
else echo "device-mapper: ABSENT on this host -> the VM and molecule tiers ran in a qemu guest (tests/harness/vm.sh)"; fi
[ "$FAILED" = 0 ] && echo "RESULT: PASS" || echo "RESULT: FAIL"
exit $FAILED

#!/usr/bin/env bash
# make matrix: the versions README's "Supported versions" claims, each one tested here.
#
# For every ansible-core minor that meta/runtime.yml's requires_ansible admits, on a controller
# Python that minor supports: the unit tests and the smoke play (tests/integration/matrix/: volume,
# snapshot, export on tgt, backend_facts on LVM metadata over a loop device, then cleanup), with
# that venv's Python as the managed node and, where a row names them, with other managed-node
# Pythons (a venv of each, with requirements.txt). The oldest and newest minor also run
# ansible-test sanity's validate-modules with their own ansible-test.
#
# Venvs live in MATRIX_VENVS (default ~/.cache/cinderkit/matrix, outside the checkout, so a clean
# clone on the same machine reuses them, as pip reuses its cache) and are rebuilt only when their
# pinned requirements or their interpreter change; logs in .build/matrix/. Rows run in parallel, MATRIX_JOBS (default 2) at a time. A missing
# interpreter fails the tier (it is never skipped). MATRIX_ROWS (env) picks rows by minor
# ("2.16 2.21"); MATRIX_SANITY=0 leaves validate-modules out.
set -uo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT" || exit
M=$ROOT/.build/matrix
VENVS=${MATRIX_VENVS:-${XDG_CACHE_HOME:-$HOME/.cache}/cinderkit/matrix}
mkdir -p "$VENVS"
LOGS=$M/logs
JOBS=${MATRIX_JOBS:-2}
PYENV_VERSIONS=${PYENV_ROOT:-/root/.pyenv}/versions
mkdir -p "$LOGS"
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/collections
export ANSIBLE_LOCALHOST_WARNING=False ANSIBLE_INVENTORY_UNPARSED_WARNING=False ANSIBLE_NOCOLOR=1
export PATH=$PATH:/usr/sbin:/sbin
export PIP_DISABLE_PIP_VERSION_CHECK=1

# minor  controller-python  extra managed-node pythons  validate-modules
# (controller Pythons: 2.16 and 2.17 take 3.10-3.12, 2.18 3.11-3.13, 2.19 3.11-3.13,
#  2.20 and 2.21 3.12-3.14; 3.11 is Debian's /usr/bin/python3, the others pyenv's)
MATRIX="
2.16 3.10 3.9 sanity
2.17 3.11 -   -
2.18 3.12 -   -
2.19 3.11 -   -
2.20 3.12 -   -
2.21 3.13 3.9 sanity
"
WANT=${MATRIX_ROWS:-}

python_for() {  # python_for 3.X -> path of an interpreter of that version, or nothing
  local v=$1 p
  for p in "/usr/bin/python$v" "$PYENV_VERSIONS"/"$v".*/bin/"python$v"; do
    [ -x "$p" ] || continue
    "$p" -c 'import sys, venv; sys.exit(0 if "%d.%d" % sys.version_info[:2] == "'"$v"'" else 1)' \
      2>/dev/null && { echo "$p"; return; }
  done
}

# make_venv DIR PYTHON REQUIREMENT...: a venv with these requirements, kept while they and the
# interpreter stay the same (the stamp holds both)
make_venv() {
  local dir=$1 py=$2; shift 2
  local want
  want=$( { "$py" -VV; printf '%s\n' "$@"; cat "$ROOT/requirements.txt"; } | sha256sum | cut -d' ' -f1)
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.stamp" 2>/dev/null)" = "$want" ]; then
    echo "[matrix] $(basename "$dir"): cached venv"
    return 0
  fi
  echo "[matrix] $(basename "$dir"): making the venv from $py"
  rm -rf "$dir"
  "$py" -m venv "$dir" || return 1
  "$dir/bin/pip" install -q --upgrade pip >/dev/null 2>&1 || true
  if ! "$dir/bin/pip" install -q -r "$ROOT/requirements.txt" "$@" >"$dir.pip.log" 2>&1; then
    grep -v "is ignored: it is neither" "$dir.pip.log" | tail -n 20; echo "[matrix] pip install failed in $dir"
    return 1
  fi
  echo "$want" > "$dir/.stamp"
}

row() {  # row MINOR CONTROLLER EXTRA SANITY: one version, its log in .build/matrix/logs/MINOR.log
  local minor=$1 cv=$2 extra=$3 san=$4
  local t0=$SECONDS venv=$VENVS/core-$minor py mpy managed fails=0 line
  local -a notes=()
  py=$(python_for "$cv")
  if [ -z "$py" ]; then
    echo "[matrix] FAIL: no Python $cv for ansible-core $minor (pyenv: $PYENV_VERSIONS)"; return 1
  fi
  make_venv "$venv" "$py" "ansible-core==$minor.*" pytest || return 1
  line=$("$venv/bin/ansible" --version) || return 1
  echo "${line%%$'\n'*}"
  managed=$venv/bin/python
  if [ "$extra" != - ]; then
    for v in ${extra//,/ }; do
      mpy=$(python_for "$v")
      if [ -z "$mpy" ]; then
        echo "[matrix] FAIL: no Python $v for the managed node (pyenv: $PYENV_VERSIONS)"; return 1
      fi
      [ -x "$VENVS/node-$v/bin/python" ] || { echo "[matrix] FAIL: no managed-node venv for $v"; return 1; }
      managed="$managed,$VENVS/node-$v/bin/python"
    done
  fi
  # units, on this controller Python and ansible-core (pytest-ansible's options are not needed)
  if line=$("$venv/bin/python" -m pytest -q -o addopts='-p no:cacheprovider' tests/unit 2>&1 | tail -n 1) \
      && [[ "$line" == *passed* && "$line" != *failed* && "$line" != *error* ]]; then
    notes+=("units: $line")
  else
    notes+=("units FAIL: $line"); fails=1
  fi
  # the smoke play, once per managed-node Python
  if line=$(MATRIX_MANAGED_PYTHONS=$managed "$venv/bin/python" -m pytest -q -ra \
        -o addopts='-p no:cacheprovider' tests/integration/matrix 2>&1 | tee "$LOGS/$minor.smoke.log" | tail -n 1) \
      && [[ "$line" == *passed* && "$line" != *failed* && "$line" != *error* ]]; then
    notes+=("smoke: $line")
  else
    notes+=("smoke FAIL: $line (log: .build/matrix/logs/$minor.smoke.log)"); fails=1
  fi
  if [ "$san" = sanity ] && [ "${MATRIX_SANITY:-1}" != 0 ]; then
    if SANITY_VENV=$venv SANITY_BUILD=$M/sanity-$minor SANITY_DOCS_LINT=0 \
        tests/harness/sanity.sh --test validate-modules >"$LOGS/$minor.sanity.log" 2>&1; then
      notes+=("validate-modules: ok")
    else
      notes+=("validate-modules FAIL (log: .build/matrix/logs/$minor.sanity.log)"); fails=1
      tail -n 15 "$LOGS/$minor.sanity.log"
    fi
  fi
  printf '[matrix] %s on Python %s (managed node: %s): %s in %ss\n' "$minor" "$cv" \
    "$cv$([ "$extra" = - ] || echo ",$extra")" "$([ $fails = 0 ] && echo PASS || echo FAIL)" $((SECONDS - t0))
  printf '  %s\n' "${notes[@]}"
  return $fails
}

T0=$SECONDS
# the managed-node venvs first: rows share them
for v in $(awk 'NF && $3 != "-" {gsub(",", " ", $3); print $3}' <<< "$MATRIX" | tr ' ' '\n' | sort -u); do
  mpy=$(python_for "$v")
  if [ -z "$mpy" ]; then echo "[matrix] FAIL: no Python $v for the managed node (pyenv: $PYENV_VERSIONS)"; exit 1; fi
  make_venv "$VENVS/node-$v" "$mpy" >"$LOGS/node-$v.log" 2>&1 || { cat "$LOGS/node-$v.log"; exit 1; }
done
declare -A PIDS=()
running=0
while read -r minor cv extra san; do
  [ -n "$minor" ] || continue
  if [ -n "$WANT" ] && [[ " $WANT " != *" $minor "* ]]; then continue; fi
  while [ "$running" -ge "$JOBS" ]; do wait -n; running=$((running - 1)); done
  ( row "$minor" "$cv" "$extra" "$san" >"$LOGS/$minor.log" 2>&1; echo $? >"$LOGS/$minor.rc" ) &
  PIDS[$minor]=$!
  running=$((running + 1))
done <<< "$MATRIX"
wait
FAIL=0
echo "==================== matrix ($((SECONDS - T0))s, MATRIX_JOBS=$JOBS) ===================="
for minor in $(printf '%s\n' "${!PIDS[@]}" | sort -V); do
  rc=$(cat "$LOGS/$minor.rc" 2>/dev/null || echo 1)
  [ "$rc" = 0 ] || FAIL=1
  grep -a '^\[matrix\] \(FAIL\|[0-9]\)\|^  \(units\|smoke\|validate-modules\)\|pip install failed' "$LOGS/$minor.log" \
    || tail -n 20 "$LOGS/$minor.log"
done
[ ${#PIDS[@]} -gt 0 ] || { echo "[matrix] no row matched MATRIX_ROWS=$WANT"; FAIL=1; }
[ "$FAIL" = 0 ] && echo "MATRIX: PASS" || echo "MATRIX: FAIL"
exit $FAIL

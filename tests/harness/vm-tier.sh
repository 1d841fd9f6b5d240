#!/usr/bin/env bash
# The VM tier: one guest boot runs pytest over tests/integration/vm (plus any
# extra pytest args), with modules called in-process (support.run_module).
# Results: JUnit XML and the pytest log in .build/vm-tier/.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
"$ROOT/tests/harness/link.sh"
# Bytecode made here, before a guest boots: the guest's root is this host's, read-only, so its
# Python compiles whatever has no .pyc yet, in every process and at TCG speed. That is the
# test support code and pytest's assert-rewritten test files, which a collect-only run
# writes to their __pycache__ (pytest reads them back in the guest). PYTHONDONTWRITEBYTECODE
# (set on these machines) would stop both.
if ! grep -qw device-mapper /proc/misc 2>/dev/null || [ -n "${CINDERKIT_FORCE_VM:-}" ]; then
  env -u PYTHONDONTWRITEBYTECODE "$ROOT/.venv/bin/python" -m compileall -q "$ROOT/tests/integration" >/dev/null || true
  ( cd "$ROOT" && env -u PYTHONDONTWRITEBYTECODE "$ROOT/.venv/bin/pytest" -q --collect-only \
      -p no:cacheprovider tests/integration/vm tests/integration/guest >/dev/null 2>&1 ) || true
fi
# Two parts: tests/integration/vm runs pytest in the guest (modules in-process there);
# tests/integration/guest runs pytest and the Ansible controller here, the modules in a guest
# those tests boot. pytest paths among the arguments pick the part(s) and replace the defaults.
RUN_VM=1 RUN_GUEST=1 VM_DEFAULT=tests/integration/vm GUEST_DEFAULT=tests/integration/guest
# The NVMe in-band authentication tests need a kernel with NVME_TARGET_AUTH (Debian 6.12;
# bookworm's default 6.1 has none): a second guest boots VM_AUTH_KERNEL for them alone.
# The RBD attachment test (a Ceph cluster of its own in the guest, a minute to start) rides in
# the same second guest: make test runs that one in the host stream, beside the guest stream.
AUTH_TESTS="tests/integration/vm/test_nvmet_auth.py tests/integration/vm/test_attach_rbd.py" RUN_AUTH=1
VM_AUTH_KERNEL=${VM_AUTH_KERNEL:-6.12}
for a in "$@"; do
  case "$a" in
    tests/integration/guest*) RUN_VM='' VM_DEFAULT='' GUEST_DEFAULT='' RUN_AUTH='' ;;
    tests/integration/vm/test_nvmet_auth.py*|tests/integration/vm/test_attach_rbd.py*)
      RUN_GUEST='' VM_DEFAULT='' GUEST_DEFAULT='' RUN_VM='' ;;
    tests/*) RUN_GUEST='' VM_DEFAULT='' GUEST_DEFAULT='' RUN_AUTH='' ;;
  esac
done
IGNORE_AUTH=
if [ -n "$VM_DEFAULT" ]; then for t in $AUTH_TESTS; do IGNORE_AUTH="$IGNORE_AUTH --ignore=$t"; done; fi
# make test runs the auth guest as a tier of its own (vm-auth), beside the guest stream, and the
# guest playbook tests as one of their own (playbooks), beside the molecule tier
[ -n "${VM_SKIP_AUTH:-}" ] && RUN_AUTH=
[ -n "${VM_SKIP_GUEST:-}" ] && RUN_GUEST='' GUEST_DEFAULT=''
# results: .build/vm-tier, or .build/vm-auth for a run of the auth tests alone, or
# .build/vm-guest for the guest playbook tests alone (these may run at once)
OUT=$ROOT/.build/vm-tier
[ -z "$RUN_VM$RUN_GUEST" ] && [ -n "$RUN_AUTH" ] && OUT=$ROOT/.build/vm-auth
[ -z "$RUN_VM$RUN_AUTH" ] && [ -n "$RUN_GUEST" ] && OUT=$ROOT/.build/vm-guest
rm -rf "$OUT"; mkdir -p "$OUT"
if grep -qw device-mapper /proc/misc 2>/dev/null && [ -z "${CINDERKIT_FORCE_VM:-}" ]; then
  echo "[vm-tier] this host has device-mapper: running the VM tier here (CINDERKIT_FORCE_VM=1 to use the VM)"
  cd "$ROOT"
  # here the auth tests run on this host's kernel, and fail loudly when it has no NVME_TARGET_AUTH
  exec "$ROOT/.venv/bin/pytest" -q -ra $VM_DEFAULT $GUEST_DEFAULT ${RUN_AUTH:+$AUTH_TESTS} --junitxml="$OUT/junit.xml" "$@"
fi
echo "[vm-tier] no device-mapper on this host: running the VM tier in a qemu guest (tests/harness/vm.sh)"
args=
[ $# -gt 0 ] && args=$(printf '%q ' "$@")
rc=0
# A test that hangs fails on its own after TEST_TIMEOUT s with the stacks of every thread,
# and the other tests go on; VM_TIMEOUT bounds the whole guest boot.
TEST_TIMEOUT=${VM_TEST_TIMEOUT:-600}
# VM_PROFILE=0: no timing of each command and module call in the guest (cmdprofile.py)
PROFILE=1; [ "${VM_PROFILE:-1}" = 0 ] && PROFILE=
if [ -n "$RUN_VM" ]; then
# (the guest's whole run: 1,325 s on an idle machine, 2,261 s beside the host tiers; a CI run on
# a slower machine of this kind overran 2,700 s, so the bound is 3,600 s)
VM_TIMEOUT=${VM_TIMEOUT:-3600} VM_OUT=$OUT VM_CWD=$ROOT "$ROOT/tests/harness/vm.sh" run "
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/collections ANSIBLE_PYTHON_INTERPRETER=$ROOT/.venv/bin/python
export ANSIBLE_LOCAL_TEMP=/tmp/ansible-local ANSIBLE_REMOTE_TEMP=/tmp/ansible-remote HOME=/root
export CINDERKIT_TEST_WORKDIR=/mnt/scratch/tests PATH=$ROOT/.venv/bin:\$PATH
${PROFILE:+export CINDERKIT_PROFILE_DIR=\$VM_OUT_GUEST/profile}
cd $ROOT
$ROOT/.venv/bin/pytest -v -ra -p no:logging -n ${VM_TIER_WORKERS:-2} --dist loadfile --durations=15 --timeout=$TEST_TIMEOUT --timeout-method=signal $VM_DEFAULT $IGNORE_AUTH --junitxml=\$VM_OUT_GUEST/junit.xml $args
" || rc=$?
# where the guest's test time went: commands, module calls, the rest (tests/integration/cmdprofile.py)
# shellcheck disable=SC2015  # || true on purpose: the profile summary never fails the tier
[ -n "$PROFILE" ] && [ -d "$OUT/profile" ] && "$ROOT/.venv/bin/python" "$ROOT/tests/integration/cmdprofile.py" "$OUT/profile" || true
fi
if [ -n "$RUN_AUTH" ]; then
  echo "[vm-tier] nvmet authentication tests: a guest with kernel $VM_AUTH_KERNEL"
  auth_args=$AUTH_TESTS
# (twice the per-test limit: the RBD attach test starts its own Ceph, up to 600 s under TCG)
  [ -z "$RUN_VM" ] && [ $# -gt 0 ] && auth_args=$args
  mkdir -p "$OUT/auth"
  # The RBD attachment test's Ceph runs on this host, natively, bound to this host's own
  # address, which the guest reaches through qemu's user networking (VM_NET=1): the same
  # cluster inside the TCG guest took up to 375 s to start under load and kept a core busy.
  # The guest's kernel client (krbd) and librbd still do every I/O over the network.
  # CINDERKIT_VM_CEPH=guest starts it inside the guest instead.
  ceph_env='' net=''
  if [[ " $auth_args " == *test_attach_rbd* ]] && [ "${CINDERKIT_VM_CEPH:-host}" = host ]; then
    addr=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
    [ -n "$addr" ] || addr=$(hostname -I 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+(\.[0-9]+){3}$' | grep -v '^127\.' | head -1)
    if [ -z "$addr" ]; then
      echo "[vm-tier] WARNING: this host has no address a guest can reach; the RBD attach test starts its own Ceph in the guest (slow)"
    else
      CEPH_HOST_DIR=$(mktemp -d /var/tmp/cinderkit-vmceph.XXXXXX)
      read -r v2 osd <<<"$(/usr/bin/python3 "$ROOT/tests/harness/free_ports.py" "$addr" 23300 2 26800 200)"
      export CINDERKIT_CEPH_DIR=$CEPH_HOST_DIR CINDERKIT_CEPH_ADDR=$addr CINDERKIT_CEPH_V2_PORT=$v2 \
             CINDERKIT_CEPH_V1_PORT=$((v2 + 1)) CINDERKIT_CEPH_OSD_PORTS="$osd $((osd + 199))" CINDERKIT_CEPH_OSD_GB=2
      trap 'CINDERKIT_CEPH_DIR=$CEPH_HOST_DIR "$ROOT/tests/harness/ceph.sh" stop >/dev/null 2>&1 || true' EXIT
      if "$ROOT/tests/harness/ceph.sh" start; then
        echo "[vm-tier] Ceph for the RBD attach test: on this host at $addr:$v2 ($CEPH_HOST_DIR)"
        ceph_env="export CINDERKIT_CEPH_REUSE=$CEPH_HOST_DIR CINDERKIT_CEPH_ADDR=$addr CINDERKIT_CEPH_V2_PORT=$v2"
        net=1
      else
        echo "[vm-tier] WARNING: the host's Ceph did not start; the RBD attach test starts its own Ceph in the guest (slow)"
      fi
    fi
  fi
  VM_NET=$net VM_KERNEL=$VM_AUTH_KERNEL VM_TIMEOUT=${VM_TIMEOUT:-2700} VM_OUT=$OUT/auth VM_CWD=$ROOT "$ROOT/tests/harness/vm.sh" run "
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/collections ANSIBLE_PYTHON_INTERPRETER=$ROOT/.venv/bin/python
export ANSIBLE_LOCAL_TEMP=/tmp/ansible-local ANSIBLE_REMOTE_TEMP=/tmp/ansible-remote HOME=/root
export CINDERKIT_TEST_WORKDIR=/mnt/scratch/tests PATH=$ROOT/.venv/bin:\$PATH
$ceph_env
cd $ROOT
uname -r
$ROOT/.venv/bin/pytest -v -ra -p no:logging --durations=10 --timeout=$(( TEST_TIMEOUT * 2 )) --timeout-method=signal $auth_args --junitxml=\$VM_OUT_GUEST/junit-auth.xml
" || rc=$?
fi
# the guest tests: pytest and the Ansible controller here, the modules in a guest they boot
if [ -n "$RUN_GUEST" ]; then
  echo "[vm-tier] guest tests: pytest and the Ansible controller on this host, the modules in a qemu guest"
  cd "$ROOT"
  "$ROOT/.venv/bin/pytest" -v -ra -p no:cacheprovider --durations=5 --timeout=$(( TEST_TIMEOUT * 2 )) $GUEST_DEFAULT --junitxml="$OUT/junit-guest.xml" "$@" || rc=$?
fi
exit $rc

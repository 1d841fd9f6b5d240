#!/usr/bin/env bash
# Install the Debian packages the tests need (from bindep.txt, profiles: all),
# only those not installed yet. Needs root. Used by `make setup` and .ci/run.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
command -v dpkg-query >/dev/null || { echo "deps.sh: only Debian/Ubuntu hosts are automated; install the packages of bindep.txt by hand" >&2; exit 0; }
mapfile -t pkgs < <(sed -e 's/#.*//' "$ROOT/bindep.txt" | awk 'NF && ($0 !~ /platform:rpm/) {print $1}' | sort -u)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "[deps] all ${#pkgs[@]} packages present"; exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "[deps] missing packages (run as root to install): ${missing[*]}" >&2; exit 1
fi
echo "[deps] installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Debian 12's 6.12 kernel (bookworm-security) is only for the nvmet authentication tests; a
# release without that package (Debian 13 boots 6.12 by default) goes on without it, loudly
keep=()
for p in "${missing[@]}"; do
  if [ "$p" = linux-image-6.12-amd64 ] && ! apt-cache show "$p" >/dev/null 2>&1; then
    echo "[deps] !!! $p is not available here: the VM tier's DH-HMAC-CHAP tests need a kernel with NVME_TARGET_AUTH (set VM_AUTH_KERNEL)" >&2
    continue
  fi
  keep+=("$p")
done
missing=("${keep[@]}")
[ ${#missing[@]} -eq 0 ] && { echo "[deps] done"; exit 0; }
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/var/tmp/cinderkit-apt.log 2>&1 || {
  tail -30 /var/tmp/cinderkit-apt.log >&2; exit 1; }
# services some packages start on install are not wanted on a test host
for svc in tgt ssh sshd iscsid ceph; do pkill -x "$svc" 2>/dev/null || true; done
echo "[deps] done"

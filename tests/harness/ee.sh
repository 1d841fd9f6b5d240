#!/usr/bin/env bash
# The execution environment, as far as this machine can take it (no podman or docker here):
# `ansible-builder create` from meta/ee/execution-environment.yml with the collection tarball,
# then checks of the build context, and ansible-builder's own introspection (what the image's
# builder stage runs) over the tarball's install: it must find every requirement of
# requirements.txt and bindep.txt through the collection's meta/execution-environment.yml.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$ROOT/.venv/bin
OUT=$ROOT/.build/ee
rm -rf "$OUT"; mkdir -p "$OUT/def" "$OUT/collections"
t0=$SECONDS
fail() { echo "[ee] $*" >&2; exit 1; }
"$BIN/ansible-galaxy" collection build --force --output-path "$OUT" "$ROOT" >/dev/null
cp "$ROOT/meta/ee/execution-environment.yml" "$OUT/def/"
cp "$OUT"/cinderkit-storage-*.tar.gz "$OUT/def/cinderkit-storage.tar.gz"
"$BIN/ansible-builder" create -f "$OUT/def/execution-environment.yml" -c "$OUT/context" \
  --output-filename Containerfile >"$OUT/create.log" 2>&1 || { cat "$OUT/create.log" >&2; fail "ansible-builder create failed"; }
ctx=$OUT/context
cf=$ctx/Containerfile
[ -s "$cf" ] || fail "no Containerfile in $ctx"
grep -q '^ARG EE_BASE_IMAGE="quay.io/centos/centos:stream9"' "$cf" || fail "the Containerfile does not start from the definition's base image"
grep -q 'COPY _build/cinderkit/ /build/cinderkit/' "$cf" || fail "the Containerfile does not copy the collection tarball in"
grep -q 'ansible-galaxy collection install .*-r requirements.yml' "$cf" || fail "the Containerfile does not install the galaxy requirements"
grep -q 'introspect.py introspect --write-bindep=/tmp/src/bindep.txt --write-pip=/tmp/src/requirements.txt' "$cf" \
  || fail "the Containerfile does not introspect the collections for their requirements.txt and bindep.txt"
grep -q 'install-from-bindep' "$cf" || fail "the Containerfile does not install the system packages"
grep -q 'name: /build/cinderkit/cinderkit-storage.tar.gz' "$ctx/_build/requirements.yml" || fail "_build/requirements.yml does not name the tarball"
tar xzOf "$ctx/_build/cinderkit/cinderkit-storage.tar.gz" MANIFEST.json | "$BIN/python" -c '
import json, sys; ci = json.load(sys.stdin)["collection_info"]
sys.exit(0 if (ci["namespace"], ci["name"]) == ("cinderkit", "storage") else "not cinderkit.storage")' \
  || fail "the tarball in the context is not the collection"
echo "[ee] ansible-builder create: $cf (base quay.io/centos/centos:stream9, the collection from its tarball)"
# what the image's builder stage does: introspect the installed collections
# --force: a copy on ANSIBLE_COLLECTIONS_PATH (make link's) would make ansible-galaxy skip the install
"$BIN/ansible-galaxy" collection install --force -p "$OUT/collections" "$OUT/def/cinderkit-storage.tar.gz" >"$OUT/install.log" 2>&1 \
  || { cat "$OUT/install.log" >&2; fail "cannot install the tarball for the introspection"; }
[ -f "$OUT/collections/ansible_collections/cinderkit/storage/meta/execution-environment.yml" ] \
  || fail "the installed collection has no meta/execution-environment.yml"
"$BIN/python" "$ctx/_build/scripts/introspect.py" introspect "$OUT/collections" \
  --write-pip "$OUT/pip.txt" --write-bindep "$OUT/bindep.txt" >"$OUT/introspect.log" 2>&1 \
  || { cat "$OUT/introspect.log" >&2; fail "introspection failed"; }
want() {  # want FILE SOURCE: every requirement line of SOURCE is in FILE
  local line missing=0
  while IFS= read -r line; do
    line=${line%%#*}
    # shellcheck disable=SC2001  # kept as is: echo+sed trims the trailing blanks
    line=$(echo "$line" | sed 's/[[:space:]]*$//'); [ -n "$line" ] || continue
    grep -qxF "$line  # from collection cinderkit.storage" "$1" || { echo "[ee] introspection lacks: $line" >&2; missing=1; }
  done < "$2"
  return $missing
}
# shellcheck disable=SC2015  # fail is meant to run when either file is empty
[ -s "$OUT/pip.txt" ] && [ -s "$OUT/bindep.txt" ] || fail "introspection found no requirements of the installed collection"
want "$OUT/pip.txt" "$ROOT/requirements.txt" || fail "meta/execution-environment.yml does not bring requirements.txt"
want "$OUT/bindep.txt" "$ROOT/bindep.txt" || fail "meta/execution-environment.yml does not bring bindep.txt"
echo "[ee] introspection finds $(wc -l <"$OUT/pip.txt") Python and $(wc -l <"$OUT/bindep.txt") system requirements of the collection ($((SECONDS - t0))s)"
runtime=""
for r in podman docker; do
  command -v "$r" >/dev/null && timeout 20 "$r" info >/dev/null 2>&1 && { runtime=$r; break; }
done
if [ -n "$runtime" ]; then
  echo "[ee] $runtime works here: ansible-builder build -f meta/ee/execution-environment.yml would build the image (make test does not)"
else
  echo "[ee] no working podman or docker here (a docker client without a daemon does not count): the image itself is not built"
fi

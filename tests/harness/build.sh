#!/usr/bin/env bash
# Build the collection tarball, install it from the tarball into a scratch
# collections path, and check ansible-doc renders every module from there.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$ROOT/.build/dist
rm -rf "$OUT"; mkdir -p "$OUT/collections"
cd "$ROOT"
"$ROOT/.venv/bin/ansible-galaxy" collection build --force --output-path "$OUT" . >/dev/null
tarball=$(ls "$OUT"/cinderkit-storage-*.tar.gz)
echo "[build] $tarball ($(du -h "$tarball" | cut -f1))"
"$ROOT/.venv/bin/ansible-galaxy" collection install --force -p "$OUT/collections" "$tarball" >/dev/null
inst=$OUT/collections/ansible_collections/cinderkit/storage
[ -f "$inst/MANIFEST.json" ] || { echo "[build] install from tarball failed" >&2; exit 1; }
# nothing from the developer tree leaks into the tarball
size=$(stat -c %s "$tarball")
[ "$size" -lt 5000000 ] || { echo "[build] the tarball is $size bytes: something that is not the collection got in" >&2; tar tzf "$tarball" | cut -d/ -f1-2 | sort | uniq -c | sort -n | tail -5 >&2; exit 1; }
for bad in .venv .venv-bench .build .git tests/output; do
  if tar tzf "$tarball" | grep -q "^$bad/"; then echo "[build] $bad is in the tarball" >&2; exit 1; fi
done
export ANSIBLE_COLLECTIONS_PATH=$OUT/collections
mods=$(cd "$inst/plugins/modules" && ls *.py | sed 's/\.py$//')
for m in $mods; do
  if ! "$ROOT/.venv/bin/ansible-doc" "cinderkit.storage.$m" >"$OUT/doc-$m.txt" 2>&1; then
    echo "[build] ansible-doc cinderkit.storage.$m failed:" >&2; cat "$OUT/doc-$m.txt" >&2; exit 1
  fi
  grep -q "EXAMPLES" "$OUT/doc-$m.txt" && grep -q "RETURN VALUES" "$OUT/doc-$m.txt" || {
    echo "[build] ansible-doc cinderkit.storage.$m lacks EXAMPLES or RETURN VALUES" >&2; exit 1; }
  echo "[build] ansible-doc cinderkit.storage.$m: ok"
done
"$ROOT/.venv/bin/ansible-doc" -l cinderkit.storage >/dev/null
echo "[build] installed from the tarball; ansible-doc renders $(echo $mods | wc -w) modules"

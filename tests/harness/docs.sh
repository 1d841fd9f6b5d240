#!/usr/bin/env bash
# make docs: the HTML collection docs (modules, roles, the extra docs of docs/docsite), built with
# antsibull-docs and Sphinx with warnings as errors, into .build/docs/build/html (index.html).
# `docs.sh all` (the docs tier of make test) then checks the execution environment (ee.sh).
#
# The site is made fresh each time by `antsibull-docs sphinx-init --use-current` from the
# collection on ANSIBLE_COLLECTIONS_PATH. Sphinx needs no network: the three labels of Ansible's
# own docs that antsibull-docs' pages refer to come from a local intersphinx inventory (written
# below), so the links still point to docs.ansible.com.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
BIN=$ROOT/.venv/bin
export PATH=$BIN:$PATH
export ANSIBLE_COLLECTIONS_PATH=${ANSIBLE_COLLECTIONS_PATH:-$ROOT/.build/collections}
[ -e "$ANSIBLE_COLLECTIONS_PATH/ansible_collections/cinderkit/storage/galaxy.yml" ] || "$ROOT/tests/harness/link.sh"
OUT=$ROOT/.build/docs
rm -rf "$OUT"; mkdir -p "$ROOT/.build"; mkdir -m 700 "$OUT"   # antsibull-docs wants it private
t0=$SECONDS
antsibull-docs sphinx-init --use-current --fail-on-error --dest-dir "$OUT" \
  --project cinderkit.storage --copyright 'cinderkit.storage maintainers' \
  --title 'cinderkit.storage' cinderkit.storage >/dev/null
"$BIN/python" - "$OUT/ansible_devel.inv" <<'PY'
import sys, zlib
labels = [  # name, page of https://docs.ansible.com/projects/ansible/devel/, title
    ('action_plugins', 'plugins/action.html#action-plugins', 'Action plugins'),
    ('common_return_values', 'reference_appendices/common_return_values.html#common-return-values',
     'Return Values'),
    ('ansible_configuration_settings', 'reference_appendices/config.html#ansible-configuration-settings',
     'Ansible Configuration Settings'),
]
body = ''.join('%s std:label -1 %s %s\n' % l for l in labels).encode()
head = (b'# Sphinx inventory version 2\n# Project: Ansible\n# Version: devel\n'
        b'# The remainder of this file is compressed using zlib.\n')
open(sys.argv[1], 'wb').write(head + zlib.compress(body))
PY
cat >> "$OUT/conf.py" <<'PY'

# tests/harness/docs.sh: Ansible's labels from a local inventory, no other intersphinx (no network)
intersphinx_mapping = {
    'ansible_devel': ('https://docs.ansible.com/projects/ansible/devel/', '../ansible_devel.inv'),
}
PY
if ! "$OUT/build.sh" >"$OUT/build.log" 2>&1; then
  grep -E "WARNING|ERROR|Error" "$OUT/build.log" | head -n 30 >&2
  echo "[docs] the HTML build failed (warnings are errors); full log: $OUT/build.log" >&2; exit 1
fi
html=$OUT/build/html/collections/cinderkit/storage
missing=0
for m in "$ROOT"/plugins/modules/*.py; do
  n=$(basename "$m" .py); [ -s "$html/${n}_module.html" ] || { echo "[docs] no page for module $n" >&2; missing=1; }
done
for r in "$ROOT"/roles/*/; do
  n=$(basename "$r"); [ -s "$html/${n}_role.html" ] || { echo "[docs] no page for role $n" >&2; missing=1; }
done
for d in "$ROOT"/docs/docsite/rst/*.rst; do
  n=$(basename "$d" .rst); [ -s "$html/docsite/$n.html" ] || { echo "[docs] no page for extra doc $n" >&2; missing=1; }
done
[ "$missing" = 0 ] || exit 1
echo "[docs] HTML collection docs in ${OUT#"$ROOT"/}/build/html/index.html ($(find "$html" -name '*.html' | wc -l) pages, $((SECONDS - t0))s)"
if [ "${1:-}" = all ]; then exec "$ROOT/tests/harness/ee.sh"; fi

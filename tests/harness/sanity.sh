#!/usr/bin/env bash
# ansible-test sanity on a clean copy of the collection (ansible-test needs the
# path .../ansible_collections/cinderkit/storage and no symlinks in the tree),
# after tests/harness/docs-lint.sh (changelog and collection docs) on that copy.
# SANITY_VENV: the venv whose ansible-test runs (default .venv; tests/harness/matrix.sh gives
# its oldest and newest ansible-core), SANITY_BUILD: where the copy goes (default .build/sanity),
# SANITY_DOCS_LINT=0: leave docs-lint.sh out (the matrix: the sanity tier runs it).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${SANITY_VENV:-$ROOT/.venv}
BUILD=${SANITY_BUILD:-$ROOT/.build/sanity}
DEST=$BUILD/ansible_collections/cinderkit/storage
rm -rf "$BUILD"; mkdir -p "$DEST"
cd "$ROOT"
git ls-files -co --exclude-standard -z | xargs -0 -I{} cp --parents -P {} "$DEST/" 2>/dev/null || true
cd "$DEST"
git init -q . && git add -A >/dev/null 2>&1   # ansible-test lists files through git when present
# changelog fragments, CHANGELOG.md, plugin/role/extra docs: what Galaxy's tooling reads
# (ansible-test's own changelog test runs too, with its older pinned antsibull-changelog)
if [ "${SANITY_DOCS_LINT:-1}" != 0 ]; then
  ANSIBLE_COLLECTIONS_PATH=$BUILD "$ROOT/tests/harness/docs-lint.sh" "$DEST"
fi
# ansible-test fetches its pip bootstrap from ci-files.testing.ansible.com; give it ours
# (ansible-test 2.17+ names its pip version PIP_VERSION; 2.16 has it in get_venv_packages)
PIPV=$("$VENV/bin/python" -c 'from ansible_test._internal.python_requirements import PIP_VERSION as v; print(v)' 2>/dev/null \
  || "$VENV/bin/python" -c 'import re, ansible_test._internal.python_requirements as m; print(re.search(r"pip=.([0-9.]+).,", open(m.__file__).read()).group(1))' 2>/dev/null \
  || echo 24.2)
mkdir -p ~/.ansible/test/cache
cp "$ROOT/tests/harness/get_pip_offline.py" ~/.ansible/test/cache/get_pip_"${PIPV//./_}".py
PY=$("$VENV/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
exec "$VENV/bin/ansible-test" sanity --venv --python "$PY" --color no "$@"

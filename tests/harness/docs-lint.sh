#!/usr/bin/env bash
# The collection's user-facing metadata, linted as Galaxy / Automation Hub tooling reads it
# (run by sanity.sh on its clean copy of the collection; DIR defaults to the checkout):
#   changelog fragments and changelogs/changelog.yaml (antsibull-changelog), CHANGELOG.md
#   generated from changelog.yaml (a hand edit or a forgotten regeneration fails), and the
#   plugin, role and extra docs (antsibull-docs lint-collection-docs --plugin-docs).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
DIR=${1:-$ROOT}
BIN=$ROOT/.venv/bin
cd "$DIR"
fail=0
step() {  # step NAME COMMAND...: run, say ok or FAIL, remember a failure
  local name=$1; shift
  local t0=$SECONDS
  if "$@"; then echo "[docs-lint] $name: ok ($((SECONDS - t0))s)"
  else echo "[docs-lint] $name: FAIL" >&2; fail=1; fi
}
step "antsibull-changelog lint (changelogs/fragments)" "$BIN/antsibull-changelog" lint
step "antsibull-changelog lint-changelog-yaml" "$BIN/antsibull-changelog" lint-changelog-yaml changelogs/changelog.yaml
# shellcheck disable=SC2317  # called indirectly, through step
fresh() {
  local out; out=$(mktemp)
  "$BIN/antsibull-changelog" generate --output "$out" --output-format md >/dev/null
  if ! diff -u CHANGELOG.md "$out" >"$out.diff"; then
    echo "CHANGELOG.md is not what changelogs/changelog.yaml generates; run antsibull-changelog generate (or release):" >&2
    head -n 20 "$out.diff" >&2; rm -f "$out" "$out.diff"; return 1
  fi
  rm -f "$out" "$out.diff"
}
step "CHANGELOG.md generated from changelogs/changelog.yaml" fresh
step "antsibull-docs lint-collection-docs --plugin-docs" \
  "$BIN/antsibull-docs" lint-collection-docs --plugin-docs --validate-collection-refs all \
  --disallow-unknown-collection-refs --check-extra-docs-refs .
exit $fail

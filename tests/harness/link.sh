#!/usr/bin/env bash
# Make the checkout importable as ansible_collections.cinderkit.storage under
# .build/collections, without a symlink loop: a real directory whose entries
# link to the checkout's top-level entries.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
D=$ROOT/.build/collections/ansible_collections/cinderkit/storage
[ -L "$D" ] && rm -f "$D"
mkdir -p "$D"
for e in "$ROOT"/* "$ROOT"/.ansible-lint; do
  [ -e "$e" ] || continue
  n=$(basename "$e")
  case "$n" in .build|.venv|.venv-*|.git) continue ;; esac
  ln -sfn "$e" "$D/$n"
done
for l in "$D"/*; do [ -e "$l" ] || rm -f "$l"; done

#!/usr/bin/env bash
# ansible-lint (production profile, from .ansible-lint) over the collection.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
export ANSIBLE_COLLECTIONS_PATH=$ROOT/.build/collections
exec "$ROOT/.venv/bin/ansible-lint" --nocolor "$@"

#!/usr/bin/env bash
# Create/refresh the project venv (.venv) from Debian's /usr/bin/python3.
# Debian's python3-rados/python3-rbd are built for that interpreter only and are
# not on PyPI: they are linked into the venv instead of enabling all system
# site-packages (which would mix Debian's old pyOpenSSL into os-brick's imports).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV=${VENV:-$ROOT/.venv}
PY=${PYTHON:-/usr/bin/python3}
stamp=$VENV/.requirements.sha
want=$(cat "$ROOT/requirements.txt" "$ROOT/requirements-dev.txt" | sha256sum | cut -d' ' -f1)
if [ -x "$VENV/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
  exit 0
fi
echo "[venv] creating $VENV from $PY"
"$PY" -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip >/dev/null 2>&1 || true
if ! "$VENV/bin/pip" install -q -r "$ROOT/requirements-dev.txt" >"$VENV.pip.log" 2>&1; then
  grep -v "is ignored: it is neither" "$VENV.pip.log" >&2; echo "[venv] pip install failed" >&2; exit 1
fi
site=$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
for mod in rados rbd; do
  for f in /usr/lib/python3/dist-packages/"$mod".cpython-*.so; do
    [ -e "$f" ] && ln -sf "$f" "$site/"
  done
done
"$VENV/bin/python" -c 'import oslo_config, ansible, pytest' 
echo "$want" > "$stamp"
echo "[venv] ready: $("$VENV/bin/ansible" --version | head -1)"

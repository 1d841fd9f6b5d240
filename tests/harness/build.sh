#!/usr/bin/env bash
# Build the collection tarball and check what goes into it; install it with a requirements.yml
# from the tarball and from this git checkout (git+file://, the committed HEAD), check each
# installed copy, and check ansible-doc renders every module from the tarball's install.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$ROOT/.build/dist
GALAXY=$ROOT/.venv/bin/ansible-galaxy
rm -rf "$OUT"; mkdir -p "$OUT/collections" "$OUT/from-git"
cd "$ROOT"
"$GALAXY" collection build --force --output-path "$OUT" . >/dev/null
tarball=$(ls "$OUT"/cinderkit-storage-*.tar.gz)
echo "[build] $tarball ($(du -h "$tarball" | cut -f1))"
# nothing from the developer tree leaks into the tarball
size=$(stat -c %s "$tarball")
[ "$size" -lt 5000000 ] || { echo "[build] the tarball is $size bytes: something that is not the collection got in" >&2; tar tzf "$tarball" | cut -d/ -f1-2 | sort | uniq -c | sort -n | tail -5 >&2; exit 1; }

# hygiene FILELIST WHAT: users get the collection, its tests and docs; not bench data, logs,
# caches, lab scripts or developer state (galaxy.yml build_ignore)
hygiene() {
  local list=$1 what=$2 bad=0 pat
  # extended regexes over paths relative to the collection root
  for pat in '^\.venv' '^\.build/' '^\.git(/|$)' '^\.ci/' '^tests/output/' '^collections/' \
             '\.log$' '\.pyc$' '__pycache__' '\.tar\.gz$' '(^|/)\.molecule/' '^\.pytest_cache' \
             '^changelogs/\.plugin-cache\.yaml$' \
             '^bench/results/.*\.(json|tmp)$' '^bench/results/(quick|partial-|custom-)' \
             '^bench/[^/]*\.(py|sh)$' '^bench/callback_plugins/' '^bench/requirements-bench\.txt$'; do
    if grep -Eq "$pat" "$list"; then
      echo "[build] $what holds what users do not need ($pat):" >&2; grep -E "$pat" "$list" | head -3 >&2; bad=1
    fi
  done
  for need in MANIFEST.json FILES.json README.md LICENSE CHANGELOG.md changelogs/changelog.yaml \
              meta/runtime.yml meta/execution-environment.yml requirements.txt bindep.txt \
              docs/docsite/extra-docs.yml docs/docsite/links.yml plugins/modules/volume.py \
              roles/target_helper/meta/argument_specs.yml tests/unit/ tests/integration/ tests/sanity/; do
    grep -Eq "^${need//./\\.}" "$list" || { echo "[build] $what lacks $need" >&2; bad=1; }
  done
  [ "$bad" = 0 ] && echo "[build] $what: $(grep -cv '/$' "$list") files, none of the excluded kinds"
  return $bad
}
tar tzf "$tarball" > "$OUT/tarball.files"
hygiene "$OUT/tarball.files" "the tarball"

# install from the tarball, through a requirements.yml as users do
cat > "$OUT/requirements-tarball.yml" <<YML
collections:
  - name: $tarball
    type: file
YML
"$GALAXY" collection install --force -r "$OUT/requirements-tarball.yml" -p "$OUT/collections" >"$OUT/install-tarball.log" 2>&1 \
  || { cat "$OUT/install-tarball.log" >&2; echo "[build] install from the tarball (requirements.yml) failed" >&2; exit 1; }
inst=$OUT/collections/ansible_collections/cinderkit/storage
[ -f "$inst/MANIFEST.json" ] || { echo "[build] install from tarball failed: no MANIFEST.json" >&2; exit 1; }
# every installed file matches the checksums of FILES.json
"$GALAXY" collection verify --offline -p "$OUT/collections" cinderkit.storage >"$OUT/verify.log" 2>&1 \
  || { cat "$OUT/verify.log" >&2; echo "[build] ansible-galaxy collection verify of the tarball's install failed" >&2; exit 1; }
echo "[build] installed from the tarball with a requirements.yml; ansible-galaxy collection verify: ok"

# install from this git checkout (what `git+file://` or a git URL gives users): the committed HEAD
git -C "$ROOT" rev-parse --verify -q HEAD >/dev/null \
  || { echo "[build] $ROOT is not a git checkout with a commit: cannot check the git install" >&2; exit 1; }
head=$(git -C "$ROOT" rev-parse HEAD)
cat > "$OUT/requirements-git.yml" <<YML
collections:
  - name: git+file://$ROOT
    type: git
    version: $head
YML
"$GALAXY" collection install --force -r "$OUT/requirements-git.yml" -p "$OUT/from-git" >"$OUT/install-git.log" 2>&1 \
  || { cat "$OUT/install-git.log" >&2; echo "[build] install from git+file://$ROOT failed" >&2; exit 1; }
ginst=$OUT/from-git/ansible_collections/cinderkit/storage
[ -f "$ginst/MANIFEST.json" ] || { echo "[build] install from git: no MANIFEST.json" >&2; exit 1; }
(cd "$ginst" && find . -mindepth 1 \( -type d -printf '%P/\n' -o -printf '%P\n' \)) > "$OUT/git.files"
hygiene "$OUT/git.files" "the git install (${head:0:12})"
ANSIBLE_COLLECTIONS_PATH=$OUT/from-git "$ROOT/.venv/bin/ansible-doc" -t module cinderkit.storage.volume >/dev/null \
  || { echo "[build] ansible-doc cannot read the git install" >&2; exit 1; }
ANSIBLE_COLLECTIONS_PATH=$OUT/from-git "$ROOT/.venv/bin/ansible-doc" -t role cinderkit.storage.target_helper >/dev/null \
  || { echo "[build] ansible-doc cannot read a role of the git install" >&2; exit 1; }
echo "[build] installed from git+file:// (HEAD ${head:0:12}) with a requirements.yml; ansible-doc reads it"
[ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no)" ] \
  || echo "[build] note: the checkout has uncommitted changes; the git install is of HEAD without them"

export ANSIBLE_COLLECTIONS_PATH=$OUT/collections
# shellcheck disable=SC2012  # module file names are Python identifiers
mods=$(cd "$inst/plugins/modules" && ls -- *.py | sed 's/\.py$//')
for m in $mods; do
  if ! "$ROOT/.venv/bin/ansible-doc" "cinderkit.storage.$m" >"$OUT/doc-$m.txt" 2>&1; then
    echo "[build] ansible-doc cinderkit.storage.$m failed:" >&2; cat "$OUT/doc-$m.txt" >&2; exit 1
  fi
  # shellcheck disable=SC2015  # the error branch is meant to run when either grep fails
  grep -q "EXAMPLES" "$OUT/doc-$m.txt" && grep -q "RETURN VALUES" "$OUT/doc-$m.txt" || {
    echo "[build] ansible-doc cinderkit.storage.$m lacks EXAMPLES or RETURN VALUES" >&2; exit 1; }
  echo "[build] ansible-doc cinderkit.storage.$m: ok"
done
"$ROOT/.venv/bin/ansible-doc" -l cinderkit.storage >/dev/null
# shellcheck disable=SC2086  # $mods split on purpose: wc -w counts the modules
echo "[build] installed from the tarball; ansible-doc renders $(echo $mods | wc -w) modules"

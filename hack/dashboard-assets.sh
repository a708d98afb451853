#!/usr/bin/env bash
# dashboard-assets.sh [--check]: fetch the dashboard's pinned browser libraries
# (dashboard/assets/vendor/SOURCES) with `npm pack` from the npm registry, verify each
# tarball and each extracted file against dashboard/assets/vendor/SHA256SUMS, and write the
# files into dashboard/assets/vendor/ (embedded into kfup with go:embed and committed, so a
# build never needs node). --check verifies the committed files only (no network).
# Updating a pin: edit SOURCES, run with KFUP_ASSETS_UPDATE=1 (rewrites SHA256SUMS from what
# npm served; review the diff), then run again without it.
set -euo pipefail
cd "$(dirname "$0")/../dashboard/assets/vendor"
sums=SHA256SUMS
if [ "${1:-}" = "--check" ]; then
  grep -v '\.tgz$' "$sums" | sha256sum --quiet -c -
  echo "dashboard assets: $(grep -vc '\.tgz$' "$sums") files match SHA256SUMS"
  exit 0
fi
command -v npm >/dev/null || { echo "npm not found (apt-get install -y npm); the committed files in $(pwd) need no npm to build kfup" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
new=$tmp/SHA256SUMS
: >"$new"
while read -r pkg path out; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  tgz=$(echo "$pkg" | sed 's/^@//; s#/#-#; s/@/-/').tgz
  if [ ! -f "$tmp/$tgz" ]; then
    (cd "$tmp" && npm pack --silent "$pkg" >/dev/null)
    (cd "$tmp" && sha256sum "$tgz") >>"$new"
  fi
  tar -xzf "$tmp/$tgz" -C "$tmp" "$path"
  cp "$tmp/$path" "$tmp/$out"
  (cd "$tmp" && sha256sum "$out") >>"$new"
done <SOURCES
if [ "${KFUP_ASSETS_UPDATE:-0}" = 1 ]; then
  cp "$new" "$sums"
  echo "dashboard assets: SHA256SUMS rewritten from the registry's files; review the diff"
fi
# every tarball and file must match the committed sums before anything is written
(cd "$tmp" && sha256sum --quiet -c -) <"$sums"
while read -r pkg path out; do
  [[ -z "$pkg" || "$pkg" == \#* ]] && continue
  cp "$tmp/$out" "$out"
done <SOURCES
echo "dashboard assets: $(grep -vc "^#" SOURCES) sources checked against SHA256SUMS and written to $(pwd)"

#!/usr/bin/env bash
# Regenerate the TypeScript code for proto/ into src/common/generated/ (or into $1, which the
# staleness test uses to compare a fresh generation with what is committed).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=${1:-src/common/generated}
if [ "$out" != "src/common/generated" ]; then
  tmpl=$(mktemp --suffix=.gen.yaml)
  trap 'rm -f "$tmpl"' EXIT
  sed "s#out: src/common/generated#out: $out#" buf.gen.yaml >"$tmpl"
  rm -rf "$out"
  npx --no-install buf generate --template "$tmpl"
else
  rm -rf "$out"
  npx --no-install buf generate
fi
npx --no-install prettier --config .prettierrc.json --log-level warn --write "$out"

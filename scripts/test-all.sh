#!/usr/bin/env bash
# Everything, from a fresh clone: install dependencies, build, lint, start the real services
# (installing what is missing), and run every test — unit and integration — against them.
# Services are left running for the next run; `npm run services:down` stops them.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "npm ci (also builds dist/ through the prepare script)"
npm ci --no-audit --no-fund

step "static checks: typecheck, lint, format"
npm run --silent typecheck
npm run --silent lint
npm run --silent format:check

step "services up"
bash scripts/services.sh up

step "tests (unit + integration)"
rm -rf .vitest-results
status=0
npx --no-install vitest run --reporter=default --reporter=json \
  --outputFile.json=.vitest-results/results.json || status=$?
node scripts/test-summary.mjs .vitest-results/results.json || status=1
exit $status

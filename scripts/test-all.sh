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

step "browser for the dashboard test (Debian chromium)"
bash scripts/install-browser.sh

rm -rf .vitest-results
status=0
# Unit and integration tests first; then the end-to-end ones (whole processes, service
# restarts) on their own, so a broker they stop cannot disturb another test.
step "tests: unit + integration"
npx --no-install vitest run --project unit --project integration --reporter=default --reporter=json \
  --outputFile.json=.vitest-results/unit-integration.json || status=$?
step "tests: e2e"
npm run --silent build
npx --no-install vitest run --project e2e --reporter=default --reporter=json \
  --outputFile.json=.vitest-results/e2e.json || status=$?
step "summary"
node scripts/test-summary.mjs .vitest-results/unit-integration.json .vitest-results/e2e.json || status=1
exit $status

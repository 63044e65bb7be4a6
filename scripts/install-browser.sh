#!/usr/bin/env bash
# The browser the dashboard test drives: Debian's Chromium (/usr/bin/chromium), installed when
# missing. playwright-core (a dev dependency) drives it; it downloads no browser of its own.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=services/lib.sh
source "$here/services/lib.sh"
apt_install chromium fonts-liberation
/usr/bin/chromium --version >/dev/null 2>&1 || die "chromium is installed but does not run"
log "browser: $(/usr/bin/chromium --version 2>/dev/null)"

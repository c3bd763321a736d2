#!/usr/bin/env bash
# Debian's chromium, for the dashboard's headless-browser tests (tests/report/test_browser.py).
#
#   sudo tools/install_chromium.sh     # installs /usr/bin/chromium unless it is there
#
# Test tools' own browser downloads (`playwright install`) fail on these machines; the tests
# drive the system chromium instead (see ENVIRONMENT-NOTES.md, "Headless Chromium").
# Nothing is installed when /usr/bin/chromium exists; either way the version is printed.
#
# Environment: SEQLAB_CHROMIUM_LOG (apt-get's log, default /tmp/seqlab-install-chromium.log).
# Exit status: 0 ok, 1 failure, 2 not root, 3 apt-get failed (no network?).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
LOG="${SEQLAB_CHROMIUM_LOG:-/tmp/seqlab-install-chromium.log}"

say() { echo "install_chromium: $*"; }
die() { echo "install_chromium: error: $1" >&2; exit "${2:-1}"; }

version() {
  # chromium's wrapper reads its flags from /etc/chromium.d; --version starts no browser.
  "$CHROMIUM" --version 2>/dev/null || die "$CHROMIUM is installed but '--version' fails"
}

if [[ -x "$CHROMIUM" ]]; then
  say "chromium already installed: $(version)"
  exit 0
fi

[[ "$(id -u)" == 0 ]] || die "$CHROMIUM is missing and installing it needs root; run this script as root or with sudo" 2

say "apt-get update"
rc=0
DEBIAN_FRONTEND=noninteractive apt-get update -qq >"$LOG" 2>&1 || rc=$?
if [[ $rc == 0 ]]; then
  say "apt-get install chromium"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    chromium >>"$LOG" 2>&1 || rc=$?
fi
if [[ $rc != 0 ]]; then
  tail -n 5 "$LOG" >&2 || true
  die "apt-get failed (status $rc; no network?); full log: $LOG" 3
fi
[[ -x "$CHROMIUM" ]] || die "apt-get installed chromium but $CHROMIUM is missing; see $LOG"
say "installed: $(version)"

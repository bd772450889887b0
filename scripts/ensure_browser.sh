#!/usr/bin/env bash
# Install Debian's headless browser for the browser tests (tests/browser/), idempotently:
# `chromium` and `chromium-driver` through apt when `chromium` or `chromedriver` is missing
# (run as root); silent when both are already there.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
echo "[ensure_browser] installing chromium and chromium-driver (apt)" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >&2
apt-get install -y -qq --no-install-recommends chromium chromium-driver >&2
command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || {
  echo "[ensure_browser] chromium or chromedriver still missing after apt-get install" >&2
  exit 1
}

#!/usr/bin/env bash
# Install Debian's headless browser for the browser tests (tests/browser/), idempotently:
# `chromium` and `chromium-driver` through apt when `chromium` or `chromedriver` is missing
# (as root, or through passwordless sudo); silent when both are already there. Where it
# cannot install, it says so and returns 0: the browser tests then fail naming this script.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "[ensure_browser] chromium/chromedriver missing and not root: install Debian's" \
    "chromium and chromium-driver (the browser tests need them)" >&2
  exit 0
fi
echo "[ensure_browser] installing chromium and chromium-driver (apt)" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >&2
"${as_root[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver >&2
command -v chromium >/dev/null 2>&1 && command -v chromedriver >/dev/null 2>&1 || {
  echo "[ensure_browser] chromium or chromedriver still missing after apt-get install" >&2
  exit 1
}

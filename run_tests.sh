#!/usr/bin/env bash
# The test command (README): set up .venv if needed, lint, then run the whole test suite.
#   ./run_tests.sh [pytest args...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bash "$root/scripts/ensure_env.sh"
# The browser tests (tests/browser/) need Debian's chromium and chromedriver.
bash "$root/scripts/ensure_browser.sh"
# The cluster tests (tests/slurm/) need Debian's slurm-wlm and munge.
bash "$root/scripts/ensure_slurm.sh"
cd "$root"
# Tests use only shipped weights: any Hugging Face hub access must fail fast, never hang.
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
.venv/bin/ruff check .
.venv/bin/ruff format --check .
exec .venv/bin/python -m pytest "$@"

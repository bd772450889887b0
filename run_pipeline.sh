#!/usr/bin/env bash
# Run the pipeline's stages in order (see README.md). Sets up .venv on first use.
#   ./run_pipeline.sh --config configs/synthetic.json [--run-dir DIR] [--from N] [--to N]
#                     [--only N] [--force] [--shard i/N] [--set key=value ...]
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bash "$root/scripts/ensure_env.sh"
exec "$root/.venv/bin/python" -m motif_discovery.pipeline "$@"

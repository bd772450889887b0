#!/usr/bin/env bash
# Install Debian's SLURM and munge for the cluster tests (tests/slurm/), idempotently:
# `slurm-wlm` and `munge` through apt when a daemon or client is missing (as root, or through
# passwordless sudo); silent when all are there. No daemon is started or enabled here: the
# tests start their own single-node cluster under a temporary folder. Where it cannot
# install, it says so and returns 0: the cluster tests are then skipped, naming the reason.
set -euo pipefail
have_all() {
  for tool in munged mungekey slurmctld slurmd sbatch squeue scancel; do
    command -v "$tool" >/dev/null 2>&1 || return 1
  done
}
have_all && exit 0
if [ "$(id -u)" = 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "[ensure_slurm] slurm-wlm/munge missing and not root: install Debian's slurm-wlm" \
    "and munge (the cluster tests need them)" >&2
  exit 0
fi
echo "[ensure_slurm] installing slurm-wlm and munge (apt)" >&2
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update -qq >&2
"${as_root[@]}" apt-get install -y -qq --no-install-recommends slurm-wlm munge >&2
have_all || {
  echo "[ensure_slurm] a SLURM or munge program is still missing after apt-get install" >&2
  exit 1
}

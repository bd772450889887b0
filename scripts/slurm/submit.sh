#!/usr/bin/env bash
# The pipeline as five chained sbatch jobs, without Python on the login node beyond
# run_pipeline.sh's (the same phases as `run_pipeline.sh --slurm N`; docs/cluster.md):
#   scripts/slurm/submit.sh N [sbatch options...] -- --config C.json --run-dir D [--set k=v ...]
# stage 1 -> stages 2-4, 5-6 and 7-8, each as an N-task array -> the gather (--from 7,
# unsharded: 7a/7c summaries and the explorer's index over all shards). Each job starts only
# when the one before ended well (afterok); a failure cancels the later jobs
# (--kill-on-invalid-dep). The sbatch options (e.g. --partition=gpu --gpus-per-node=1
# --cpus-per-task=8 --time=04:00:00) apply to every job. Jobs run in the current directory
# (relative paths in the config are relative to it); sbatch writes their logs there
# (slurm-<job>.out, slurm-<array job>_<task>.out). Prints the five job ids, one a line.
# When sbatch refuses a job, the jobs submitted before it are cancelled (scancel) and it
# exits 1.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
usage="usage: $0 N [sbatch options...] -- --config C.json [--run-dir D] [--set k=v ...]"
[ $# -ge 1 ] && [[ $1 =~ ^[1-9][0-9]*$ ]] || { echo "$usage" >&2; exit 2; }
n=$1
shift
options=()
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  options+=("$1")
  shift
done
[ $# -gt 0 ] || { echo "$usage" >&2; exit 2; }
shift
run=("$@")
export MOTIF_REPO=$repo

submitted=() # the job ids so far: a refused sbatch cancels them (nothing half-submitted stays)
submit() { # submit AFTER [sbatch options] SCRIPT [driver arguments]: the job id in $job
  local after=$1
  shift
  local dependency=()
  [ -z "$after" ] || dependency=(--dependency="afterok:$after" --kill-on-invalid-dep=yes)
  local id
  if ! id=$(sbatch --parsable --export=ALL "${options[@]}" "${dependency[@]}" "$@"); then
    if [ ${#submitted[@]} -gt 0 ]; then
      echo "error: sbatch refused job $((${#submitted[@]} + 1)) of 5; cancelling the jobs" \
        "submitted before it: ${submitted[*]}" >&2
      scancel "${submitted[@]}" || true
    else
      echo "error: sbatch refused job 1 of 5; nothing submitted" >&2
    fi
    exit 1
  fi
  job=${id%%;*}
  submitted+=("$job")
}

submit "" "$here/single.sbatch" --only 1 "${run[@]}"
submit "$job" --array="0-$((n - 1))" "$here/array.sbatch" --from 2 --to 4 "${run[@]}"
submit "$job" --array="0-$((n - 1))" "$here/array.sbatch" --from 5 --to 6 "${run[@]}"
submit "$job" --array="0-$((n - 1))" "$here/array.sbatch" --from 7 "${run[@]}"
submit "$job" "$here/single.sbatch" --from 7 "${run[@]}"
printf '%s\n' "${submitted[@]}"
ids="${submitted[*]}"
echo "follow: squeue -j ${ids// /,} (a failed job cancels the later ones;" \
  "resubmit the same command to resume)" >&2

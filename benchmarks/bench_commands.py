"""Times the README's three commands on a fresh clone; prints one JSON object.

  python benchmarks/bench_commands.py /tmp/clone --clone-from .      # clone, then all three
  python benchmarks/bench_commands.py /tmp/clone --steps tests --test-args="tests/unit -q"
  python benchmarks/bench_commands.py /tmp/clone --steps pipeline \
      --pipeline-args="--set data.n_prefixes=1 --run-dir /tmp/run"

Steps, in order, each run in the clone as a new user runs it (no virtual environment of
the caller, the clone's own .venv):
  install   bash scripts/ensure_env.sh
  tests     ./run_tests.sh [--test-args]
  pipeline  ./run_pipeline.sh --config configs/toy_world.json [--pipeline-args]
Reported per step: wall seconds, exit code, the load average (1, 5, 15 min) just before
and just after, and where its output went. On a shared machine the load is part of the
figure: quote the two together.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

STEPS = {
    "install": ["bash", "scripts/ensure_env.sh"],
    "tests": ["./run_tests.sh"],
    "pipeline": ["./run_pipeline.sh", "--config", "configs/toy_world.json"],
}
CALLER_ENV = ("VIRTUAL_ENV", "MOTIF_VENV", "PYTHONPATH", "PYTHONHOME")


def parser() -> argparse.ArgumentParser:
    out = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    out.add_argument("clone", type=Path, help="the fresh clone to time the commands in")
    out.add_argument(
        "--clone-from", help="git clone this repository (path or URL) into CLONE first"
    )
    out.add_argument(
        "--steps",
        default="install,tests,pipeline",
        help="comma-separated steps to run, in this order (default: all three)",
    )
    out.add_argument(
        "--test-args", default="", help='extra ./run_tests.sh args, one string: "tests/unit -q"'
    )
    out.add_argument(
        "--pipeline-args",
        default="",
        help='extra ./run_pipeline.sh args, one string: --pipeline-args="--set run.seed=1"',
    )
    out.add_argument("--log-dir", type=Path, help="where each step's output goes (a temp dir)")
    return out


def clean_env() -> dict[str, str]:
    """The caller's environment without its virtual environment or Python path."""
    return {k: v for k, v in os.environ.items() if k not in CALLER_ENV}


def load_average() -> list[float]:
    """The 1, 5 and 15 minute load averages."""
    return [round(x, 2) for x in os.getloadavg()]


def time_step(name: str, command: list[str], clone: Path, log_dir: Path) -> dict:
    """Run one command in the clone, output to `<log_dir>/<name>.log`; its figures."""
    log = log_dir / f"{name}.log"
    before = load_average()
    start = time.perf_counter()
    with open(log, "w") as handle:
        code = subprocess.run(
            command, cwd=clone, env=clean_env(), stdout=handle, stderr=subprocess.STDOUT
        ).returncode
    seconds = time.perf_counter() - start
    return {
        "step": name,
        "command": " ".join(command),
        "seconds": round(seconds, 1),
        "returncode": code,
        "load_before": before,
        "load_after": load_average(),
        "log": str(log),
    }


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    steps = [s for s in args.steps.split(",") if s]
    unknown = sorted(set(steps) - set(STEPS))
    if unknown:
        print(f"error: --steps: unknown {unknown}; known: {list(STEPS)}", file=sys.stderr)
        return 2
    clone = args.clone.resolve()
    if args.clone_from:
        if clone.exists():
            print(f"error: {clone} exists; --clone-from needs a new folder", file=sys.stderr)
            return 2
        subprocess.run(["git", "clone", "--quiet", args.clone_from, str(clone)], check=True)
    if not (clone / "scripts" / "ensure_env.sh").is_file():
        print(f"error: {clone} is not a clone of this project", file=sys.stderr)
        return 2
    log_dir = args.log_dir or Path(tempfile.mkdtemp(prefix="bench_commands_"))
    log_dir.mkdir(parents=True, exist_ok=True)
    extra = {"tests": shlex.split(args.test_args), "pipeline": shlex.split(args.pipeline_args)}
    venv_before = (clone / ".venv").exists()
    results = []
    for name in (s for s in STEPS if s in steps):
        results.append(time_step(name, STEPS[name] + extra.get(name, []), clone, log_dir))
        if results[-1]["returncode"] != 0:
            break  # later steps need this one
    commit = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=clone, capture_output=True, text=True
    ).stdout.strip()
    report = {
        "clone": str(clone),
        "commit": commit,
        "venv_existed_before": venv_before,
        "cpus": os.cpu_count(),
        "machine": platform.platform(),
        "steps": results,
    }
    print(json.dumps(report, indent=2))
    return max((r["returncode"] for r in results), default=0)


if __name__ == "__main__":
    sys.exit(main())

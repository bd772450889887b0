"""The driver behind run_pipeline.sh: run stage scripts in order, stop at the first failure.

Each stage is its own script (rerunnable alone); the driver passes the same
`--config --run-dir --set --force --shard` to each and relies on the stages' manifest
and done records to skip work that is unchanged.
"""

from __future__ import annotations

import argparse
import collections
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from motif_discovery.utils.config import Config, load_config
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.stage import parse_shard

REPO_ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class StageScript:
    """A numbered stage and the script that runs it."""

    number: int
    name: str
    script: str


def stage_list(config: Config) -> list[StageScript]:
    """The stages this config runs; the synthetic generator stands in for stages 1-4."""
    stages = []
    if config.data.source == "synthetic":
        stages.append(
            StageScript(
                4, "synthetic data (stands in for 1-4)", "hypotheses_experiment/generate_data.py"
            )
        )
    stages.append(StageScript(5, "5_gaussian_clustering", "5_gaussian_clustering/cluster.py"))
    return stages


def select(
    stages: list[StageScript], first: int | None, last: int | None, only: int | None
) -> list[StageScript]:
    """Stages within --from/--to, or exactly --only."""
    if only is not None:
        chosen = [s for s in stages if s.number == only]
        if not chosen:
            raise InputError(
                f"--only {only}: no such stage; available: {[s.number for s in stages]}"
            )
        return chosen
    return [
        s
        for s in stages
        if (first is None or s.number >= first) and (last is None or s.number <= last)
    ]


def run_script(stage: StageScript, passthrough: list[str]) -> tuple[int, list[str]]:
    """Run one stage script, streaming its stderr and keeping the last lines."""
    command = [sys.executable, str(REPO_ROOT / stage.script), *passthrough]
    tail: collections.deque[str] = collections.deque(maxlen=15)
    with subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None
        for line in proc.stderr:
            sys.stderr.write(line)
            tail.append(line.rstrip())
    return proc.returncode, list(tail)


def main(argv: list[str] | None = None) -> int:
    """Parse the driver's arguments and run the selected stages in order."""
    parser = argparse.ArgumentParser(description="Run the motif-discovery pipeline.")
    parser.add_argument("--config", required=True)
    parser.add_argument("--run-dir")
    parser.add_argument("--from", dest="first", type=int)
    parser.add_argument("--to", dest="last", type=int)
    parser.add_argument("--only", type=int)
    parser.add_argument("--force", action="store_true")
    parser.add_argument("--shard", default="0/1")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args(argv)
    try:
        config = load_config(args.config, args.set)
        parse_shard(args.shard)
        stages = select(stage_list(config), args.first, args.last, args.only)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    run_dir = args.run_dir or config.run.run_dir
    passthrough = ["--config", args.config, "--run-dir", run_dir, "--shard", args.shard]
    for override in args.set:
        passthrough += ["--set", override]
    if args.force:
        passthrough.append("--force")
    for stage in stages:
        print(f"== stage {stage.number}: {stage.name}", file=sys.stderr)
        code, tail = run_script(stage, passthrough)
        if code != 0:
            message = next((line for line in reversed(tail) if line.strip()), "(no message)")
            print(
                f"pipeline stopped: stage {stage.number} ({stage.name}) failed with exit {code}: {message}",
                file=sys.stderr,
            )
            return code
    print(f"pipeline finished: {len(stages)} stage(s), run directory {run_dir}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())

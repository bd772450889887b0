"""The driver behind run_pipeline.sh: run stage scripts in order, stop at the first failure.

Stages 1-8 on clozes (7 is two scripts, 7a and 7c: `--only 7` runs both); on synthetic data
the generator stands in for 1-4 and stages 6-7 are left out. Stage 8 ends by printing the
path of the HTML explorer, the last line on stdout.

Each stage is its own script (rerunnable alone); the driver passes the same
`--config --run-dir --set --force --shard` to each and relies on the stages' manifest
and done records to skip work that is unchanged. It streams each stage's messages and
adds one line when it stops: a failure (exit code of the stage) or Ctrl-C (exit 130,
after the stage has recorded "interrupted"). `--dry-run` validates the config and prints
the plan (motif_discovery/plan) instead of running anything.
"""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from motif_discovery.launch import slurm
from motif_discovery.launch.job_plan import print_slurm_plan
from motif_discovery.plan.plan import build_plan, print_plan
from motif_discovery.utils.cli import INTERRUPTED_EXIT, add_run_options
from motif_discovery.utils.config import Config, load_config
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.shard import parse_shard

REPO_ROOT = Path(__file__).resolve().parents[1]
STAGE_GRACE_S = 60.0  # how long an interrupted stage may take to record its status


@dataclass(frozen=True)
class StageScript:
    """A numbered stage and the script that runs it."""

    number: int
    name: str
    script: str


CLOZE_STAGES = (
    StageScript(1, "1_data_preparation", "1_data_preparation/select_test_clozes.py"),
    StageScript(2, "2_branch_sampling", "2_branch_sampling/sample_branches.py"),
    StageScript(
        3, "3_attribution_graphs", "3_attribution_graphs/compute_continuation_attribution.py"
    ),
    StageScript(4, "4_feature_extraction", "4_feature_extraction/compute_embeddings.py"),
)
SYNTHETIC_STAGE = StageScript(
    4, "synthetic data (stands in for 1-4)", "hypotheses_experiment/generate_data.py"
)
CLUSTERING_STAGE = StageScript(5, "5_gaussian_clustering", "5_gaussian_clustering/cluster.py")
MODEL_STAGES = (  # need the language model and stage 3's sources: not on synthetic data
    StageScript(6, "6_semantic_graphs", "6_semantic_graphs/extract_graphs.py"),
    StageScript(7, "7a_graph_validation", "7_validation/7a_graph_validation.py"),
    StageScript(7, "7c_steering", "7_validation/7c_hypotheses.py"),
)
VISUALIZATION_STAGE = StageScript(8, "8_visualization", "8_visualization/visualize.py")


def stage_list(config: Config) -> list[StageScript]:
    """The stages this config runs: 1-8 on clozes; on synthetic data the generator stands in
    for 1-4, and 6-7 (which need a language model) are left out."""
    if config.data.source == "synthetic":
        return [SYNTHETIC_STAGE, CLUSTERING_STAGE, VISUALIZATION_STAGE]
    return [*CLOZE_STAGES, CLUSTERING_STAGE, *MODEL_STAGES, VISUALIZATION_STAGE]


def select(
    stages: list[StageScript], first: int | None, last: int | None, only: int | None
) -> list[StageScript]:
    """Stages within --from/--to, or exactly --only; selecting none is an error."""
    if only is not None:
        first = last = only
    chosen = [
        s
        for s in stages
        if (first is None or s.number >= first) and (last is None or s.number <= last)
    ]
    if not chosen:
        asked = f"--only {only}" if only is not None else f"--from {first} --to {last}"
        raise InputError(f"{asked}: no such stage; available: {[s.number for s in stages]}")
    return chosen


class StageInterrupted(Exception):
    """Ctrl-C reached the driver while a stage ran; the stage has stopped."""


def run_script(stage: StageScript, passthrough: list[str]) -> int:
    """Run one stage script, streaming its messages; returns its exit code.

    On Ctrl-C the stage is sent one SIGINT (it ignores a second one, e.g. the terminal's),
    given STAGE_GRACE_S to record its status, and its further messages are dropped so the
    driver reports the interrupt in one line."""
    command = [sys.executable, str(REPO_ROOT / stage.script), *passthrough]
    with subprocess.Popen(command, stderr=subprocess.PIPE) as proc:
        assert proc.stderr is not None
        last = b"\n"
        try:  # bytes as they come: progress bars redraw in place ("\r")
            while chunk := proc.stderr.read1():
                sys.stderr.buffer.write(chunk)
                sys.stderr.flush()
                last = chunk
        except KeyboardInterrupt:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            if not last.endswith(b"\n"):
                sys.stderr.write("\n")  # end a half-drawn progress bar
            proc.send_signal(signal.SIGINT)
            try:
                proc.communicate(timeout=STAGE_GRACE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
            raise StageInterrupted from None
    return proc.returncode


def parser() -> argparse.ArgumentParser:
    """The driver's command line."""
    out = argparse.ArgumentParser(
        prog="run_pipeline.sh",
        description="Run the motif-discovery pipeline's stages in order (see README.md).",
    )
    add_run_options(out)
    out.add_argument("--from", dest="first", type=int, metavar="N", help="first stage to run")
    out.add_argument("--to", dest="last", type=int, metavar="N", help="last stage to run")
    out.add_argument(
        "--only", type=int, metavar="N", help="run stage N alone (not with --from/--to)"
    )
    out.add_argument(
        "--dry-run",
        action="store_true",
        help="validate the config and print the plan (stages, artifacts, models, memory and "
        "time estimates) without loading any model or running a stage; with --slurm N, "
        "the SLURM jobs it would submit (checked, not submitted)",
    )
    out.add_argument("--json", action="store_true", help="with --dry-run: the plan as JSON")
    slurm.add_slurm_options(out)
    return out


def main(argv: list[str] | None = None) -> int:
    """Parse the driver's arguments and run the selected stages in order."""
    args = parser().parse_args(argv)
    try:
        if args.only is not None and (args.first is not None or args.last is not None):
            raise InputError("--only N runs one stage: do not combine it with --from/--to")
        config = load_config(args.config, args.set)
        parse_shard(args.shard)
        stages = select(stage_list(config), args.first, args.last, args.only)
        if args.json and not args.dry_run:
            raise InputError("--json: only with --dry-run")
        slurm.check_options(args, config)
        if args.dry_run and args.slurm is not None:
            plan = build_plan(config, stages, args.config)
            return print_slurm_plan(args, config, plan, args.json)
        if args.dry_run:
            return print_plan(config, stages, args.config, args.json)
    except InputError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    if args.slurm is not None:
        return slurm.launch(args, config)
    run_dir = args.run_dir or config.run.run_dir
    passthrough = ["--config", args.config, "--run-dir", run_dir, "--shard", args.shard]
    for override in args.set:
        passthrough += ["--set", override]
    if args.force:
        passthrough.append("--force")
    for stage in stages:
        print(f"== stage {stage.number}: {stage.name}", file=sys.stderr)
        try:
            code = run_script(stage, passthrough)
        except StageInterrupted:
            print(
                f"pipeline interrupted in stage {stage.number} ({stage.name}); "
                "rerun the same command to resume",
                file=sys.stderr,
            )
            return INTERRUPTED_EXIT
        if code != 0:
            how = f"exit {code}" if code > 0 else f"signal {-code}"
            print(
                f"pipeline stopped: stage {stage.number} ({stage.name}) failed with {how}",
                file=sys.stderr,
            )
            return code if code > 0 else 128 - code  # the shell's code for a signal
    print(f"pipeline finished: {len(stages)} stage(s), run directory {run_dir}", file=sys.stderr)
    return 0


def entry() -> int:
    """`main` with Ctrl-C outside a stage (while loading, between stages) as one line."""
    try:
        return main()
    except KeyboardInterrupt:
        print("pipeline interrupted", file=sys.stderr)
        return INTERRUPTED_EXIT


if __name__ == "__main__":
    sys.exit(entry())

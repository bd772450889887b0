"""`run_pipeline.sh --slurm N`: the pipeline as five dependent SLURM jobs, through submitit.

Each job runs the driver (`python -m motif_discovery.pipeline`) as a subprocess with the
same `--config --set --run-dir`, from the directory the launcher was started in:

1. stage 1, one job: writes prefixes.jsonl, which every shard selects from;
2. stages 2-4, an N-task array: task i runs `--from 2 --to 4 --shard i/N`;
3. stages 5-6, an N-task array (`--from 5 --to 6 --shard i/N`): per prefix as well, and
   on a real model as costly as 2-4 (docs/cluster.md);
4. stages 7-8, an N-task array (`--from 7 --shard i/N`): 7a, 7c and each prefix's page;
5. the gather, `--from 7` unsharded: it finds every prefix of 7a, 7c and 8 done and
   rewrites what is written over all prefixes from all shards' outputs (7a_summary.json,
   7c_summary.json, the explorer's index).

Each job starts only when the previous one (every task of an array) ended well
(`--dependency=afterok`, `--kill-on-invalid-dep=yes`: after a failure the later jobs are
cancelled). Rerunning the same command resumes: done prefixes are skipped. The resources
come from the config's `slurm` section; submitit's files (scripts, logs) go to
`<run_dir>/slurm/<job id>/`.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import submitit
from submitit.core.utils import FailedJobError, FailedSubmissionError

from motif_discovery.utils.config import Config, SlurmConfig
from motif_discovery.utils.errors import InputError


@dataclass(frozen=True)
class Phase:
    """One SLURM job (an N-task array when `sharded`): the driver's stage selection."""

    name: str
    stages: tuple[str, ...]
    sharded: bool


PHASES = (
    Phase("stage 1", ("--only", "1"), sharded=False),
    Phase("stages 2-4", ("--from", "2", "--to", "4"), sharded=True),
    Phase("stages 5-6", ("--from", "5", "--to", "6"), sharded=True),
    Phase("stages 7-8", ("--from", "7"), sharded=True),
    Phase("gather 7-8", ("--from", "7"), sharded=False),
)
GATHER = PHASES[-1]
THREADS_SETUP = (
    "export OMP_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1} MKL_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}"
)


def add_slurm_options(parser: argparse.ArgumentParser) -> None:
    """The driver's `--slurm N` and `--wait`."""
    parser.add_argument(
        "--slurm",
        type=int,
        metavar="N",
        help="submit the whole pipeline to SLURM, stages 2-4 and 7 as N-task arrays "
        "(resources: the config's slurm section; docs/cluster.md)",
    )
    parser.add_argument(
        "--wait",
        action="store_true",
        help="with --slurm: block until the last job ends; exit non-zero naming a failed job",
    )


def check_options(args: argparse.Namespace, config: Config) -> None:
    """--slurm runs every stage of a cloze study; refuse what it cannot honour."""
    if args.slurm is None:
        if args.wait:
            raise InputError("--wait waits for SLURM jobs: use it with --slurm N")
        return
    if args.slurm < 1:
        raise InputError(f"--slurm {args.slurm}: the number of shards must be >= 1")
    if args.first is not None or args.last is not None or args.only is not None:
        raise InputError("--slurm runs every stage: do not combine it with --from/--to/--only")
    if args.shard != "0/1":
        raise InputError("--slurm chooses the shards itself: do not combine it with --shard")
    if config.run.device.startswith("cuda") and config.slurm.gpus_per_task < 1:
        raise InputError(
            f"slurm.gpus_per_task: {config.slurm.gpus_per_task}, but run.device is "
            f"{config.run.device!r}: the jobs would get no GPU; set slurm.gpus_per_task "
            "(e.g. 1)"
        )
    if config.data.source != "clozes":
        raise InputError(
            f"data.source: {config.data.source!r}: --slurm runs cloze studies "
            "(synthetic data runs in one process)"
        )


def driver_command(args: argparse.Namespace, run_dir: Path, phase: Phase) -> list[str]:
    """The driver's command line of one phase (a sharded phase's task adds `--shard i/N`)."""
    command = [sys.executable, "-m", "motif_discovery.pipeline"]
    command += ["--config", str(Path(args.config).resolve()), "--run-dir", str(run_dir)]
    for override in args.set:
        command += ["--set", override]
    if args.force and phase is not GATHER:  # the gather only collects what the shards did
        command.append("--force")
    return [*command, *phase.stages]


def executor(folder: Path, slurm: SlurmConfig, name: str, after: str | None) -> submitit.Executor:
    """A submitit executor for one phase: the config's resources, afterok on `after`."""
    out = submitit.AutoExecutor(folder=folder, cluster="slurm")
    extra: dict[str, str] = dict(option.split("=", 1) for option in slurm.sbatch_options)
    if after is not None:
        extra |= {"dependency": f"afterok:{after}", "kill-on-invalid-dep": "yes"}
    params: dict = {
        "name": name,
        "timeout_min": slurm.time_min,
        "cpus_per_task": slurm.cpus_per_task,
        "tasks_per_node": 1,
        "nodes": 1,
        "slurm_array_parallelism": slurm.array_parallelism,
        "slurm_setup": [THREADS_SETUP, *slurm.setup],
        "slurm_additional_parameters": extra,
    }
    if slurm.partition is not None:
        params["slurm_partition"] = slurm.partition
    if slurm.mem_gb is not None:
        params["mem_gb"] = slurm.mem_gb
    if slurm.gpus_per_task > 0:
        params["gpus_per_node"] = slurm.gpus_per_task
    out.update_parameters(**params)
    return out


def submit(
    args: argparse.Namespace, config: Config, run_dir: Path
) -> list[tuple[Phase, list[submitit.Job]]]:
    """Submit the five phases, each afterok on the one before; returns their jobs."""
    folder = run_dir / "slurm" / "%j"
    cwd = Path.cwd()
    submitted: list[tuple[Phase, list[submitit.Job]]] = []
    after = None
    for number, phase in enumerate(PHASES, start=1):
        task = submitit.helpers.CommandFunction(
            driver_command(args, run_dir, phase), verbose=True, cwd=cwd
        )
        ex = executor(folder, config.slurm, f"motif-{number}", after)
        try:
            if phase.sharded:
                shards = [f"--shard={i}/{args.slurm}" for i in range(args.slurm)]
                jobs = ex.map_array(task, shards)
            else:
                jobs = [ex.submit(task)]
        except (FailedJobError, FailedSubmissionError) as err:  # sbatch refused it
            cancel(submitted)
            raise SubmissionRefused(f"sbatch refused the {phase.name} job: {err}") from err
        after = jobs[0].job_id.split("_")[0]
        submitted.append((phase, jobs))
    return submitted


class SubmissionRefused(Exception):
    """sbatch refused a job (e.g. an unknown partition); the jobs before it are cancelled."""


def cancel(submitted: list[tuple[Phase, list[submitit.Job]]]) -> None:
    """Cancel the given jobs (those already ended are left as they are)."""
    for _, jobs in submitted:
        for job in jobs:
            job.cancel(check=False)


def describe(submitted: list[tuple[Phase, list[submitit.Job]]], run_dir: Path) -> str:
    """The job ids of each phase and how to follow them."""
    lines = [f"submitted {len(submitted)} SLURM jobs for run directory {run_dir}:"]
    for phase, jobs in submitted:
        job_id = jobs[0].job_id.split("_")[0]
        kind = f"array of {len(jobs)} tasks (--shard i/{len(jobs)})" if phase.sharded else "job"
        lines.append(f"  {phase.name:<20} {kind} {job_id}")
    ids = ",".join(jobs[0].job_id.split("_")[0] for _, jobs in submitted)
    lines += [
        f"follow: squeue -j {ids}   (logs: {run_dir / 'slurm'}/<job id>/*_log.err)",
        "a failed job cancels the later ones; rerun the same command to resume",
    ]
    return "\n".join(lines)


def wait(submitted: list[tuple[Phase, list[submitit.Job]]]) -> int:
    """Block until every job ended; at the first failure name it and its log, cancel the
    later jobs and return 1. 0 when all succeeded."""
    for index, (phase, jobs) in enumerate(submitted):
        for task, job in enumerate(jobs):
            error = job.exception()
            if error is None:
                continue
            which = f", task {task} (--shard {task}/{len(jobs)})" if phase.sharded else ""
            reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error)
            print(
                f"SLURM job {job.job_id} ({phase.name}{which}) failed, state {job.state}: "
                f"{reason}\n  log: {job.paths.stderr}\n  fix the cause and rerun the same "
                "command: done prefixes are skipped",
                file=sys.stderr,
            )
            cancel(submitted[index + 1 :])
            return 1
        print(f"{phase.name}: done", file=sys.stderr)
    return 0


def launch(args: argparse.Namespace, config: Config) -> int:
    """Submit the pipeline (run_pipeline.sh --slurm N); with --wait, its exit status."""
    run_dir = Path(args.run_dir or config.run.run_dir).resolve()
    os.makedirs(run_dir, exist_ok=True)
    try:
        submitted = submit(args, config, run_dir)
    except SubmissionRefused as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    print(describe(submitted, run_dir), file=sys.stderr)
    if not args.wait:
        return 0
    code = wait(submitted)
    if code == 0:
        print(f"pipeline finished on SLURM, run directory {run_dir}", file=sys.stderr)
        print(submitted[-1][1][0].result().strip().splitlines()[-1])  # the explorer's path
    return code

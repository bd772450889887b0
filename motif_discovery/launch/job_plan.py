"""`run_pipeline.sh --dry-run --slurm N`: the SLURM jobs `--slurm N` would submit, after the
same option check, with the dry run's time estimates per task. Submits nothing.

Shard i of N takes the prefixes sorted by id, i::N (utils/shard.py), so a task of a sharded
phase holds at most ceil(n_prefixes / N) prefixes, and its time is estimated as

    seconds per task = ceil(n_prefixes / N) x sum over the phase's stages of seconds per prefix

(the whole run for the unsharded stage 1; none for the gather, which only rewrites what is
written over all prefixes). A task estimated past `slurm.time_min` is a warning: SLURM
kills it there (rerunning the same command resumes, one prefix further each time at worst).
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict
from typing import Any

from motif_discovery.launch.slurm import GATHER, PHASES, Phase
from motif_discovery.plan.plan import duration, render
from motif_discovery.utils.config import Config


def phase_stages(phase: Phase) -> range:
    """The stage numbers a phase's driver selection (--only / --from / --to) runs."""
    flags = dict(zip(phase.stages[::2], map(int, phase.stages[1::2]), strict=True))
    if "--only" in flags:
        return range(flags["--only"], flags["--only"] + 1)
    return range(flags["--from"], flags.get("--to", 8) + 1)


def phase_seconds(
    stages: list[dict[str, Any]], numbers: range, prefixes: int
) -> tuple[float | None, bool]:
    """(seconds of `prefixes` prefixes through the stages numbered `numbers`, whether it is
    a lower bound); None when a stage has no estimate."""
    chosen = [s for s in stages if s["number"] in numbers]
    if any(s["seconds_per_prefix"] is None for s in chosen):
        return None, False
    seconds = prefixes * sum(s["seconds_per_prefix"] for s in chosen)
    return seconds, any(s["seconds_lower_bound"] for s in chosen)


def job_plan(args: argparse.Namespace, config: Config, plan: dict[str, Any]) -> dict[str, Any]:
    """The jobs of `--slurm N` (args.slurm): per phase its array size, prefixes per task,
    dependency and estimated time per task; the resources; warnings."""
    n_shards, n_prefixes = args.slurm, plan["n_prefixes"]
    per_task = math.ceil(n_prefixes / n_shards)
    jobs, warnings = [], []
    for number, phase in enumerate(PHASES, start=1):
        prefixes = per_task if phase.sharded else n_prefixes
        if phase is GATHER:
            seconds, bound = None, False
        else:
            seconds, bound = phase_seconds(plan["stages"], phase_stages(phase), prefixes)
        jobs.append(
            {
                "job": number,
                "phase": phase.name,
                "driver": list(phase.stages),
                "array_tasks": n_shards if phase.sharded else None,
                "prefixes_per_task": prefixes,
                "after": number - 1 if number > 1 else None,
                "seconds_per_task": seconds,
                "seconds_lower_bound": bound,
            }
        )
        if seconds is not None and seconds > 60 * config.slurm.time_min:
            warnings.append(
                f"{phase.name}: {duration(seconds)} per task (estimate) exceeds "
                f"slurm.time_min ({config.slurm.time_min} min); SLURM kills it there: raise "
                "slurm.time_min or --slurm N"
            )
    if n_shards > n_prefixes:
        warnings.append(f"--slurm {n_shards}: more shards than the {n_prefixes} prefixes")
    return {
        "shards": n_shards,
        "wait": args.wait,
        "jobs": jobs,
        "resources": asdict(config.slurm),
        "warnings": warnings,
    }


def render_jobs(jobs: dict[str, Any]) -> str:
    """The job plan as text."""
    resources = jobs["resources"]
    lines = [
        f"SLURM (--slurm {jobs['shards']}, checked; nothing submitted): 5 jobs, each "
        "afterok on the one before (a failure cancels the later ones)"
    ]
    for job in jobs["jobs"]:
        kind = (
            f"array of {job['array_tasks']} tasks (--shard i/{job['array_tasks']}), "
            f"<= {job['prefixes_per_task']} prefixes a task"
            if job["array_tasks"]
            else f"one job, {job['prefixes_per_task']} prefixes"
        )
        if job["seconds_per_task"] is not None:
            at_least = ">= " if job["seconds_lower_bound"] else ""
            kind += f"; {at_least}{duration(job['seconds_per_task'])} a task (estimate)"
        elif job["phase"] == GATHER.name:
            kind += "; rewrites the 7a/7c summaries and the explorer's index"
        else:
            kind += "; time not estimated"
        lines.append(f"  {job['job']} {job['phase']:<11} {' '.join(job['driver']):<15} {kind}")
    lines.append(
        "  resources per job: "
        + ", ".join(
            f"{key} {'default' if resources[key] is None else resources[key]}"
            for key in ("partition", "gpus_per_task", "cpus_per_task", "mem_gb", "time_min")
        )
        + f", at most {resources['array_parallelism']} tasks of an array at once"
    )
    if resources["setup"] or resources["sbatch_options"]:
        lines.append(
            f"  setup {resources['setup']}, further sbatch options {resources['sbatch_options']}"
        )
    if jobs["wait"]:
        lines.append("  --wait: the launcher would block until the gather ends")
    lines.extend(f"warning: {w}" for w in jobs["warnings"])
    return "\n".join(lines)


def print_slurm_plan(
    args: argparse.Namespace, config: Config, plan: dict[str, Any], as_json: bool
) -> int:
    """Print the dry run's plan with the SLURM jobs (JSON: under "slurm"); exit code 0."""
    plan = plan | {"slurm": job_plan(args, config, plan)}
    print(
        json.dumps(plan, indent=1) if as_json else f"{render(plan)}\n{render_jobs(plan['slurm'])}"
    )
    return 0

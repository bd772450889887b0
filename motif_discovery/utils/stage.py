"""What every numbered stage shares: its command line, run directory, resume and manifest.

A stage script parses `--config --run-dir --set --force --shard`, then calls
`run_stage` with its per-prefix work function. The shard's units are chosen first; each
must have its input files. Units whose done record matches their fingerprint are
skipped; the others run one by one with a progress bar, each writing its outputs
atomically before its done record. Ctrl-C ends a stage with one line and the status
"interrupted"; a rerun resumes it.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tqdm import tqdm

from motif_discovery.utils.cli import INTERRUPTED_EXIT, add_run_options
from motif_discovery.utils.config import Config, load_config, to_dict
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import sha256_file, write_json
from motif_discovery.utils.log import log_to_file, setup_logging
from motif_discovery.utils.manifest import (
    DoneRecords,
    Manifest,
    code_version,
    config_subset,
    fingerprint,
    library_versions,
    recorded_path,
)
from motif_discovery.utils.shard import shard_ids


@dataclass(frozen=True)
class Stage:
    """A numbered stage: its folder name, the config keys it reads, its code."""

    name: str
    config_keys: tuple[str, ...]
    code: tuple[str, ...]


@dataclass(frozen=True)
class Unit:
    """One unit of work (a prefix), the input files it reads and the values it depends on
    besides them (e.g. its row of prefixes.jsonl), all part of its fingerprint."""

    unit_id: str
    inputs: tuple[Path, ...]
    values: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


def stage_parser(description: str) -> argparse.ArgumentParser:
    """The command line shared by every stage script."""
    parser = argparse.ArgumentParser(description=description)
    add_run_options(parser)
    return parser


def resolve_run(args: argparse.Namespace, *, create: bool) -> tuple[Config, Path]:
    """Load and validate the config, pick the run directory, save config.resolved.json.
    A stage that reads earlier stages' outputs (`create=False`) needs the run directory."""
    config = load_config(args.config, args.set)
    run_dir = Path(args.run_dir or config.run.run_dir)
    if not create and not run_dir.is_dir():
        raise InputError(f"run directory {run_dir} does not exist: run the earlier stages first")
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.resolved.json", to_dict(config))
    return config, run_dir


def shard_units(units: Sequence[Unit], shard: str, stage: str) -> list[Unit]:
    """This shard's units (sorted by id); each input file must exist."""
    by_id = {unit.unit_id: unit for unit in units}
    if len(by_id) != len(units):
        raise InputError(f"{stage}: duplicate unit ids in {sorted(u.unit_id for u in units)}")
    selected = [by_id[unit_id] for unit_id in shard_ids(by_id, shard)]
    for unit in selected:
        missing = [str(p) for p in unit.inputs if not p.is_file()]
        if missing:
            raise InputError(
                f"{stage}: {unit.unit_id} needs {missing}, which an earlier stage writes"
            )
    return selected


def run_stage(
    stage: Stage,
    config: Config,
    run_dir: Path,
    units: Sequence[Unit],
    process: Callable[[str], list[Path]],
    *,
    force: bool = False,
    shard: str = "0/1",
    settings: dict[str, Any] | None = None,
    shared_outputs: Sequence[Path] = (),
) -> dict[str, int]:
    """Run `process(unit_id) -> outputs` for every unit of this shard not already done.

    `settings`: what the outputs depend on besides code and inputs (default: the values of
    the stage's config keys). `shared_outputs`: files every shard writes before its units
    (recorded in the manifest with the units' outputs)."""
    log = setup_logging(run_dir, stage.name, config.run.log_level)
    selected = shard_units(units, shard, stage.name)
    if not selected:
        log.warning("%s: shard %s has no prefixes (%d in all)", stage.name, shard, len(units))
    manifest = Manifest(run_dir)
    records = DoneRecords(run_dir, stage.name)
    values = config_subset(to_dict(config), stage.config_keys) if settings is None else settings
    code = code_version(stage.code)
    start = time.time()
    shared = {recorded_path(p, run_dir): sha256_file(p) for p in shared_outputs}
    counts = {"done": 0, "skipped": 0}
    outputs: dict[str, str] = dict(shared)
    try:
        manifest.update_shard(
            stage.name,
            shard,
            status="running",
            settings=fingerprint(values, code, {}),
            versions=library_versions(),
        )
        for unit in tqdm(selected, desc=stage.name, unit="prefix", file=sys.stderr):
            inputs = {recorded_path(p, run_dir): sha256_file(p) for p in unit.inputs}
            unit_fp = fingerprint(
                {**values, "": unit.values} if unit.values else values, code, inputs
            )
            if not force and records.is_done(unit.unit_id, unit_fp):
                counts["skipped"] += 1
                outputs.update(records.outputs(unit.unit_id))
                continue
            t0 = time.time()
            outputs.update(records.mark_done(unit.unit_id, unit_fp, process(unit.unit_id)))
            log.info("%s: %s done in %.2f s", stage.name, unit.unit_id, time.time() - t0)
            counts["done"] += 1
    except BaseException as err:  # an interrupt too: the manifest must not say "running"
        status = "interrupted" if isinstance(err, KeyboardInterrupt) else "failed"
        error = f"{type(err).__name__}: {err}" if str(err) else type(err).__name__
        manifest.update_shard(stage.name, shard, status=status, error=error, units=counts)
        level = logging.WARNING if status == "interrupted" else logging.ERROR
        log_to_file(f"{stage.name}: {status} after {counts} ({error})", level)
        raise
    manifest.update_shard(
        stage.name,
        shard,
        status="done",
        fingerprint=fingerprint(values, code, outputs),
        outputs=outputs,
        seconds=round(time.time() - start, 3),
        units=counts,
        error=None,
    )
    log.info("%s: %d units run, %d unchanged (skipped)", stage.name, *counts.values())
    return counts


def _interrupt_once(signum: int, frame: Any) -> None:
    """The first SIGINT raises KeyboardInterrupt; later ones (a driver forwarding the same
    Ctrl-C) are ignored, so the stage can record its status undisturbed."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    raise KeyboardInterrupt


def stage_main(main: Callable[[argparse.Namespace], None], parser: argparse.ArgumentParser) -> None:
    """Run a stage script: bad input exits 2 and Ctrl-C exits 130, each with one line;
    other failures exit 1 with their traceback."""
    args = parser.parse_args()
    signal.signal(signal.SIGINT, _interrupt_once)
    try:
        main(args)
    except InputError as err:
        log_to_file(f"error: {err}")
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted: rerun the same command to resume", file=sys.stderr)
        sys.exit(INTERRUPTED_EXIT)

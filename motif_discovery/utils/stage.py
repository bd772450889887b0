"""What every numbered stage shares: its command line, run directory, resume and manifest.

A stage script parses `--config --run-dir --set --force --shard`, then calls
`run_stage` with its per-prefix work function. Units whose done record matches their
fingerprint are skipped; the others run one by one with a progress bar, each writing
its outputs atomically before its done record.
"""

from __future__ import annotations

import argparse
import logging
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tqdm import tqdm

from motif_discovery.utils.config import Config, load_config, to_dict
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import sha256_file, write_json
from motif_discovery.utils.log import setup_logging
from motif_discovery.utils.manifest import (
    DoneRecords,
    Manifest,
    code_version,
    config_subset,
    fingerprint,
    library_versions,
)


@dataclass(frozen=True)
class Stage:
    """A numbered stage: its folder name, the config keys it reads, its code."""

    name: str
    config_keys: tuple[str, ...]
    code: tuple[str, ...]


@dataclass(frozen=True)
class Unit:
    """One unit of work (a prefix) and the input files it reads."""

    unit_id: str
    inputs: tuple[Path, ...]


def stage_parser(description: str) -> argparse.ArgumentParser:
    """The command line shared by every stage script."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--config", required=True, help="JSON config (merged on defaults)")
    parser.add_argument("--run-dir", help="run directory (default: run.run_dir of the config)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="override a config key"
    )
    parser.add_argument("--force", action="store_true", help="redo units that are done")
    parser.add_argument("--shard", default="0/1", help="i/N: only every N-th prefix, from i")
    return parser


def parse_shard(text: str) -> tuple[int, int]:
    """`i/N` -> (i, N) with 0 <= i < N."""
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError as err:
        raise InputError(f"--shard {text!r}: expected i/N, e.g. 0/4") from err
    if count < 1 or not 0 <= index < count:
        raise InputError(f"--shard {text!r}: need 0 <= i < N")
    return index, count


def resolve_run(args: argparse.Namespace) -> tuple[Config, Path]:
    """Load and validate the config, pick the run directory, save config.resolved.json."""
    config = load_config(args.config, args.set)
    run_dir = Path(args.run_dir or config.run.run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    write_json(run_dir / "config.resolved.json", to_dict(config))
    return config, run_dir


def run_stage(
    stage: Stage,
    config: Config,
    run_dir: Path,
    units: Sequence[Unit],
    process: Callable[[str], list[Path]],
    *,
    force: bool = False,
    shard: str = "0/1",
) -> dict[str, int]:
    """Run `process(unit_id) -> outputs` for every unit of this shard not already done."""
    log = setup_logging(run_dir, stage.name, config.run.log_level)
    index, count = parse_shard(shard)
    selected = sorted(units, key=lambda u: u.unit_id)[index::count]
    manifest = Manifest(run_dir)
    records = DoneRecords(run_dir / stage.name)
    values = config_subset(to_dict(config), stage.config_keys)
    code = code_version(stage.code)
    start = time.time()
    manifest.update_stage(stage.name, status="running", shard=shard, versions=library_versions())
    counts = {"done": 0, "skipped": 0}
    outputs: dict[str, str] = {}
    try:
        for unit in tqdm(selected, desc=stage.name, unit="prefix", file=sys.stderr):
            inputs = {str(p): sha256_file(p) for p in unit.inputs}
            unit_fp = fingerprint(values, code, inputs)
            if not force and records.is_done(unit.unit_id, unit_fp):
                counts["skipped"] += 1
                outputs.update(records.outputs(unit.unit_id))
                continue
            t0 = time.time()
            outputs.update(records.mark_done(unit.unit_id, unit_fp, process(unit.unit_id)))
            log.info("%s: %s done in %.2f s", stage.name, unit.unit_id, time.time() - t0)
            counts["done"] += 1
    except BaseException as err:  # an interrupt too: the manifest must not say "running"
        manifest.update_stage(stage.name, status="failed", error=f"{type(err).__name__}: {err}")
        raise
    manifest.update_stage(
        stage.name,
        status="done",
        fingerprint=fingerprint(values, code, outputs),
        outputs=outputs,
        seconds=round(time.time() - start, 3),
        units=counts,
    )
    log.info("%s: %d units run, %d unchanged (skipped)", stage.name, *counts.values())
    return counts


def stage_main(main: Callable[[argparse.Namespace], None], parser: argparse.ArgumentParser) -> None:
    """Run a stage script: bad input exits 2 with its message, other failures exit 1."""
    args = parser.parse_args()
    try:
        main(args)
    except InputError as err:
        logging.getLogger("motif_discovery").error("%s", err)
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)

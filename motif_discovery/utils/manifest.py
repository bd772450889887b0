"""The run manifest and per-unit done records.

`<run_dir>/manifest.json` maps each stage to its status, outputs (+sha256), unit counts
and, per shard, its fingerprint, timings and library versions. Inside a stage the unit of
work is one prefix: each unit writes its outputs atomically, then a done record
`<run_dir>/.done/<stage>/<unit>.json` that holds the unit's fingerprint and the sha256 of
each output. Every path is recorded relative to the run directory. A unit is skipped only
when its record exists, the fingerprint is unchanged and every output still has its hash,
so a killed stage resumes where it stopped and an edited config reruns what it affects.
"""

from __future__ import annotations

import collections
import contextlib
import fcntl
import hashlib
import json
import platform
import time
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from typing import Any

from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_json, sha256_file, write_json
from motif_discovery.utils.shard import parse_shard

PACKAGE_ROOT = Path(__file__).resolve().parents[1]
VERSIONED_LIBRARIES = ("torch", "numpy", "scikit-learn", "transformers", "circuit-tracer")


def code_version(paths: Iterable[str]) -> str:
    """sha256 over the sources of the given package subpaths (files or folders)."""
    digest = hashlib.sha256()
    for rel in sorted(paths):
        target = PACKAGE_ROOT / rel
        files = sorted(target.rglob("*.py")) if target.is_dir() else [target]
        for file in files:
            digest.update(str(file.relative_to(PACKAGE_ROOT)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()


def config_subset(config_tree: dict[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The values of dotted config keys (`clustering`, `run.seed`) a stage reads."""
    subset = {}
    for key in keys:
        node: Any = config_tree
        for part in key.split("."):
            node = node[part]
        subset[key] = node
    return subset


def fingerprint(config_values: dict[str, Any], code: str, inputs: dict[str, str]) -> str:
    """sha256 of (config values read, code version, input hashes)."""
    blob = json.dumps({"config": config_values, "code": code, "inputs": inputs}, sort_keys=True)
    return hashlib.sha256(blob.encode()).hexdigest()


def library_versions() -> dict[str, str]:
    """Versions of Python and of the libraries that shape results."""
    versions = {"python": platform.python_version()}
    for name in VERSIONED_LIBRARIES:
        with contextlib.suppress(metadata.PackageNotFoundError):
            versions[name] = metadata.version(name)
    return versions


def recorded_path(path: str | Path, run_dir: str | Path) -> str:
    """How a file is named in fingerprints, done records and the manifest: relative to the
    run directory when inside it (so a run resumes however its directory is spelled, and
    after a move), else its absolute path."""
    absolute = Path(path).resolve()
    root = Path(run_dir).resolve()
    return absolute.relative_to(root).as_posix() if absolute.is_relative_to(root) else str(absolute)


def stage_status(shards: dict[str, dict[str, Any]], count: int) -> str:
    """A stage's status from its shards' (`i/N` -> entry): the first of failed, interrupted,
    running that any shard has; else done when all N shards are done, else partial."""
    statuses = {entry.get("status") for entry in shards.values()}
    for status in ("failed", "interrupted", "running"):
        if status in statuses:
            return status
    return "done" if len(shards) == count and statuses == {"done"} else "partial"


class Manifest:
    """`<run_dir>/manifest.json`, updated under a file lock (shards may share a run dir).

    Each stage entry keeps one record per shard (`shards["i/N"]`: status, outputs,
    units, ...) and their merge: `status` (stage_status), `outputs` (the union) and
    `units` (summed). A shard whose count N or settings (`settings` field: config and code
    fingerprint) differ from the shard being updated belongs to another run and is dropped.
    """

    def __init__(self, run_dir: str | Path) -> None:
        self.path = Path(run_dir) / "manifest.json"

    @contextlib.contextmanager
    def _locked(self) -> Iterator[dict[str, Any]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            data = self.read()
            yield data
            write_json(self.path, data)

    def read(self) -> dict[str, Any]:
        """The manifest as a dict ({"stages": {}} when none exists yet)."""
        return read_json(self.path) if self.path.exists() else {"stages": {}}

    def update_shard(self, stage: str, shard: str, **fields: Any) -> dict[str, Any]:
        """Merge `fields` into the shard's record, re-merge the stage entry; returns it."""
        _, count = parse_shard(shard)
        now = time.strftime("%Y-%m-%dT%H:%M:%S")
        with self._locked() as data:
            old = data["stages"].get(stage, {}).get("shards", {})
            previous = old.get(shard, {})
            if "settings" in fields and previous.get("settings") != fields["settings"]:
                previous = {}  # the shard's record of another config: its outputs are stale
            record = {**previous, **fields, "updated": now}
            shards = {
                name: entry
                for name, entry in old.items()
                if name != shard
                and parse_shard(name)[1] == count
                and entry.get("settings") == record.get("settings")
            }
            shards[shard] = record
            outputs: dict[str, str] = {}
            units: collections.Counter[str] = collections.Counter()
            for name in sorted(shards):
                outputs.update(shards[name].get("outputs", {}))
                units.update(shards[name].get("units", {}))
            entry = {
                "status": stage_status(shards, count),
                "outputs": dict(sorted(outputs.items())),
                "units": dict(units),
                "updated": now,
                "shards": shards,
            }
            data["stages"][stage] = entry
        return entry


class DoneRecords:
    """Per-unit done records of one stage, in `<run_dir>/.done/<stage>/`, with every output
    named as `recorded_path` names it."""

    def __init__(self, run_dir: str | Path, stage: str) -> None:
        self.run_dir = Path(run_dir)
        self.dir = self.run_dir / ".done" / stage

    def _path(self, unit: str) -> Path:
        return self.dir / f"{unit}.json"

    def is_done(self, unit: str, unit_fingerprint: str) -> bool:
        """True when the unit's record matches the fingerprint and its outputs are intact."""
        path = self._path(unit)
        if not path.exists():
            return False
        try:
            record = read_json(path)
        except InputError:  # unreadable (e.g. a crash mid-write on a filesystem without
            return False  # atomic rename): redo the unit
        if not isinstance(record, dict) or not isinstance(record.get("outputs"), dict):
            return False
        if record.get("fingerprint") != unit_fingerprint:
            return False
        return all(
            (self.run_dir / out).is_file() and sha256_file(self.run_dir / out) == sha
            for out, sha in record["outputs"].items()
        )

    def mark_done(
        self, unit: str, unit_fingerprint: str, outputs: Iterable[Path]
    ) -> dict[str, str]:
        """Record the unit as complete with the sha256 of each output; returns the hashes."""
        hashes = {recorded_path(out, self.run_dir): sha256_file(out) for out in outputs}
        write_json(self._path(unit), {"fingerprint": unit_fingerprint, "outputs": hashes})
        return hashes

    def outputs(self, unit: str) -> dict[str, str]:
        """The recorded outputs of a done unit."""
        return read_json(self._path(unit))["outputs"]

"""Atomic file writes and readers for the run directory (safetensors, JSON, JSONL).

Every write goes to a temporary file in the destination folder and is renamed into
place, so a killed process never leaves a half-written artifact behind.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from motif_discovery.utils.errors import InputError

log = logging.getLogger(__name__)


def _umask() -> int:
    """The process umask (read by setting it and restoring it)."""
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside `path`; rename it onto `path` only on success."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes 0600; give the usual permissions
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_text(path: str | Path, text: str) -> None:
    """Write `text` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_json(path: str | Path, obj: Any) -> None:
    """Write `obj` as indented JSON, atomically."""
    write_text(path, json.dumps(obj, indent=2, sort_keys=False, allow_nan=False) + "\n")


def write_jsonl(path: str | Path, rows: Iterable[dict[str, Any]]) -> None:
    """Write one JSON object per line, atomically."""
    write_text(path, "".join(json.dumps(r, allow_nan=False) + "\n" for r in rows))


def read_text(path: str | Path) -> str:
    """A UTF-8 text file; a missing or undecodable file is an InputError naming it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise InputError(f"{path}: not UTF-8 text (byte {err.start})") from err


def read_json(path: str | Path) -> Any:
    """Read a JSON file; a missing or malformed file is an InputError naming it."""
    try:
        return json.loads(read_text(path))
    except json.JSONDecodeError as err:
        raise InputError(f"{path}: invalid JSON at line {err.lineno}: {err.msg}") from err


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    """Read a JSONL file; a bad row is an InputError naming the file and line number."""
    return [row for _, row in read_jsonl_numbered(path)]


def read_jsonl_numbered(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """(line number, row) of each non-blank line of a JSONL file, for checks that name the
    line; a bad row is an InputError naming the file and line number."""
    rows = []
    for lineno, line in enumerate(read_text(path).splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise InputError(f"{path}:{lineno}: invalid JSON: {err.msg}") from err
        if not isinstance(row, dict):
            raise InputError(f"{path}:{lineno}: expected a JSON object, got {type(row).__name__}")
        rows.append((lineno, row))
    return rows


def save_tensors(
    path: str | Path, tensors: dict[str, torch.Tensor], metadata: dict[str, str] | None = None
) -> None:
    """Save tensors (moved to CPU, made contiguous) to safetensors, atomically."""
    cpu = {k: v.detach().to("cpu").contiguous() for k, v in tensors.items()}
    with atomic_path(path) as tmp:
        save_file(cpu, str(tmp), metadata=metadata)


def load_tensors(path: str | Path, device: str = "cpu") -> dict[str, torch.Tensor]:
    """Load a safetensors file; a missing or unreadable file is an InputError naming it."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: file not found")
    try:
        return load_file(str(path), device=device)
    except SafetensorError as err:
        raise InputError(f"{path}: not a readable safetensors file: {err}") from err


def sha256_file(path: str | Path, chunk: int = 1 << 20) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def remove_stale(folder: Path, written: Iterable[Path], pattern: str) -> None:
    """Delete (and name in the log) the files of `folder` matching `pattern` that an earlier
    run wrote and this one did not (results of configs no longer configured)."""
    stale = sorted(set(folder.glob(pattern)) - set(written))
    if stale:
        log.warning(
            "%s: removing %d result file(s) no longer configured: %s",
            folder,
            len(stale),
            ", ".join(path.name for path in stale),
        )
    for path in stale:
        path.unlink()

"""The prefix list every per-prefix stage iterates over: `1_data_preparation/prefixes.jsonl`."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_jsonl

PREFIXES_FILE = Path("1_data_preparation") / "prefixes.jsonl"
PREFIX_ID = re.compile(r"^(?!\.+$)[A-Za-z0-9_.-]+$")  # file-name safe, not "." or ".."


def load_prefixes(run_dir: str | Path) -> list[dict[str, Any]]:
    """Rows of prefixes.jsonl; each needs a unique, file-name-safe `prefix_id`."""
    path = Path(run_dir) / PREFIXES_FILE
    rows = read_jsonl(path)
    seen: set[str] = set()
    for lineno, row in enumerate(rows, start=1):
        prefix_id = row.get("prefix_id")
        if not isinstance(prefix_id, str) or not PREFIX_ID.match(prefix_id):
            raise InputError(f"{path}: row {lineno}: prefix_id {prefix_id!r} is not a safe id")
        if prefix_id in seen:
            raise InputError(f"{path}: row {lineno}: duplicate prefix_id {prefix_id!r}")
        seen.add(prefix_id)
    return rows

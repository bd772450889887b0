"""Cloze files (stage 1's input) and the selection of the prefixes to study.

Format: JSONL, one JSON object per line (blank lines are skipped):

- `text` (str, required): the prefix as the model will see it;
- `id` (str, optional): its id; without one, `cloze-` + the first 12 hex digits of
  sha256(text), so the same text always gets the same id;
- `dataset` (str, optional): its source, for the `data.datasets` filter;
- any other key: kept as is in `1_data_preparation/prefixes.jsonl`.

The prefix id is the cloze id made file-name safe (it matches data/prefixes.PREFIX_ID): every run of
characters outside [A-Za-z0-9_.-] becomes `_`, a leading `.` gets a `_` before it, and an
id longer than 120 characters keeps its first 100 and a hash of the whole. A row that is
not an object, lacks a string `text`, has a non-string `id` or `dataset` or a key
`prefix_id` (reserved) is an InputError naming the file and line; so are two rows with the
same prefix id.

Selection (`select`): keep the clozes with min_words <= words <= max_words (words split on
whitespace) whose `dataset` is in `datasets` (each filter off when null), then draw
n_prefixes of them with random.Random(seed).sample (all of them when fewer), and return
them in file order.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_jsonl_numbered

UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
MAX_ID_CHARS = 120


@dataclass(frozen=True)
class Cloze:
    """One row of a cloze file: its prefix id, text, line number and other keys."""

    prefix_id: str
    text: str
    line: int
    extra: dict[str, Any]

    @property
    def words(self) -> int:
        """Number of whitespace-separated words of the text."""
        return len(self.text.split())

    def row(self) -> dict[str, Any]:
        """The row of prefixes.jsonl: prefix_id, text, then the cloze's other keys."""
        return {"prefix_id": self.prefix_id, "text": self.text, **self.extra}


def text_id(text: str) -> str:
    """The id of a cloze without one: `cloze-` + 12 hex digits of sha256(text)."""
    return "cloze-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def safe_id(cloze_id: str) -> str:
    """`cloze_id` made file-name safe (see the module docstring)."""
    safe = UNSAFE.sub("_", cloze_id)
    if safe.startswith("."):
        safe = "_" + safe
    if len(safe) > MAX_ID_CHARS:
        safe = safe[:100] + "-" + hashlib.sha256(cloze_id.encode("utf-8")).hexdigest()[:12]
    return safe


def parse_row(path: Path, line: int, row: dict[str, Any]) -> Cloze:
    """Check one row and make its Cloze; problems name the file and line."""
    where = f"{path}:{line}"
    text = row.get("text")
    if not isinstance(text, str):
        raise InputError(f"{where}: 'text' must be a string, got {type(text).__name__}")
    for key in ("id", "dataset"):
        if key in row and not (isinstance(row[key], str) and row[key]):
            raise InputError(f"{where}: {key!r} must be a non-empty string, got {row[key]!r}")
    if "prefix_id" in row:
        raise InputError(f"{where}: 'prefix_id' is reserved (stage 1 derives it from 'id')")
    cloze_id = row["id"] if "id" in row else text_id(text)
    extra = {k: v for k, v in row.items() if k != "text"}
    return Cloze(safe_id(cloze_id), text, line, extra)


def read_clozes(path: str | Path) -> list[Cloze]:
    """Every cloze of a file, in file order; a bad row or a repeated id is an InputError."""
    path = Path(path)
    clozes: list[Cloze] = []
    first_line: dict[str, int] = {}
    for line, row in read_jsonl_numbered(path):
        cloze = parse_row(path, line, row)
        if cloze.prefix_id in first_line:
            raise InputError(
                f"{path}:{line}: prefix id {cloze.prefix_id!r} repeats line "
                f"{first_line[cloze.prefix_id]}"
            )
        first_line[cloze.prefix_id] = line
        clozes.append(cloze)
    return clozes


def select(
    clozes: list[Cloze],
    n_prefixes: int,
    seed: int,
    min_words: int | None = None,
    max_words: int | None = None,
    datasets: list[str] | None = None,
) -> list[Cloze]:
    """Filter, then draw n_prefixes with random.Random(seed).sample; file order kept."""
    kept = [
        c
        for c in clozes
        if (min_words is None or c.words >= min_words)
        and (max_words is None or c.words <= max_words)
        and (datasets is None or c.extra.get("dataset") in datasets)
    ]
    if len(kept) <= n_prefixes:
        return kept
    chosen = sorted(random.Random(seed).sample(range(len(kept)), n_prefixes))
    return [kept[i] for i in chosen]

"""Stage 2's records of a prefix, as later stages read them: `2_branch_sampling/<prefix_id>.jsonl`.

One reader, used by stages 3 and 4, checks every row before any work: a continuation_id
(unique), a text that is not blank, token ids (ints, within the vocabulary when it is
given), and where present, one finite token log-probability <= 0 per token and a finite
P_n > 0.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_jsonl_numbered

SAMPLING_DIR = "2_branch_sampling"


def records_path(run_dir: Path, prefix_id: str) -> Path:
    """Stage 2's continuation file of a prefix."""
    return Path(run_dir) / SAMPLING_DIR / f"{prefix_id}.jsonl"


def summary_path(run_dir: Path, prefix_id: str) -> Path:
    """Stage 2's summary of a prefix (counts, first tokens, its token context)."""
    return Path(run_dir) / SAMPLING_DIR / f"{prefix_id}.summary.json"


@dataclass(frozen=True)
class Continuations:
    """A prefix's continuations in stage 2's row order; p_n and surprisal (-token_logprobs)
    are None when a row lacks them."""

    prefix_id: str
    ids: list[str]
    texts: list[str]
    token_ids: list[list[int]]
    p_n: list[float] | None
    surprisal: list[list[float]] | None


def _number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def _check_row(row: dict, where: str, vocab_size: int | None) -> None:
    """Raise InputError naming `where` for the first problem of one record."""
    text, token_ids = row.get("text"), row.get("token_ids")
    if not isinstance(text, str) or not text.strip():
        raise InputError(f"{where}: text {text!r} is empty after strip")
    if not isinstance(token_ids, list) or not token_ids:
        raise InputError(f"{where}: token_ids {token_ids!r} is empty (no tokens)")
    limit = vocab_size if vocab_size is not None else math.inf
    if not all(
        isinstance(t, int) and not isinstance(t, bool) and 0 <= t < limit for t in token_ids
    ):
        raise InputError(f"{where}: token_ids hold values that are not token ids")
    logprobs = row.get("token_logprobs")
    if logprobs is not None and (
        not isinstance(logprobs, list)
        or len(logprobs) != len(token_ids)
        or not all(_number(v) and v <= 0 for v in logprobs)
    ):
        raise InputError(f"{where}: token_logprobs must be {len(token_ids)} finite numbers <= 0")
    p_n = row.get("p_n")
    if p_n is not None and not (_number(p_n) and p_n > 0):
        raise InputError(f"{where}: p_n {p_n!r} is not a finite number > 0")


def read_continuations(path: Path, prefix_id: str, vocab_size: int | None = None) -> Continuations:
    """The checked records of `path`; every problem names the file, line, prefix and
    continuation."""
    ids, texts, tokens, p_n, surprisal = [], [], [], [], []
    for lineno, row in read_jsonl_numbered(path):
        where = f"{path}: line {lineno}: prefix {prefix_id}"
        cid = row.get("continuation_id")
        if not isinstance(cid, str) or not cid:
            raise InputError(f"{where}: continuation_id {cid!r} missing or not a string")
        _check_row(row, f"{where}, continuation {cid}", vocab_size)
        logprobs = row.get("token_logprobs")
        ids.append(cid)
        texts.append(row["text"])
        tokens.append(row["token_ids"])
        p_n.append(row.get("p_n"))
        surprisal.append(None if logprobs is None else [-float(v) for v in logprobs])
    if not ids:
        raise InputError(f"{path}: prefix {prefix_id} has no continuations")
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: prefix {prefix_id}: duplicate continuation ids")
    return Continuations(
        prefix_id,
        ids,
        texts,
        tokens,
        None if None in p_n else [float(v) for v in p_n],
        None if None in surprisal else surprisal,
    )

"""Stage 2's continuations of a prefix, read and checked before any attribution work."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from motif_discovery.model.context import check_fits
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_jsonl_numbered

SAMPLING_DIR = "2_branch_sampling"


def continuations_path(run_dir: Path, prefix_id: str) -> Path:
    """Stage 2's continuation file of a prefix."""
    return Path(run_dir) / SAMPLING_DIR / f"{prefix_id}.jsonl"


@dataclass(frozen=True)
class Continuations:
    """A prefix's continuations in stage 2's row order."""

    prefix_id: str
    ids: list[str]
    token_ids: list[list[int]]
    surprisal: list[list[float]] | None  # -token_logprobs; None when a row has none


def read_continuations(
    path: Path, prefix_id: str, n_context: int, limit: int, vocab_size: int
) -> Continuations:
    """Rows of `path`: each needs a continuation_id, a text that is not blank and token ids
    (ints in [0, vocab_size)); context + continuation must fit in `limit` tokens;
    token_logprobs, where present, are one finite number <= 0 per token."""
    ids, tokens, surprisal = [], [], []
    for lineno, row in read_jsonl_numbered(path):
        where = f"{path}: line {lineno}: prefix {prefix_id}"
        cid = row.get("continuation_id")
        if not isinstance(cid, str) or not cid:
            raise InputError(f"{where}: continuation_id {cid!r} missing or not a string")
        where = f"{where}, continuation {cid}"
        text, token_ids = row.get("text"), row.get("token_ids")
        if not isinstance(text, str) or not text.strip():
            raise InputError(f"{where}: text {text!r} is empty after strip")
        if not isinstance(token_ids, list) or not token_ids:
            raise InputError(f"{where}: token_ids {token_ids!r} is empty (no tokens)")
        if not all(isinstance(t, int) and 0 <= t < vocab_size for t in token_ids):
            raise InputError(f"{where}: token_ids hold values that are not token ids")
        check_fits(f"{prefix_id} (continuation {cid})", n_context, len(token_ids), limit)
        logprobs = row.get("token_logprobs")
        if logprobs is not None and (
            not isinstance(logprobs, list)
            or len(logprobs) != len(token_ids)
            or not all(isinstance(v, int | float) and -math.inf < v <= 0 for v in logprobs)
        ):
            raise InputError(
                f"{where}: token_logprobs must be {len(token_ids)} finite numbers <= 0"
            )
        ids.append(cid)
        tokens.append(token_ids)
        surprisal.append(None if logprobs is None else [-float(v) for v in logprobs])
    if not ids:
        raise InputError(f"{path}: prefix {prefix_id} has no continuations")
    if len(set(ids)) != len(ids):
        raise InputError(f"{path}: prefix {prefix_id}: duplicate continuation ids")
    complete = all(row is not None for row in surprisal)
    return Continuations(prefix_id, ids, tokens, surprisal if complete else None)

"""Sharding a stage's units across processes: `--shard i/N` takes every N-th unit from i.

Every stage selects from the same sorted list of unit ids, so the shards of one stage and
the shards of the next line up: shard i of stage 5 needs only what shard i of stage 4 wrote.
"""

from __future__ import annotations

from collections.abc import Iterable

from motif_discovery.utils.errors import InputError


def parse_shard(text: str) -> tuple[int, int]:
    """`i/N` -> (i, N) with 0 <= i < N."""
    try:
        index, count = (int(x) for x in text.split("/"))
    except ValueError as err:
        raise InputError(f"--shard {text!r}: expected i/N, e.g. 0/4") from err
    if count < 1 or not 0 <= index < count:
        raise InputError(f"--shard {text!r}: need 0 <= i < N")
    return index, count


def shard_ids(unit_ids: Iterable[str], shard: str) -> list[str]:
    """The ids of shard `i/N`: every N-th of the sorted ids, starting at the i-th."""
    index, count = parse_shard(shard)
    return sorted(unit_ids)[index::count]

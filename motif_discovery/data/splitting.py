"""A reproducible train/test split of a cloze file (0_preprocess/split_dataset.py).

Units: each row is its own unit, or, with a group key, rows with the same value of that key
form one unit, named by that value; a row without the key belongs to the unit named by its
own 'id' (its prefix id when it has none), so with --group parent a question and its
sub-questions stay on one side. A unit's stratum is the value of the
stratify key on its first row (one stratum when no key is given). With n units and
n_test = ceil(f n) for a fraction f (scikit-learn's rule) or the given count, stratum s of
n_s units gets

    n_test_s = floor(n_test n_s / n), plus one for the n_test - sum_s floor(.) strata with
               the largest remainders (ties: larger n_s first, then stratum name)

test units, drawn by random.Random(f"{seed}:{s}").sample(range(n_s), n_test_s) from the
stratum's units in file order: the same file and seed give the same split, and a stratum's
draw does not depend on the others. Both files keep file order and every row unchanged.

A malformed file, a unit whose first row lacks the stratify key, or n_test outside [1, n - 1] is an
InputError before anything is written.
"""

from __future__ import annotations

import json
import math
import random
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motif_discovery.data.clozes import Cloze
from motif_discovery.utils.errors import InputError


@dataclass(frozen=True)
class Split:
    """The options of a split: test_fraction in (0, 1) or test_count >= 1 (exactly one)."""

    seed: int
    test_fraction: float | None = None
    test_count: int | None = None
    stratify: str | None = None
    group: str | None = None

    def n_test(self, n: int) -> int:
        """ceil(f n) or the count; must leave both sides non-empty."""
        if (self.test_fraction is None) == (self.test_count is None):
            raise InputError("give exactly one of a test fraction and a test count")
        if self.test_fraction is not None and not 0 < self.test_fraction < 1:
            raise InputError(f"test fraction must be in (0, 1), got {self.test_fraction}")
        n_test = (
            math.ceil(self.test_fraction * n) if self.test_fraction is not None else self.test_count
        )
        if not 1 <= n_test <= n - 1:
            raise InputError(f"{n_test} test units of {n}: both sides must get at least one")
        return n_test


def label(value: Any) -> str:
    """A stratum's or group's name: a string as is, any other JSON value as JSON."""
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def units(clozes: list[Cloze], split: Split, path: str | Path) -> dict[str, list[Cloze]]:
    """Units (group name -> rows, in file order of their first row)."""
    out: dict[str, list[Cloze]] = {}
    for cloze in clozes:
        key = cloze.extra.get(split.group) if split.group is not None else None
        name = label(key) if key is not None else cloze.extra.get("id", cloze.prefix_id)
        out.setdefault(name, []).append(cloze)
    for rows in out.values():
        if split.stratify is not None and split.stratify not in rows[0].extra:
            raise InputError(f"{path}:{rows[0].line}: no stratify key {split.stratify!r}")
    return out


def allocate(sizes: dict[str, int], n_test: int) -> dict[str, int]:
    """n_test_s per stratum: floors of the proportional share, then largest remainders."""
    n = sum(sizes.values())
    exact = {s: n_test * size / n for s, size in sizes.items()}
    alloc = {s: math.floor(x) for s, x in exact.items()}
    order = sorted(sizes, key=lambda s: (-(exact[s] - alloc[s]), -sizes[s], s))
    for s in order[: n_test - sum(alloc.values())]:
        alloc[s] += 1
    return alloc


def split_clozes(
    clozes: list[Cloze], split: Split, path: str | Path
) -> tuple[list[Cloze], list[Cloze], dict[str, Any]]:
    """(train rows, test rows, summary) of a split (see the module docstring)."""
    groups = units(clozes, split, path)
    strata: dict[str, list[str]] = defaultdict(list)
    for name, rows in groups.items():
        stratum = label(rows[0].extra[split.stratify]) if split.stratify is not None else ""
        strata[stratum].append(name)
    n_test = split.n_test(len(groups))
    alloc = allocate({s: len(names) for s, names in strata.items()}, n_test)
    test_units: set[str] = set()
    for stratum, names in strata.items():
        drawn = random.Random(f"{split.seed}:{stratum}").sample(range(len(names)), alloc[stratum])
        test_units.update(names[i] for i in drawn)
    in_test = {id(c) for name in test_units for c in groups[name]}
    train = [c for c in clozes if id(c) not in in_test]
    test = [c for c in clozes if id(c) in in_test]
    summary = {
        "input": str(path),
        "seed": split.seed,
        "test_fraction": split.test_fraction,
        "test_count": split.test_count,
        "stratify": split.stratify,
        "group": split.group,
        "n_rows": len(clozes),
        "n_units": len(groups),
        "n_train_units": len(groups) - n_test,
        "n_test_units": n_test,
        "n_train": len(train),
        "n_test": len(test),
        "strata": {
            s: {"units": len(names), "test_units": alloc[s]} for s, names in sorted(strata.items())
        },
        "test_ids": [c.prefix_id for c in test],
    }
    return train, test, summary


def file_row(cloze: Cloze) -> dict[str, Any]:
    """The row as the file had it: id (when given), text, the other keys."""
    head = {"id": cloze.extra["id"]} if "id" in cloze.extra else {}
    return {**head, "text": cloze.text, **cloze.extra}

"""The cloze prefixes the pipeline studies, with the generator's planted family distribution."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from motif_discovery.toy_world.grammar import (
    ADJECTIVES,
    NICKNAME_NOUNS,
    Border,
    Cloze,
    Nickname,
    Prefix,
    World,
    families,
)
from motif_discovery.utils.io import write_jsonl

# (stem attribute or None for "famous for", with border statement, nickname attribute or None)
LAYOUTS = (
    ("capital", True, "capital"),
    ("capital", False, None),
    ("river", True, "river"),
    ("capital", False, "capital"),
    (None, True, "capital"),
    ("river", True, None),
    (None, False, "river"),
    (None, False, None),
)


def cloze_prefixes(world: World, n: int = 32, seed: int = 0) -> list[Prefix]:
    """`n` prefixes cycling through LAYOUTS, subjects and statements drawn by `seed`."""
    rng = random.Random(f"clozes-{seed}")
    prefixes = []
    for i in range(n):
        attribute, border, nick_attr = LAYOUTS[i % len(LAYOUTS)]
        x = world.countries[(i + i // len(LAYOUTS)) % len(world.countries)]
        statements: list[Border | Nickname] = []
        if border:
            statements.append(Border(x, rng.choice([c for c in world.countries if c != x])))
        if nick_attr is not None:
            noun = rng.choice(NICKNAME_NOUNS[nick_attr])
            statements.append(Nickname(x, nick_attr, f"the {rng.choice(ADJECTIVES)} {noun}"))
        rng.shuffle(statements)
        prefixes.append(Prefix(Cloze(x, attribute), tuple(statements)))
    return prefixes


def cloze_record(index: int, prefix: Prefix, world: World) -> dict[str, Any]:
    """One clozes.jsonl row: id, text and {family: {continuation, prob}}."""
    fams = {
        f.name: {"continuation": f.continuation, "prob": round(f.prob, 6)}
        for f in families(prefix, world)
    }
    return {"id": f"toy-{index:03d}", "text": prefix.text, "families": fams}


def write_clozes(path: Path, world: World, n: int = 32, seed: int = 0) -> list[dict[str, Any]]:
    """Write clozes.jsonl and return its rows."""
    rows = [cloze_record(i, p, world) for i, p in enumerate(cloze_prefixes(world, n, seed))]
    write_jsonl(path, rows)
    return rows

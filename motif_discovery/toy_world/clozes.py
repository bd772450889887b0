"""The cloze prefixes the pipeline studies, with the generator's planted family distribution."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from motif_discovery.toy_world.grammar import (
    MEANINGS,
    Border,
    Cloze,
    Prefix,
    Statement,
    World,
    families,
)
from motif_discovery.utils.io import write_jsonl

# (stem attribute or None for "famous for", border statement?, stated fact: None or
# (attribute, states the stored meaning?))
LAYOUTS = (
    ("export", True, ("export", True)),
    (None, True, ("export", True)),
    ("pastime", True, ("pastime", True)),
    (None, False, ("pastime", True)),
    (None, True, None),
    ("export", False, ("export", True)),
    ("pastime", True, ("pastime", False)),
    (None, False, None),
)


def cloze_prefixes(world: World, n: int = 32, seed: int = 0) -> list[Prefix]:
    """`n` prefixes cycling through LAYOUTS, subjects and statements drawn by `seed`."""
    rng = random.Random(f"clozes-{seed}")
    prefixes = []
    for i in range(n):
        asked, border, stated = LAYOUTS[i % len(LAYOUTS)]
        x = world.countries[(i + i // len(LAYOUTS)) % len(world.countries)]
        statements: list[Border | Statement] = []
        if border:
            statements.append(Border(x, rng.choice(world.partners(x))))
        if stated is not None:
            attribute, true = stated
            stored = world.facts[attribute][x]
            meaning = stored if true else rng.choice(sorted(set(MEANINGS[attribute]) - {stored}))
            word = rng.choice(MEANINGS[attribute][meaning][1])
            statements.append(Statement(x, attribute, word))
        rng.shuffle(statements)
        prefixes.append(Prefix(Cloze(x, asked), tuple(statements)))
    return prefixes


def cloze_record(index: int, prefix: Prefix, world: World) -> dict[str, Any]:
    """One clozes.jsonl row: id, text and {family: {prob, semantic, mechanism, contents,
    n_texts}}; a family's texts are its contents inside the shared wording pools."""
    fams = {
        f.name: {
            "prob": round(f.prob, 6),
            "semantic": f.semantic,
            "mechanism": f.mechanism,
            "contents": list(f.contents),
            "n_texts": len(f.continuations()),
        }
        for f in families(prefix, world)
    }
    return {"id": f"toy-{index:03d}", "text": prefix.text, "families": fams}


def write_clozes(path: Path, world: World, n: int = 32, seed: int = 0) -> list[dict[str, Any]]:
    """Write clozes.jsonl and return its rows."""
    rows = [cloze_record(i, p, world) for i, p in enumerate(cloze_prefixes(world, n, seed))]
    write_jsonl(path, rows)
    return rows

"""Ground-truth labels stage 4 saves beside the views (data.labeler), for stage 5's ARI/NMI.

A labeler maps (prefix text, continuation texts) to label kinds, each a name per
continuation; the features store each kind as ints with the list of names:
int = index of the name in sorted(set(names)), so label_names[kind][labels[kind][n]] is
continuation n's name.

`toy_world`: toy_world/labels.label with the world of `<folder of data.clozes>/world.json`;
kinds "family", "semantic" and "mechanism".

`answers`: the prefix row's 'answers' (a non-empty list of alias strings, e.g. PopQA's
possible_answers); kind "correct": "correct" when the continuation contains an alias, else
"wrong" (alias_match).
"""

from __future__ import annotations

import re
import string
import unicodedata
from collections.abc import Callable
from pathlib import Path
from typing import Any

from motif_discovery.model.paths import local_path
from motif_discovery.toy_world.grammar import World, load_world
from motif_discovery.toy_world.labels import label
from motif_discovery.utils.config import Config
from motif_discovery.utils.errors import InputError

TOY_WORLD_KINDS = ("family", "semantic", "mechanism")
CORRECT_KIND, CORRECT_NAME, WRONG_NAME = "correct", "correct", "wrong"
ARTICLES = re.compile(r"\b(a|an|the)\b")

Labeler = Callable[[str, list[str]], dict[str, list[str]]]  # (prefix text, texts)


def encode(names: dict[str, list[str]]) -> tuple[dict[str, list[int]], dict[str, list[str]]]:
    """(labels, label_names): each kind's names as indices into its sorted distinct names."""
    labels, label_names = {}, {}
    for kind, values in names.items():
        distinct = sorted(set(values))
        index = {name: i for i, name in enumerate(distinct)}
        labels[kind] = [index[value] for value in values]
        label_names[kind] = distinct
    return labels, label_names


def world_path(clozes: str) -> Path:
    """`world.json` beside the cloze file `clozes` (data.clozes); missing is an InputError."""
    local = local_path(clozes)
    path = (local.parent if local is not None else Path(clozes).parent) / "world.json"
    if not path.is_file():
        raise InputError(
            f"data.labeler: 'toy_world' needs {path} (the world beside data.clozes {clozes!r})"
        )
    return path


def toy_world_labeler(world: World) -> Labeler:
    """Family, meaning and mechanism of each continuation under `world`."""

    def labeler(prefix: str, texts: list[str]) -> dict[str, list[str]]:
        found = [label(prefix, text, world) for text in texts]
        return {kind: [getattr(x, kind) for x in found] for kind in TOY_WORLD_KINDS}

    return labeler


def is_separator(char: str) -> bool:
    """Punctuation: a Unicode P* character (curly quotes, dashes, guillemets) or one of
    ASCII's punctuation and symbols (string.punctuation)."""
    return char in string.punctuation or unicodedata.category(char).startswith("P")


def normalize_answer(text: str) -> list[str]:
    """Words of `text`: NFKD-decomposed with the combining marks dropped ("José" -> "Jose"),
    case-folded, every punctuation character (is_separator) a space, the articles a, an, the
    removed."""
    chars = (c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    kept = "".join(" " if is_separator(c) else c for c in chars)
    return ARTICLES.sub(" ", kept.casefold()).split()


def alias_match(text: str, aliases: list[str]) -> bool:
    """True when some alias's normalized words occur as consecutive whole words of the
    normalized `text` (an alias normalizing to nothing never matches)."""
    words = normalize_answer(text)
    for alias in aliases:
        target = normalize_answer(alias)
        k = len(target)
        if k and any(words[i : i + k] == target for i in range(len(words) - k + 1)):
            return True
    return False


def answers_labeler(rows: list[dict[str, Any]], path: Path) -> Labeler:
    """Correctness of each continuation: an alias of its prefix row's 'answers' in it.
    Every row needs 'answers', a non-empty list of non-empty strings, and rows sharing a
    text must share their answers (the labeler is called with the prefix text)."""
    answers: dict[str, list[str]] = {}
    for lineno, row in enumerate(rows, start=1):
        found = row.get("answers")
        if (
            not isinstance(found, list)
            or not found
            or not all(isinstance(a, str) and a.strip() for a in found)
        ):
            raise InputError(
                f"{path}: row {lineno}: data.labeler 'answers' needs 'answers' as a non-empty "
                f"list of strings, got {found!r}"
            )
        if answers.setdefault(row.get("text"), found) != found:
            raise InputError(
                f"{path}: row {lineno}: text {row.get('text')!r} appears with two answer lists"
            )

    def labeler(prefix: str, texts: list[str]) -> dict[str, list[str]]:
        aliases = answers[prefix]
        return {
            CORRECT_KIND: [CORRECT_NAME if alias_match(t, aliases) else WRONG_NAME for t in texts]
        }

    return labeler


def make_labeler(
    config: Config, rows: list[dict[str, Any]], rows_path: Path
) -> tuple[Labeler | None, tuple[Path, ...]]:
    """(the labeler data.labeler names or None, the files it reads); `rows` (prefixes.jsonl,
    at `rows_path`) are checked for what the labeler needs."""
    if config.data.labeler is None:
        return None, ()
    if config.data.labeler == "answers":
        return answers_labeler(rows, rows_path), ()
    path = world_path(config.data.clozes)
    return toy_world_labeler(load_world(path)), (path,)

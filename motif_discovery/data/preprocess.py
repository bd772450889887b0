"""Rule-based improvement of a cloze file (0_preprocess/improve_clozes.py).

Each row of the input (format: data/clozes.py) goes through, in order:

1. its text is normalised (data/cloze_text.normalise: whitespace, and punctuation spacing
   unless turned off); a changed text is listed under `changed`;
2. it is dropped, with the first reason that applies, when its text is
   `empty` after normalising, `too_short` (words < min_words), `too_long`
   (words > max_words), `states_answer` (it already contains one of its answers, from
   'answers' or 'answer', as whole words, case-folded), or a `duplicate` (the same
   normalised text, case-folded, as an earlier kept row).

Kept rows keep every key; a row without an 'id' gets the one stage 1 would have given its
original text (data/clozes.text_id), so it keeps its identity after its text changes. Every
changed or dropped row is in the report with its line number: nothing is dropped silently.

A malformed file is an InputError naming file and line before anything is written: invalid
JSON, a row that is not an object, a non-string 'text', a bad 'id', 'dataset', 'answer' or
'answers', or two rows with the same 'id'. Rows without an 'id' that share a text are not
an error here (stage 1 would refuse them): all but the first are dropped as duplicates.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motif_discovery.data.cloze_text import answers, normalise, stated_answer
from motif_discovery.data.clozes import Cloze, parse_row, text_id
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_jsonl_numbered

REASONS = ("empty", "too_short", "too_long", "states_answer", "duplicate")


@dataclass(frozen=True)
class Rules:
    """The options of the rule-based pass (None: that limit is off)."""

    min_words: int | None = None
    max_words: int | None = None
    punctuation: bool = True

    def __post_init__(self) -> None:
        for name in ("min_words", "max_words"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise InputError(f"{name}: must be >= 1 (or unset), got {value}")
        if self.min_words and self.max_words and self.min_words > self.max_words:
            raise InputError(f"min_words {self.min_words} > max_words {self.max_words}")


def default_report_path(output: str | Path) -> Path:
    """`<output without .jsonl>.report.json` beside the output."""
    output = Path(output)
    return output.with_name(output.name.removesuffix(".jsonl") + ".report.json")


def read_raw_clozes(path: str | Path) -> list[Cloze]:
    """Every row of a cloze file, checked as stage 1 checks it, except that rows without an
    'id' may share a text; two rows with the same given 'id' are an InputError."""
    path = Path(path)
    clozes = [parse_row(path, line, row) for line, row in read_jsonl_numbered(path)]
    first: dict[str, int] = {}
    for cloze in clozes:
        if "id" not in cloze.extra:
            continue
        if cloze.prefix_id in first:
            raise InputError(
                f"{path}:{cloze.line}: id {cloze.extra['id']!r} repeats line "
                f"{first[cloze.prefix_id]} (as prefix id {cloze.prefix_id!r})"
            )
        first[cloze.prefix_id] = cloze.line
    return clozes


def out_row(cloze: Cloze, text: str) -> dict[str, Any]:
    """The output row: id (the original text's id when the row had none), text, the rest."""
    return {"id": cloze.extra.get("id", text_id(cloze.text)), "text": text, **cloze.extra}


def drop_reason(
    text: str, aliases: list[str], rules: Rules, seen: dict[str, int]
) -> tuple[str, str] | None:
    """(reason, detail) of the first rule `text` breaks, else None."""
    words = len(text.split())
    if not text:
        return "empty", "no text after normalising"
    if rules.min_words is not None and words < rules.min_words:
        return "too_short", f"{words} words < min_words {rules.min_words}"
    if rules.max_words is not None and words > rules.max_words:
        return "too_long", f"{words} words > max_words {rules.max_words}"
    stated = stated_answer(text, aliases)
    if stated is not None:
        return "states_answer", f"the text contains its answer {stated!r}"
    if text.casefold() in seen:
        return "duplicate", f"same text as line {seen[text.casefold()]}"
    return None


def improve(
    clozes: list[Cloze], path: str | Path, rules: Rules
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(kept rows, report) of the rule-based pass over the clozes read from `path`."""
    aliases = [answers(c.extra, f"{path}:{c.line}") for c in clozes]  # all checked first
    kept: list[dict[str, Any]] = []
    changed: list[dict[str, Any]] = []
    dropped: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for cloze, alias in zip(clozes, aliases, strict=True):
        text, fixes = normalise(cloze.text, rules.punctuation)
        row = out_row(cloze, text)
        where = {"line": cloze.line, "id": row["id"]}
        reason = drop_reason(text, alias, rules, seen)
        if reason is not None:
            dropped.append({**where, "reason": reason[0], "detail": reason[1], "text": cloze.text})
            continue
        if fixes:
            changed.append({**where, "fixes": fixes, "before": cloze.text, "after": text})
        seen[text.casefold()] = cloze.line
        kept.append(row)
    report = {
        "input": str(path),
        "rules": {
            "min_words": rules.min_words,
            "max_words": rules.max_words,
            "punctuation": rules.punctuation,
        },
        "n_read": len(clozes),
        "n_kept": len(kept),
        "n_changed": len(changed),
        "n_dropped": len(dropped),
        "dropped_by_reason": {r: sum(d["reason"] == r for d in dropped) for r in REASONS},
        "changed": changed,
        "dropped": dropped,
    }
    return kept, report

"""PopQA questions as cloze rows (stage 1's input) with their answer aliases.

PopQA's release (Mallen et al., 2023; `popQA.tsv`) has one question per row and the
columns id, subj, prop, obj, subj_id, prop_id, obj_id, s_aliases, o_aliases, s_uri, o_uri,
s_wiki_title, o_wiki_title, s_pop, o_pop, question, possible_answers, where s_aliases,
o_aliases and possible_answers are JSON lists of strings and s_pop, o_pop the subject's
and object's monthly Wikipedia page views. A `.tsv` file is read tab-separated, a `.csv`
file comma-separated (standard quoting). Each row becomes the cloze row

    {"id": "popqa-<id>", "text": question, "answers": possible_answers, "dataset": "popqa",
     "subj", "prop", "obj", "s_pop", "o_pop", "s_wiki_title", "o_wiki_title"}

and data.labeler "answers" scores a continuation correct when it contains one of the
answers (embedding/labels.alias_match).
"""

from __future__ import annotations

import csv
import json
import logging
from pathlib import Path

from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import write_jsonl

COLUMNS = (
    "id",
    "subj",
    "prop",
    "obj",
    "subj_id",
    "prop_id",
    "obj_id",
    "s_aliases",
    "o_aliases",
    "s_uri",
    "o_uri",
    "s_wiki_title",
    "o_wiki_title",
    "s_pop",
    "o_pop",
    "question",
    "possible_answers",
)
KEPT = ("subj", "prop", "obj", "s_wiki_title", "o_wiki_title")
DELIMITERS = {".tsv": "\t", ".csv": ","}

log = logging.getLogger(__name__)


def string_list(text: str, where: str) -> list[str]:
    """A JSON list of strings (PopQA's alias columns); anything else is an InputError."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"{where}: not a JSON list: {text!r} ({err.msg})") from err
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"{where}: must be a JSON list of strings, got {text!r}")
    return value


def cloze_row(row: dict[str, str], where: str) -> dict:
    """One PopQA row as a cloze row, its empty (blank) aliases dropped and reported (its
    'answers' can be empty: read_popqa skips the row); `where` names its file and line."""
    question = (row.get("question") or "").strip()
    if not question:
        raise InputError(f"{where}: column 'question' is empty")
    if not (row.get("id") or "").strip():
        raise InputError(f"{where}: column 'id' is empty")
    aliases = string_list(row["possible_answers"], f"{where}: column 'possible_answers'")
    answers = [a for a in aliases if a.strip()]
    if len(answers) < len(aliases):
        log.warning(
            "%s: column 'possible_answers': %d empty alias(es) dropped",
            where,
            len(aliases) - len(answers),
        )
    out = {"id": f"popqa-{row['id'].strip()}", "text": question, "answers": answers}
    out["dataset"] = "popqa"
    for key in ("s_pop", "o_pop"):
        try:
            out[key] = int(row[key])
        except ValueError as err:
            raise InputError(f"{where}: column {key!r} is not an integer: {row[key]!r}") from err
    return out | {key: row[key] for key in KEPT}


def read_popqa(path: str | Path) -> list[dict]:
    """The cloze rows of a PopQA file (every row checked before any is returned); a row
    without a non-empty alias cannot be scored: it is skipped and reported."""
    path = Path(path)
    if path.suffix not in DELIMITERS:
        raise InputError(f"{path}: PopQA file must end in .tsv or .csv")
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    rows, skipped = [], []
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter=DELIMITERS[path.suffix])
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}: line 1: header lacks PopQA columns {missing}")
        for row in reader:
            where = f"{path}: line {reader.line_num}"
            if None in row or any(row[c] is None for c in COLUMNS):
                raise InputError(f"{where}: expected {len(reader.fieldnames)} columns")
            found = cloze_row(row, where)
            if found["answers"]:
                rows.append(found)
            else:
                skipped.append(reader.line_num)
    if skipped:
        log.warning(
            "%s: %d row(s) without a non-empty alias in 'possible_answers' skipped (lines %s)",
            path,
            len(skipped),
            ", ".join(map(str, skipped)),
        )
    if not rows:
        raise InputError(f"{path}: no question rows with an answer alias")
    return rows


def write_clozes(rows: list[dict], path: Path) -> Path:
    """The cloze file stage 1 reads (JSONL)."""
    write_jsonl(path, rows)
    return path

"""Questions as a second input kind: AmbigQA's published format -> cloze JSONL rows
(0_preprocess/prepare_questions.py).

Input: AmbigQA's train/dev JSON (a list of objects) or JSONL of the same objects:

    {"id": str, "question": str,
     "annotations": [{"type": "singleAnswer", "answer": [str, ...]}
                     | {"type": "multipleQAs",
                        "qaPairs": [{"question": str, "answer": [str, ...]}, ...]}, ...]}

(other keys, e.g. the full release's viewed_doc_titles, are ignored; 'annotations' may be
absent, as in the test set). Output, in the cloze format stage 1 reads (data/clozes.py),
per question in file order:

- the question: {"id": <id>, "text": question, "answers": A, "dataset": "ambigqa",
  "ambiguous": some annotation is multipleQAs}, A = every answer of every annotation;
- then each distinct sub-question (over all multipleQAs annotations, in order; the same
  text, whitespace-collapsed and case-folded, is one sub-question whose answers merge):
  {"id": "<id>.<k>" (k = 1, 2, ...), "text", "answers", "dataset": "ambigqa",
  "parent": <id>}.

Texts are whitespace-collapsed; answers are whitespace-collapsed, empty ones left out and
repeats (case-folded) kept once. A malformed file is an InputError naming file and line
(invalid JSON, not a list / not objects, a missing or non-string id or question, a bad
annotation, a repeated id). Rows that are merely unusable are left out and listed in the
report: a question or sub-question whose text is empty (`empty_question`), a sub-question
without a non-empty answer (`no_answer`); a question without answers is kept (answers [])
and listed under `without_answers`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from motif_discovery.data.cloze_text import collapse_whitespace
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_jsonl_numbered, read_text

DATASET = "ambigqa"
TYPES = ("singleAnswer", "multipleQAs")


@dataclass(frozen=True)
class Question:
    """One AmbigQA question: its id, text, answers, (sub-question, answers) pairs, and
    whether an annotator found it ambiguous (wrote multipleQAs)."""

    qid: str
    text: str
    answers: list[str]
    subs: list[tuple[str, list[str]]]
    ambiguous: bool


def read_json_array(path: Path, text: str) -> list[tuple[int, Any]]:
    """(line number, element) of each element of a top-level JSON array."""
    decoder = json.JSONDecoder()

    def fail(pos: int, msg: str) -> InputError:
        return InputError(f"{path}:{text.count(chr(10), 0, pos) + 1}: invalid JSON: {msg}")

    def skip(pos: int) -> int:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        return pos

    items: list[tuple[int, Any]] = []
    pos = skip(text.index("[") + 1)
    if pos < len(text) and text[pos] == "]":
        return items
    while True:
        try:
            item, end = decoder.raw_decode(text, pos)
        except json.JSONDecodeError as err:
            raise fail(err.pos, err.msg) from err
        items.append((text.count("\n", 0, pos) + 1, item))
        pos = skip(end)
        if pos < len(text) and text[pos] == "]":
            if skip(pos + 1) != len(text):
                raise fail(skip(pos + 1), "extra data after the list")
            return items
        if pos >= len(text) or text[pos] != ",":
            raise fail(pos, "expected ',' or ']' between the list's objects")
        pos = skip(pos + 1)


def read_records(path: str | Path) -> tuple[str, list[tuple[int, Any]]]:
    """('json' or 'jsonl', [(line number, object)]): a file starting with '[' is one JSON
    list, anything else JSONL."""
    path = Path(path)
    text = read_text(path)
    if text.lstrip().startswith("["):
        return "json", read_json_array(path, text)
    return "jsonl", list(read_jsonl_numbered(path))


def answer_list(value: Any, where: str, key: str) -> list[str]:
    """A list of strings, whitespace-collapsed, empty ones left out."""
    if not isinstance(value, list) or not all(isinstance(a, str) for a in value):
        raise InputError(f"{where}: {key} must be a list of strings, got {value!r}")
    return [a for a in (collapse_whitespace(v) for v in value) if a]


def unique(items: list[str]) -> list[str]:
    """`items` with case-folded repeats kept once, first spelling, in order."""
    seen: dict[str, str] = {}
    for item in items:
        seen.setdefault(item.casefold(), item)
    return list(seen.values())


def parse_question(where: str, record: Any) -> Question:
    """The Question of one AmbigQA object; structural problems are InputErrors naming
    `where` (file:line) and the key."""
    if not isinstance(record, dict):
        raise InputError(f"{where}: expected a JSON object, got {type(record).__name__}")
    qid, question = record.get("id"), record.get("question")
    if not isinstance(qid, str) or not qid:
        raise InputError(f"{where}: 'id' must be a non-empty string, got {qid!r}")
    if not isinstance(question, str):
        raise InputError(f"{where}: 'question' must be a string, got {question!r}")
    annotations = record.get("annotations", [])
    if not isinstance(annotations, list):
        raise InputError(f"{where}: 'annotations' must be a list, got {annotations!r}")
    answers: list[str] = []
    subs: dict[str, tuple[str, list[str]]] = {}
    ambiguous = False
    for i, ann in enumerate(annotations):
        at = f"{where}: annotations[{i}]"
        kind = ann.get("type") if isinstance(ann, dict) else None
        if kind not in TYPES:
            raise InputError(f"{at}: expected an object with 'type' in {TYPES}, got {ann!r}")
        if kind == "singleAnswer":
            answers += answer_list(ann.get("answer"), at, "'answer'")
            continue
        ambiguous = True
        pairs = ann.get("qaPairs")
        if not isinstance(pairs, list):
            raise InputError(f"{at}: 'qaPairs' must be a list, got {pairs!r}")
        for j, pair in enumerate(pairs):
            sub = pair.get("question") if isinstance(pair, dict) else None
            if not isinstance(sub, str):
                raise InputError(f"{at}.qaPairs[{j}]: 'question' must be a string, got {pair!r}")
            sub_answers = answer_list(pair.get("answer"), f"{at}.qaPairs[{j}]", "'answer'")
            answers += sub_answers
            text = collapse_whitespace(sub)
            old = subs.setdefault(text.casefold(), (text, []))
            old[1].extend(sub_answers)
    merged = [(text, unique(a)) for text, a in subs.values()]
    return Question(qid, collapse_whitespace(question), unique(answers), merged, ambiguous)


def question_rows(path: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(cloze rows, report) of an AmbigQA file (see the module docstring)."""
    kind, records = read_records(path)
    parsed = [(line, parse_question(f"{path}:{line}", record)) for line, record in records]
    first: dict[str, int] = {}
    for line, q in parsed:
        if q.qid in first:
            raise InputError(f"{path}:{line}: id {q.qid!r} repeats line {first[q.qid]}")
        first[q.qid] = line
    rows: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    without: list[dict[str, Any]] = []
    for line, q in parsed:
        if not q.text:
            skipped.append({"line": line, "id": q.qid, "reason": "empty_question"})
            continue
        if not q.answers:
            without.append({"line": line, "id": q.qid})
        row = {"id": q.qid, "text": q.text, "answers": q.answers, "dataset": DATASET}
        rows.append({**row, "ambiguous": q.ambiguous})
        k = 0
        for text, answers in q.subs:
            reason = "empty_question" if not text else "no_answer" if not answers else None
            if reason is not None:
                skipped.append({"line": line, "id": q.qid, "sub_question": text, "reason": reason})
                continue
            k += 1
            sub_id = f"{q.qid}.{k}"
            if sub_id in first:
                raise InputError(f"{path}:{line}: sub-question id {sub_id!r} is also a question id")
            row = {"id": sub_id, "text": text, "answers": answers, "dataset": DATASET}
            rows.append({**row, "parent": q.qid})
    report = {
        "input": str(path),
        "format": kind,
        "n_questions": len(parsed),
        "n_ambiguous": sum(q.ambiguous for _, q in parsed),
        "n_rows": len(rows),
        "n_sub_questions": sum("parent" in r for r in rows),
        "skipped": skipped,
        "without_answers": without,
    }
    return rows, report

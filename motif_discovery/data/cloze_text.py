"""Text rules shared by the preprocessing scripts (0_preprocess/): whitespace and punctuation
normalisation, a row's answers, and whether a text states one of them.

    normalise(t) = NFC(t), every run of whitespace -> one space, stripped, then no space
                   before , . ; : ! ? % ) ] } and none after ( [ {
    answers(row) = row['answers'] (list of non-empty strings) or [row['answer']] (a string,
                   or a list of them); [] when the row has neither
    states(t, A) = some a in A occurs in t as whole words, case-folded
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path
from typing import Any

from motif_discovery.utils.errors import InputError

ANSWER_KEYS = ("answers", "answer")
SPACES = re.compile(r"\s+")
SPACE_BEFORE = re.compile(r" +([,.;:!?%)\]}])")
SPACE_AFTER = re.compile(r"([(\[{]) +")


def collapse_whitespace(text: str) -> str:
    """NFC, every run of whitespace (newlines, tabs, NBSP) -> one space, stripped."""
    return SPACES.sub(" ", unicodedata.normalize("NFC", text)).strip()


def fix_punctuation_spacing(text: str) -> str:
    """No space before closing punctuation (, . ; : ! ? % ) ] }) nor after ( [ {."""
    return SPACE_AFTER.sub(r"\1", SPACE_BEFORE.sub(r"\1", text))


def normalise(text: str, punctuation: bool = True) -> tuple[str, list[str]]:
    """(normalised text, names of the fixes that changed it: 'whitespace', 'punctuation')."""
    fixes = []
    out = collapse_whitespace(text)
    if out != text:
        fixes.append("whitespace")
    if punctuation:
        fixed = fix_punctuation_spacing(out)
        if fixed != out:
            fixes.append("punctuation")
        out = fixed
    return out, fixes


def answers(row: dict[str, Any], where: str | Path) -> list[str]:
    """The answer aliases of a row ('answers', else 'answer'); wrong types are an
    InputError naming `where` (file:line) and the key."""
    for key in ANSWER_KEYS:
        if key not in row:
            continue
        value = row[key]
        items = [value] if key == "answer" and isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(a, str) and a.strip() for a in items):
            raise InputError(
                f"{where}: {key!r} must be a non-empty string or a list of them, got {value!r}"
            )
        return list(items)
    return []


def answer_pattern(alias: str) -> re.Pattern[str]:
    """`alias` (whitespace-collapsed, case-folded) as whole words: not inside a longer word."""
    return re.compile(r"(?<!\w)" + re.escape(collapse_whitespace(alias).casefold()) + r"(?!\w)")


def stated_answer(text: str, aliases: list[str]) -> str | None:
    """The first alias that occurs in `text` as whole words (case-folded), else None."""
    folded = collapse_whitespace(text).casefold()
    for alias in aliases:
        if answer_pattern(alias).search(folded):
            return alias
    return None

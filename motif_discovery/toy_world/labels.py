"""Ground-truth labels of toy-world continuations: what they mean and which mechanism made them.

The labeler reads the prefix's statements and the world's facts and matches the
continuation against them (it does not consult the generator's family table). A
continuation is [opener] CONTENT [trailer] STOP with opener, trailer and stop from the
shared wording pools; the wording never changes the label. For a content word W:

- a recall word of the subject's stored meaning of attribute A     -> recall_A, correct
- the stated word of "X sells W ." / "X enjoys W ." about the subject -> copy_A, correct
  iff the stated meaning is the subject's stored one
- a recall word of the border partner's meaning (Y in "X borders Y .") -> shortcut_A, wrong
- a word for beaches                                                -> default, None
- any other content word of the asked attribute                      -> other (semantic kept)
- anything else (unknown wording, no stop, two contents)             -> family "other"

A is the stem's attribute; on "X is famous for" recall may be either attribute and
shortcut is of export, as the generator plants them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from motif_discovery.toy_world.grammar import (
    DEFAULT_MEANING,
    OPENERS,
    STOPS,
    TRAILERS,
    World,
    make_world,
    meaning_of,
    parse_prefix,
)
from motif_discovery.toy_world.tokenizer import BOS

DEFAULT_SEED = 0
STOP = (".", "?", "!")


@dataclass(frozen=True)
class Label:
    """semantic: what the answer denotes ("export:fish", "beaches"); family: mechanism_attribute."""

    semantic: str
    mechanism: str
    correct: bool | None
    family: str


OTHER = Label("other", "other", None, "other")


def content_word(continuation: str) -> str | None:
    """The content word of a continuation of the language's shape, else None."""
    words = re.findall(r"[^\s.,?!]+|[.,?!]", continuation)
    if len(words) < 2 or words[-1] not in STOPS:
        return None
    body = " ".join(words[:-1])
    for opener in OPENERS:
        for trailer in TRAILERS:
            head = f"{opener} " if opener else ""
            tail = f" {trailer}" if trailer else ""
            if body.startswith(head) and body.endswith(tail):
                middle = body[len(head) : len(body) - len(tail)]
                if middle and " " not in middle and meaning_of(middle) is not None:
                    return middle
    return None


def label(prefix: str, continuation: str, world: World | None = None) -> Label:
    """Label `continuation` (text as generated, e.g. " mostly fish , of course .") of the
    cloze `prefix`. A leading BOS is ignored; words and marks are split as the tokenizer
    splits them, so " fish." and " fish ." get the same label."""
    world = world or make_world(DEFAULT_SEED)
    parsed = parse_prefix(prefix.strip().removeprefix(BOS))
    word = content_word(continuation)
    if word is None:
        return OTHER
    attribute, meaning, stated = meaning_of(word)
    if attribute == "default":
        return Label(DEFAULT_MEANING, "default", None, "default")
    semantic = f"{attribute}:{meaning}"
    x, asked = parsed.cloze.subject, parsed.cloze.attribute
    if asked not in (None, attribute):
        return OTHER
    if stated:
        if any(s.word == word for s in parsed.stated()):
            correct = world.facts[attribute][x] == meaning
            return Label(semantic, "copy", correct, f"copy_{attribute}")
        return Label(semantic, "other", False, "other")
    if world.facts[attribute][x] == meaning:
        return Label(semantic, "recall", True, f"recall_{attribute}")
    other = parsed.border_other()
    shortcut = other is not None and attribute == (asked or "export")
    if shortcut and world.facts[attribute][other] == meaning:
        return Label(semantic, "shortcut", False, f"shortcut_{attribute}")
    return Label(semantic, "other", False, "other")

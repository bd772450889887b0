"""Ground-truth labels of toy-world continuations: what they mean and which mechanism made them.

The labeler reads the prefix's statements and the world's facts and matches the
continuation against them (it does not consult the generator's family table):

- " V ." / " its A V ." with V = A(subject)               -> recall,   A:subject, correct
- " the ADJ NOUN ." stated by "C calls its A ..."         -> copy,     A:C, correct iff it
  answers the cloze (C = subject and A = the asked attribute, or any A for "famous for")
- V = A(other) with "X borders other ." in the context    -> shortcut, A:other, wrong
- the generic answer (" a big city .", " its people .")   -> default,  generic:A, None
- anything else                                           -> family "other"
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from motif_discovery.toy_world.grammar import DEFAULTS, World, make_world, parse_prefix
from motif_discovery.toy_world.tokenizer import BOS

DEFAULT_SEED = 0
STOP = (".", "?", "!")


@dataclass(frozen=True)
class Label:
    """semantic: what the answer denotes ("capital:velkaria"); family: mechanism_attribute."""

    semantic: str
    mechanism: str
    correct: bool | None
    family: str


OTHER = Label("other", "other", None, "other")


def label(prefix: str, continuation: str, world: World | None = None) -> Label:
    """Label `continuation` (text as generated, e.g. " tarno .") of the cloze `prefix`.

    A leading BOS in `prefix` is ignored; words and stop marks are split as the tokenizer
    splits them, so " tarno." and " tarno ." get the same label.
    """
    world = world or make_world(DEFAULT_SEED)
    parsed = parse_prefix(prefix.strip().removeprefix(BOS))
    words = re.findall(r"[^\s.?!]+|[.?!]", continuation)
    if not words or words[-1] not in STOP:
        return OTHER
    answer = " ".join(words[:-1])
    x, asked = parsed.cloze.subject, parsed.cloze.attribute
    for nick in parsed.nicknames():
        if answer == nick.phrase:
            correct = nick.country == x and asked in (None, nick.attribute)
            return Label(
                f"{nick.attribute}:{nick.country}", "copy", correct, f"copy_{nick.attribute}"
            )
    generic = asked or "people"
    if answer == DEFAULTS[generic]:
        return Label(f"generic:{generic}", "default", None, f"default_{generic}")
    if asked is None:
        if len(words) != 4 or words[0] != "its" or words[1] not in world.facts:
            return OTHER
        attribute, value = words[1], words[2]
    else:
        attribute, value = asked, answer
    owner = world.owner(attribute, value)
    if owner is None:
        return OTHER
    semantic = f"{attribute}:{owner}"
    if owner == x:
        return Label(semantic, "recall", True, f"recall_{attribute}")
    if owner == parsed.border_other():
        return Label(semantic, "shortcut", False, f"shortcut_{attribute}")
    return Label(semantic, "other", False, "other")

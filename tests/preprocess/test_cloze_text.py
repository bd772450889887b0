"""Text rules of stage 0: normalisation, a row's answers, whole-word answer matching."""

import pytest

from motif_discovery.data.cloze_text import answers, normalise, stated_answer
from motif_discovery.utils.errors import InputError


@pytest.mark.parametrize(
    ("text", "punctuation", "expected", "fixes"),
    [
        ("a  b\tc\n", True, "a b c", ["whitespace"]),
        ("x , y . z ( w ) !", True, "x, y. z (w)!", ["punctuation"]),
        ("x , y", False, "x , y", []),
        ("\u00a0café\u00a0 is", True, "café is", ["whitespace"]),
        ("cafe\u0301 au lait", True, "café au lait", ["whitespace"]),  # NFC
        ("already clean", True, "already clean", []),
    ],
)
def test_normalise(text, punctuation, expected, fixes):
    assert normalise(text, punctuation) == (expected, fixes)


def test_answers_of_a_row():
    assert answers({"answers": ["Paris", "paris city"]}, "f:1") == ["Paris", "paris city"]
    assert answers({"answer": "Paris"}, "f:1") == ["Paris"]
    assert answers({"answer": ["Paris", "Lutetia"]}, "f:1") == ["Paris", "Lutetia"]
    assert answers({"answers": ["A"], "answer": "B"}, "f:1") == ["A"]  # 'answers' first
    assert answers({"text": "x"}, "f:1") == []
    for bad in ({"answers": "Paris"}, {"answers": ["ok", 3]}, {"answer": ""}, {"answer": 5}):
        key = next(iter(bad))
        with pytest.raises(InputError, match=rf"f:7: '{key}' must be"):
            answers(bad, "f:7")


def test_stated_answer_is_whole_words_and_case_folded():
    assert stated_answer("The capital is PARIS, of course", ["Paris"]) == "Paris"
    assert stated_answer("The Parisian metro", ["Paris"]) is None
    assert stated_answer("born in new   york city", ["New York"]) == "New York"
    assert stated_answer("it costs $5 today", ["$5"]) == "$5"  # regex characters escaped
    assert stated_answer("nothing here", ["a.b"]) is None
    assert stated_answer("in 1889 it opened", ["1889", "x"]) == "1889"
    assert stated_answer("anything", []) is None

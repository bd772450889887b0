"""Alias matching of data.labeler 'answers' against hand-written cases."""

import pytest

from motif_discovery.embedding.labels import alias_match, answers_labeler, normalize_answer
from motif_discovery.utils.errors import InputError


@pytest.mark.parametrize(
    ("text", "aliases", "expected"),
    [
        (" Paris, of course.", ["Paris"], True),
        (" The answer is the United States!", ["United States"], True),
        (" united   states", ["The United States of America", "United States"], True),
        (" He was a politician.", ["politician"], True),
        (" He was a politicians' friend.", ["politician"], False),  # whole words only
        (" Parisian food.", ["Paris"], False),
        (" Jane Austen wrote it.", ["Austen"], True),
        (" Austen, Jane.", ["Jane Austen"], False),  # consecutive words in order
        (" the", ["The"], False),  # an alias of articles only never matches
        (" It is rock-and-roll.", ["rock and roll"], True),  # punctuation becomes space
        (" An Oryol native.", ["oryol"], True),
        (" Nothing here.", ["Hitch", "Alfred Hitchcock"], False),
        (" Hitchcock.", ["Hitch"], False),
        (" José Martí wrote it.", ["Jose Marti"], True),  # accents dropped (NFKD)
        (" Jose Marti.", ["José Martí"], True),
        (" It was O\u2019Brien\u2019s.", ["O'Brien's"], True),  # curly apostrophe
        (" From 1939\u20131945.", ["1939-1945"], True),  # en dash
        (" \u00abParis\u00bb, surely.", ["Paris"], True),  # guillemets
        (" \u201cThe Beatles\u201d", ["Beatles"], True),  # curly quotes
        (" STRAẞE", ["strasse"], True),  # case folding
        (" Zoe.", ["Zoë"], True),
        (" Zoology.", ["Zoë"], False),
    ],
)
def test_alias_match_cases(text, aliases, expected):
    assert alias_match(text, aliases) is expected


def test_normalize_answer_drops_case_punctuation_articles():
    assert normalize_answer("The Fab-Four, an A.B. band") == ["fab", "four", "b", "band"]


def test_normalize_answer_unicode():
    assert normalize_answer("Ça, c\u2019est l\u2019été \u2014 São Paulo") == [
        "ca",
        "c",
        "est",
        "l",
        "ete",
        "sao",
        "paulo",
    ]


def test_answers_labeler_labels_by_prefix_text(tmp_path):
    rows = [
        {"prefix_id": "q1", "text": "Capital of France?", "answers": ["Paris"]},
        {"prefix_id": "q2", "text": "Author?", "answers": ["Jane Austen", "Austen"]},
    ]
    labeler = answers_labeler(rows, tmp_path / "prefixes.jsonl")
    assert labeler("Capital of France?", [" Paris.", " Lyon."]) == {"correct": ["correct", "wrong"]}
    assert labeler("Author?", [" Miss Austen!"]) == {"correct": ["correct"]}


@pytest.mark.parametrize("answers", [None, [], ["ok", ""], "Paris", [3]])
def test_answers_labeler_refuses_bad_answers(tmp_path, answers):
    rows = [{"prefix_id": "q1", "text": "a", "answers": ["x"]}, {"prefix_id": "q2", "text": "b"}]
    rows[1]["answers"] = answers
    with pytest.raises(InputError, match=r"prefixes.jsonl: row 2: .*'answers'"):
        answers_labeler(rows, tmp_path / "prefixes.jsonl")

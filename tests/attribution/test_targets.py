"""Spans and target positions against brute force."""

import random

import pytest

from motif_discovery.attribution.targets import (
    pooling_weights,
    shared_prefix_lengths,
    span_start,
    target_rows,
)


def brute_shared(continuations):
    def common(a, b):
        n = 0
        while n < min(len(a), len(b)) and a[n] == b[n]:
            n += 1
        return n

    return [
        max((common(c, d) for j, d in enumerate(continuations) if j != i), default=0)
        for i, c in enumerate(continuations)
    ]


def test_shared_prefix_lengths_match_brute_force():
    rng = random.Random(0)
    for _ in range(50):
        conts = [[rng.randrange(3) for _ in range(rng.randrange(1, 6))] for _ in range(12)]
        assert shared_prefix_lengths(conts) == brute_shared(conts)
    assert shared_prefix_lengths([[5, 6]]) == [0]


@pytest.mark.parametrize(
    ("span", "shared", "expected"),
    [
        ("full", 3, 0),
        ("lcs_plus_one", 3, 2),
        ("lcs_plus_one", 0, 0),
        ("post_lcs", 3, 3),
        ("post_lcs", 5, 4),
    ],
)
def test_span_start(span, shared, expected):
    assert span_start(5, shared, span) == expected


def test_rows_read_the_predicting_position():
    conts = [[10, 11, 12], [10, 13]]
    rows = target_rows(conts, 4, [0, 1], pooling="mean", position_shift=0)
    assert [(r.owner, r.positions, r.tokens, r.weights) for r in rows] == [
        (0, (3, 4, 5), (10, 11, 12), (1 / 3,) * 3),
        (1, (4,), (13,), (1.0,)),
    ]
    shifted = target_rows(conts, 4, [0, 1], pooling="sum", position_shift=1)
    assert shifted[0].positions == (4, 5, 6) and shifted[0].weights == (1.0,) * 3
    per_token = target_rows(conts, 4, [0, 1], pooling="max", position_shift=0)
    assert [(r.owner, r.positions, r.weights) for r in per_token] == [
        (0, (3,), (1.0,)),
        (0, (4,), (1.0,)),
        (0, (5,), (1.0,)),
        (1, (4,), (1.0,)),
    ]


def test_pooling_weights():
    assert pooling_weights("mean", [0.5, 0.0, 2.0]) == [1 / 3] * 3
    assert pooling_weights("sum", [0.5, 0.0]) == [1.0, 1.0]
    assert pooling_weights("surprisal", [0.5, 0.0, 1.5]) == [0.25, 0.0, 0.75]
    assert pooling_weights("surprisal", [0.0, 1e-9]) == [0.5, 0.5]  # no choice in the span
    rows = target_rows(
        [[7, 8]], 3, [0], pooling="surprisal", position_shift=0, surprisal=[[1.0, 3.0]]
    )
    assert [(r.positions, r.weights) for r in rows] == [((2, 3), (0.25, 0.75))]
    with pytest.raises(ValueError, match="needs each continuation's token surprisals"):
        target_rows([[7]], 3, [0], pooling="surprisal", position_shift=0)

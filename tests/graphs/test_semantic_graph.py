"""Stage 6 formulas against brute-force loops over motifs, sources and positions."""

from collections import Counter

import numpy as np
import pytest
import torch

from motif_discovery.graphs.semantic_graph import (
    kind_mass,
    label_counts,
    normalized_p,
    soft_membership,
    token_scores,
    top_feature_columns,
    top_members,
)

KINDS = ("feature", "error", "token")


@pytest.fixture
def centres():
    """H [K=4, d_a=30] with an all-zero column, a motif that is zero in a column, and ties;
    a source table (kind, position) over P = 7 positions (position 5 has no source)."""
    rng = np.random.default_rng(0)
    H = rng.normal(size=(4, 30))
    H[:, 3] = 0.0  # every motif 0: sigma undefined there -> 0
    H[2, 7] = 0.0
    H[0, 10] = H[0, 11] = 9.0  # |H| ties among feature columns (the largest of row 0)
    H[0, 12] = -9.0
    kinds = [KINDS[i] for i in rng.integers(0, 3, size=30)]
    for j in (10, 11, 12):
        kinds[j] = "feature"
    positions = [int(p) for p in rng.choice([0, 1, 2, 3, 4, 6], size=30)]
    return torch.tensor(H, dtype=torch.float32), kinds, positions


def test_soft_membership_matches_loops(centres):
    H, _, _ = centres
    sigma = soft_membership(H).numpy()
    K, d_a = H.shape
    for j in range(d_a):
        total = sum(abs(float(H[c, j])) for c in range(K))
        for c in range(K):
            expected = abs(float(H[c, j])) / total if total > 0 else 0.0
            assert sigma[c, j] == pytest.approx(expected, rel=1e-6, abs=1e-7)
    sums = sigma.sum(axis=0)
    assert np.allclose(np.delete(sums, 3), 1.0, atol=1e-6)
    assert sums[3] == 0.0 and sigma[2, 7] == 0.0


def test_token_scores_are_per_position_sums(centres):
    H, _, positions = centres
    P = 7
    scores = token_scores(H, positions, P).numpy()
    assert scores.shape == (4, P)
    for c in range(4):
        for t in range(P):
            expected = sum(abs(float(H[c, j])) for j in range(30) if positions[j] == t)
            assert scores[c, t] == pytest.approx(expected, rel=1e-6, abs=1e-7)
    assert np.all(scores[:, 5] == 0.0)


def test_kind_mass_shares(centres):
    H, kinds, _ = centres
    for c in range(4):
        row = [abs(float(x)) for x in H[c]]
        mass = kind_mass(H[c], kinds)
        for kind in KINDS:
            expected = sum(v for v, k in zip(row, kinds, strict=True) if k == kind) / sum(row)
            assert mass[kind] == pytest.approx(expected, rel=1e-9)
        assert sum(mass.values()) == pytest.approx(1.0)
    assert kind_mass(torch.zeros(30), kinds) == dict.fromkeys(KINDS, 0.0)


@pytest.mark.parametrize("n", [1, 2, 3, 5, 100])
def test_top_features_are_largest_feature_columns(centres, n):
    H, kinds, _ = centres
    for c in range(4):
        features = [j for j in range(30) if kinds[j] == "feature"]
        expected = sorted(features, key=lambda j: (-abs(float(H[c, j])), j))[:n]
        assert top_feature_columns(H[c], kinds, n) == expected
    assert top_feature_columns(H[0], kinds, 3)[:3] == [10, 11, 12]  # ties in column order


def test_top_features_without_feature_sources():
    assert top_feature_columns(torch.ones(4), ["error", "token", "error", "token"], 3) == []


def test_top_members_and_normalized_p():
    p = torch.tensor([0.1, 0.4, 0.4, 0.05, 0.3, 0.4], dtype=torch.float64)
    members = torch.tensor([0, 2, 3, 5, 1])
    expected = sorted(members.tolist(), key=lambda i: (-float(p[i]), i))
    assert top_members(p, members, 3) == expected[:3] == [1, 2, 5]
    assert top_members(p, members, 10) == expected
    q = normalized_p(p)
    assert float(q.sum()) == pytest.approx(1.0)
    assert float(q[4]) == pytest.approx(0.3 / 1.65)


def test_label_counts():
    labels = [0, 1, 1, 2, 0, 1, 2, 2]
    names = ["copy", "recall", "default"]
    members = torch.tensor([1, 2, 3, 4, 6, 7])
    counts = label_counts(labels, names, members)
    assert counts == dict(Counter(names[labels[i]] for i in members.tolist()))
    assert list(counts) == ["default", "recall", "copy"]  # most frequent first

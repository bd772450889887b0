"""Stage 7c's hypotheses and figures against brute force, hand computations and scipy."""

import numpy as np
import pytest
import torch
from scipy import stats

from motif_discovery.attribution.outputs import Sources
from motif_discovery.validation.confusion import by_mechanism
from motif_discovery.validation.metrics import aggregate, changes, correlations, slope
from motif_discovery.validation.selection import (
    draw,
    hypotheses,
    medoid,
    select,
    steerable,
    top_pool,
)


def brute_medoid(e, a, gamma):
    costs = []
    for i in range(len(e)):
        cost = 0.0
        for j in range(len(e)):
            l2 = sum((x - y) ** 2 for x, y in zip(e[i], e[j], strict=True)) ** 0.5
            l1 = sum(abs(x - y) for x, y in zip(a[i], a[j], strict=True))
            cost += gamma * l2 + (1 - gamma) * l1
        costs.append(cost)
    return costs.index(min(costs))


@pytest.mark.parametrize("gamma", [0.0, 0.3, 0.5, 1.0])
def test_medoid_is_the_brute_force_argmin(gamma):
    rng = np.random.default_rng(3)
    for n in (1, 2, 7, 15):
        e = rng.normal(size=(n, 4))
        a = rng.normal(size=(n, 6)) * rng.integers(0, 2, size=(n, 6))
        assert medoid(torch.tensor(e), torch.tensor(a), gamma) == brute_medoid(e, a, gamma)


def sources_of(kinds, positions):
    return Sources(
        kind=list(kinds),
        layer=[0 if k == "feature" else None for k in kinds],
        position=list(positions),
        feature=list(range(len(kinds))),
    )


def test_pool_sign_filter_and_top_B_by_hand():
    kinds = ["feature", "feature", "error", "feature", "token", "feature", "feature", "feature"]
    positions = [3, 0, 2, 1, 1, 4, 2, 5]
    H_c = torch.tensor([0.5, 9.0, -8.0, -0.7, 7.0, 0.1, -0.3, 0.0])
    allowed = steerable(sources_of(kinds, positions))
    # column 1: position 0; 2 and 4: not features; 7: H_c = 0 -> never a candidate
    assert allowed.tolist() == [True, False, False, True, False, True, True, True]
    pool = top_pool(H_c, allowed, size=4)  # |H_c|: 3 (0.7), 0 (0.5), 6 (0.3), 5 (0.1)
    assert pool.tolist() == [3, 0, 6, 5]
    assert top_pool(H_c, allowed, size=2).tolist() == [3, 0]
    assert select(pool, H_c, "full", 2).tolist() == [3, 0]
    assert select(pool, H_c, "positive", 2).tolist() == [0, 5]
    assert select(pool, H_c, "negative", 5).tolist() == [3, 6]
    assert select(pool[[1, 3]], H_c, "negative", 2).tolist() == []


def test_methods_hypotheses_by_hand():
    rng = np.random.default_rng(0)
    n, d = 12, 8
    e = torch.tensor(rng.normal(size=(n, 3)))
    a_raw = torch.tensor(rng.normal(size=(n, d)))
    a = torch.tensor(rng.normal(size=(n, d)))
    p = torch.tensor(rng.uniform(0.1, 1.0, size=n))
    assign = np.array([0, 0, 1, 1, 1, 0, 2, 1, 0, 0, 1, 1])  # motif 2 has one member
    km = np.array([1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0])
    allowed = np.ones(d, bool)
    active = np.array([True] * 6 + [False] * 2)
    common = dict(
        assign=assign, e=e, a_raw=a_raw, a=a, p=p, gamma=0.5, km_assign=km,
        active=active, allowed=allowed, pool_size=4, seed=42,
    )  # fmt: skip
    rd = hypotheses("RD", **common)
    assert [h.motif for h in rd] == [0, 1, 2]
    for h in rd:
        members = np.flatnonzero(assign == h.motif)
        best = members[brute_medoid(e[members].tolist(), a_raw[members].tolist(), 0.5)]
        assert torch.equal(h.H_c, a_raw[best])
        assert h.pool.tolist() == list(np.argsort(-np.abs(a_raw[best].numpy()))[:4])
    assert rd[2].members.tolist() == [6]
    km_hyps = hypotheses("KM-Sem", **common)
    for h in km_hyps:
        members = np.flatnonzero(km == h.motif)
        for col in range(d):  # P-weighted median, checked as the minimizer of sum w |x - m|
            x, w = a[members, col].numpy(), p[members].numpy()
            cost = [np.sum(w * np.abs(x - m)) for m in x]
            assert np.sum(w * np.abs(x - float(h.H_c[col]))) == pytest.approx(min(cost))
    single = hypotheses("Single", **common)
    for h, r in zip(single, rd, strict=True):  # docs: seeded by (validation.seed, motif id)
        chosen = np.random.default_rng([42, r.motif]).choice(r.members)
        assert torch.equal(h.H_c, a_raw[chosen]) and np.array_equal(h.members, r.members)
    control = hypotheses("random", **common)
    for h, r in zip(control, rd, strict=True):
        assert set(h.pool) <= set(range(6)) and len(h.pool) == 4
        assert h.pool.tolist() == list(np.random.default_rng([42, r.motif]).permutation(6)[:4])
        assert torch.equal(h.H_c, r.H_c)  # signs of the RD medoid
    # every motif has the same eligible set (columns 0-5), yet its own random draw
    pools = [tuple(h.pool) for h in control]
    assert len(set(pools)) == len(pools)


def test_draw_is_seeded_and_without_replacement():
    items = np.arange(100, 130)
    first = draw(items, 10, seed=42)
    assert len(set(first)) == 10 and set(first) <= set(items)
    assert np.array_equal(first, draw(items, 10, seed=42))
    assert np.array_equal(draw(items[:5], 10, seed=1), items[:5])


def test_correlations_match_scipy_with_ties_and_flag_constant():
    eps = [-1.0, -0.5, -0.1, 0.1, 0.5, 1.0]
    response = [-0.4, -0.1, -0.1, 0.2, 0.2, 0.15]  # ties
    got = correlations(eps, response)
    pearson, spearman = stats.pearsonr(eps, response), stats.spearmanr(eps, response)
    assert got["pearson"] == pytest.approx(pearson.statistic)
    assert got["pearson_p"] == pytest.approx(pearson.pvalue)
    assert got["spearman"] == pytest.approx(spearman.statistic)
    assert got["spearman_p"] == pytest.approx(spearman.pvalue)
    # Spearman by hand: Pearson of the average ranks
    ranks = [1, 2.5, 2.5, 5.5, 5.5, 4]
    assert got["spearman"] == pytest.approx(np.corrcoef(range(6), ranks)[0, 1])
    assert got["usable"] and got["reason"] is None
    flat = correlations(eps, [0.25] * 6)
    assert not flat["usable"] and flat["reason"] == "constant response"
    assert flat["spearman"] is None


def test_changes_and_slope():
    steered = np.array([[1.0, 3.0], [2.0, 2.0], [5.0, 7.0]])
    assert changes(steered, np.array([1.0, 1.0])) == [1.0, 1.0, 5.0]
    x, y = [-1, 0, 2, 3], [1.0, 2.0, 2.5, 5.0]
    assert slope(x, y) == pytest.approx(np.polyfit(x, y, 1)[0])


def row(method, spearman, usable=True):
    return {
        "method": method, "beta": 1.0, "gamma": 0.5, "selection": "full", "B": 5,
        "spearman": spearman if usable else None, "pearson": spearman if usable else None,
        "usable": usable,
    }  # fmt: skip


def test_aggregate_means_over_motifs_then_prefixes():
    rows = {
        "p1": [row("RD", 0.6), row("RD", 0.2), row("RD", None, usable=False)],
        "p2": [row("RD", -0.2)],
        "p3": [row("RD", None, usable=False)],
    }
    (got,) = aggregate(rows)
    assert got["spearman"] == pytest.approx((0.4 + -0.2) / 2)  # p3 has no usable motif
    assert got["spearman_unusable_as_0"] == pytest.approx((0.8 / 3 - 0.2 + 0.0) / 3)
    assert (got["prefixes"], got["motifs"], got["unusable"]) == (3, 5, 2)


def test_by_mechanism_pools_families():
    entries = [
        {"family": "copy_export", "slopes": {"copy_export": 1.0, "recall_export": 0.0}},
        {"family": "copy_capital", "slopes": {"copy_export": 3.0, "recall_export": 2.0}},
        {"family": "recall_export", "slopes": None},
    ]
    assert by_mechanism(entries) == {"copy": {"copy": 2.0, "recall": 1.0}}

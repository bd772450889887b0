"""Stage 7a's measures against brute-force numpy loops and scipy (no model)."""

import itertools

import numpy as np
import pytest
import torch
from scipy.special import rel_entr, softmax
from scipy.stats import pearsonr

from motif_discovery.attribution.outputs import Sources
from motif_discovery.validation.graph_validation import (
    ONE_MEMBER,
    compare_targets,
    motif_stability,
    replacement_figures,
    row_shares,
    sample_members,
    weighted_shares,
)


def random_sources(rng: np.random.Generator, d: int) -> Sources:
    kinds = [str(k) for k in rng.choice(["feature", "error", "token"], size=d)]
    kinds[:3] = ["feature", "error", "token"]  # every kind present
    return Sources(kinds, [0] * d, [1] * d, [None] * d)


def brute_shares(a: np.ndarray, kinds: list[str], p: np.ndarray, rows) -> dict:
    out = {"signed": {}, "absolute": {}}
    for kind in ("feature", "error", "token"):
        num_s = num_a = den = 0.0
        for n in rows:
            total = sum(a[n, j] for j in range(a.shape[1]))
            total_abs = sum(abs(a[n, j]) for j in range(a.shape[1]))
            mine = sum(a[n, j] for j in range(a.shape[1]) if kinds[j] == kind)
            mine_abs = sum(abs(a[n, j]) for j in range(a.shape[1]) if kinds[j] == kind)
            num_s += p[n] * mine / total
            num_a += p[n] * mine_abs / total_abs
            den += p[n]
        out["signed"][kind] = num_s / den
        out["absolute"][kind] = num_a / den
    return out


def test_shares_match_a_numpy_brute_force():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 14)) + 0.3
    p = rng.uniform(0.01, 1.0, size=30)
    sources = random_sources(rng, 14)
    shares = row_shares(torch.tensor(a, dtype=torch.float32), sources)
    for rows in (list(range(30)), [1, 4, 5, 17, 29]):
        got = weighted_shares(shares, torch.tensor(p), torch.tensor(rows))
        expected = brute_shares(a.astype(np.float32).astype(np.float64), sources.kind, p, rows)
        for measure in ("signed", "absolute"):
            for kind in ("feature", "error", "token"):
                assert got[measure][kind] == pytest.approx(expected[measure][kind], rel=1e-9)
    # absolute shares of a row sum to 1
    total = sum(shares["absolute"][k] for k in ("feature", "error", "token"))
    assert torch.allclose(total, torch.ones(30, dtype=torch.float64))


def test_a_row_summing_to_zero_is_left_out_of_the_signed_mean_and_counted():
    a = torch.tensor([[1.0, -1.0, 0.0], [2.0, 1.0, 1.0]])
    sources = Sources(["feature", "error", "token"], [0, 0, None], [1, 1, 1], [0, None, None])
    got = weighted_shares(row_shares(a, sources), torch.tensor([0.5, 0.25]), torch.arange(2))
    assert got["signed"]["n_undefined"] == 1
    assert got["signed"]["feature"] == pytest.approx(0.5)
    assert "n_undefined" not in got["absolute"]
    assert got["absolute"]["feature"] == pytest.approx((0.5 * 0.5 + 0.25 * 0.5) / 0.75)


def brute_weighted_median(x: np.ndarray, w: np.ndarray) -> np.ndarray:
    """Per column, a minimizer of sum_n w_n |x_n - m| over the column's values."""
    out = []
    for col in x.T:
        costs = [sum(wi * abs(xi - m) for xi, wi in zip(col, w, strict=True)) for m in col]
        out.append(col[int(np.argmin(costs))])
    return np.array(out)


def cos(u: np.ndarray, v: np.ndarray) -> float:
    return float(np.dot(u, v) / (np.linalg.norm(u) * np.linalg.norm(v)))


def l1_mean(a: np.ndarray, centre: np.ndarray, w: np.ndarray) -> float:
    return sum(wi * np.abs(row - centre).sum() for row, wi in zip(a, w, strict=True)) / w.sum()


def test_stability_matches_a_brute_force_pairwise_loop():
    rng = np.random.default_rng(1)
    assign = np.array([0] * 6 + [1] * 9 + [2] * 1)
    rng.shuffle(assign)
    n, d = len(assign), 7
    a_raw = rng.normal(size=(n, d)) + assign[:, None]
    a = rng.normal(size=(n, d)) * 0.5 + assign[:, None]
    p = rng.uniform(0.05, 1.0, size=n)
    mu_a = np.stack([np.median(a[assign == c], axis=0) for c in range(3)])
    got = motif_stability(
        torch.tensor(a_raw),
        torch.tensor(a),
        torch.tensor(p),
        torch.tensor(assign),
        torch.tensor(mu_a),
        cap=200,
        seed=0,
    )
    median = brute_weighted_median(a, p)
    for c, row in enumerate(got):
        members = np.flatnonzero(assign == c)
        others = np.flatnonzero(assign != c)
        assert row["motif"] == c and row["size"] == len(members) == row["sampled"]
        pairs = [cos(a_raw[i], a_raw[j]) for i, j in itertools.combinations(members, 2)]
        if pairs:
            assert row["within"] == pytest.approx(np.mean(pairs), rel=1e-9)
        else:
            assert row["within"] is None and row["note"] == ONE_MEMBER
        between = [cos(a_raw[i], a_raw[j]) for i in members for j in others]
        assert row["between"] == pytest.approx(np.mean(between), rel=1e-9)
        w = p[members]
        expected = l1_mean(a[members], mu_a[c], w) / l1_mean(a[members], median, w)
        assert row["relative_l1"] == pytest.approx(expected, rel=1e-9)


def test_member_sampling_caps_each_motif_and_depends_on_the_seed_only():
    assign = torch.tensor([0] * 50 + [1] * 3)
    first = sample_members(assign, 2, cap=10, seed=3)
    again = sample_members(assign, 2, cap=10, seed=3)
    other = sample_members(assign, 2, cap=10, seed=4)
    assert len(first[0]) == 10 and set(first[0]) <= set(range(50))
    assert list(first[0]) == sorted(set(first[0]))
    assert list(first[1]) == [50, 51, 52]
    assert all((x == y).all() for x, y in zip(first, again, strict=True))
    assert not (first[0] == other[0]).all()


def test_target_comparison_matches_scipy():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(12, 9)) * 3
    replaced = real + rng.normal(size=(12, 9)) * 0.7
    tokens = rng.integers(0, 9, size=12)
    cmp = compare_targets(torch.tensor(real), torch.tensor(replaced), torch.tensor(tokens))
    kl = rel_entr(softmax(real, axis=1), softmax(replaced, axis=1)).sum(1)
    assert np.allclose(cmp.kl.numpy(), kl, atol=1e-12)
    c_real = real[np.arange(12), tokens] - real.mean(1)
    c_repl = replaced[np.arange(12), tokens] - replaced.mean(1)
    assert np.allclose(cmp.real.numpy(), c_real) and np.allclose(cmp.replaced.numpy(), c_repl)
    figures = replacement_figures(cmp, 4)
    assert figures["n_targets"] == 12 and figures["n_continuations"] == 4
    top1 = np.mean(real.argmax(1) == replaced.argmax(1))
    assert figures["top1_agreement"] == pytest.approx(top1)
    assert figures["kl_mean"] == pytest.approx(kl.mean())
    assert figures["centred_logit_mae"] == pytest.approx(np.abs(c_real - c_repl).mean())
    assert figures["centred_logit_pearson"] == pytest.approx(pearsonr(c_real, c_repl)[0])

"""Skewed weights (LM probabilities span 1e-10..1) and a change of weights on the same data."""

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from motif_discovery.clustering.em_loop import fit_rd
from motif_discovery.clustering.median_index import MedianIndex
from tests.planted import planted


def lm_like_weights(rng, n):
    """P_n like exp(mean log-prob) of sampled continuations: many orders of magnitude."""
    return np.exp(-12 * rng.random(n)) ** 2


@settings(max_examples=30, deadline=None)
@given(n=st.integers(4, 300), seed=st.integers(0, 10_000), light=st.sampled_from([1e-7, 1e-5]))
def test_split_medians_with_a_very_light_half(n, seed, light):
    """The light half's medians are exact minimizers in float32 data (brute force)."""
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(n, 5)).astype(np.float32)
    half = rng.random(n) < 0.5
    half[0], half[-1] = True, False
    w = rng.random(n) * np.where(half, 1.0, light)
    index = MedianIndex(torch.from_numpy(a))
    got = index.split_medians(index.order(torch.arange(n)), torch.tensor(w), torch.tensor(half))
    for row, mask in ((0, half), (1, ~half)):
        wh = w * mask
        for j in range(a.shape[1]):
            x = a[:, j].astype(float)
            best = min(float((wh * np.abs(x - c)).sum()) for c in x)
            mine = float((wh * np.abs(x - float(got[row, j]))).sum())
            assert mine <= best * (1 + 1e-9) + 1e-300


def data(seed):
    """Float32 views of a planted set and a local RNG for weights."""
    e, a, _, _ = planted(seed, n=240, d_e=24, d_a=96, dtype=torch.float32)
    return e, a, np.random.default_rng(seed + 1000)


def test_fit_with_lm_like_weights_in_float32():
    for seed in range(4):
        e, a, g = data(seed)
        p = torch.tensor(lm_like_weights(g, e.shape[0]), dtype=torch.float32)
        r32 = fit_rd(e, a, p, 1.0, 0.5)
        r64 = fit_rd(e.double(), a.double(), p.double(), 1.0, 0.5)
        assert np.isfinite(r32.terms.L) and r32.monotone
        assert abs(r32.terms.L - r64.terms.L) <= 1e-4 * abs(r64.terms.L)


def test_new_weights_on_the_same_tensors_match_a_fresh_fit():
    """Work cached for one P is never reused for another P on the same e, a."""
    e, a, g = data(7)
    p1 = torch.tensor(g.random(e.shape[0]) + 0.1, dtype=torch.float32)
    p2 = torch.tensor(lm_like_weights(g, e.shape[0]), dtype=torch.float32)
    fit_rd(e, a, p1, 1.0, 0.5)
    reused = fit_rd(e, a, p2, 1.0, 0.5)
    fresh = fit_rd(e.clone(), a.clone(), p2, 1.0, 0.5)
    assert torch.equal(reused.assign, fresh.assign)
    assert reused.terms.L == fresh.terms.L


def test_zero_weights_and_a_massless_warm_motif_stay_finite():
    """P_n = 0 is allowed; a warm-start motif of only such members never yields NaN."""
    e, a, g = data(3)
    p = torch.tensor(g.random(e.shape[0]) + 0.1, dtype=torch.float32)
    p[:20] = 0.0
    init = fit_rd(e, a, p, 1.0, 0.5)
    assign = init.assign.clone()
    assign[:20] = init.K  # a motif whose members all weigh 0
    init.assign = assign
    result = fit_rd(e, a, p, 1.0, 0.5, init=init)
    assert all(np.isfinite(h["L"]) for h in result.history)
    assert result.monotone and (result.prior > 0).all()
    assert result.terms.L <= init.terms.L + 1e-9


def test_e_step_never_picks_a_massless_motif():
    from motif_discovery.clustering.rd_objective import assign_by_cost

    cost = torch.tensor([[5.0, float("nan"), 1.0], [0.0, 0.0, 9.0]], dtype=torch.float64)
    prior = torch.tensor([0.5, 0.0, 0.5], dtype=torch.float64)
    assert assign_by_cost(cost, prior).tolist() == [2, 0]

"""rd_objective and e_step against plain numpy loops (float64)."""

import math

import numpy as np
import pytest
import torch

from motif_discovery.clustering.centres import Centres
from motif_discovery.clustering.em_loop import e_step
from motif_discovery.clustering.initialize import DatasetCache, Problem, State
from motif_discovery.clustering.median_index import MedianIndex
from motif_discovery.clustering.rd_objective import (
    attribution_distortion,
    d_gamma,
    entropy,
    l1_distances,
    rd_objective,
    semantic_distortion,
    squared_distances,
    view_weights,
)


def random_problem(seed: int, n: int = 40, de: int = 5, da: int = 7, K: int = 3):
    rng = np.random.default_rng(seed)
    e, a = rng.normal(size=(n, de)), rng.laplace(size=(n, da))
    p = rng.random(n)
    p /= p.sum()
    assign = rng.integers(0, K, n)
    assign[:K] = np.arange(K)
    mu_e, mu_a = rng.normal(size=(K, de)), rng.normal(size=(K, da))
    return e, a, p, assign, mu_e, mu_a


def brute_objective(e, a, p, assign, mu_e, mu_a, beta_e, beta_a):
    K = mu_e.shape[0]
    prior = [sum(p[n] for n in range(len(p)) if assign[n] == k) for k in range(K)]
    H = -sum(q * math.log(q) for q in prior if q > 0)
    D_e = D_a = 0.0
    for n in range(len(p)):
        k = assign[n]
        D_e += p[n] * sum((e[n, j] - mu_e[k, j]) ** 2 for j in range(e.shape[1]))
        D_a += p[n] * sum(abs(a[n, j] - mu_a[k, j]) for j in range(a.shape[1]))
    return H + beta_e * D_e + beta_a * D_a, H, D_e, D_a


def t(x):
    return torch.as_tensor(x)


@pytest.mark.parametrize("seed", range(3))
def test_objective_matches_loops(seed):
    e, a, p, assign, mu_e, mu_a = random_problem(seed)
    terms = rd_objective(t(e), t(a), t(p), t(assign), t(mu_e), t(mu_a), 0.7, 0.3)
    L, H, D_e, D_a = brute_objective(e, a, p, assign, mu_e, mu_a, 0.7, 0.3)
    assert pytest.approx(L, abs=1e-6) == terms.L
    assert pytest.approx(H, abs=1e-6) == terms.H
    assert terms.D_e == pytest.approx(D_e, abs=1e-6)
    assert terms.D_a == pytest.approx(D_a, abs=1e-6)
    assert float(semantic_distortion(t(e), t(p), t(mu_e), t(assign))) == pytest.approx(D_e)
    assert float(attribution_distortion(t(a), t(p), t(mu_a), t(assign))) == pytest.approx(D_a)


def test_entropy_handles_empty_motifs():
    assert float(entropy(torch.tensor([0.5, 0.5, 0.0]))) == pytest.approx(math.log(2))
    assert float(entropy(torch.tensor([1.0]))) == 0.0


def test_view_weights_and_d_gamma():
    assert view_weights(2.0, 0.25, 10, 100) == (0.5, 1.5)
    be, ba = view_weights(2.0, 0.25, 10, 100, "per_dim")
    assert (be, ba) == pytest.approx((0.05, 0.015))
    assert d_gamma(2.0, 4.0, 0.25) == pytest.approx(3.5)
    with pytest.raises(ValueError, match="distortion_scale"):
        view_weights(1.0, 0.5, 1, 1, "per_coordinate")


def test_distance_matrices_match_loops():
    e, a, _, _, mu_e, mu_a = random_problem(3)
    sq = squared_distances(t(e), t(mu_e)).numpy()
    l1 = l1_distances(t(a), t(mu_a)).numpy()
    for n in range(e.shape[0]):
        for k in range(mu_e.shape[0]):
            assert sq[n, k] == pytest.approx(((e[n] - mu_e[k]) ** 2).sum(), abs=1e-9)
            assert l1[n, k] == pytest.approx(np.abs(a[n] - mu_a[k]).sum(), abs=1e-9)


@pytest.mark.parametrize("seed", range(3))
def test_e_step_matches_loops(seed):
    e, a, p, _, mu_e, mu_a = random_problem(seed, K=4)
    prior = np.array([0.1, 0.2, 0.3, 0.4])
    problem = Problem(t(e), t(a), t(p), 0.8, 0.4, "mean", DatasetCache(MedianIndex(t(a)), {}), 0, 3)
    De, Da = squared_distances(t(e), t(mu_e)), l1_distances(t(a), t(mu_a))
    state = State(
        torch.zeros(len(e), dtype=torch.long), Centres(t(mu_e), t(mu_a), t(prior)), De, Da
    )
    # the fit's one E-step, from the state's distance matrices
    got = e_step(problem, state).numpy()
    for n in range(e.shape[0]):
        scores = [
            -math.log(prior[k])
            + 0.8 * ((e[n] - mu_e[k]) ** 2).sum()
            + 0.4 * np.abs(a[n] - mu_a[k]).sum()
            for k in range(4)
        ]
        assert got[n] == int(np.argmin(scores))


@pytest.mark.parametrize("size", [3, 10, 15])
def test_rows_products_in_every_mode(size, monkeypatch):
    """Whole, gathered, chunked and masked member rows give the same products."""
    import motif_discovery.clustering.rd_objective as ro

    monkeypatch.setattr(ro, "MATERIALIZE_ELEMENTS", 0)
    monkeypatch.setattr(ro, "MATERIALIZE_SHARE", 0.0)
    monkeypatch.setattr(ro, "CHUNK_ELEMENTS", 8)
    rng = np.random.default_rng(size)
    x = rng.normal(size=(20, 4))
    members = np.sort(rng.choice(20, size, replace=False))
    R = ro.Rows(t(x), t(members))
    assert R.masked == (3 * size >= 20)
    v, u = rng.normal(size=(4, 2)), rng.normal(size=(size, 2))
    np.testing.assert_allclose(R.matvec(t(v)).numpy(), x[members] @ v, rtol=1e-12)
    np.testing.assert_allclose(R.rmatvec(t(u)).numpy(), x[members].T @ u, rtol=1e-12)
    c = rng.normal(size=(3, 4))
    want = np.abs(x[members][:, None] - c[None]).sum(2)
    np.testing.assert_allclose(R.l1(t(c)).numpy(), want, rtol=1e-12)


def test_one_motif_has_zero_rate_even_when_rounding_lifts_its_prior_above_one():
    """float32 weights normalized to sum 1 can sum to 1 + 4e-9 in float64: H stays 0."""
    from motif_discovery.clustering.em_loop import fit_rd
    from motif_discovery.clustering.inputs import validate_inputs

    for seed in range(100):
        g = torch.Generator().manual_seed(seed)
        p = torch.rand(500, generator=g) + 0.01
        e, a = torch.ones(500, 2), torch.ones(500, 3)
        if float(validate_inputs(e, a, p)[2].double().sum()) > 1.0:
            break
    else:
        pytest.fail("no float32 weights with a normalized sum above 1 found")
    prior = validate_inputs(e, a, p)[2].double().sum()[None]
    assert float(-(prior * prior.log()).sum()) < 0  # the naive formula goes negative
    assert float(entropy(prior)) == 0.0
    result = fit_rd(e, a, p, 1.0, 0.5)
    assert result.K == 1 and result.terms.H == 0.0
    assert all(h["H"] == 0.0 for h in result.history)


def test_l1_distances_to_sparse_centres_match_loops():
    """Centres that vanish off a few columns take the sparse route; same distances."""
    rng = np.random.default_rng(5)
    a = rng.laplace(size=(30, 40)) * (rng.random((30, 40)) < 0.3)
    mu = np.zeros((3, 40))
    mu[:, [2, 7, 11]] = rng.normal(size=(3, 3))
    got = l1_distances(t(a), t(mu)).numpy()
    want = np.abs(a[:, None, :] - mu[None]).sum(2)
    np.testing.assert_allclose(got, want, rtol=1e-12)
    zero = l1_distances(t(a), t(mu * 0)).numpy()
    np.testing.assert_allclose(zero, np.repeat(np.abs(a).sum(1)[:, None], 3, 1), rtol=1e-12)

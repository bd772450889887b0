"""M-step centres are true minimizers: brute-force scans, numpy, scipy.optimize."""

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.optimize import minimize_scalar

from motif_discovery.clustering.centres import m_step, weighted_mean, weighted_median
from motif_discovery.clustering.median_index import MedianIndex


def l1_cost(x, w, m):
    return (w * np.abs(x - m)).sum()


def assert_median_optimal(x, w, m):
    """m minimizes sum_n w_n |x_n - m| per column: compare with every data point
    (the optimum is always attained at one) and with scipy's bounded minimizer."""
    for j in range(x.shape[1]):
        best = min(l1_cost(x[:, j], w, c) for c in x[:, j])
        got = l1_cost(x[:, j], w, m[j])
        assert got <= best + 1e-9 * max(1.0, best)
        res = minimize_scalar(
            lambda c, j=j: l1_cost(x[:, j], w, c),
            bounds=(x[:, j].min(), x[:, j].max()),
            method="bounded",
        )
        assert got <= res.fun + 1e-9


@settings(max_examples=40, deadline=None)
@given(
    n=st.integers(1, 30),
    d=st.integers(1, 4),
    seed=st.integers(0, 10_000),
    ties=st.booleans(),
    zeros=st.booleans(),
)
def test_weighted_median_is_minimizer(n, d, seed, ties, zeros):
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 4, (n, d)).astype(float) if ties else rng.normal(size=(n, d))
    w = rng.random(n)
    if zeros:
        w[rng.random(n) < 0.3] = 0.0
    if w.sum() == 0:
        w[0] = 1.0
    m = weighted_median(torch.tensor(x), torch.tensor(w)).numpy()
    assert_median_optimal(x, w, m)
    index = MedianIndex(torch.tensor(x))
    motif = index.order(torch.arange(n))
    fast = index.medians(motif, torch.tensor(w)[None])[0].numpy()
    assert_median_optimal(x, w, fast)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(2, 300), seed=st.integers(0, 10_000), ties=st.booleans())
def test_split_medians_match_brute_force(n, seed, ties):
    rng = np.random.default_rng(seed)
    N, d = n + 5, 3
    a = rng.integers(0, 3, (N, d)).astype(float) if ties else rng.normal(size=(N, d))
    members = np.sort(rng.choice(N, n, replace=False))
    w = rng.random(n)
    half = rng.random(n) < 0.5
    half[0], half[-1] = True, False
    index = MedianIndex(torch.tensor(a))
    motif = index.order(torch.tensor(members))
    got = index.split_medians(motif, torch.tensor(w), torch.tensor(half)).numpy()
    x = a[members]
    assert_median_optimal(x, w * half, got[0])
    assert_median_optimal(x, w * ~half, got[1])


def test_weighted_mean_matches_numpy():
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=(20, 6)), rng.random(20)
    got = weighted_mean(torch.tensor(x), torch.tensor(w)).numpy()
    np.testing.assert_allclose(got, np.average(x, axis=0, weights=w), rtol=1e-12)


@pytest.mark.parametrize("semantic_center", ["mean", "spherical"])
def test_m_step_per_motif(semantic_center):
    rng = np.random.default_rng(1)
    e, a, p = rng.normal(size=(50, 4)), rng.laplace(size=(50, 6)), rng.random(50)
    assign = rng.integers(0, 3, 50)
    c = m_step(
        torch.tensor(e), torch.tensor(a), torch.tensor(p), torch.tensor(assign), 3, semantic_center
    )
    for k in range(3):
        mk = assign == k
        mean = np.average(e[mk], axis=0, weights=p[mk])
        if semantic_center == "spherical":
            mean /= np.linalg.norm(mean)
        np.testing.assert_allclose(c.mu_e[k].numpy(), mean, rtol=1e-10)
        assert_median_optimal(a[mk], p[mk], c.mu_a[k].numpy())
        assert float(c.prior[k]) == pytest.approx(p[mk].sum())


def test_partly_cached_orders_match(monkeypatch):
    """Column chunks and per-call sorting of columns beyond the cache budget change nothing."""
    import motif_discovery.clustering.median_index as mi

    rng = np.random.default_rng(5)
    a = torch.tensor(rng.normal(size=(70, 9)))
    members = torch.tensor(np.sort(rng.choice(70, 41, replace=False)))
    w = torch.tensor(rng.random(41))
    half = torch.tensor(rng.random(41) < 0.4)
    cached = mi.MedianIndex(a)
    want = cached.split_medians(cached.order(members), w, half)
    monkeypatch.setattr(mi, "CHUNK_ELEMENTS", 50)
    monkeypatch.setattr(mi, "MIN_CACHE_BYTES", 0)
    for share, columns in ((0.0, 0), (0.1, 5), (1.0, 9)):
        monkeypatch.setattr(mi, "CACHE_SHARE", share)
        index = mi.MedianIndex(a)
        motif = index.order(members)
        assert motif.order.columns == columns
        assert torch.equal(index.split_medians(motif, w, half), want)
        got = index.medians(motif, w[None])[0]
        assert torch.equal(got, cached.medians(cached.order(members), w[None])[0])


@pytest.mark.parametrize("n", [100, 70_000, 140_000])
def test_packed_orders_round_trip(n):
    from motif_discovery.clustering.median_index import PackedOrder

    rng = np.random.default_rng(n)
    order = rng.integers(0, n + 1, size=(3, 40))
    packed = PackedOrder.empty(n, 5, 40)
    rows = np.array([1, 2, 4])
    packed.store(rows, order)
    np.testing.assert_array_equal(packed.rows_at(rows), order)
    assert packed.filled.tolist() == [False, True, True, False, True]
    assert packed.nbytes == 5 * 40 * {100: 2, 70_000: 2, 140_000: 4}[n] + (
        5 * 5 if n == 70_000 else 0
    )


def test_torch_path_matches_presorted_path():
    """The per-call torch.sort path (used off CPU) gives the presorted path's medians."""
    rng = np.random.default_rng(7)
    a = torch.tensor(rng.normal(size=(60, 5)).round(1))
    members = torch.tensor(np.sort(rng.choice(60, 33, replace=False)))
    w, half = torch.tensor(rng.random(33)), torch.tensor(rng.random(33) < 0.5)
    fast = MedianIndex(a)
    plain = MedianIndex(a)
    plain.on_cpu = False
    want = fast.split_medians(fast.order(members), w, half)
    torch.testing.assert_close(plain.split_medians(plain.order(members), w, half), want)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 30), seed=st.integers(0, 10_000))
def test_one_crossing_rule_for_medians_and_median_cuts(n, seed):
    """The medians (torch and blocked numpy) and the split proposals' median cut all use
    crossing(); it gives the first sorted position whose running weight reaches half."""
    from motif_discovery.clustering.adaptive_control import cut_at_weighted_median
    from motif_discovery.clustering.median_index import crossing

    rng = np.random.default_rng(seed)
    w = rng.random(n) * (rng.random(n) < 0.8) + 1e-12
    running = np.cumsum(w)
    half = running[-1] / 2
    first = next(i for i in range(n) if running[i] >= half) if running[-1] >= half else n - 1
    assert int(crossing(running, half, n - 1)) == first
    assert int(crossing(torch.tensor(running), half, n - 1)) == first
    x = rng.normal(size=n)
    if n > 1 and len(set(x.tolist())) == n:
        half_mask = cut_at_weighted_median(torch.tensor(x), torch.tensor(w))
        threshold = np.sort(x)[crossing(np.cumsum(w[np.argsort(x)]), half, n - 1)]
        want = x <= threshold
        if 0 < want.sum() < n:
            np.testing.assert_array_equal(half_mask.numpy(), want)


@pytest.mark.parametrize("seed", range(4))
def test_medians_of_sparse_attributions_skip_no_nonzero_median(seed):
    """On mostly-zero data (where medians skip the columns a sign count decides), every
    median and split median equals the plain sort-based weighted median."""
    rng = np.random.default_rng(seed)
    n, d = 80, 300
    a = rng.laplace(size=(n, d)) * (rng.random((n, d)) < 0.15)
    a[: n // 2, :20] += 3.0  # columns where one sign holds most of the weight
    a[n // 3 :, 20:30] -= 2.0
    a = torch.tensor(a)
    index = MedianIndex(a)
    assert index.signs is not None
    w = torch.tensor(rng.lognormal(size=n) * (rng.random(n) < 0.9))
    members = torch.arange(n)
    half = torch.tensor(rng.random(n) < 0.5)
    got = index.split_medians(index.order(members), w, half)
    for row, mask in ((0, half), (1, ~half)):
        want = weighted_median(a, w * mask)
        np.testing.assert_array_equal(got[row].numpy(), want.numpy())
    subset = torch.tensor(np.sort(rng.choice(n, 37, replace=False)))
    got = index.medians(index.order(subset), w[subset][None])[0]
    np.testing.assert_array_equal(got.numpy(), weighted_median(a[subset], w[subset]).numpy())


@pytest.mark.parametrize("seed", range(3))
def test_m_step_on_sparse_attributions_matches_plain_medians(seed):
    """m_step decides the zero medians of all motifs at once (sign counts over a's
    nonzeros); every motif's median equals the plain sort-based weighted median."""
    rng = np.random.default_rng(seed)
    n, d, K = 90, 200, 4
    assign = torch.tensor(rng.integers(0, K, n))
    a = rng.laplace(size=(n, d)) * (rng.random((n, d)) < 0.1)
    a[:, :15] += 2.0 * (assign.numpy() == 1)[:, None]
    a = torch.tensor(a)
    e = torch.tensor(rng.normal(size=(n, 3)))
    p = torch.tensor(rng.lognormal(size=n))
    p = p / p.sum()
    index = MedianIndex(a)
    assert index.signs is not None
    centres = m_step(e, a, p, assign, K, index=index)
    for k in range(K):
        mask = assign == k
        want = weighted_median(a[mask], p[mask])
        np.testing.assert_array_equal(centres.mu_a[k].numpy(), want.numpy())


def test_sparse_medians_of_a_motif_too_large_to_keep_its_sign_rows(monkeypatch):
    """Above SIGN_ROWS_MAX_NONZEROS the sign counts run over row chunks; same medians."""
    import motif_discovery.clustering.median_index as mi

    monkeypatch.setattr(mi, "SIGN_ROWS_MAX_NONZEROS", 0)
    monkeypatch.setattr(mi, "CHUNK_ELEMENTS", 64)
    rng = np.random.default_rng(11)
    n, d = 70, 120
    a = rng.laplace(size=(n, d)) * (rng.random((n, d)) < 0.15)
    a[: n // 2, :10] += 3.0
    a = torch.tensor(a)
    index = MedianIndex(a)
    w = torch.tensor(rng.lognormal(size=n))
    half = torch.tensor(rng.random(n) < 0.4)
    for members in (torch.arange(n), torch.tensor(np.sort(rng.choice(n, 40, replace=False)))):
        motif = index.order(members)
        got = index.split_medians(motif, w[members], half[members])
        assert motif.signs is None
        for row, mask in ((0, half[members]), (1, ~half[members])):
            want = weighted_median(a[members], w[members] * mask)
            np.testing.assert_array_equal(got[row].numpy(), want.numpy())

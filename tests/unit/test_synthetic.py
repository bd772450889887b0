"""The synthetic generator: shapes, stage-4 preprocessing checked with numpy, seeds, files."""

import numpy as np
import pytest
import torch

from motif_discovery.data.synthetic import (
    SyntheticParams,
    active_count,
    generate_synthetic,
    motif_table,
    sample_planted,
)
from motif_discovery.utils.errors import InputError

SMALL = SyntheticParams(n=120, d_e=48, d_a=600, n_meanings=3, n_active=40, n_spurious=20)


def l1_cost(x: np.ndarray, w: np.ndarray, m: np.ndarray) -> np.ndarray:
    """sum_n w_n |x_nj - m_j| per column j (float64)."""
    return (w[:, None] * np.abs(x - m[None, :])).sum(0)


@pytest.mark.parametrize("setting", ["easy", "crossed"])
def test_default_shapes_norms_and_labels(setting):
    fs = generate_synthetic(SyntheticParams(setting=setting), seed=3)
    n = 500
    assert fs.e.shape == (n, 768) and fs.a.shape == (n, 8192)
    assert fs.p.shape == (n,) and fs.H_0.shape == (8192,)
    assert fs.e.dtype == fs.a.dtype == torch.float32
    np.testing.assert_allclose(fs.e.double().norm(dim=1).numpy(), 1.0, atol=1e-5)
    assert (fs.p > 0).all()
    # the centred, scaled view has mean squared norm 1 by construction of s
    assert float(fs.a.double().square().sum(1).mean()) == pytest.approx(1.0, rel=1e-5)
    # sparse-ish: most coordinates of a row are exactly zero (H_0 is zero off the patterns)
    assert float((fs.a != 0).float().mean()) < 0.05
    table = motif_table(setting, 4)
    motif = np.array(fs.labels["motif"])
    assert sorted(set(motif.tolist())) == list(range(len(table)))
    for name, col in (("semantic", 0), ("mechanism", 1)):
        np.testing.assert_array_equal(fs.labels[name], [table[k][col] for k in motif])
    assert len(fs.continuation_ids) == len(set(fs.continuation_ids)) == n


def test_crossed_table_needs_both_views():
    """Each meaning and each mechanism is shared by exactly two motifs; no pair repeats."""
    for m in (2, 3, 5):
        table = motif_table("crossed", m)
        assert len(table) == 2 * m == len(set(table))
        for col in (0, 1):
            counts = np.bincount([t[col] for t in table])
            assert counts.tolist() == [2] * m
    assert motif_table("easy", 3) == [(0, 0), (1, 1), (2, 2)]


def test_h0_is_weighted_median_and_scale_as_defined():
    """H_0 minimizes sum_n P_n |a_nj - m| per coordinate (checked against every data value
    of the column), s = sqrt(mean_n ||a_n - H_0||^2), a = (a_raw - H_0) / s; numpy float64."""
    seed = 5
    raw = sample_planted(SMALL, seed)
    fs = generate_synthetic(SMALL, seed=seed)
    x = raw.a_raw.astype(np.float64)
    w = raw.p.astype(np.float64)
    h_0 = fs.H_0.double().numpy()
    best = np.full(x.shape[1], np.inf)
    for candidate in x:  # the optimum of a weighted L1 is attained at a data value
        best = np.minimum(best, l1_cost(x, w, candidate))
    np.testing.assert_allclose(l1_cost(x, w, h_0), best, rtol=1e-9, atol=1e-9)
    assert np.count_nonzero(h_0) >= SMALL.n_shared  # the shared baseline was removed
    s = np.sqrt(np.mean(np.sum((x - h_0) ** 2, axis=1)))
    assert fs.scale == pytest.approx(s, rel=1e-6)
    np.testing.assert_allclose(fs.a.numpy(), (x - h_0) / s, atol=1e-6)
    np.testing.assert_allclose(fs.raw_attribution(fs.a).numpy(), x, atol=1e-5)
    np.testing.assert_array_equal(fs.e.numpy(), raw.e)


def test_reproducible_by_seed():
    one, two = generate_synthetic(SMALL, seed=7), generate_synthetic(SMALL, seed=7)
    for key in ("e", "a", "p", "H_0"):
        assert torch.equal(getattr(one, key), getattr(two, key))
    assert one.labels == two.labels and one.scale == two.scale
    other = generate_synthetic(SMALL, seed=8)
    assert not torch.equal(one.a, other.a)


def test_small_d_a_shrinks_the_supports():
    """d_a = 128 leaves (128 - 32) // 3 = 32 coordinates per mechanism: every row's pattern
    lies on its mechanism's support, disjoint between mechanisms."""
    params = SyntheticParams(**{**SMALL.__dict__, "d_a": 128, "noise": 0.0, "p_active": 1.0})
    assert active_count(params) == 32
    fs = generate_synthetic(params, seed=0)
    mechanism = np.array(fs.labels["mechanism"])
    supports = [set(np.flatnonzero(fs.a[mechanism == c].abs().sum(0)).tolist()) for c in range(3)]
    assert all(len(s) == 32 for s in supports)
    assert not (supports[0] & supports[1] or supports[1] & supports[2] or supports[0] & supports[2])


def test_noise_zero_gives_exact_planted_views():
    """Without noise the semantic view is exactly the meaning centres."""
    fs = generate_synthetic(SyntheticParams(**{**SMALL.__dict__, "noise": 0.0}), seed=1)
    meaning = np.array(fs.labels["semantic"])
    e = fs.e.numpy()
    for i in set(meaning.tolist()):
        rows = e[meaning == i]
        np.testing.assert_allclose(rows, np.broadcast_to(rows[0], rows.shape), atol=1e-7)


@pytest.mark.parametrize(
    "change",
    [
        {"setting": "hard"},
        {"n": 5},
        {"d_a": 20},
        {"noise": -1.0},
        {"n_meanings": 0},
        {"setting": "crossed", "n_meanings": 1},
    ],
)
def test_bad_parameters_raise(change):
    with pytest.raises(InputError):
        generate_synthetic(SyntheticParams(**{**SMALL.__dict__, **change}))


def test_realistic_setting_is_sparse_heavy_tailed_and_crossed():
    """The realistic setting: 15 motifs crossing 5 meanings with 5 mechanisms, uneven sizes,
    P over one order of magnitude, sparse heavy-tailed attributions whose row scales vary."""
    from motif_discovery.data.synthetic import REALISTIC

    fs = generate_synthetic(REALISTIC, seed=4)
    assert fs.e.shape == (500, 768) and fs.a.shape == (500, 5000)
    np.testing.assert_allclose(fs.e.double().norm(dim=1).numpy(), 1.0, atol=1e-5)
    table = motif_table("realistic", 5)
    assert len(table) == len(set(table)) == 15
    for col in (0, 1):  # each meaning and each mechanism is shared by three motifs
        assert np.bincount([t[col] for t in table]).tolist() == [3] * 5
    sizes = np.bincount(fs.labels["motif"], minlength=15)
    assert sizes.min() >= 2 and sizes.max() >= 3 * sizes.min()
    p = fs.p.double().numpy()
    assert p.min() >= 0.1 and p.max() <= 1.0 and p.max() / p.min() > 5
    a = fs.a.double().numpy()
    assert (a == 0).mean() > 0.8  # sparse rows
    values = np.abs(a[a != 0])
    assert values.max() > 20 * np.median(values)  # heavy tails
    row_l1 = np.abs(a).sum(1)
    assert np.percentile(row_l1, 90) > 2 * np.percentile(row_l1, 10)  # row scales vary

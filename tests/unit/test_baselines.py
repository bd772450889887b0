"""Baselines and partition metrics against direct sklearn calls and brute-force loops."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from motif_discovery.clustering.baselines import BASELINES, baseline_assignments, run_baselines
from motif_discovery.clustering.coreg import coreg_spectral_clustering
from motif_discovery.clustering.metrics import evaluate_partition, label_scores
from motif_discovery.data.synthetic import SyntheticParams, generate_synthetic
from motif_discovery.utils.errors import InputError

pytestmark = pytest.mark.usefixtures("one_thread")


def brute_force_terms(e, a, p, assign, beta, gamma, distortion_scale):
    """K, L, H, D_e, D_a, D_gamma by explicit loops: the mean minimizes the squared error,
    and the weighted L1 optimum of each coordinate is attained at one of its data values."""
    e, a, p = (np.asarray(x, dtype=np.float64) for x in (e, a, p))
    p = p / p.sum()
    H = D_e = D_a = 0.0
    labels = sorted(set(assign.tolist()))
    for k in labels:
        members = [n for n in range(len(assign)) if assign[n] == k]
        prior = sum(p[n] for n in members)
        H -= prior * math.log(prior)
        mu = sum(p[n] * e[n] for n in members) / prior
        D_e += sum(p[n] * float(np.sum((e[n] - mu) ** 2)) for n in members)
        for j in range(a.shape[1]):
            D_a += min(sum(p[n] * abs(a[n, j] - a[c, j]) for n in members) for c in members)
    beta_e, beta_a = gamma * beta, (1 - gamma) * beta
    if distortion_scale == "per_dim":
        beta_e, beta_a = beta_e / e.shape[1], beta_a / a.shape[1]
    return {
        "K": len(labels),
        "L": H + beta_e * D_e + beta_a * D_a,
        "H": H,
        "D_e": D_e,
        "D_a": D_a,
        "D_gamma": gamma * D_e + (1 - gamma) * D_a,
    }


@pytest.mark.parametrize(
    ("seed", "beta", "gamma", "scale"),
    [(0, 1.0, 0.5, "sum"), (1, 0.75, 0.1, "sum"), (2, 1.25, 0.9, "per_dim"), (3, 2.0, 0.0, "sum")],
)
def test_evaluate_partition_matches_brute_force(seed, beta, gamma, scale):
    rng = np.random.default_rng(seed)
    n, d_e, d_a = 23, 4, 6
    e = rng.standard_normal((n, d_e))
    a = rng.laplace(size=(n, d_a)) * (rng.random((n, d_a)) < 0.5)
    p = rng.lognormal(size=n)
    assign = rng.choice([2, 5, 9], size=n)  # gaps in the labels are compacted
    got = evaluate_partition(
        torch.tensor(e), torch.tensor(a), torch.tensor(p), assign, beta, gamma, scale
    )
    want = brute_force_terms(e, a, p, assign, beta, gamma, scale)
    assert got["K"] == want["K"] == 3
    for key in ("L", "H", "D_e", "D_a", "D_gamma"):
        assert got[key] == pytest.approx(want[key], rel=1e-9, abs=1e-12), key


def test_evaluate_partition_rejects_wrong_length():
    x = torch.zeros(4, 2, dtype=torch.float64)
    with pytest.raises(InputError):
        evaluate_partition(x, x, torch.ones(4, dtype=torch.float64), [0, 1, 0], 1.0, 0.5)


def test_label_scores_match_sklearn():
    rng = np.random.default_rng(0)
    truth, pred = rng.integers(0, 3, 50), rng.integers(0, 4, 50)
    one = label_scores(pred, truth)
    assert one["ARI"] == pytest.approx(adjusted_rand_score(truth, pred))
    assert one["NMI"] == pytest.approx(normalized_mutual_info_score(truth, pred))
    named = label_scores(torch.tensor(pred), {"motif": truth, "semantic": pred})
    assert named["ARI_semantic"] == pytest.approx(1.0) and named["NMI_semantic"] == 1.0
    assert named["ARI_motif"] == pytest.approx(one["ARI"])
    assert label_scores(pred, None) == {}


@pytest.fixture(scope="module")
def crossed():
    params = SyntheticParams(
        setting="crossed", n=180, d_e=64, d_a=900, n_meanings=3, n_active=40, n_spurious=20
    )
    return generate_synthetic(params, seed=2)


def test_assignments_are_the_reference_kmeans_and_coreg(crossed):
    K = 6
    got = baseline_assignments(crossed.e, crossed.a, K)
    assert tuple(got) == BASELINES == ("Single", "KM-S", "KM-A", "Co-Reg")
    assert np.all(got["Single"] == 0)
    for name, x in (("KM-S", crossed.e), ("KM-A", crossed.a)):
        km = KMeans(n_clusters=K, init="k-means++", n_init=10, max_iter=300, random_state=42)
        np.testing.assert_array_equal(got[name], km.fit_predict(x.numpy()))
    views = [crossed.e.double().numpy(), crossed.a.double().numpy()]
    np.testing.assert_array_equal(got["Co-Reg"], coreg_spectral_clustering(views, K))


def test_one_motif_is_every_baselines_answer(crossed):
    """At K = 1 the k-means baselines skip sklearn; its KMeans agrees."""
    got = baseline_assignments(crossed.e, crossed.a, 1)
    for name, x in (("KM-S", crossed.e), ("KM-A", crossed.a)):
        km = KMeans(n_clusters=1, init="k-means++", n_init=10, max_iter=300, random_state=42)
        np.testing.assert_array_equal(got[name], km.fit_predict(x.numpy()))
    assert all(np.array_equal(v, np.zeros(crossed.n)) for v in got.values())


def test_run_baselines_scores_each_assignment(crossed):
    beta, gamma, K = 3.0, 0.8, 6
    labels = {"motif": crossed.labels["motif"]}
    results = run_baselines(crossed.e, crossed.a, crossed.p, K, beta, gamma, labels)
    assignments = baseline_assignments(crossed.e, crossed.a, K)
    for name, metrics in results.items():
        want = evaluate_partition(crossed.e, crossed.a, crossed.p, assignments[name], beta, gamma)
        assert {k: metrics[k] for k in want} == want
        truth = labels["motif"]
        assert metrics["ARI_motif"] == pytest.approx(adjusted_rand_score(truth, assignments[name]))
    assert results["Single"]["K"] == 1 and results["Single"]["H"] == pytest.approx(0.0, abs=1e-8)
    assert results["KM-S"]["K"] == results["KM-A"]["K"] == results["Co-Reg"]["K"] == K
    # one view alone shows only 3 groups of the 6 crossed motifs
    assert results["KM-S"]["ARI_motif"] < 0.8 and results["KM-A"]["ARI_motif"] < 0.8


def test_bad_k_raises(crossed):
    with pytest.raises(InputError):
        baseline_assignments(crossed.e, crossed.a, 0)
    with pytest.raises(InputError):
        baseline_assignments(crossed.e, crossed.a, crossed.n + 1)


def test_only_requested_baselines_run(crossed, monkeypatch):
    import motif_discovery.clustering.baselines as baselines

    def refuse(*args, **kwargs):
        raise AssertionError("Co-Reg ran although it was not requested")

    monkeypatch.setattr(baselines, "coreg_spectral_clustering", refuse)
    got = baseline_assignments(crossed.e, crossed.a, 4, ["Single", "KM-S"])
    assert list(got) == ["Single", "KM-S"]
    with pytest.raises(InputError, match="KM-X"):
        baseline_assignments(crossed.e, crossed.a, 4, ["KM-X"])


def test_stage_runs_each_requested_baseline_once_per_K(crossed, monkeypatch):
    """Stage 5 runs the baselines named in the config, once per distinct K of the sweep,
    and reports at each config the figures evaluate_partition gives at that config."""
    from motif_discovery.clustering import stage
    from motif_discovery.utils.config import load_config

    config = load_config(
        overrides=[
            "clustering.beta=[0.5, 3.0]",
            "clustering.gamma=[0.2, 0.8]",
            'clustering.baselines=["Single", "KM-S"]',
        ]
    )
    calls = []

    def spy(e, a, K, names, *rest):
        calls.append((K, tuple(names)))
        return baseline_assignments(e, a, K, names, *rest)

    monkeypatch.setattr(stage, "baseline_assignments", spy)
    settings = stage.sweep_settings(config)
    out = stage.cluster_features(crossed, config.clustering, settings, "cpu", torch.float32)
    Ks = sorted({o.result.K for o in out.values()})
    assert sorted(calls) == [(K, ("Single", "KM-S")) for K in Ks]
    for (beta, gamma), outcome in out.items():
        assert set(outcome.scores) == {"RD", "Single", "KM-S"}
        for name in ("Single", "KM-S"):  # Single's one assignment is scored once, for every K
            assign = np.array(outcome.baseline_assign[name])
            want = evaluate_partition(crossed.e, crossed.a, crossed.p, assign, beta, gamma)
            got = outcome.scores[name]
            for key, value in want.items():
                assert got[key] == pytest.approx(value, rel=1e-12, abs=1e-12), (name, key)


def test_a_smaller_grid_says_which_earlier_results_it_removes(crossed, tmp_path, caplog):
    import logging

    from motif_discovery.clustering import stage
    from motif_discovery.clustering.outputs import CONFIG_FILES
    from motif_discovery.utils.config import load_config
    from motif_discovery.utils.io import remove_stale

    config = load_config(
        overrides=["clustering.beta=1.0", "clustering.gamma=0.5", 'clustering.baselines=["Single"]']
    )
    settings = stage.sweep_settings(config)
    outcomes = stage.cluster_features(crossed, config.clustering, settings, "cpu", torch.float32)
    stale = tmp_path / f"{stage.config_name(2.0, 0.5)}.json"
    stale.write_text("{}")
    with caplog.at_level(logging.WARNING, logger=remove_stale.__module__):
        written = stage.write_prefix(tmp_path, crossed, outcomes, K_clamp=10)
        remove_stale(tmp_path, written, CONFIG_FILES)
    assert not stale.exists() and stale not in written
    assert stale.name in caplog.text and "removing 1 result file" in caplog.text


def test_stage_computes_on_one_thread_and_restores_the_setting(crossed, monkeypatch):
    from threadpoolctl import threadpool_info

    from motif_discovery.clustering import stage
    from motif_discovery.utils.config import load_config

    config = load_config(
        overrides=["clustering.beta=1.0", "clustering.gamma=0.5", 'clustering.baselines=["KM-S"]']
    )
    seen = []
    run_sweep = stage.run_sweep

    def spy(*args, **kwargs):
        seen.append((torch.get_num_threads(), [p["num_threads"] for p in threadpool_info()]))
        return run_sweep(*args, **kwargs)

    monkeypatch.setattr(stage, "run_sweep", spy)
    torch.set_num_threads(2)
    try:
        stage.cluster_features(
            crossed, config.clustering, stage.sweep_settings(config), "cpu", torch.float32
        )
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    assert seen[0][0] == 1 and set(seen[0][1]) <= {1}


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 60),
    k_true=st.integers(1, 5),
    k_pred=st.integers(1, 7),
    seed=st.integers(0, 10_000),
)
def test_ari_and_nmi_from_one_contingency_table_match_sklearn(n, k_true, k_pred, seed):
    """One contingency table per labeling gives sklearn's ARI and NMI, edge cases included
    (one label on either side, identical labelings)."""
    from motif_discovery.clustering.metrics import ari, nmi

    rng = np.random.default_rng(seed)
    truth, pred = rng.integers(0, k_true, n), rng.integers(0, k_pred, n)
    for t, p in ((truth, pred), (truth, truth), (truth, np.zeros(n, dtype=int)), (pred, truth)):
        assert ari(t, p) == pytest.approx(adjusted_rand_score(t, p), abs=1e-12)
        assert nmi(t, p) == pytest.approx(normalized_mutual_info_score(t, p), abs=1e-12)

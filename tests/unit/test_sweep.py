"""The sweep: never worse than a cold start, and no config misses a partition the grid found."""

import pytest

from motif_discovery.clustering.em_loop import fit_rd
from motif_discovery.clustering.metrics import evaluate_partition
from motif_discovery.clustering.rd_objective import view_weights
from motif_discovery.clustering.settings import FitSettings
from motif_discovery.clustering.sweep import grid, run_sweep
from tests.planted import planted


def data(seed=0):
    e, a, p, _ = planted(seed, n=200, d_e=16, d_a=64, n_meanings=4, noise=1.5)
    return e, a, p


def test_grid_is_beta_major():
    assert grid([1, 2], [0.1, 0.9]) == [(1.0, 0.1), (1.0, 0.9), (2.0, 0.1), (2.0, 0.9)]
    assert grid(1.0, 0.5) == [(1.0, 0.5)]


@pytest.mark.parametrize("seed", [0, 1])
def test_shared_sweep_dominates_cold_fits(seed):
    e, a, p = data(seed)
    configs = grid([0.5, 1.0, 2.0, 4.0], [0.1, 0.5, 0.9])
    results = run_sweep(e, a, p, configs, FitSettings(), progress=False)
    partitions = [r.assign for r in results.values()]
    for beta, gamma in configs:
        r = results[(beta, gamma)]
        cold = fit_rd(e.clone(), a.clone(), p, beta, gamma)
        assert r.terms.L <= cold.terms.L + 1e-9
        # the returned L is the exact objective of the returned partition (independent check)
        exact = evaluate_partition(e, a, p, r.assign, beta, gamma)["L"]
        assert pytest.approx(exact, rel=1e-9) == r.terms.L
        # no partition found anywhere on the grid scores lower under this config
        for assign in partitions:
            other = evaluate_partition(e, a, p, assign, beta, gamma)["L"]
            assert other + 1e-9 >= r.terms.L


def test_spherical_sweep_terminates_and_keeps_cold_results_when_restarts_fail():
    e, a, p = data(2)
    configs = grid([0.5, 2.0], [0.3, 0.7])
    settings = FitSettings(semantic_center="spherical")
    results = run_sweep(e, a, p, configs, settings, progress=False)
    for cfg in configs:
        cold = fit_rd(e.clone(), a.clone(), p, *cfg, semantic_center="spherical")
        assert results[cfg].terms.L <= cold.terms.L + 1e-9
    assert view_weights(2.0, 0.3, 16, 64) == pytest.approx((0.6, 1.4))


def test_one_progress_bar_counts_every_fit_restarts_included(monkeypatch):
    import io

    from tqdm import tqdm

    import motif_discovery.clustering.sweep as sweep

    fits = []

    def counting_fit(*args, **kwargs):
        fits.append(kwargs.get("init") is not None)
        return fit_rd(*args, **kwargs)

    monkeypatch.setattr(sweep, "fit_rd", counting_fit)
    e, a, p = data(0)
    configs = grid([0.5, 4.0], [0.1, 0.9])
    with tqdm(total=0, file=io.StringIO()) as bar:
        run_sweep(e, a, p, configs, FitSettings(), progress=bar)
        assert bar.n == bar.total == len(fits) >= len(configs)

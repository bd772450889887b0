"""The beta x gamma sweep, with partitions shared across the grid.

A partition's rate H and distortions D_e, D_a do not depend on (beta, gamma): only
their weights do, L = H + beta_e D_e + beta_a D_a. So once every config has been fit
from a cold start, each config can score every partition found anywhere on the grid
for free and, where another config's partition is better under its own objective,
restart from it (the EM loop never increases L). A config's result is therefore never
worse than its cold start, and no config returns a partition that the sweep knows to
score lower. (With semantic_center="spherical" the EM loop may raise L, so a restart
can fail; the config then keeps its own result, and each restart is tried once.)
"""

from __future__ import annotations

import itertools
import logging
from contextlib import nullcontext

import torch
from tqdm import tqdm

from motif_discovery.clustering.em_loop import fit_rd
from motif_discovery.clustering.median_index import membership_key
from motif_discovery.clustering.rd_objective import objective_value, view_weights
from motif_discovery.clustering.result import RDResult
from motif_discovery.clustering.settings import FitSettings

log = logging.getLogger(__name__)


def grid(betas: float | list[float], gammas: float | list[float]) -> list[tuple[float, float]]:
    """All (beta, gamma) pairs, beta-major."""
    beta_list = betas if isinstance(betas, list) else [betas]
    gamma_list = gammas if isinstance(gammas, list) else [gammas]
    return [(float(b), float(g)) for b, g in itertools.product(beta_list, gamma_list)]


def objective_under(result: RDResult, beta_e: float, beta_a: float) -> float:
    """L of a found partition under other weights: H + beta_e D_e + beta_a D_a."""
    t = result.terms
    return objective_value(t.H, t.D_e, t.D_a, beta_e, beta_a)


def run_sweep(
    e: torch.Tensor,
    a: torch.Tensor,
    p: torch.Tensor,
    configs: list[tuple[float, float]],
    settings: FitSettings,
    progress: bool | tqdm = True,
) -> dict[tuple[float, float], RDResult]:
    """Fit every (beta, gamma) cold, then restart each from the best partition on the grid.

    progress: a tqdm bar to advance (one step per fit; restarts add to its total), True for
    a bar of its own, False for none."""
    own = (
        nullcontext(progress)
        if isinstance(progress, tqdm)
        else tqdm(total=0, desc="RD sweep", disable=not progress, leave=False)
    )
    with own as bar:
        return _sweep(e, a, p, configs, settings, bar)


def _sweep(
    e: torch.Tensor,
    a: torch.Tensor,
    p: torch.Tensor,
    configs: list[tuple[float, float]],
    settings: FitSettings,
    bar: tqdm,
) -> dict[tuple[float, float], RDResult]:
    def fit(cfg: tuple[float, float], init: RDResult | None = None) -> RDResult:
        result = fit_rd(e, a, p, *cfg, settings, init=init)
        bar.update()
        return result

    bar.total += len(configs)
    bar.refresh()
    results = {cfg: fit(cfg) for cfg in configs}
    if not settings.warm_start:
        return results
    d_e, d_a = e.shape[1], a.shape[1]
    tried: set[tuple[tuple[float, float], bytes]] = set()
    improved = True
    while improved:
        improved = False
        for cfg in configs:
            beta_e, beta_a = view_weights(*cfg, d_e, d_a, settings.distortion_scale)
            best = min(results.values(), key=lambda r: objective_under(r, beta_e, beta_a))
            own = objective_under(results[cfg], beta_e, beta_a)
            better = objective_under(best, beta_e, beta_a) < own - 1e-9 * max(1.0, abs(own))
            attempt = (cfg, membership_key(best.assign))
            if better and attempt not in tried:
                tried.add(attempt)
                bar.total += 1
                bar.refresh()
                restarted = fit(cfg, init=best)
                if restarted.terms.L < results[cfg].terms.L:
                    log.debug(
                        "beta=%s gamma=%s: warm start lowers L to %.4f", *cfg, restarted.terms.L
                    )
                    results[cfg] = restarted
                    improved = True
    return results

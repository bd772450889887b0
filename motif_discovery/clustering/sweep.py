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
from dataclasses import dataclass

import torch
from tqdm import tqdm

from motif_discovery.clustering.em_loop import fit_rd
from motif_discovery.clustering.median_index import membership_key
from motif_discovery.clustering.rd_objective import view_weights
from motif_discovery.clustering.result import RDResult

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SweepSettings:
    """Everything fit_rd needs besides (beta, gamma)."""

    K_max: int = 50
    distortion_scale: str = "sum"
    semantic_center: str = "mean"
    tol: float = 1e-3
    max_iter: int = 50
    seed: int = 0
    warm_start: bool = True


def grid(betas: float | list[float], gammas: float | list[float]) -> list[tuple[float, float]]:
    """All (beta, gamma) pairs, beta-major."""
    beta_list = betas if isinstance(betas, list) else [betas]
    gamma_list = gammas if isinstance(gammas, list) else [gammas]
    return [(float(b), float(g)) for b, g in itertools.product(beta_list, gamma_list)]


def objective_under(result: RDResult, beta_e: float, beta_a: float) -> float:
    """L of a found partition under other weights: H + beta_e D_e + beta_a D_a."""
    return result.terms.H + beta_e * result.terms.D_e + beta_a * result.terms.D_a


def run_sweep(
    e: torch.Tensor,
    a: torch.Tensor,
    p: torch.Tensor,
    configs: list[tuple[float, float]],
    settings: SweepSettings,
    progress: bool = True,
) -> dict[tuple[float, float], RDResult]:
    """Fit every (beta, gamma) cold, then restart each from the best partition on the grid."""

    def fit(beta: float, gamma: float, init: RDResult | None = None) -> RDResult:
        return fit_rd(
            e,
            a,
            p,
            beta,
            gamma,
            K_max=settings.K_max,
            distortion_scale=settings.distortion_scale,
            semantic_center=settings.semantic_center,
            tol=settings.tol,
            max_iter=settings.max_iter,
            seed=settings.seed,
            init=init,
        )

    results = {
        cfg: fit(*cfg) for cfg in tqdm(configs, desc="RD sweep", disable=not progress, leave=False)
    }
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
                restarted = fit(*cfg, init=best)
                if restarted.terms.L < results[cfg].terms.L:
                    log.debug(
                        "beta=%s gamma=%s: warm start lowers L to %.4f", *cfg, restarted.terms.L
                    )
                    results[cfg] = restarted
                    improved = True
    return results

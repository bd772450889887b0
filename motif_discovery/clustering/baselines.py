"""Baselines on RD's inputs with RD's K (docs/method.md, stage 5, "Baselines and D_gamma").

- "Single": every continuation in one motif (K = 1).
- "KM-S" (the paper's KM-Sem): sklearn KMeans on the semantic view e, k-means++,
  n_init 10, max_iter 300, random_state 42, unweighted (P ignored) — the reference settings.
- "KM-A": the same k-means on the centred, scaled attribution view a.
  Both k-means run on the view's rows written in an orthonormal basis of their span
  (`row_space_coordinates`: N columns instead of d, every distance unchanged), in float64.
- "Co-Reg": pairwise co-regularized multi-view spectral clustering of (e, a)
  (Kumar, Rai & Daume 2011; `coreg.py`).

Every partition is scored by `metrics.score_partition`, i.e. with RD's centres and distances
(P-weighted mean + squared L2 for e, P-weighted median + L1 for a), so L, D_e, D_a and
D_gamma compare directly with RD's result at the same (beta, gamma).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.cluster import KMeans
from torch import Tensor

from motif_discovery.clustering.coreg import coreg_laplacians, coreg_spectral_clustering
from motif_discovery.clustering.metrics import Labels, score_partition
from motif_discovery.utils.errors import InputError

BASELINES = ("Single", "KM-S", "KM-A", "Co-Reg")
KMEANS_SEED = 42
KMEANS_TOL = 1e-4


def _numpy(x: Tensor) -> np.ndarray:
    return x.detach().cpu().numpy()


def kmeans_labels(x: np.ndarray, K: int, tol: float = KMEANS_TOL) -> np.ndarray:
    """Unweighted k-means (k-means++, n_init 10, max_iter 300, random_state 42) labels
    (all 0 at K = 1, without running it)."""
    if K == 1:
        return np.zeros(x.shape[0], dtype=np.int64)
    km = KMeans(
        n_clusters=K, init="k-means++", n_init=10, max_iter=300, tol=tol, random_state=KMEANS_SEED
    )
    return km.fit_predict(x).astype(np.int64)


def row_space_coordinates(x: np.ndarray) -> tuple[np.ndarray, float]:
    """(y, tol): x [N, d] (float64) in an orthonormal basis Q of its row space, y = x Q = R^T
    from x^T = Q R, when d > N; and k-means' tol for y. Every distance between rows, and
    from a row to any mean of rows, is the same in y, so k-means on y takes the same steps
    (up to rounding); sklearn's stopping tolerance is tol times the mean variance per
    column, so tol is scaled by (columns of y) / d to keep it the same."""
    x = x.astype(np.float64)
    n, d = x.shape
    if d <= n:
        return x, KMEANS_TOL
    r = np.linalg.qr(x.T, mode="r")
    return np.ascontiguousarray(r.T), KMEANS_TOL * r.shape[0] / d


@dataclass
class BaselineInputs:
    """What the baselines share across K, computed once per data set: both views in row-space
    coordinates (with k-means' tolerance) and, for Co-Reg, the views' normalized affinities."""

    e: tuple[np.ndarray, float]
    a: tuple[np.ndarray, float]
    views: list[np.ndarray]
    laplacians: list[np.ndarray] | None

    @classmethod
    def of(cls, e: Tensor, a: Tensor, names: Sequence[str] = BASELINES) -> BaselineInputs:
        unknown = [name for name in names if name not in BASELINES]
        if unknown:
            raise InputError(f"clustering.baselines: unknown {unknown}; known {list(BASELINES)}")
        views = [_numpy(e).astype(np.float64), _numpy(a).astype(np.float64)]
        return cls(
            row_space_coordinates(views[0]) if "KM-S" in names else (views[0], KMEANS_TOL),
            row_space_coordinates(views[1]) if "KM-A" in names else (views[1], KMEANS_TOL),
            views,
            coreg_laplacians(views) if "Co-Reg" in names else None,
        )


def baseline_assignments(
    e: Tensor,
    a: Tensor,
    K: int,
    names: Sequence[str] = BASELINES,
    inputs: BaselineInputs | None = None,
) -> dict[str, np.ndarray]:
    """The assignment [N] of each named baseline at K motifs (Single always has one); only
    the baselines named are run. inputs: BaselineInputs.of(e, a, names), to share across K."""
    n = e.shape[0]
    if not 1 <= K <= n:
        raise InputError(f"baselines: K = {K} outside 1..{n}")
    inputs = inputs if inputs is not None else BaselineInputs.of(e, a, names)
    runs = {
        "Single": lambda: np.zeros(n, dtype=np.int64),
        "KM-S": lambda: kmeans_labels(inputs.e[0], K, inputs.e[1]),
        "KM-A": lambda: kmeans_labels(inputs.a[0], K, inputs.a[1]),
        "Co-Reg": lambda: coreg_spectral_clustering(
            inputs.views, K, random_state=KMEANS_SEED, laplacians=inputs.laplacians
        ),
    }
    return {name: runs[name]() for name in names}


def run_baselines(
    e: Tensor,
    a: Tensor,
    p: Tensor,
    K: int,
    beta: float,
    gamma: float,
    labels: Labels | Mapping[str, Labels] | None = None,
    distortion_scale: str = "sum",
    names: Sequence[str] = BASELINES,
) -> dict[str, dict[str, float | int]]:
    """name -> score_partition(...) (K, L, H, D_e, D_a, D_gamma [, ARI, NMI]) per baseline."""
    return {
        name: score_partition(e, a, p, assign, beta, gamma, labels, distortion_scale)
        for name, assign in baseline_assignments(e, a, K, names).items()
    }

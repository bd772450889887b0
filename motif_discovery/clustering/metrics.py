"""Partition metrics: the RD objective's terms of any partition, D_gamma, ARI/NMI vs labels.

A baseline is scored with the same centres and distances as RD (centres.m_step: P-weighted
mean for e, P-weighted coordinatewise median for a; rd_objective: squared L2 and L1), so
its L, D_e, D_a and D_gamma = gamma D_e + (1 - gamma) D_a compare directly with RD's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import torch
from torch import Tensor

from motif_discovery.clustering.centres import m_step
from motif_discovery.clustering.initialize import dataset_cache
from motif_discovery.clustering.inputs import validate_inputs
from motif_discovery.clustering.rd_objective import (
    ObjectiveTerms,
    d_gamma,
    objective_value,
    rd_objective,
    view_weights,
)
from motif_discovery.utils.errors import InputError

Labels = Sequence[int] | np.ndarray | Tensor


def _as_array(labels: Labels) -> np.ndarray:
    if isinstance(labels, Tensor):
        return labels.detach().cpu().numpy()
    return np.asarray(labels)


def contingency(labels_true: Labels, labels_pred: Labels) -> np.ndarray:
    """n_ij = number of items with the i-th true label and the j-th predicted label (int64)."""
    _, t = np.unique(_as_array(labels_true), return_inverse=True)
    _, c = np.unique(_as_array(labels_pred), return_inverse=True)
    if t.shape != c.shape:
        raise InputError(f"labels: {t.shape[0]} true vs {c.shape[0]} predicted")
    rows, cols = int(t.max(initial=-1)) + 1, int(c.max(initial=-1)) + 1
    return np.bincount(t * cols + c, minlength=rows * cols).reshape(rows, cols).astype(np.int64)


def ari_of(table: np.ndarray) -> float:
    """Adjusted Rand index from the contingency table, over pairs of items: tp (same label,
    same cluster), fp, fn, tn; ARI = 2 (tp tn - fn fp) / ((tp + fn)(fn + tn) + (tp + fp)(fp + tn)),
    1 when no pair disagrees (fn = fp = 0)."""
    n = int(table.sum())
    same_both = int((table * table).sum())
    tp = same_both - n
    fp = int((table @ table.sum(0)).sum()) - same_both
    fn = int((table.T @ table.sum(1)).sum()) - same_both
    tn = n * n - fp - fn - same_both
    if fn == 0 and fp == 0:
        return 1.0
    return 2.0 * (tp * tn - fn * fp) / ((tp + fn) * (fn + tn) + (tp + fp) * (fp + tn))


def nmi_of(table: np.ndarray) -> float:
    """Normalized mutual information from the contingency table, arithmetic normalization:
    MI / ((H_true + H_pred) / 2), MI = sum_ij (n_ij / N) ln(N n_ij / (a_i b_j)) (a, b the row
    and column sums), at most 1 (rounding); 1 when both labelings have one label, 0 when MI = 0."""
    n = table.sum()
    a, b = table.sum(1), table.sum(0)
    if a.shape[0] == b.shape[0] == 1 or n == 0:
        return 1.0
    i, j = np.nonzero(table)
    nij = table[i, j].astype(np.float64)
    mi = max(0.0, float((nij / n * np.log(n * nij / (a[i] * b[j]).astype(np.float64))).sum()))
    if mi == 0.0:
        return 0.0

    def entropy(counts: np.ndarray) -> float:
        q = counts[counts > 0] / n
        return float(-(q * np.log(q)).sum())

    return min(1.0, mi / max((entropy(a) + entropy(b)) / 2, float(np.finfo(np.float64).eps)))


def ari(labels_true: Labels, labels_pred: Labels) -> float:
    """Adjusted Rand index (Hubert & Arabie; sklearn's definition)."""
    return ari_of(contingency(labels_true, labels_pred))


def nmi(labels_true: Labels, labels_pred: Labels) -> float:
    """Normalized mutual information, arithmetic mean normalization (sklearn's default)."""
    return nmi_of(contingency(labels_true, labels_pred))


def compact_labels(assign: Labels) -> tuple[np.ndarray, int]:
    """Relabel to 0..K-1 in sorted order of the distinct labels; K = number of distinct labels."""
    values, inverse = np.unique(_as_array(assign), return_inverse=True)
    return inverse.astype(np.int64), int(values.size)


def partition_terms(e: Tensor, a: Tensor, p: Tensor, assign: Labels) -> tuple[int, ObjectiveTerms]:
    """K and the beta-free terms H, D_e, D_a of a hard partition at its exact M-step centres
    (L = H here: the terms at beta_e = beta_a = 0). P is normalized to sum 1; empty labels
    are dropped (K counts non-empty motifs)."""
    e, a, p = validate_inputs(e, a, p)
    labels, K = compact_labels(assign)
    if labels.shape != (e.shape[0],):
        raise InputError(f"assign: expected {e.shape[0]} labels, got shape {labels.shape}")
    assign_t = torch.from_numpy(labels).to(e.device)
    centres = m_step(e, a, p, assign_t, K, index=dataset_cache(e, a, p).index)
    return K, rd_objective(e, a, p, assign_t, centres.mu_e, centres.mu_a, 0.0, 0.0)


def figures_under(
    K: int,
    terms: ObjectiveTerms,
    beta: float,
    gamma: float,
    dims: tuple[int, int],
    distortion_scale: str = "sum",
) -> dict[str, float | int]:
    """partition_figures of a partition's terms H, D_e, D_a under (beta, gamma), its L
    recomputed as H + beta_e D_e + beta_a D_a ((beta_e, beta_a) = view_weights(..., dims))."""
    beta_e, beta_a = view_weights(beta, gamma, *dims, distortion_scale)
    L = objective_value(terms.H, terms.D_e, terms.D_a, beta_e, beta_a)
    return partition_figures(K, ObjectiveTerms(L, terms.H, terms.D_e, terms.D_a), gamma)


def evaluate_partition(
    e: Tensor,
    a: Tensor,
    p: Tensor,
    assign: Labels,
    beta: float,
    gamma: float,
    distortion_scale: str = "sum",
) -> dict[str, float | int]:
    """K, L, H, D_e, D_a, D_gamma of a hard partition, centres from the exact M-step.

    L = H + beta_e D_e + beta_a D_a with (beta_e, beta_a) = view_weights(beta, gamma, ...);
    P is normalized to sum 1; empty labels are dropped (K counts non-empty motifs).
    """
    K, terms = partition_terms(e, a, p, assign)
    dims = (e.shape[1], a.shape[1])
    return figures_under(K, terms, beta, gamma, dims, distortion_scale)


def partition_figures(K: int, terms: ObjectiveTerms, gamma: float) -> dict[str, float | int]:
    """What every method reports: K, L, H, D_e, D_a and D_gamma = gamma D_e + (1 - gamma) D_a."""
    return {
        "K": K,
        "L": terms.L,
        "H": terms.H,
        "D_e": terms.D_e,
        "D_a": terms.D_a,
        "D_gamma": d_gamma(terms.D_e, terms.D_a, gamma),
    }


def label_scores(assign: Labels, labels: Labels | Mapping[str, Labels] | None) -> dict[str, float]:
    """ARI and NMI of `assign` against one labelling ("ARI", "NMI") or several
    ("ARI_<name>", "NMI_<name>" for each name of a mapping); {} without labels."""
    if labels is None:
        return {}
    named = labels.items() if isinstance(labels, Mapping) else [("", labels)]
    out: dict[str, float] = {}
    for name, truth in named:
        suffix = f"_{name}" if name else ""
        table = contingency(truth, assign)
        out[f"ARI{suffix}"] = ari_of(table)
        out[f"NMI{suffix}"] = nmi_of(table)
    return out


def score_partition(
    e: Tensor,
    a: Tensor,
    p: Tensor,
    assign: Labels,
    beta: float,
    gamma: float,
    labels: Labels | Mapping[str, Labels] | None = None,
    distortion_scale: str = "sum",
) -> dict[str, float | int]:
    """evaluate_partition plus label_scores: what every method (RD or baseline) reports."""
    return {
        **evaluate_partition(e, a, p, assign, beta, gamma, distortion_scale),
        **label_scores(assign, labels),
    }

"""Exact M-step: P-weighted mean (semantic view) and coordinatewise median (attributions)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from motif_discovery.clustering.median_index import (
    MedianIndex,
    MotifOrder,
    weighted_median_sorted,
)
from motif_discovery.clustering.rd_objective import Rows, prior_of
from motif_discovery.utils.errors import InputError


@dataclass
class Centres:
    """Motif centres mu_e [K, d_e], mu_a [K, d_a] and priors Pbar [K] (float64)."""

    mu_e: Tensor
    mu_a: Tensor
    prior: Tensor


def weighted_mean(x: Tensor, w: Tensor) -> Tensor:
    """The minimizer of sum_n w_n ||x_n - mu||^2 (one weighting; see semantic_centre)."""
    w = w.to(x.dtype)[None, :]
    return semantic_centre(w @ x, w.sum(1), "mean")[0]


def weighted_median(x: Tensor, w: Tensor) -> Tensor:
    """Coordinatewise lower weighted median: argmin_m sum_n w_n |x_n - m| per column.

    Per column, sort x; m is the first sorted value whose cumulative weight reaches
    half the total weight (any point of [x_(i), x_(i+1)] is optimal at an exact tie).
    """
    order = torch.argsort(x, dim=0)
    return weighted_median_sorted(x, order, w)


def spherical(mu_e: Tensor) -> Tensor:
    """Renormalize semantic centres to the unit sphere (the reference's centre)."""
    return mu_e / mu_e.norm(dim=-1, keepdim=True).clamp_min(torch.finfo(mu_e.dtype).tiny)


def semantic_centre(sums: Tensor, totals: Tensor, semantic_center: str) -> Tensor:
    """mu_e = sum_n w_n e_n / sum_n w_n from the weighted sums [H, d_e] and totals [H];
    renormalized to unit length when semantic_center = 'spherical'."""
    mu = sums / totals.to(sums.dtype)[:, None]
    if semantic_center == "spherical":
        return spherical(mu)
    if semantic_center == "mean":
        return mu
    raise InputError(f"semantic_center must be 'mean' or 'spherical', got {semantic_center!r}")


def m_step(
    e: Tensor,
    a: Tensor,
    p: Tensor,
    assign: Tensor,
    K: int,
    semantic_center: str = "mean",
    index: MedianIndex | None = None,
) -> Centres:
    """mu_e_k = P-weighted mean, mu_a_k = P-weighted median of the members of k, Pbar_k."""
    index = index if index is not None else MedianIndex(a)
    prior = prior_of(assign, p, K)
    w = torch.zeros(K, e.shape[0], dtype=e.dtype, device=e.device)
    w[assign, torch.arange(e.shape[0], device=e.device)] = p
    mu_e = semantic_centre(w @ e, w.sum(1), semantic_center)
    mu_a = torch.empty(K, a.shape[1], dtype=a.dtype, device=a.device)
    cols = None
    if index.on_cpu:
        cols = index.partition_undecided(assign.numpy(), p.double().numpy(), K)
    for k in range(K):
        members = torch.nonzero(assign == k).flatten()
        motif, w = index.order(members), p[members][None]
        if cols is None:
            mu_a[k] = index.medians(motif, w).to(a.device)[0]
        else:
            mu_a[k] = index.medians_at(motif, w, cols[k])[0]
    return Centres(mu_e, mu_a, prior)


def subset_centres(
    e_rows: Rows,
    index: MedianIndex,
    motif: MotifOrder,
    weights: Tensor,
    semantic_center: str,
) -> tuple[Tensor, Tensor]:
    """Centres of H reweightings [H, n] of one motif's members: (mu_e [H, d_e], mu_a [H, d_a])."""
    w = weights.to(e_rows.x.dtype)
    mu_e = semantic_centre(e_rows.rmatvec(w.T).T, w.sum(1), semantic_center)
    mu_a = index.medians(motif, weights).to(e_rows.x.device)
    return mu_e, mu_a

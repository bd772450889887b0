"""Stage 7c's hypotheses: H_c per method, the candidate pool and the steered features.

H_c per method (docs/method.md, Stage 7c), over a motif's members c:
    RD      H_c = a_raw[i*],  i* = argmin_{i in c} sum_{j in c} [gamma ||e_i - e_j||_2
                                                        + (1 - gamma) ||a_i - a_j||_1]
            (raw attributions a_raw, uniform weights);
    KM-Sem  H_c = the P-weighted coordinatewise median of the centred a over a k-means
            cluster of e;
    Single  H_c = a_raw of one random member (seed) of each RD motif;
    random  B random active feature sources (position > 0), each signed as the RD medoid's
            H_c there (the control; sources where it is 0, having no sign, are not drawn).
Candidates: feature sources at positions > 0 with H_c != 0, the top 2 max(B) by |H_c|
(random: its random order); a selection keeps the pool's positive (H_c > 0), negative
(H_c < 0) or all (full) entries, then the first B.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from motif_discovery.attribution.outputs import Sources
from motif_discovery.clustering.centres import weighted_median

SIGNS = {"full": 0, "positive": 1, "negative": -1}


@dataclass(frozen=True)
class Hypothesis:
    """One method's H_c for one motif: the members it is measured on and its candidate
    pool (column indices of a, in order), pool[0] the first to steer."""

    method: str
    motif: int
    members: np.ndarray
    H_c: torch.Tensor
    pool: np.ndarray


def medoid(e: torch.Tensor, a_raw: torch.Tensor, gamma: float) -> int:
    """Row index i* = argmin_i sum_j [gamma ||e_i - e_j||_2 + (1 - gamma) ||a_i - a_j||_1]
    (the first on ties)."""
    e, a_raw = e.double(), a_raw.double()
    cost = gamma * torch.cdist(e, e, p=2).sum(1) + (1 - gamma) * torch.cdist(a_raw, a_raw, p=1).sum(
        1
    )
    return int(torch.argmin(cost))


def steerable(sources: Sources) -> np.ndarray:
    """[d_a] bool: the feature sources at positions > 0 (error and token nodes excluded)."""
    return np.array(
        [k == "feature" and p > 0 for k, p in zip(sources.kind, sources.position, strict=True)]
    )


def top_pool(H_c: torch.Tensor, allowed: np.ndarray, size: int) -> np.ndarray:
    """The `size` allowed columns with H_c != 0 of largest |H_c| (ties: lower index first)."""
    values = H_c.double().numpy()
    columns = np.flatnonzero(allowed & (values != 0))
    order = np.argsort(-np.abs(values[columns]), kind="stable")
    return columns[order[:size]]


def select(pool: np.ndarray, H_c: torch.Tensor, selection: str, B: int) -> np.ndarray:
    """The first B columns of the pool whose sign of H_c passes the selection's filter."""
    sign = SIGNS[selection]
    if sign == 0:
        return pool[:B]
    values = H_c.double().numpy()[pool]
    return pool[np.sign(values) == sign][:B]


def draw(items: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Up to n of `items` drawn without replacement by a fresh generator of `seed`
    (sorted; all of them when there are no more than n)."""
    if len(items) <= n:
        return np.sort(items)
    return np.sort(np.random.default_rng(seed).choice(items, size=n, replace=False))


def rd_hypotheses(
    assign: np.ndarray, e: torch.Tensor, a_raw: torch.Tensor, gamma: float
) -> list[tuple[int, np.ndarray, torch.Tensor]]:
    """(motif, members, H_c = a_raw[medoid]) of every non-empty motif of `assign`."""
    out = []
    for motif in np.unique(assign):
        members = np.flatnonzero(assign == motif)
        i_star = members[medoid(e[members], a_raw[members], gamma)]
        out.append((int(motif), members, a_raw[i_star]))
    return out


def hypotheses(
    method: str,
    *,
    assign: np.ndarray,
    e: torch.Tensor,
    a_raw: torch.Tensor,
    a: torch.Tensor,
    p: torch.Tensor,
    gamma: float,
    km_assign: np.ndarray | None,
    active: np.ndarray,
    allowed: np.ndarray,
    pool_size: int,
    seed: int,
) -> list[Hypothesis]:
    """One method's hypotheses for a partition `assign` (RD) of one prefix; `active`: the
    feature sources with a positive activation (the random control draws from them)."""
    if method == "KM-Sem":
        out = []
        for motif in np.unique(km_assign):
            members = np.flatnonzero(km_assign == motif)
            H_c = weighted_median(a[members].double(), p[members].double())
            out.append(
                Hypothesis(method, int(motif), members, H_c, top_pool(H_c, allowed, pool_size))
            )
        return out
    out = []
    for motif, members, H_rd in rd_hypotheses(assign, e, a_raw, gamma):
        if method == "RD":
            H_c, pool = H_rd, top_pool(H_rd, allowed, pool_size)
        elif method == "Single":
            H_c = a_raw[int(np.random.default_rng([seed, motif]).choice(members))]
            pool = top_pool(H_c, allowed, pool_size)
        elif method == "random":
            eligible = np.flatnonzero(allowed & active & (H_rd.double().numpy() != 0))
            pool = np.random.default_rng([seed, motif]).permutation(eligible)[:pool_size]
            H_c = H_rd
        else:
            raise ValueError(f"unknown method {method!r}")
        out.append(Hypothesis(method, motif, members, H_c, pool))
    return out


def feature_rows(columns: np.ndarray, H_c: torch.Tensor, sources: Sources) -> list[dict]:
    """The steered features as output rows {"layer", "position", "feature", "H_c"}."""
    return [
        {
            "layer": int(sources.layer[c]),
            "position": int(sources.position[c]),
            "feature": int(sources.feature[c]),
            "H_c": float(H_c[c]),
        }
        for c in columns
    ]

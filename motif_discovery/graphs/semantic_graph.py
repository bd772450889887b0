"""The formulas of a motif's semantic graph (docs/method.md, "Stage 6").

H [K, d_a] holds the motifs' attribution centres H_c = mu_a_c (normalized units: what sets
a motif apart from the prefix's typical attribution H_0), or H_c_raw = s * mu_a_c + H_0.
Column j of H is the source j of stage 3's index (kind, layer, position, feature).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

import numpy as np
import torch

from motif_discovery.attribution.outputs import KINDS


def soft_membership(H: torch.Tensor) -> torch.Tensor:
    """sigma [K, d_a]: sigma_jc = |H_c[j]| / sum_c' |H_c'[j]|, and 0 in the columns where
    every motif's H_c[j] is 0 (so each column sums to 1 over the motifs, or to 0)."""
    magnitude = H.abs()
    total = magnitude.sum(dim=0, keepdim=True)
    defined = total > 0
    return torch.where(defined, magnitude / torch.where(defined, total, 1.0), 0.0)


def token_scores(H: torch.Tensor, positions: Sequence[int], n_positions: int) -> torch.Tensor:
    """[K, P]: score_c[t] = sum over the sources j at prefix position t of |H_c[j]|
    (0 at a position without sources)."""
    index = torch.as_tensor(list(positions), dtype=torch.long)
    scores = torch.zeros(H.shape[0], n_positions, dtype=H.dtype)
    return scores.index_add_(1, index, H.abs())


def kind_mass(H_c: torch.Tensor, kinds: Sequence[str]) -> dict[str, float]:
    """Share of sum_j |H_c[j]| carried by each source kind (feature, error, token):
    m_k = sum_{j: kind_j = k} |H_c[j]| / sum_j |H_c[j]|; all 0 when H_c = 0."""
    magnitude = H_c.abs().double()
    total = float(magnitude.sum())
    mass = {}
    for kind in KINDS:
        mask = torch.tensor([k == kind for k in kinds], dtype=torch.bool)
        mass[kind] = float(magnitude[mask].sum()) / total if total > 0 else 0.0
    return mass


def top_feature_columns(H_c: torch.Tensor, kinds: Sequence[str], n: int) -> list[int]:
    """The n feature columns (kind == "feature") with the largest |H_c[j]|, largest first;
    equal values keep column order. Empty when the prefix has no feature source."""
    columns = np.array([j for j, kind in enumerate(kinds) if kind == "feature"], dtype=np.int64)
    magnitude = H_c.abs().double().numpy()[columns]
    order = np.argsort(-magnitude, kind="stable")
    return [int(j) for j in columns[order[:n]]]


def top_members(p: torch.Tensor, members: torch.Tensor, n: int) -> list[int]:
    """The n member rows with the largest P_n, largest first; equal P_n keep row order."""
    rows = np.sort(members.numpy())
    order = np.argsort(-p.double().numpy()[rows], kind="stable")
    return [int(i) for i in rows[order[:n]]]


def normalized_p(p: torch.Tensor) -> torch.Tensor:
    """P_n / sum_m P_m over the prefix's N continuations."""
    p = p.double()
    return p / p.sum()


def label_counts(labels: Sequence[int], names: Sequence[str], members: torch.Tensor) -> dict:
    """{label name: members with that label}, most frequent first (ties by name)."""
    counts = Counter(names[labels[i]] for i in members.tolist())
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))

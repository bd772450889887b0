"""Stage 7a's measures (docs/method.md, "Stage 7"): how well the replacement model stands in
for the real one, which kinds of sources explain each attribution row, and how stable a
motif's attribution is across its members.

1. Replacement vs real, at each target (position p, token t) of a continuation:
       top-1 agreement   [argmax_v real_p(v) = argmax_v repl_p(v)]
       KL(real || repl)  sum_v P_real(v) (ln P_real(v) - ln P_repl(v)),  P = softmax(logits_p)
       centred target    c(t) = logit_p(t) - mean_v logit_p(v), compared by mean |c_real - c_repl|
                         and the Pearson correlation over the prefix's targets.
2. Shares of a raw row a_n over the source kinds k (feature, error, token):
       signed_k(n)   = sum_{j in k} a_n[j] / sum_j a_n[j]
       absolute_k(n) = sum_{j in k} |a_n[j]| / sum_j |a_n[j]|
   reported as P-weighted means sum_n P_n share_k(n) / sum_n P_n.
3. Stability of motif c (members sampled to at most `cap` per motif for the pairs):
       within_c      = mean_{i < j in c} cos(a_raw_i, a_raw_j)            (None: one member)
       between_c     = mean_{i in c, j in c' != c} cos(a_raw_i, a_raw_j)
       relative_l1_c = D_c(mu_a_c) / D_c(m),  D_c(x) = sum_{i in c} P_i ||a_i - x||_1 / sum_{i in c} P_i
   with a the normalized rows, mu_a_c the motif's centre and m the prefix's P-weighted
   coordinatewise median (its K = 1 centre): below 1, the motif's centre explains its
   members' attributions better than the prefix's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from motif_discovery.attribution.frozen import centred
from motif_discovery.attribution.outputs import KINDS, Sources
from motif_discovery.clustering.centres import weighted_median

ONE_MEMBER = "one member: no pair to compare"


@dataclass
class TargetComparison:
    """Per target: top-1 agreement, KL(real || replacement), centred target logits."""

    top1: Tensor  # [n] bool
    kl: Tensor  # [n] float64
    real: Tensor  # [n] float64
    replaced: Tensor  # [n] float64

    @classmethod
    def cat(cls, parts: Sequence[TargetComparison]) -> TargetComparison:
        return cls(*(torch.cat([getattr(p, name) for p in parts]) for name in cls.__annotations__))


def kl_divergence(real: Tensor, replaced: Tensor) -> Tensor:
    """KL(P_real || P_repl) = sum_v P_real(v) (ln P_real(v) - ln P_repl(v)) per row, float64."""
    log_p = real.double().log_softmax(-1)
    log_q = replaced.double().log_softmax(-1)
    return (log_p.exp() * (log_p - log_q)).sum(-1)


def compare_targets(real: Tensor, replaced: Tensor, tokens: Tensor) -> TargetComparison:
    """Compare the logits [n, V] of both models at n targets whose tokens are `tokens` [n]."""
    rows = torch.arange(len(tokens), device=real.device)
    tokens = tokens.to(real.device)
    return TargetComparison(
        top1=(real.argmax(-1) == replaced.argmax(-1)).cpu(),
        kl=kl_divergence(real, replaced).cpu(),
        real=centred(real.double())[rows, tokens].cpu(),
        replaced=centred(replaced.double())[rows, tokens].cpu(),
    )


def pearson(x: Tensor, y: Tensor) -> float | None:
    """Pearson correlation of two samples; None when either is constant (or n < 2)."""
    x, y = x.double() - x.double().mean(), y.double() - y.double().mean()
    norm = float(x.norm() * y.norm())
    return float(x @ y) / norm if norm > 0 else None


def replacement_figures(comparison: TargetComparison, n_continuations: int) -> dict:
    """Means over the targets of the compared continuations (see the module docstring)."""
    return {
        "n_continuations": n_continuations,
        "n_targets": len(comparison.top1),
        "top1_agreement": float(comparison.top1.double().mean()),
        "kl_mean": float(comparison.kl.mean()),
        "kl_max": float(comparison.kl.max()),
        "centred_logit_mae": float((comparison.real - comparison.replaced).abs().mean()),
        "centred_logit_pearson": pearson(comparison.real, comparison.replaced),
    }


def row_shares(a_raw: Tensor, sources: Sources) -> dict[str, dict[str, Tensor]]:
    """{"signed": {kind: [N]}, "absolute": {kind: [N]}} of every raw row (float64);
    a row whose sum is exactly 0 has signed shares NaN (undefined)."""
    a = a_raw.double()
    total, total_abs = a.sum(1), a.abs().sum(1)
    out: dict[str, dict[str, Tensor]] = {"signed": {}, "absolute": {}}
    for kind in KINDS:
        mask = sources.mask(kind)
        out["signed"][kind] = a[:, mask].sum(1) / total
        out["absolute"][kind] = a[:, mask].abs().sum(1) / total_abs
    return out


def weighted_shares(shares: dict[str, dict[str, Tensor]], p: Tensor, rows: Tensor) -> dict:
    """P-weighted means sum_n P_n share(n) / sum_n P_n over `rows`, per measure and kind
    (rows whose share is undefined are left out of that mean and counted)."""
    out: dict = {}
    for measure, by_kind in shares.items():
        out[measure] = {}
        for kind, values in by_kind.items():
            v, w = values[rows], p.double()[rows]
            ok = torch.isfinite(v)
            out[measure][kind] = float((w[ok] * v[ok]).sum() / w[ok].sum()) if ok.any() else None
        undefined = int((~torch.isfinite(next(iter(by_kind.values()))[rows])).sum())
        if undefined:
            out[measure]["n_undefined"] = undefined
    return out


def sample_members(assign: Tensor, K: int, cap: int, seed: int) -> list[np.ndarray]:
    """Per motif, its row indices, at most `cap` of them drawn without replacement (sorted)."""
    rng = np.random.default_rng(seed)
    out = []
    for c in range(K):
        members = torch.nonzero(assign == c).squeeze(1).numpy()
        if len(members) > cap:
            members = np.sort(rng.choice(members, size=cap, replace=False))
        out.append(members)
    return out


def cosine_matrix(x: Tensor) -> Tensor:
    """cos(x_i, x_j) for every pair of rows (float64; a zero row has cosine 0)."""
    x = x.double()
    unit = x / x.norm(dim=1, keepdim=True).clamp_min(torch.finfo(x.dtype).tiny)
    return unit @ unit.T


def mean_l1(a: Tensor, centre: Tensor, p: Tensor) -> float:
    """sum_i P_i ||a_i - centre||_1 / sum_i P_i."""
    w = p.double()
    return float((w * (a.double() - centre.double()).abs().sum(1)).sum() / w.sum())


def relative_l1(a: Tensor, p: Tensor, centre: Tensor, median: Tensor) -> float | None:
    """D_c(mu_a_c) / D_c(m) over one motif's rows (None when D_c(m) = 0 or no rows)."""
    if len(a) == 0:
        return None
    to_median = mean_l1(a, median, p)
    return mean_l1(a, centre, p) / to_median if to_median > 0 else None


def motif_stability(
    a_raw: Tensor,
    a: Tensor,
    p: Tensor,
    assign: Tensor,
    mu_a: Tensor,
    *,
    cap: int,
    seed: int,
) -> list[dict]:
    """within, between and relative_l1 of every motif (see the module docstring): cosines
    on raw rows of at most `cap` sampled members per motif, L1 distances on every member."""
    K = mu_a.shape[0]
    sampled = sample_members(assign, K, cap, seed)
    cos = cosine_matrix(a_raw[torch.as_tensor(np.concatenate(sampled))])
    owner = torch.cat([torch.full((len(s),), c) for c, s in enumerate(sampled)])
    median = weighted_median(a.double(), p.double())
    motifs = []
    for c in range(K):
        inside, n = owner == c, len(sampled[c])
        pairs = cos[inside][:, inside].triu(1).sum() / (n * (n - 1) / 2) if n > 1 else None
        across = cos[inside][:, ~inside]
        rows = assign == c
        row = {
            "motif": c,
            "size": int(rows.sum()),
            "sampled": n,
            "within": None if pairs is None else float(pairs),
            "between": float(across.mean()) if across.numel() else None,
            "relative_l1": relative_l1(a[rows], p[rows], mu_a[c], median),
        }
        if pairs is None:
            row["note"] = ONE_MEMBER
        motifs.append(row)
    return motifs

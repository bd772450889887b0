"""Seeded synthetic two-view data with planted motifs, in the stage-4 format.

Each continuation n belongs to one planted motif k, which fixes its meaning (semantic view)
and its mechanism (attribution view):

- e_n = normalize(c_meaning + sigma_e * noise * z / sqrt(d_e)): near-orthogonal unit meaning
  centres c_i in R^d_e, Gaussian noise of norm ~ sigma_e * noise.
- raw a_n = shared baseline (the same coordinates in every row, which H_0 removes)
  + the mechanism's pattern (a few signed coordinates, each active with probability
  `p_active`, amplitude jittered) + sparse noise (`n_spurious` random coordinates per row,
  Laplace values). Then stage 4's preprocessing (SPEC "Attribution view"):
  H_0 = P-weighted coordinatewise median of the raw a_n, s = sqrt(mean_n ||a_n - H_0||^2),
  a_n <- (a_n - H_0) / s.
- P_n ~ lognormal(0, 1): positive and skewed; stored raw (not normalized).

Settings (`n_meanings` M meanings and M mechanisms):

- "easy": M motifs, motif k = (meaning k, mechanism k): separated in both views.
- "crossed": 2M motifs on a ring, motif k = (meaning k // 2, mechanism ((k+1) mod 2M) // 2):
  each meaning is shared by two motifs that differ in mechanism and each mechanism by two
  motifs that differ in meaning, so either view alone shows only M groups and only the two
  views together identify the 2M motifs.

Why RD recovers the motifs (and for which beta, gamma): with P normalized, splitting a group
of prior w in two equal halves costs w ln 2 of rate H and saves w * beta_e * Delta_e / 4 of
semantic distortion (Delta_e: squared distance of the halves' mean e) plus the L1 gain of
the attribution view. The mechanism patterns are sparse with fixed supports, so the
weighted median of a merged group misses half of each support: the attribution gain is
about w * beta_a * m |w_j| p_active / s, several times ln 2 at beta_a >= 0.5 with the
defaults. Sparse noise moves no median (a random coordinate is active in far fewer than half
of any group's rows), so noise alone never pays for a split. The semantic gain is bounded:
unit vectors give Delta_e <= 4, and near-orthogonal meanings with the default noise give
Delta_e ~ 2 / (1 + sigma_e^2) ~ 1.6, so a split that only the semantic view supports (the
crossed setting's motifs sharing a mechanism) pays only when beta_e > 4 ln 2 / Delta_e ~ 1.7,
e.g. beta = 5, gamma = 0.6; at the paper's beta <= 1.25 no semantic-only split is ever
accepted. k-means on one view with K = 2M must split each of that view's M groups by noise,
so it cannot find the crossed motifs.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from motif_discovery.embedding.features import FeatureSet, save_features
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import write_jsonl

SETTINGS = ("easy", "crossed")


@dataclass(frozen=True)
class SyntheticParams:
    """Generator knobs; `noise` multiplies every noise scale (e and a)."""

    setting: str = "easy"
    n: int = 500
    d_e: int = 768
    d_a: int = 8192
    n_meanings: int = 4
    noise: float = 1.0
    sigma_e: float = 0.5
    n_shared: int = 32
    n_active: int = 24
    p_active: float = 0.9
    jitter_a: float = 0.25
    n_spurious: int = 48
    spurious_scale: float = 0.5


def motif_table(setting: str, n_meanings: int) -> list[tuple[int, int]]:
    """(meaning, mechanism) of each planted motif, as described in the module docstring."""
    if setting == "easy":
        return [(i, i) for i in range(n_meanings)]
    if setting == "crossed":
        k_total = 2 * n_meanings
        return [(k // 2, ((k + 1) % k_total) // 2) for k in range(k_total)]
    raise InputError(f"synthetic.setting: unknown value {setting!r}; expected one of {SETTINGS}")


def weighted_median(x: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Coordinatewise P-weighted (lower) median of the rows of x [N, d]: the smallest value
    whose cumulative weight reaches half the total, a minimizer of sum_n p_n |x_n - m|."""
    order = np.argsort(x.T, axis=1)  # [d, N], contiguous rows sort fastest
    cum = np.cumsum(p[order], axis=1)
    idx = np.argmax(cum >= 0.5 * cum[:, -1:], axis=1)
    return np.take_along_axis(x.T, np.take_along_axis(order, idx[:, None], axis=1), axis=1)[:, 0]


def centre_and_scale(a_raw: np.ndarray, p: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Stage 4's attribution preprocessing: H_0 = P-weighted median,
    s = sqrt(mean_n ||a_n - H_0||^2) (unweighted); returns ((a - H_0) / s, H_0, s)."""
    h_0 = weighted_median(a_raw, p)
    centred = a_raw - h_0
    scale = float(np.sqrt(np.mean(np.sum(centred.astype(np.float64) ** 2, axis=1))))
    if scale <= 0:
        raise InputError("synthetic: all attribution rows equal H_0; scale s would be 0")
    return centred / scale, h_0, scale


def _check(params: SyntheticParams, n_motifs: int) -> None:
    if params.n < 2 * n_motifs:
        raise InputError(f"synthetic.n: {params.n} < 2 x {n_motifs} motifs")
    need = params.n_shared + params.n_meanings * params.n_active
    if params.d_a < need:
        raise InputError(f"synthetic.d_a: {params.d_a} < {need} coordinates the patterns need")
    if params.d_e < params.n_meanings or params.n_meanings < 1:
        raise InputError(f"synthetic.n_meanings: {params.n_meanings} (d_e {params.d_e})")
    if params.noise < 0:
        raise InputError(f"synthetic.noise: {params.noise} < 0")


def generate_synthetic(
    params: SyntheticParams = SyntheticParams(),
    *,
    seed: int | tuple[int, ...] = 0,
    prefix_id: str = "synthetic_000",
) -> FeatureSet:
    """One synthetic prefix: e [N, d_e], a [N, d_a] (centred, scaled), raw P, H_0, s and
    labels "motif", "semantic" (meaning id), "mechanism" (mechanism id)."""
    table = motif_table(params.setting, params.n_meanings)
    _check(params, len(table))
    rng = np.random.default_rng(seed)
    n, m, k_total = params.n, params.n_meanings, len(table)

    motif = rng.permutation(np.arange(n) % k_total)
    meaning = np.array([table[k][0] for k in motif])
    mechanism = np.array([table[k][1] for k in motif])
    p = rng.lognormal(0.0, 1.0, size=n)

    centres = rng.standard_normal((m, params.d_e))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    z = rng.standard_normal((n, params.d_e)) / np.sqrt(params.d_e)
    e = centres[meaning] + params.sigma_e * params.noise * z
    e /= np.linalg.norm(e, axis=1, keepdims=True)

    coords = rng.permutation(params.d_a)
    shared = coords[: params.n_shared]
    supports = coords[params.n_shared :][: m * params.n_active].reshape(m, params.n_active)

    def signed_lognormal(*shape: int) -> np.ndarray:
        return rng.choice([-1.0, 1.0], size=shape) * rng.lognormal(0.0, 0.5, size=shape)

    a_raw = np.zeros((n, params.d_a))
    base = signed_lognormal(params.n_shared)
    a_raw[:, shared] = base * (1 + 0.1 * params.noise * rng.standard_normal((n, params.n_shared)))
    pattern = signed_lognormal(m, params.n_active)
    active = rng.random((n, params.n_active)) < params.p_active
    jitter = 1 + params.jitter_a * params.noise * rng.standard_normal((n, params.n_active))
    rows = np.arange(n)[:, None]
    a_raw[rows, supports[mechanism]] += pattern[mechanism] * jitter * active
    spurious = rng.integers(0, params.d_a, size=(n, params.n_spurious))
    scale_noise = params.spurious_scale * params.noise
    np.add.at(a_raw, (rows, spurious), rng.laplace(0.0, scale_noise, (n, params.n_spurious)))

    a, h_0, s = centre_and_scale(a_raw, p)
    return FeatureSet(
        prefix_id=prefix_id,
        e=torch.from_numpy(e.astype(np.float32)),
        a=torch.from_numpy(a.astype(np.float32)),
        p=torch.from_numpy(p.astype(np.float32)),
        H_0=torch.from_numpy(h_0.astype(np.float32)),
        scale=s,
        continuation_ids=[f"{prefix_id}-c{i:04d}" for i in range(n)],
        texts=[
            f"<synthetic {params.setting} motif {k}: meaning {table[k][0]}, "
            f"mechanism {table[k][1]}>"
            for k in motif
        ],
        labels={
            "motif": motif.tolist(),
            "semantic": meaning.tolist(),
            "mechanism": mechanism.tolist(),
        },
    )


def write_synthetic_run(
    run_dir: str | Path,
    params: SyntheticParams = SyntheticParams(),
    *,
    n_prefixes: int = 1,
    seed: int = 0,
) -> list[str]:
    """Write `n_prefixes` synthetic prefixes (prefix i drawn with seed (seed, i)) as
    1_data_preparation/prefixes.jsonl and 4_feature_extraction/<prefix_id>.{safetensors,json}
    under run_dir; returns the prefix ids."""
    if n_prefixes < 1:
        raise InputError(f"synthetic.n_prefixes: {n_prefixes} < 1")
    run_dir = Path(run_dir)
    ids = [f"synthetic_{params.setting}_{i:03d}" for i in range(n_prefixes)]
    for i, prefix_id in enumerate(ids):
        features = generate_synthetic(params, seed=(seed, i), prefix_id=prefix_id)
        save_features(run_dir / "4_feature_extraction", features)
    write_jsonl(
        run_dir / "1_data_preparation" / "prefixes.jsonl",
        [
            {
                "prefix_id": prefix_id,
                "text": f"<synthetic {params.setting} prefix {i}>",
                "source": "synthetic",
                "setting": params.setting,
            }
            for i, prefix_id in enumerate(ids)
        ],
    )
    return ids

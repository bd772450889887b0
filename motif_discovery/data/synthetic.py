"""Seeded synthetic two-view data with planted motifs, in the stage-4 format.

Each continuation n belongs to one planted motif k, which fixes its meaning (semantic view)
and its mechanism (attribution view):

- e_n = normalize(c_meaning + sigma_e * noise * z / sqrt(d_e)): near-orthogonal unit meaning
  centres c_i in R^d_e, Gaussian noise of norm ~ sigma_e * noise.
- raw a_n = shared baseline (the same coordinates in every row, which H_0 removes)
  + the mechanism's pattern (a few signed coordinates, each active with probability
  `p_active`, amplitude jittered) + sparse noise (`n_spurious` random coordinates per row,
  Laplace values). Then stage 4's preprocessing (docs/method.md, "Stage 4 — the two views"):
  H_0 = P-weighted coordinatewise median of the raw a_n, s = sqrt(mean_n ||a_n - H_0||^2),
  a_n <- (a_n - H_0) / s.
- P_n ~ lognormal(0, 1): positive and skewed; stored raw (not normalized).

Settings (`n_meanings` M meanings and M mechanisms):

- "easy": M motifs, motif k = (meaning k, mechanism k): separated in both views.
- "crossed": 2M motifs on a ring, motif k = (meaning k // 2, mechanism ((k+1) mod 2M) // 2):
  each meaning is shared by two motifs that differ in mechanism and each mechanism by two
  motifs that differ in meaning, so either view alone shows only M groups and only the two
  views together identify the 2M motifs.
- "realistic": 3M motifs, motif (i, s) = (meaning i, mechanism (i + s) mod M), s = 0, 1, 2,
  with attribution-like rows (heavy-tailed, per-row scales, uneven motif sizes, P over one
  order of magnitude; see _sample_realistic); REALISTIC holds its shape (N 500, d_a 5000).

Why RD recovers the motifs, and at which (beta, gamma) (distortion_scale "sum", P normalized):
splitting a group of prior w into two equal halves costs w ln 2 of rate H and saves
w beta_e Delta_e / 4 of D_e (Delta_e: squared distance of the halves' mean e) plus the L1
gain in D_a. (1) A mechanism's pattern has fixed support (`n_active` coordinates), so the
weighted median of a group that mixes mechanisms misses the minority patterns: with the
defaults each row's pattern is ~6 in scaled L1 and ~1.3 stays after the planted split
(jitter, inactive coordinates), so mechanism splits pay already at beta_a = 0.5 ("easy" at
beta = 1, gamma = 0.5: L 4.5 at K = 1 vs 3.15 planted). (2) The semantic gain is bounded:
unit vectors give Delta_e <= 4, and near-orthogonal meanings give Delta_e ~ 2 / (1 + sigma_e^2)
~ 1.7, so a split only the semantic view supports (the crossed motifs that share a mechanism)
pays only when beta_e > 4 ln 2 / Delta_e ~ 1.6; on the paper's grid (beta_e <= 1.125) it
needs Delta_e > 2.5, i.e. meanings further apart than orthogonal. (3) Noise must not pay: sparse noise moves no median (a random
coordinate is active in far fewer than half of any group), but each row keeps ~3.4 of
residual L1 (spurious coordinates + jitter), and once beta_a times that approaches
ln(1 / P_n), splitting off small groups pays and RD over-splits (beta_a >= ~1.6 here).
Hence the crossed setting needs a large beta_e and a moderate beta_a: beta = 3, gamma = 0.8
(beta_e = 2.4, beta_a = 0.6) makes the planted partition RD's optimum. k-means on one view
with K = 2M must cut each of that view's M groups by noise, so it cannot find the crossed
motifs (ARI ~ 0.45), while RD and Co-Reg, which use both views, can.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from motif_discovery.embedding.attribution_view import centre_and_scale
from motif_discovery.embedding.features import FeatureSet
from motif_discovery.utils.errors import InputError

SETTINGS = ("easy", "crossed", "realistic")


@dataclass(frozen=True)
class SyntheticParams:
    """Generator knobs; `noise` multiplies every noise scale (e and a). A small d_a gets
    fewer than `n_active` coordinates per mechanism (see active_count)."""

    setting: str = "easy"
    n: int = 500
    d_e: int = 768
    d_a: int = 8192
    n_meanings: int = 4
    noise: float = 1.0
    sigma_e: float = 0.4
    n_shared: int = 32
    n_active: int = 64
    p_active: float = 0.95
    jitter_a: float = 0.2
    n_spurious: int = 48
    spurious_scale: float = 0.5


def motif_table(setting: str, n_meanings: int) -> list[tuple[int, int]]:
    """(meaning, mechanism) of each planted motif, as described in the module docstring."""
    if setting == "easy":
        return [(i, i) for i in range(n_meanings)]
    if setting == "crossed":
        if n_meanings < 2:
            raise InputError(f"synthetic.n_meanings: crossed motifs need >= 2, got {n_meanings}")
        k_total = 2 * n_meanings
        return [(k // 2, ((k + 1) % k_total) // 2) for k in range(k_total)]
    if setting == "realistic":
        shifts = range(min(3, n_meanings))
        return [(i, (i + s) % n_meanings) for s in shifts for i in range(n_meanings)]
    raise InputError(f"synthetic.setting: unknown value {setting!r}; expected one of {SETTINGS}")


def active_count(params: SyntheticParams) -> int:
    """Coordinates per mechanism: n_active, or fewer when the disjoint supports would not fit
    in d_a beside the shared baseline: min(n_active, (d_a - n_shared) // n_meanings)."""
    return min(params.n_active, (params.d_a - params.n_shared) // params.n_meanings)


def _check(params: SyntheticParams, n_motifs: int) -> None:
    if params.n < 2 * n_motifs:
        raise InputError(f"synthetic.n: {params.n} < 2 x {n_motifs} motifs")
    need = params.n_shared + params.n_meanings
    if params.d_a < need:
        raise InputError(f"synthetic.d_a: {params.d_a} < {need} coordinates the patterns need")
    if params.d_e < params.n_meanings or params.n_meanings < 1:
        raise InputError(f"synthetic.n_meanings: {params.n_meanings} (d_e {params.d_e})")
    if params.noise < 0:
        raise InputError(f"synthetic.noise: {params.noise} < 0")


@dataclass(frozen=True)
class PlantedSample:
    """Raw draws before stage-4 preprocessing (float32 arrays, ids per row)."""

    e: np.ndarray
    a_raw: np.ndarray
    p: np.ndarray
    motif: np.ndarray
    meaning: np.ndarray
    mechanism: np.ndarray


def sample_planted(params: SyntheticParams, seed: int | tuple[int, ...] = 0) -> PlantedSample:
    """Draw e (unit rows), raw attributions, P and the planted ids (module docstring)."""
    table = motif_table(params.setting, params.n_meanings)
    _check(params, len(table))
    rng = np.random.default_rng(seed)
    if params.setting == "realistic":
        return _sample_realistic(params, table, rng)
    n, m = params.n, params.n_meanings

    motif = rng.permutation(np.arange(n) % len(table))
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
    n_active = active_count(params)
    supports = coords[params.n_shared :][: m * n_active].reshape(m, n_active)

    def signed_lognormal(*shape: int) -> np.ndarray:
        return rng.choice([-1.0, 1.0], size=shape) * rng.lognormal(0.0, 0.5, size=shape)

    a_raw = np.zeros((n, params.d_a))
    base = signed_lognormal(params.n_shared)
    a_raw[:, shared] = base * (1 + 0.1 * params.noise * rng.standard_normal((n, params.n_shared)))
    pattern = signed_lognormal(m, n_active)
    active = rng.random((n, n_active)) < params.p_active
    jitter = 1 + params.jitter_a * params.noise * rng.standard_normal((n, n_active))
    rows = np.arange(n)[:, None]
    a_raw[rows, supports[mechanism]] += pattern[mechanism] * jitter * active
    spurious = rng.integers(0, params.d_a, size=(n, params.n_spurious))
    scale_noise = params.spurious_scale * params.noise
    np.add.at(a_raw, (rows, spurious), rng.laplace(0.0, scale_noise, (n, params.n_spurious)))
    f32 = np.float32
    return PlantedSample(e.astype(f32), a_raw.astype(f32), p.astype(f32), motif, meaning, mechanism)


# The "realistic" setting's shape: N = 500, d_e = 768, d_a = 5000, five meanings and five
# mechanisms crossed into 15 motifs, a few dozen large coordinates per mechanism.
REALISTIC = SyntheticParams(
    setting="realistic",
    d_a=5000,
    n_meanings=5,
    sigma_e=0.8,
    n_shared=200,
    n_active=40,
    p_active=0.7,
    jitter_a=0.5,
    n_spurious=150,
    spurious_scale=0.3,
)


def _sample_realistic(
    params: SyntheticParams, table: list[tuple[int, int]], rng: np.random.Generator
) -> PlantedSample:
    """Attribution-like data (setting "realistic"), heavy-tailed and unevenly sized:

    - motif sizes ~ Dirichlet(2) shares (at least two rows each); P_n = 10^U(-1, 0), so
      weights spread over one order of magnitude;
    - e_n = normalize(c_meaning + 0.3 u_motif + sigma_e * noise * z / sqrt(d_e)): noisy unit
      vectors around the meaning, each motif slightly shifted (u, z standard normal);
    - raw a_n = r_n [baseline + mechanism pattern] + sparse noise, with r_n ~ lognormal(0, 0.5)
      a per-row scale; baseline: n_shared coordinates shared by all rows, each present with
      probability 0.6, Student-t(3) values, jittered; pattern: n_active coordinates of the
      mechanism, signed lognormal(0, 1) amplitudes (heavy-tailed), each active with
      probability p_active, multiplicative lognormal(0, jitter_a) jitter; noise:
      n_spurious random coordinates per row with Student-t(2) values times spurious_scale.
    """
    n, m, d_a = params.n, params.n_meanings, params.d_a
    shares = rng.dirichlet(np.full(len(table), 2.0))
    extra = rng.choice(len(table), size=n - 2 * len(table), p=shares)
    motif = rng.permutation(np.concatenate([np.repeat(np.arange(len(table)), 2), extra]))
    meaning = np.array([table[k][0] for k in motif])
    mechanism = np.array([table[k][1] for k in motif])
    p = 10.0 ** rng.uniform(-1.0, 0.0, size=n)

    centres = rng.standard_normal((m, params.d_e))
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    shift = rng.standard_normal((len(table), params.d_e)) / np.sqrt(params.d_e)
    z = rng.standard_normal((n, params.d_e)) / np.sqrt(params.d_e)
    e = centres[meaning] + 0.3 * shift[motif] + params.sigma_e * params.noise * z
    e /= np.linalg.norm(e, axis=1, keepdims=True)

    coords = rng.permutation(d_a)
    shared = coords[: params.n_shared]
    n_active = active_count(params)
    supports = coords[params.n_shared :][: m * n_active].reshape(m, n_active)
    rows = np.arange(n)[:, None]
    a_raw = np.zeros((n, d_a), dtype=np.float32)
    base = rng.standard_t(3, size=params.n_shared)
    present = rng.random((n, params.n_shared)) < 0.6
    a_raw[:, shared] = (
        base * present * (1 + 0.2 * params.noise * rng.standard_normal(present.shape))
    )
    sign = rng.choice([-1.0, 1.0], size=(m, n_active))
    pattern = sign * rng.lognormal(0.0, 1.0, size=(m, n_active))
    active = rng.random((n, n_active)) < params.p_active
    jitter = rng.lognormal(0.0, params.jitter_a * params.noise, size=(n, n_active))
    a_raw[rows, supports[mechanism]] += pattern[mechanism] * jitter * active
    a_raw *= rng.lognormal(0.0, 0.5, size=(n, 1))
    spurious = rng.integers(0, d_a, size=(n, params.n_spurious))
    noise = params.spurious_scale * params.noise * rng.standard_t(2, (n, params.n_spurious))
    np.add.at(a_raw, (rows, spurious), noise.astype(np.float32))
    f32 = np.float32
    return PlantedSample(e.astype(f32), a_raw, p.astype(f32), motif, meaning, mechanism)


def generate_synthetic(
    params: SyntheticParams = SyntheticParams(),
    *,
    seed: int | tuple[int, ...] = 0,
    prefix_id: str = "synthetic_000",
) -> FeatureSet:
    """One synthetic prefix: e [N, d_e], a [N, d_a] (centred, scaled), raw P, H_0, s and
    labels "motif", "semantic" (meaning id), "mechanism" (mechanism id)."""
    sample = sample_planted(params, seed)
    p = torch.from_numpy(sample.p)
    a, h_0, s = centre_and_scale(torch.from_numpy(sample.a_raw), p)
    return FeatureSet(
        prefix_id=prefix_id,
        e=torch.from_numpy(sample.e),
        a=a,
        p=p,
        H_0=h_0,
        scale=s,
        continuation_ids=[f"{prefix_id}-c{i:04d}" for i in range(params.n)],
        texts=[
            f"<synthetic {params.setting} motif {k}: meaning {i}, mechanism {j}>"
            for k, i, j in zip(sample.motif, sample.meaning, sample.mechanism, strict=True)
        ],
        labels={
            "motif": sample.motif.tolist(),
            "semantic": sample.meaning.tolist(),
            "mechanism": sample.mechanism.tolist(),
        },
    )

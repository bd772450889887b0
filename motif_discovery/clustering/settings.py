"""The rate-distortion fit's settings: one object, validated once, built from the config."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from motif_discovery.utils.errors import InputError

DISTORTION_SCALES = ("sum", "per_dim")
SEMANTIC_CENTERS = ("mean", "spherical")
LLOYD_STEPS = 3


@dataclass(frozen=True)
class FitSettings:
    """Everything a fit needs besides the data and (beta, gamma).

    K_max: cap on the number of motifs K; distortion_scale: "sum" (L = H + beta_e D_e +
    beta_a D_a) or "per_dim" (D_e / d_e, D_a / d_a); semantic_center: "mean" (exact M-step)
    or "spherical" (renormalized, the reference's); tol: stop when |L_prev - L| <= tol |L_prev|;
    max_iter: at most this many iterations; seed: the split proposals' power-iteration start;
    lloyd_steps: reassignments per split proposal; warm_start: a sweep restarts each config
    from the best partition found on the grid. The defaults are configs/default_config.json's.
    """

    K_max: int = 50
    distortion_scale: str = "sum"
    semantic_center: str = "mean"
    tol: float = 1e-3
    max_iter: int = 50
    seed: int = 0
    lloyd_steps: int = LLOYD_STEPS
    warm_start: bool = True

    def __post_init__(self) -> None:
        def integer(name: str, low: int) -> None:
            value = getattr(self, name)
            if isinstance(value, bool) or int(value) != value or value < low:
                raise InputError(f"clustering.{name} must be an integer >= {low}, got {value!r}")

        integer("K_max", 1)
        integer("max_iter", 1)
        integer("lloyd_steps", 0)
        if self.distortion_scale not in DISTORTION_SCALES:
            raise InputError(
                f"distortion_scale must be one of {DISTORTION_SCALES}, got {self.distortion_scale!r}"
            )
        if self.semantic_center not in SEMANTIC_CENTERS:
            raise InputError(
                f"semantic_center must be one of {SEMANTIC_CENTERS}, got {self.semantic_center!r}"
            )
        if not self.tol >= 0:
            raise InputError(f"clustering.tol must be >= 0, got {self.tol!r}")

    @classmethod
    def from_config(cls, clustering: Any, seed: int) -> FitSettings:
        """The settings a config's clustering section implies (every field it shares with
        FitSettings, by name), with the run's seed."""
        shared = {
            f.name: getattr(clustering, f.name) for f in fields(cls) if hasattr(clustering, f.name)
        }
        return cls(**shared, seed=seed)

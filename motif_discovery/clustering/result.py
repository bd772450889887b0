"""The result of one rate-distortion fit."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from torch import Tensor

from motif_discovery.clustering.rd_objective import ObjectiveTerms


@dataclass
class RDResult:
    """Assignment, centres and objective of one (beta, gamma) fit, with its history.

    history: one entry per iteration (0 = the start): K, L, H, D_e, D_a and the
    events of that iteration ({"type": "split" | "junk", "motif", "delta_L", ...}).
    monotone: L never increased between iterations (always so with semantic_center="mean").
    """

    assign: Tensor
    K: int
    mu_e: Tensor
    mu_a: Tensor
    prior: Tensor
    terms: ObjectiveTerms
    beta: float
    gamma: float
    beta_e: float
    beta_a: float
    distortion_scale: str
    semantic_center: str
    iterations: int
    converged: bool
    monotone: bool
    history: list[dict] = field(default_factory=list)

    def to_json(self) -> dict:
        """Every field except the tensors (assign, mu_e, mu_a saved by the caller); prior as a list."""
        return {
            "K": self.K,
            **asdict(self.terms),
            "prior": [float(x) for x in self.prior],
            "beta": self.beta,
            "gamma": self.gamma,
            "beta_e": self.beta_e,
            "beta_a": self.beta_a,
            "distortion_scale": self.distortion_scale,
            "semantic_center": self.semantic_center,
            "iterations": self.iterations,
            "converged": self.converged,
            "monotone": self.monotone,
            "history": self.history,
        }

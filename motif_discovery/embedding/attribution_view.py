"""Stage 4's attribution view: centre on H_0, divide by one per-prefix scale s."""

from __future__ import annotations

from torch import Tensor

from motif_discovery.clustering.centres import weighted_median
from motif_discovery.utils.errors import InputError


def centre_and_scale(a_raw: Tensor, p: Tensor) -> tuple[Tensor, Tensor, float]:
    """H_0 = P-weighted coordinatewise median of the a_n, s = sqrt(mean_n ||a_n - H_0||^2)
    (unweighted mean); returns ((a - H_0) / s, H_0, s), so raw a = s * a' + H_0."""
    h_0 = weighted_median(a_raw, p)
    centred = a_raw - h_0
    scale = float(centred.double().square().sum(1).mean().sqrt())
    if scale <= 0:
        raise InputError("attribution view: every a_n equals H_0, so the scale s would be 0")
    return centred / scale, h_0, scale

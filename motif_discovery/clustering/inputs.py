"""Input checks for stage 5: two views e [N, d_e], a [N, d_a] and weights p [N]."""

from __future__ import annotations

import weakref

import torch
from torch import Tensor

from motif_discovery.clustering.rd_objective import row_chunks
from motif_discovery.utils.errors import InputError

# Tensors already found finite, by id: (weak reference, version then); a sweep's fits check
# the same e, a once.
_FINITE: dict[int, tuple[weakref.ref, int]] = {}


def _check_finite(name: str, x: Tensor) -> None:
    """InputError naming x when it holds NaN or inf (checked in row chunks; skipped for a
    tensor already checked and not modified since)."""
    seen = _FINITE.get(id(x))
    if seen is not None and seen[0]() is x and seen[1] == x._version:
        return
    bad = 0
    for rows in row_chunks(x.shape[0], x[0].numel() if x.ndim > 1 and x.shape[0] else 1):
        bad += int((~torch.isfinite(x[rows])).sum())
    if bad:
        raise InputError(f"{name}: {bad} non-finite value(s) (NaN or inf)")
    key = id(x)
    _FINITE[key] = (weakref.ref(x, lambda _: _FINITE.pop(key, None)), x._version)


def validate_inputs(e: Tensor, a: Tensor, p: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """Check shapes, finiteness and weights; return (e, a, p / sum(p)).

    Raises InputError for: wrong ndim, N = 0, N differing between e, a and p,
    NaN/inf anywhere, a negative weight, or weights that sum to zero.
    """
    for name, x, ndim in (("e", e, 2), ("a", a, 2), ("p", p, 1)):
        if not isinstance(x, Tensor):
            raise InputError(f"{name}: expected a torch.Tensor, got {type(x).__name__}")
        if x.ndim != ndim:
            raise InputError(f"{name}: expected {ndim} dimensions, got shape {tuple(x.shape)}")
        if not x.is_floating_point():
            raise InputError(f"{name}: expected a floating dtype, got {x.dtype}")
    n = e.shape[0]
    if a.shape[0] != n or p.shape[0] != n:
        raise InputError(
            f"mismatched N: e has {n} rows, a has {a.shape[0]} rows, p has {p.shape[0]} entries"
        )
    if n == 0:
        raise InputError("empty set: N = 0 continuations")
    if e.shape[1] == 0 or a.shape[1] == 0:
        raise InputError(f"a view has zero dimensions: d_e={e.shape[1]}, d_a={a.shape[1]}")
    if e.dtype != a.dtype or e.device != a.device:
        raise InputError(
            f"e and a differ in dtype/device: {e.dtype}/{e.device} vs {a.dtype}/{a.device}"
        )
    for name, x in (("e", e), ("a", a), ("p", p)):
        _check_finite(name, x)
    if (p < 0).any():
        raise InputError(f"p: {int((p < 0).sum())} negative weight(s)")
    total = p.double().sum()
    if total <= 0:
        raise InputError("p: all weights are zero")
    return e, a, (p.double() / total).to(dtype=e.dtype, device=e.device)


def validate_parameters(beta: float, gamma: float) -> None:
    """beta > 0 and finite, 0 <= gamma <= 1, else InputError."""
    if not beta > 0 or beta != beta or beta == float("inf"):
        raise InputError(f"beta must be a finite number > 0, got {beta}")
    if not 0.0 <= gamma <= 1.0:
        raise InputError(f"gamma must lie in [0, 1], got {gamma}")

"""Device and dtype from the config's `auto` defaults."""

from __future__ import annotations

import torch

from motif_discovery.utils.errors import InputError


def resolve_device(name: str) -> torch.device:
    """`auto` -> cuda when available, else cpu; `cuda` without a GPU is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("run.device: 'cuda' requested but no CUDA device is available")
    return torch.device(name)


def resolve_dtype(name: str) -> torch.dtype:
    """`float32` / `float64` -> the torch dtype."""
    return {"float32": torch.float32, "float64": torch.float64}[name]

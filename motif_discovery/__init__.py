"""Mechanistic motif discovery via rate-distortion clustering.

`from motif_discovery import MotifDiscovery, Motif` loads the Python API (docs/api.md) on
first access only, so importing the package stays light for the stage scripts.
"""

from __future__ import annotations

import importlib
from typing import Any

API_NAMES = (
    "Continuations",
    "Feature",
    "HierarchyEvent",
    "Motif",
    "MotifDiscovery",
    "MotifHierarchy",
    "MotifSteering",
    "SteeringRow",
)
__all__ = list(API_NAMES)


def __getattr__(name: str) -> Any:
    """The API's classes, imported from motif_discovery.api when first asked for."""
    if name in API_NAMES:
        return getattr(importlib.import_module("motif_discovery.api"), name)
    raise AttributeError(f"module 'motif_discovery' has no attribute {name!r}")

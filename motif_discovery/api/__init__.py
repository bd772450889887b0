"""The Python API: MotifDiscovery runs stages 2-7c on one prefix in memory (docs/api.md)."""

from motif_discovery.api.discovery import MotifDiscovery
from motif_discovery.api.results import (
    Continuations,
    Feature,
    HierarchyEvent,
    Motif,
    MotifHierarchy,
    MotifSteering,
    SteeringRow,
)

__all__ = [
    "Continuations",
    "Feature",
    "HierarchyEvent",
    "Motif",
    "MotifDiscovery",
    "MotifHierarchy",
    "MotifSteering",
    "SteeringRow",
]

"""Where stage 8 finds its inputs: stage 4 and 5 (required), stages 6 and 7 (optional).

- stage 4: `4_feature_extraction/<prefix_id>.{safetensors,json}` (texts, P_n, labels);
- stage 5: `5_gaussian_clustering/<prefix_id>/summary.json`, each grid config's
  `beta<b>_gamma<g>.{json,safetensors}` and each beta path's JSON;
- stage 6: `6_semantic_graphs/<prefix_id>/beta<b>_gamma<g>.json`;
- stage 7: `7_validation/7c/<prefix_id>.json`, `7_validation/7a/<prefix_id>.json` and the
  run-level `7_validation/7c_summary.json` and `7_validation/7a_summary.json`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from motif_discovery.clustering.outputs import (
    CLUSTERING_DIR,
    config_name,
    grid_configs,
    prefix_dir,
    read_summary,
)
from motif_discovery.embedding.features import feature_paths
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_json

FEATURES_DIR = "4_feature_extraction"
GRAPHS_DIR = "6_semantic_graphs"
VALIDATION_DIR = "7_validation"


def graph_path(run_dir: Path, prefix_id: str, beta: float, gamma: float) -> Path:
    """Stage 6's JSON of one grid config."""
    return run_dir / GRAPHS_DIR / prefix_id / f"{config_name(beta, gamma)}.json"


def steering_path(run_dir: Path, prefix_id: str) -> Path:
    """Stage 7c's JSON of one prefix (rows, confusion)."""
    return run_dir / VALIDATION_DIR / "7c" / f"{prefix_id}.json"


def graph_validation_path(run_dir: Path, prefix_id: str) -> Path:
    """Stage 7a's JSON of one prefix."""
    return run_dir / VALIDATION_DIR / "7a" / f"{prefix_id}.json"


def steering_summary_path(run_dir: Path) -> Path:
    """Stage 7c's aggregates over the run."""
    return run_dir / VALIDATION_DIR / "7c_summary.json"


def graph_validation_summary_path(run_dir: Path) -> Path:
    """Stage 7a's means over the run."""
    return run_dir / VALIDATION_DIR / "7a_summary.json"


def read_optional(path: Path) -> dict | None:
    """A later stage's JSON, or None when that stage has not written it."""
    return read_json(path) if path.is_file() else None


@dataclass(frozen=True)
class PrefixInputs:
    """The files stage 8 reads for one prefix (those that exist), in a fixed order."""

    prefix_id: str
    summary: dict
    grid: list[tuple[float, float, int]]  # (beta, gamma, K) of every grid config
    files: tuple[Path, ...]

    @classmethod
    def find(cls, run_dir: Path, prefix_id: str) -> PrefixInputs:
        """Stage 4's features and stage 5's results are required (InputError naming the
        missing file); stage 6's and 7's files are listed when they exist."""
        summary = read_summary(run_dir, prefix_id)
        grid = grid_configs(run_dir, prefix_id)
        folder = prefix_dir(run_dir, prefix_id)
        required = [*feature_paths(run_dir / FEATURES_DIR, prefix_id), folder / "summary.json"]
        for beta, gamma, _ in grid:
            stem = config_name(beta, gamma)
            required += [folder / f"{stem}.json", folder / f"{stem}.safetensors"]
        required += [folder / row["file"] for row in summary.get("beta_paths", [])]
        missing = [str(path) for path in required if not path.is_file()]
        if missing:
            raise InputError(f"stage 8: {prefix_id} needs {missing}: run stages 4 and 5 first")
        optional = [graph_path(run_dir, prefix_id, beta, gamma) for beta, gamma, _ in grid]
        optional += [steering_path(run_dir, prefix_id), graph_validation_path(run_dir, prefix_id)]
        return cls(prefix_id, summary, grid, (*required, *(p for p in optional if p.is_file())))


def check_stage5(run_dir: Path) -> None:
    """A run without stage 5's folder cannot be visualized."""
    folder = run_dir / CLUSTERING_DIR
    if not folder.is_dir():
        raise InputError(f"{folder}: missing; stage 8 needs stage 5's results (run stage 5 first)")

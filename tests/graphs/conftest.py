"""A toy-world run with stages 1-5 done, copied per test (stage 6 reads stages 1, 3, 4, 5)."""

import shutil
from pathlib import Path

import pytest

from motif_discovery.utils.config import load_config

REPO = Path(__file__).resolve().parents[2]
STAGE_DIRS = (
    "1_data_preparation",
    "3_attribution_graphs",
    "4_feature_extraction",
    "5_gaussian_clustering",
)


@pytest.fixture
def run_dir(toy_stage5_run, tmp_path) -> Path:
    """A fresh copy of the stage 1-5 outputs (never the source itself)."""
    target = tmp_path / "run"
    for name in STAGE_DIRS:
        shutil.copytree(toy_stage5_run / name, target / name)
    return target


@pytest.fixture
def toy_config():
    """configs/toy_world.json with --set overrides: toy_config("graphs.top_features=5")."""
    return lambda *overrides: load_config(REPO / "configs" / "toy_world.json", list(overrides))

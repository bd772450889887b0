"""A toy-world run with stages 1-5 done, copied per test (stage 6 reads stages 1, 3, 4, 5).

The source is $MOTIF_DEV_RUN (default /tmp/dev_run: 8 prefixes, N <= 500, beta = 1,
gamma = 0.5) when it holds stage 5's output, else the session's small toy-world run made
by the driver (tests/toy_run.py)."""

import os
import shutil
from pathlib import Path

import pytest

from motif_discovery.utils.config import load_config

REPO = Path(__file__).resolve().parents[2]
DEV_RUN = Path(os.environ.get("MOTIF_DEV_RUN", "/tmp/dev_run"))
STAGE_DIRS = (
    "1_data_preparation",
    "3_attribution_graphs",
    "4_feature_extraction",
    "5_gaussian_clustering",
)


@pytest.fixture(scope="session")
def stage5_source(request) -> Path:
    if (DEV_RUN / "5_gaussian_clustering").is_dir():
        return DEV_RUN
    run_dir, _ = request.getfixturevalue("toy_world_run")
    return run_dir


@pytest.fixture
def run_dir(stage5_source, tmp_path) -> Path:
    """A fresh copy of the stage 1-5 outputs (never the source itself)."""
    target = tmp_path / "run"
    for name in STAGE_DIRS:
        shutil.copytree(stage5_source / name, target / name)
    return target


@pytest.fixture
def toy_config():
    """configs/toy_world.json with --set overrides: toy_config("graphs.top_features=5")."""
    return lambda *overrides: load_config(REPO / "configs" / "toy_world.json", list(overrides))

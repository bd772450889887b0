"""A small toy-world pipeline run through the driver (real model, transcoders, MiniLM):
2 prefixes, N <= 40. Shared by the integration and browser tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SMALL = [
    "data.n_prefixes=2",
    "sampling.n=40",
    "sampling.max_calls=6",
    "sampling.patience=2",
    "sampling.batch_size=16",
    'clustering.baselines=["Single","KM-S","KM-A"]',
]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def command(run_dir: Path, *extra: str, small: list[str] = SMALL) -> list[str]:
    """The driver's command line for the small toy-world run in `run_dir`."""
    args = ["--config", str(REPO / "configs/toy_world.json"), "--run-dir", str(run_dir)]
    for item in small:
        args += ["--set", item]
    return [sys.executable, "-m", "motif_discovery.pipeline", *args, *extra]


def drive(run_dir: Path, *extra: str) -> subprocess.CompletedProcess:
    """Run the driver to completion, capturing its output."""
    return subprocess.run(
        command(run_dir, *extra), cwd=REPO, capture_output=True, text=True, env=ENV
    )

"""A toy-world run with stages 1-5 done (real model, transcoders, MiniLM), read by the
figure tests: the run named by MOTIF_TOY_RUN if set (it is only read), else a small one
made once per session (2 prefixes, N <= 40, about 40 s on one core)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from motif_discovery.clustering.outputs import load_config_result, read_summary
from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.embedding.features import load_features


@pytest.fixture(scope="session")
def stage5_run(tmp_path_factory) -> Path:
    """Run directory with stage 4 and stage 5 outputs (grid configs and beta paths)."""
    if os.environ.get("MOTIF_TOY_RUN"):
        return Path(os.environ["MOTIF_TOY_RUN"])
    from tests.toy_run import drive

    run_dir = tmp_path_factory.mktemp("toy_stage5_run")
    proc = drive(run_dir, "--to", "5")
    assert proc.returncode == 0, proc.stderr[-4000:]
    return run_dir


@pytest.fixture(scope="session")
def toy_prefix(stage5_run):
    """(features, first grid config's result, summary) of the prefix with the largest K."""
    ids = [row["prefix_id"] for row in load_prefixes(stage5_run)]
    summaries = {pid: read_summary(stage5_run, pid) for pid in ids}
    pid = max(ids, key=lambda i: summaries[i]["configs"][0]["K"])
    row = summaries[pid]["configs"][0]
    result = load_config_result(stage5_run, pid, row["beta"], row["gamma"])
    features = load_features(stage5_run / "4_feature_extraction", pid)
    assert result.assign.shape == features.p.shape
    return features, result, summaries[pid]

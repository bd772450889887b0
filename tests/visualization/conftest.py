"""A toy-world run with stages 1-5 done (real model, transcoders, MiniLM), read by the
figure tests: the session's toy_stage5_run (tests/conftest.py; it is only read)."""

from __future__ import annotations

from pathlib import Path

import pytest

from motif_discovery.clustering.outputs import load_config_result, read_summary
from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.embedding.features import load_features


@pytest.fixture(scope="session")
def stage5_run(toy_stage5_run) -> Path:
    """Run directory with stage 4 and stage 5 outputs (grid configs and beta paths)."""
    return toy_stage5_run


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

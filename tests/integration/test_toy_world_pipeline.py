"""Stages 1-5 on the shipped toy world, end to end through the driver: real model, real
circuit-tracer, real MiniLM. Outputs, the closing table, resume after a kill, shards."""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from motif_discovery.embedding.features import load_features
from motif_discovery.toy_world.grammar import load_world
from motif_discovery.toy_world.labels import label
from tests.toy_run import ENV, REPO, command, drive

STAGE_DIRS = (
    "1_data_preparation",
    "2_branch_sampling",
    "3_attribution_graphs",
    "4_feature_extraction",
)

pytestmark = pytest.mark.slow


def digests(run_dir: Path, folders=STAGE_DIRS) -> dict[str, str]:
    """sha256 of every output file of the given stage folders."""
    return {
        str(path.relative_to(run_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for folder in folders
        for path in sorted((run_dir / folder).rglob("*"))
        if path.is_file()
    }


@pytest.fixture
def toy_run(toy_world_run):
    """The session's toy-world run; tests here only read it or rerun unchanged stages."""
    return toy_world_run


def test_every_stage_writes_its_outputs_and_the_table_is_printed(toy_run):
    run_dir, proc = toy_run
    prefixes = [json.loads(line) for line in (run_dir / STAGE_DIRS[0] / "prefixes.jsonl").open()]
    assert len(prefixes) == 2
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for stage in (*STAGE_DIRS, "5_gaussian_clustering"):
        assert manifest["stages"][stage]["status"] == "done", stage
    world = load_world(REPO / "data/toy_world/world.json")
    for row in prefixes:
        features = load_features(run_dir / "4_feature_extraction", row["prefix_id"])
        records = [
            json.loads(line)
            for line in (run_dir / "2_branch_sampling" / f"{row['prefix_id']}.jsonl").open()
        ]
        assert features.continuation_ids == [r["continuation_id"] for r in records]
        # the family labels stage 4 saved are the labeler's, continuation by continuation
        names = features.label_names["family"]
        for record, got in zip(records, features.labels["family"], strict=True):
            assert names[got] == label(row["text"], record["text"], world).family
    assert "ARI against the family labels at beta=1, gamma=0.5" in proc.stdout
    assert any(line.startswith("mean ") for line in proc.stdout.splitlines())


def test_stages_6_to_8_ran_and_the_driver_ends_with_the_explorer(toy_run):
    run_dir, proc = toy_run
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for stage in ("6_semantic_graphs", "7a_graph_validation", "7c_steering", "8_visualization"):
        assert manifest["stages"][stage]["status"] == "done", stage
    last = proc.stdout.strip().splitlines()[-1]
    explorer = run_dir.resolve() / "8_visualization" / "index.html"
    assert last == f"explorer: {explorer}" and explorer.is_file()


def test_rerun_does_nothing_and_a_clustering_edit_reruns_stage_5_only(toy_run, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(toy_run[0], run_dir)
    before = digests(run_dir)
    proc = drive(run_dir, "--to", "5", "--set", "clustering.gamma=0.7")
    assert proc.returncode == 0, proc.stderr[-4000:]
    assert digests(run_dir) == before
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for stage in STAGE_DIRS[1:]:
        assert manifest["stages"][stage]["units"] == {"done": 0, "skipped": 2}, stage
    assert manifest["stages"]["5_gaussian_clustering"]["units"]["done"] == 2
    assert "gamma=0.7" in proc.stdout


def test_killed_in_stage_3_resumes_and_matches_an_uninterrupted_run(toy_run, tmp_path):
    reference, _ = toy_run
    run_dir = tmp_path / "killed"
    proc = subprocess.Popen(
        command(run_dir, "--to", "5"),
        cwd=REPO,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    done = run_dir / ".done" / "3_attribution_graphs"
    while not (done.is_dir() and any(done.iterdir())) and proc.poll() is None:
        time.sleep(0.05)  # until stage 3 has finished one prefix (or the run ended: fails below)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["stages"]["3_attribution_graphs"]["status"] == "interrupted"
    resumed = drive(run_dir, "--to", "5")
    assert resumed.returncode == 0, resumed.stderr[-4000:]
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["stages"]["3_attribution_graphs"]["units"] == {"done": 1, "skipped": 1}
    assert digests(run_dir) == digests(reference)


def test_shards_of_stages_1_to_4_equal_one_run(toy_run, tmp_path):
    reference, _ = toy_run
    run_dir = tmp_path / "sharded"
    for shard in ("0/2", "1/2"):
        proc = drive(run_dir, "--to", "4", "--shard", shard)
        assert proc.returncode == 0, proc.stderr[-4000:]
    assert digests(run_dir) == digests(reference)


def units(run_dir: Path, stage: str) -> dict[str, int]:
    return json.loads((run_dir / "manifest.json").read_text())["stages"][stage]["units"]


def test_each_later_stage_reruns_alone_after_a_config_edit(toy_run, tmp_path):
    run_dir = tmp_path / "copy"
    shutil.copytree(toy_run[0], run_dir)
    proc = drive(run_dir, "--from", "6")
    assert proc.returncode == 0, proc.stderr[-4000:]
    for stage in ("6_semantic_graphs", "7a_graph_validation", "7c_steering", "8_visualization"):
        assert units(run_dir, stage)["done"] == 0, stage  # nothing changed: all skipped
    edits = {  # a key each stage reads -> the stages that must rerun (the others skip)
        "graphs.top_features=5": {"6_semantic_graphs", "8_visualization"},
        "validation.max_members=4": {"7c_steering", "8_visualization"},
        "visualization.max_examples=3": {"8_visualization"},
    }
    applied: list[str] = []
    for edit, expected in edits.items():
        applied.append(edit)
        overrides = [arg for item in applied for arg in ("--set", item)]
        proc = drive(run_dir, "--from", "6", *overrides)
        assert proc.returncode == 0, proc.stderr[-4000:]
        for stage in ("6_semantic_graphs", "7a_graph_validation", "7c_steering"):
            assert (units(run_dir, stage)["done"] > 0) == (stage in expected), (edit, stage)
        assert units(run_dir, "8_visualization")["done"] > 0, edit

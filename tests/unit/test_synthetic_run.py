"""The stage-4 stand-in: files round-trip, the command line, and it behaves like a stage
(manifest entry, log, unchanged prefixes not rewritten, shards)."""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from motif_discovery.data.synthetic import SyntheticParams, generate_synthetic
from motif_discovery.data.synthetic_run import resolve_synthetic_args, write_synthetic_run
from motif_discovery.embedding.features import load_features
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_jsonl

SMALL = SyntheticParams(n=120, d_e=48, d_a=600, n_meanings=3, n_active=40, n_spurious=20)


def test_write_run_round_trip(tmp_path):
    params = SyntheticParams(**{**SMALL.__dict__, "setting": "crossed"})
    ids = write_synthetic_run(tmp_path, params, n_prefixes=2, seed=4)
    rows = read_jsonl(tmp_path / "1_data_preparation" / "prefixes.jsonl")
    assert [r["prefix_id"] for r in rows] == ids
    assert all(r["source"] == "synthetic" and r["setting"] == "crossed" for r in rows)
    assert all(isinstance(r["text"], str) and r["text"] for r in rows)
    for i, prefix_id in enumerate(ids):
        loaded = load_features(tmp_path / "4_feature_extraction", prefix_id)
        direct = generate_synthetic(params, seed=(4, i), prefix_id=prefix_id)
        for key in ("e", "a", "p", "H_0"):
            assert torch.equal(getattr(loaded, key), getattr(direct, key))
        assert loaded.scale == pytest.approx(direct.scale, rel=1e-6)  # stored as float32
        assert loaded.labels == direct.labels
        assert loaded.continuation_ids == direct.continuation_ids
        assert loaded.texts == direct.texts
    a0 = load_features(tmp_path / "4_feature_extraction", ids[0]).a
    assert not torch.equal(a0, load_features(tmp_path / "4_feature_extraction", ids[1]).a)


SCRIPT = Path(__file__).resolve().parents[2] / "hypotheses_experiment" / "generate_data.py"


def run_script(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False
    )


def test_cli_flags_and_config_defaults(tmp_path):
    """Flags alone; then the driver's call: config keys are defaults, explicit flags win."""
    proc = run_script(
        "--run-dir",
        str(tmp_path / "a"),
        "--setting",
        "crossed",
        "--n-prefixes",
        "2",
        "--n",
        "60",
        "--d-e",
        "16",
        "--d-a",
        "200",
        "--seed",
        "3",
    )
    assert proc.returncode == 0, proc.stderr
    loaded = load_features(tmp_path / "a" / "4_feature_extraction", "synthetic_crossed_001")
    params = SyntheticParams(setting="crossed", n=60, d_e=16, d_a=200)
    assert torch.equal(loaded.a, generate_synthetic(params, seed=(3, 1)).a)

    config = Path(__file__).resolve().parents[2] / "configs" / "synthetic.json"
    proc = run_script(
        "--config",
        str(config),
        "--run-dir",
        str(tmp_path / "b"),
        "--set",
        "synthetic.n=50",
        "--set",
        "synthetic.d_e=8",
        "--set",
        "synthetic.d_a=100",
        "--setting",
        "easy",
        "--shard",
        "1/2",
    )
    assert proc.returncode == 0, proc.stderr
    rows = read_jsonl(tmp_path / "b" / "1_data_preparation" / "prefixes.jsonl")
    assert len(rows) == 2 and {r["setting"] for r in rows} == {"easy"}  # synthetic.n_prefixes
    written = sorted(p.name for p in (tmp_path / "b" / "4_feature_extraction").iterdir())
    assert written == ["synthetic_easy_001.json", "synthetic_easy_001.safetensors"]
    loaded = load_features(tmp_path / "b" / "4_feature_extraction", "synthetic_easy_001")
    params = SyntheticParams(setting="easy", n=50, d_e=8, d_a=100)
    assert torch.equal(loaded.e, generate_synthetic(params, seed=(42, 1)).e)  # run.seed 42


def test_cli_bad_input_exits_2(tmp_path):
    proc = run_script("--run-dir", str(tmp_path), "--n", "3")
    assert proc.returncode == 2 and "synthetic.n" in proc.stderr
    flags = dict.fromkeys(["config", "run_dir", "setting", "n", "d_e", "d_a", "n_meanings"])
    flags |= dict.fromkeys(["noise", "n_prefixes", "seed"])
    with pytest.raises(InputError, match="--run-dir or --config"):
        resolve_synthetic_args(argparse.Namespace(**flags, set=[]))
    with pytest.raises(InputError, match="--set needs --config"):  # once silently ignored
        resolve_synthetic_args(argparse.Namespace(**flags, set=["synthetic.n=50"]))


def file_ids(folder: Path) -> dict[str, tuple[int, int]]:
    """(inode, mtime) of each file: an atomic rewrite changes the pair."""
    return {p.name: (p.stat().st_ino, p.stat().st_mtime_ns) for p in folder.iterdir()}


def test_stand_in_is_a_stage_and_skips_unchanged_prefixes(tmp_path):
    params = SyntheticParams(**{**SMALL.__dict__, "setting": "easy"})
    write_synthetic_run(tmp_path, params, n_prefixes=2, seed=1)
    entry = json.loads((tmp_path / "manifest.json").read_text())["stages"]["4_feature_extraction"]
    assert entry["status"] == "done" and entry["units"] == {"done": 2, "skipped": 0}
    features = tmp_path / "4_feature_extraction"
    assert sorted(entry["outputs"]) == sorted(
        ["1_data_preparation/prefixes.jsonl"]
        + [f"4_feature_extraction/{p.name}" for p in features.iterdir()]
    )
    assert "2 units run" in (tmp_path / "logs" / "4_feature_extraction.log").read_text()
    before = file_ids(features) | file_ids(tmp_path / "1_data_preparation")
    write_synthetic_run(tmp_path, params, n_prefixes=2, seed=1)
    entry = json.loads((tmp_path / "manifest.json").read_text())["stages"]["4_feature_extraction"]
    assert entry["units"] == {"done": 0, "skipped": 2}
    assert file_ids(features) | file_ids(tmp_path / "1_data_preparation") == before
    write_synthetic_run(tmp_path, params, n_prefixes=2, seed=2)  # new seed: new data
    loaded = load_features(features, "synthetic_easy_001")
    assert torch.equal(loaded.a, generate_synthetic(params, seed=(2, 1)).a)
    # rewritten: a new file (its inode number may be reused once the old one is removed)
    assert all(before[name] != ids for name, ids in file_ids(features).items())

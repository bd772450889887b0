"""Stage 7c end to end on a toy-world run (real model, real transcoders), through its script.

The source run is the session's toy-world run with stages 1-5 done (toy_stage5_run); it is
copied, then edited: one eligible prefix gets a motif of ONE member, another loses every active
feature (its feature columns zeroed in stages 3 and 4).
"""

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from motif_discovery.attribution.outputs import attribution_paths, load_attributions
from motif_discovery.clustering.outputs import config_name, grid_configs, prefix_dir
from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.embedding.features import feature_paths
from motif_discovery.utils.config import load_config
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import load_tensors, read_json, save_tensors, write_json
from motif_discovery.validation.steering_stage import run, unit_inputs

REPO = Path(__file__).resolve().parents[2]
STAGE_DIRS = (
    "1_data_preparation",
    "2_branch_sampling",
    "3_attribution_graphs",
    "4_feature_extraction",
    "5_gaussian_clustering",
)
SMALL = [
    "validation.max_members=2",
    "validation.B=[3]",
    "validation.epsilons=[-1.0,-0.5,0.5,1.0]",
    'validation.selections=["full","negative"]',
]
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


@pytest.fixture
def source(toy_stage5_run) -> Path:
    return toy_stage5_run


def copy_run(source: Path, target: Path) -> Path:
    """Copy stages 1-5, keeping the two eligible prefixes of fewest motifs and one other."""
    for name in STAGE_DIRS:
        shutil.copytree(source / name, target / name)
    motifs = {pid: eligible_Ks(target, pid) for pid in prefix_ids(target)}
    chosen = sorted((sum(Ks), pid) for pid, Ks in motifs.items() if Ks)[:2]
    keep = {pid for _, pid in chosen} | {pid for pid, Ks in motifs.items() if not Ks}
    assert len(chosen) == 2, "the source run needs two prefixes with 1 < K <= 10"
    kept = [pid for pid in prefix_ids(target) if pid in keep][:3]
    path = target / "1_data_preparation" / "prefixes.jsonl"
    lines = [
        line for line in path.read_text().splitlines() if json.loads(line)["prefix_id"] in kept
    ]
    path.write_text("\n".join(lines) + "\n")
    return target


def eligible_Ks(run_dir: Path, pid: str) -> list[int]:
    return [K for _, _, K in grid_configs(run_dir, pid) if 1 < K <= 10]


def config():
    return load_config(REPO / "configs/toy_world.json", SMALL)


def stage(run_dir: Path) -> subprocess.CompletedProcess:
    command = [sys.executable, str(REPO / "7_validation/7c_hypotheses.py")]
    command += ["--config", str(REPO / "configs/toy_world.json"), "--run-dir", str(run_dir)]
    for item in SMALL:
        command += ["--set", item]
    return subprocess.run(command, cwd=REPO, capture_output=True, text=True, env=ENV)


def prefix_ids(run_dir: Path) -> list[str]:
    return [row["prefix_id"] for row in load_prefixes(run_dir)]


def add_single_member_motif(run_dir: Path, pid: str, beta: float, gamma: float) -> str:
    """Move the first continuation of the config to a new motif K; returns its id."""
    folder, stem = prefix_dir(run_dir, pid), config_name(beta, gamma)
    record = read_json(folder / f"{stem}.json")
    tensors = load_tensors(folder / f"{stem}.safetensors")
    K = record["K"]
    record["assign"][0] = K
    record["K"] = K + 1
    tensors["assign"][0] = K
    for key in ("prior", "mu_e", "mu_a", "mu_a_raw"):
        tensors[key] = torch.cat([tensors[key], tensors[key][:1]])
    save_tensors(folder / f"{stem}.safetensors", tensors)
    write_json(folder / f"{stem}.json", record)
    summary = read_json(folder / "summary.json")
    for row in summary["configs"]:
        if (row["beta"], row["gamma"]) == (beta, gamma):
            row["K"] = K + 1
    write_json(folder / "summary.json", summary)
    return record["continuation_ids"][0]


def remove_features(run_dir: Path, pid: str) -> None:
    """Zero every feature column (activations, raw rows, stage 4's a)."""
    columns = load_attributions(run_dir, pid).sources.mask("feature")
    path = attribution_paths(run_dir, pid)[0]
    tensors = load_tensors(path)
    tensors["a"][:, columns] = 0.0
    tensors["activations"][columns] = 0.0
    save_tensors(path, tensors)
    path = feature_paths(run_dir / "4_feature_extraction", pid)[0]
    tensors = load_tensors(path)
    tensors["a"][:, columns] = 0.0
    save_tensors(path, tensors)


def test_stage_outputs_rerun_and_edge_cases(source, tmp_path):
    run_dir = copy_run(source, tmp_path / "run")
    eligible_ids = [pid for pid in prefix_ids(run_dir) if eligible_Ks(run_dir, pid)]
    single_pid, bare_pid = eligible_ids
    beta, gamma, _ = next(c for c in grid_configs(run_dir, single_pid) if 1 < c[2] <= 10)
    lone = add_single_member_motif(run_dir, single_pid, beta, gamma)
    remove_features(run_dir, bare_pid)
    Ks = {pid: eligible_Ks(run_dir, pid) for pid in prefix_ids(run_dir)}

    proc = stage(run_dir)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "stage 7c steering" in proc.stdout
    out_dir = run_dir / "7_validation" / "7c"
    for pid, motifs in Ks.items():
        out = read_json(out_dir / f"{pid}.json")
        assert out["eligible"] == bool(motifs)
        if not motifs:
            assert out["rows"] == [] and "no config" in out["reason"]
            continue
        assert out["forward_passes"] > 0
        assert {r["method"] for r in out["rows"]} == {"RD", "KM-Sem", "Single", "random"}
        for r in out["rows"]:
            assert r["usable"] == (r["reason"] is None)
            if r["usable"]:
                assert len(r["changes"]) == 4 and -1 <= r["spearman"] <= 1
                assert 0 < len(r["features"]) <= 3 and len(r["members"]) <= 2
            if r["selection"] == "negative":
                assert all(f["H_c"] < 0 for f in r["features"])
        rd = {(r["beta"], r["gamma"], r["motif"]) for r in out["rows"] if r["method"] == "RD"}
        assert len(rd) == sum(motifs)
    bare = read_json(out_dir / f"{bare_pid}.json")
    assert {r["reason"] for r in bare["rows"]} == {"no candidate features"}
    assert all(e["slopes"] is None for e in bare.get("confusion", {}).get("planted", []))
    single = read_json(out_dir / f"{single_pid}.json")
    lone_rows = [r for r in single["rows"] if r["method"] == "RD" and r["members"] == [lone]]
    assert len(lone_rows) == 2  # full and negative
    assert all(r["usable"] or r["reason"] for r in lone_rows)
    if "confusion" in single:  # toy-world family labels
        confusion = single["confusion"]
        assert all(len(m) <= 2 for m in confusion["members"].values())
        for entry in confusion["planted"] + confusion["RD"]:
            assert entry["slopes"] is None or set(entry["slopes"]) == set(confusion["families"])
    summary = read_json(run_dir / "7_validation" / "7c_summary.json")
    assert {a["method"] for a in summary["aggregates"]} == {"RD", "KM-Sem", "Single", "random"}
    assert summary["not_eligible"] == sorted(pid for pid, m in Ks.items() if not m)

    stamps = {p: p.stat().st_mtime_ns for p in out_dir.iterdir()}
    run(config(), run_dir)
    assert stamps == {p: p.stat().st_mtime_ns for p in out_dir.iterdir()}
    units = read_json(run_dir / "manifest.json")["stages"]["7c_steering"]["units"]
    assert units == {"done": 0, "skipped": len(Ks)}
    for shard in ("0/2", "1/2"):  # each shard's summary covers every prefix with an output
        run(config(), run_dir, shard=shard)
        assert read_json(run_dir / "7_validation" / "7c_summary.json") == summary


def drop_summary(run_dir: Path) -> str:
    path = prefix_dir(run_dir, prefix_ids(run_dir)[0]) / "summary.json"
    path.unlink()
    return str(path)


def shift_attributions(run_dir: Path) -> str:
    path = attribution_paths(run_dir, prefix_ids(run_dir)[-1])[1]
    record = read_json(path)
    record["position_shift"] = 1
    write_json(path, record)
    return f"{path}: position_shift 1"


def drop_kmeans(run_dir: Path) -> str:
    pid = [p for p in prefix_ids(run_dir) if eligible_Ks(run_dir, p)][-1]
    beta, gamma, _ = next(c for c in grid_configs(run_dir, pid) if 1 < c[2] <= 10)
    path = prefix_dir(run_dir, pid) / f"{config_name(beta, gamma)}.json"
    record = read_json(path)
    del record["baseline_assign"]["KM-S"]
    write_json(path, record)
    return f"{path}: baseline_assign has no 'KM-S'"


@pytest.mark.parametrize("spoil", [drop_summary, shift_attributions, drop_kmeans])
def test_bad_input_stops_before_any_output(source, tmp_path, spoil):
    run_dir = copy_run(source, tmp_path / "run")
    message = spoil(run_dir)
    with pytest.raises(InputError, match=re.escape(message)):
        run(config(), run_dir)
    assert not (run_dir / "7_validation").exists()


def test_unit_inputs_name_the_local_transcoders_metadata(source):
    """A retrained local transcoder set reruns 7c: its transcoders.json is an input."""
    pid = prefix_ids(source)[0]
    inputs = unit_inputs(source, pid, config())
    assert (REPO / "data/toy_world/transcoders/transcoders.json").resolve() in [
        p.resolve() for p in inputs
    ]
    hub = load_config(REPO / "configs/toy_world.json", ['model.transcoders="someone/a-set"'])
    assert all(p.resolve().is_relative_to(source.resolve()) for p in unit_inputs(source, pid, hub))

"""Stage 7a on a small toy-world run (stages 1-5 as the driver runs them: real model, real
transcoders, 2 prefixes, N <= 40), its outputs checked against the earlier stages' files
read directly; reruns, and bad input stopped before any output."""

import itertools
import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from safetensors.numpy import load_file

from motif_discovery.utils.config import load_config
from motif_discovery.utils.errors import InputError
from motif_discovery.validation import graph_stage
from motif_discovery.validation.graph_stage import run
from tests.toy_run import REPO, SMALL

CONFIG = REPO / "configs" / "toy_world.json"
SETTINGS = [*SMALL, "validation.replacement_continuations=8"]
KINDS = ("feature", "error", "token")


@pytest.fixture
def stage5_run(toy_stage5_run) -> Path:
    return toy_stage5_run


@pytest.fixture
def run_dir(stage5_run, tmp_path) -> Path:
    target = tmp_path / "run"
    shutil.copytree(stage5_run, target)
    return target


def stage(run_dir: Path, *extra: str) -> None:
    run(load_config(CONFIG, [*SETTINGS, *extra]), run_dir)


def prefix_ids(run_dir: Path) -> list[str]:
    lines = (run_dir / "1_data_preparation" / "prefixes.jsonl").read_text().splitlines()
    return [json.loads(line)["prefix_id"] for line in lines]


def stage2_rows(run_dir: Path, prefix_id: str) -> list[dict]:
    text = (run_dir / "2_branch_sampling" / f"{prefix_id}.jsonl").read_text()
    return [json.loads(line) for line in text.splitlines()]


def brute_prefix_shares(run_dir: Path, prefix_id: str, rows) -> dict:
    """P-weighted shares of stage 3's raw rows from its source table, by numpy."""
    a = load_file(str(run_dir / "3_attribution_graphs" / f"{prefix_id}.safetensors"))["a"]
    kinds = np.array(
        json.loads((run_dir / "3_attribution_graphs" / f"{prefix_id}.json").read_text())["sources"][
            "kind"
        ]
    )
    p = np.array([r["p_n"] for r in stage2_rows(run_dir, prefix_id)])[rows]
    a = a.astype(np.float64)[rows]
    out = {}
    for kind in KINDS:
        signed = a[:, kinds == kind].sum(1) / a.sum(1)
        absolute = np.abs(a[:, kinds == kind]).sum(1) / np.abs(a).sum(1)
        out[kind] = (np.average(signed, weights=p), np.average(absolute, weights=p))
    return out


def test_every_prefix_gets_its_record_and_the_figures_match_the_inputs(run_dir, capsys):
    stage(run_dir)
    ids = prefix_ids(run_dir)
    out = capsys.readouterr().out
    assert "stage 7a" in out and any(line.startswith("mean ") for line in out.splitlines())
    summary = json.loads((run_dir / "7_validation" / "7a_summary.json").read_text())
    assert summary["prefixes"] == ids
    checked = 0
    for prefix_id in ids:
        record = json.loads((run_dir / "7_validation" / "7a" / f"{prefix_id}.json").read_text())
        assert record["prefix_id"] == prefix_id
        rows = stage2_rows(run_dir, prefix_id)
        # the replacement comparison covers the 8 largest P_n, every token of each
        top = sorted(range(len(rows)), key=lambda n: -rows[n]["p_n"])[:8]
        replacement = record["replacement"]
        assert replacement["n_continuations"] == 8
        assert replacement["n_targets"] == sum(len(rows[n]["token_ids"]) for n in top)
        assert 0.5 <= replacement["top1_agreement"] <= 1.0 and replacement["kl_mean"] >= 0
        # shares of the prefix and of each motif
        expected = brute_prefix_shares(run_dir, prefix_id, np.arange(len(rows)))
        for kind in KINDS:
            got = record["shares"]["prefix"]
            assert got["signed"][kind] == pytest.approx(expected[kind][0], rel=1e-5, abs=1e-6)
            assert got["absolute"][kind] == pytest.approx(expected[kind][1], rel=1e-5)
        summary_5 = run_dir / "5_gaussian_clustering" / prefix_id / "summary.json"
        configs = json.loads(summary_5.read_text())["configs"]
        eligible = [c for c in configs if 1 < c["K"] <= 10]
        assert len(record["stability"]) == len(record["shares"]["configs"]) == len(eligible)
        for index, (config, stability) in enumerate(
            zip(eligible, record["stability"], strict=True)
        ):
            name = f"beta{config['beta']!r}_gamma{config['gamma']!r}.json"
            assign = np.array(
                json.loads((summary_5.parent / name).read_text())["assign"], dtype=int
            )
            a = load_file(str(run_dir / "3_attribution_graphs" / f"{prefix_id}.safetensors"))["a"]
            a = a.astype(np.float64)
            unit = a / np.linalg.norm(a, axis=1, keepdims=True)
            for motif in stability["motifs"]:
                checked += 1
                members = np.flatnonzero(assign == motif["motif"])
                assert motif["size"] == len(members)
                pairs = [unit[i] @ unit[j] for i, j in itertools.combinations(members, 2)]
                if pairs:
                    assert motif["within"] == pytest.approx(np.mean(pairs), rel=1e-6)
                else:
                    assert motif["within"] is None and "one member" in motif["note"]
                others = np.flatnonzero(assign != motif["motif"])
                between = unit[members] @ unit[others].T
                assert motif["between"] == pytest.approx(between.mean(), rel=1e-6)
                shares = brute_prefix_shares(run_dir, prefix_id, members)
                by_motif = record["shares"]["configs"][index]["motifs"][motif["motif"]]["shares"]
                for kind in KINDS:
                    assert by_motif["absolute"][kind] == pytest.approx(shares[kind][1], rel=1e-5)
    assert checked >= 3  # the small run has motifs (K > 1) to check


def test_a_rerun_skips_every_prefix_and_an_edit_reruns(run_dir):
    stage(run_dir)
    out = run_dir / "7_validation" / "7a"
    before = {p.name: p.stat().st_mtime_ns for p in out.iterdir()}
    stage(run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["stages"]["7a_graph_validation"]["units"] == {"done": 0, "skipped": 2}
    assert {p.name: p.stat().st_mtime_ns for p in out.iterdir()} == before
    stage(run_dir, "validation.replacement_continuations=4")
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["stages"]["7a_graph_validation"]["units"] == {"done": 2, "skipped": 0}


def test_no_eligible_config_leaves_stability_empty_with_the_reason(run_dir):
    stage(run_dir, "clustering.K_clamp=1")
    for prefix_id in prefix_ids(run_dir):
        record = json.loads((run_dir / "7_validation" / "7a" / f"{prefix_id}.json").read_text())
        assert record["stability"] == [] and record["shares"]["configs"] == []
        assert "no config with 1 < K <= 1" in record["stability_reason"]
        assert record["replacement"]["n_targets"] > 0 and record["shares"]["prefix"]["absolute"]
    summary = json.loads((run_dir / "7_validation" / "7a_summary.json").read_text())
    assert summary["stability"]["n_motifs"] == 0
    assert sorted(summary["no_stability"]) == sorted(prefix_ids(run_dir))


def assert_nothing_written(run_dir: Path) -> None:
    assert not (run_dir / "7_validation").exists()
    assert not (run_dir / ".done" / "7a_graph_validation").exists()
    assert (
        "7a_graph_validation" not in json.loads((run_dir / "manifest.json").read_text())["stages"]
    )


def test_missing_stage_5_output_is_named_and_nothing_is_written(run_dir):
    last = prefix_ids(run_dir)[-1]
    summary = run_dir / "5_gaussian_clustering" / last / "summary.json"
    summary.unlink()
    with pytest.raises(InputError, match=rf"{summary}: missing; run stage 5"):
        stage(run_dir)
    assert_nothing_written(run_dir)


def test_ids_that_disagree_between_stages_are_named(run_dir):
    prefix_id = prefix_ids(run_dir)[0]
    path = run_dir / "4_feature_extraction" / f"{prefix_id}.json"
    record = json.loads(path.read_text())
    ids = record["continuation_ids"]
    ids[0], ids[1] = ids[1], ids[0]
    path.write_text(json.dumps(record))
    with pytest.raises(InputError, match=rf"{path}: prefix {prefix_id}: continuation_ids"):
        stage(run_dir)
    assert_nothing_written(run_dir)


def test_a_position_shift_other_than_stage_3s_is_refused(run_dir):
    with pytest.raises(InputError, match="position_shift"):
        stage(run_dir, "compat.reference_position_shift=true")
    assert_nothing_written(run_dir)


def test_a_stage_5_result_without_ids_is_named(run_dir):
    prefix_id = prefix_ids(run_dir)[0]
    (path,) = (run_dir / "5_gaussian_clustering" / prefix_id).glob("beta1.0_gamma0.5.json")
    record = json.loads(path.read_text())
    del record["continuation_ids"]
    path.write_text(json.dumps(record))
    with pytest.raises(InputError, match=rf"{path}: prefix {prefix_id}: key 'continuation_ids'"):
        stage(run_dir)
    assert_nothing_written(run_dir)


def test_transcoders_that_read_elsewhere_are_refused(run_dir, monkeypatch):
    hooked = SimpleNamespace(
        feature_input_hook="hook_resid_mid", feature_output_hook="hook_mlp_out"
    )
    model = SimpleNamespace(dtype=torch.float32)
    monkeypatch.setattr(graph_stage, "load_model", lambda *args, **kwargs: model)
    monkeypatch.setattr(
        graph_stage, "load_transcoders", lambda *args, **kwargs: SimpleNamespace(layers=hooked)
    )
    with pytest.raises(InputError, match="read at 'hook_resid_mid'"):
        stage(run_dir)
    assert not list((run_dir / "7_validation").rglob("*.json"))


def test_an_edit_of_the_transcoders_metadata_reruns(run_dir, tmp_path):
    transcoders = tmp_path / "transcoders"
    shutil.copytree(REPO / "data/toy_world/transcoders", transcoders)
    setting = f"model.transcoders={json.dumps(str(transcoders))}"
    stage(run_dir, setting)
    stage(run_dir, setting)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["stages"]["7a_graph_validation"]["units"] == {"done": 0, "skipped": 2}
    metadata = transcoders / "transcoders.json"
    metadata.write_text(json.dumps(json.loads(metadata.read_text()), indent=4))  # same values
    stage(run_dir, setting)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["stages"]["7a_graph_validation"]["units"] == {"done": 2, "skipped": 0}

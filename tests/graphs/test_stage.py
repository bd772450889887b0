"""Stage 6 on real toy-world outputs (stages 1-5 copied), checked against brute-force
recomputation from the raw stage-3/4/5 files (json + safetensors, not the stage's readers)."""

import json
from collections import Counter
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from safetensors.numpy import load_file, save_file
from transformers import AutoTokenizer

from motif_discovery.graphs.stage import run
from motif_discovery.utils.errors import InputError

REPO = Path(__file__).resolve().parents[2]
OUT = "6_semantic_graphs"


def read(path: Path) -> dict:
    return json.loads(path.read_text())


def prefix_ids(run_dir: Path) -> list[str]:
    rows = (run_dir / "1_data_preparation" / "prefixes.jsonl").read_text().splitlines()
    return [json.loads(row)["prefix_id"] for row in rows if row.strip()]


def stage3(run_dir: Path, prefix_id: str) -> tuple[dict, np.ndarray]:
    base = run_dir / "3_attribution_graphs" / prefix_id
    return read(base.with_suffix(".json")), load_file(f"{base}.safetensors")["activations"]


@cache
def tokenizer():
    return AutoTokenizer.from_pretrained(REPO / "data" / "toy_world" / "model")


def decoded(run_dir: Path, prefix_id: str) -> list[str]:
    return [tokenizer().decode([t]) for t in stage3(run_dir, prefix_id)[0]["prefix_token_ids"]]


def stage5_rows(run_dir: Path, prefix_id: str) -> list[dict]:
    return read(run_dir / "5_gaussian_clustering" / prefix_id / "summary.json")["configs"]


def units(run_dir: Path) -> dict:
    return read(run_dir / "manifest.json")["stages"][OUT]["units"]


def brute_activation_examples(run_dir: Path, layer: int, feature: int, n: int) -> list[tuple]:
    """(prefix_id, position, activation, context) of every (prefix, position) where the
    feature is a source, by decreasing activation (ties: prefix order, column order)."""
    found = []
    for order, prefix_id in enumerate(prefix_ids(run_dir)):  # a full scan per feature
        record, activations = stage3(run_dir, prefix_id)
        tokens = decoded(run_dir, prefix_id)
        table = record["sources"]
        for j in range(len(table["kind"])):
            if (table["kind"][j], table["layer"][j], table["feature"][j]) == (
                "feature",
                layer,
                feature,
            ):
                pos = table["position"][j]
                context = "".join(tokens[max(0, pos - 9) : pos + 1])
                found.append((-float(activations[j]), order, j, prefix_id, pos, context))
    found.sort(key=lambda r: r[:3])
    return [(r[3], r[4], -r[0], r[5]) for r in found[:n]]


def check_graph(run_dir: Path, prefix_id: str, beta: float, gamma: float, top: int) -> None:
    """One config's graph against numpy recomputed from the stage 3, 4, 5 files."""
    stem = f"beta{beta!r}_gamma{gamma!r}"
    graph = read(run_dir / OUT / prefix_id / f"{stem}.json")
    tensors = load_file(run_dir / OUT / prefix_id / f"{stem}.safetensors")
    s5 = load_file(run_dir / "5_gaussian_clustering" / prefix_id / f"{stem}.safetensors")
    s4 = load_file(run_dir / "4_feature_extraction" / f"{prefix_id}.safetensors")
    s4_json = read(run_dir / "4_feature_extraction" / f"{prefix_id}.json")
    record, activations = stage3(run_dir, prefix_id)
    tokens = decoded(run_dir, prefix_id)
    kinds = record["sources"]["kind"]
    positions = np.array(record["sources"]["position"])
    mu_a, assign, p = s5["mu_a"].astype(np.float64), s5["assign"], s4["p"].astype(np.float64)
    K, d_a = mu_a.shape
    raw = float(s4["scale"][0]) * mu_a + s4["H_0"]

    assert graph["K"] == K and graph["n_sources"] == d_a and graph["prefix_tokens"] == tokens
    np.testing.assert_allclose(tensors["H_c"], mu_a, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(tensors["H_c_raw"], raw, rtol=1e-4, atol=1e-5)
    magnitude = np.abs(mu_a)
    total = magnitude.sum(axis=0)
    sigma = np.where(total > 0, magnitude / np.where(total > 0, total, 1), 0)
    np.testing.assert_allclose(tensors["sigma"], sigma, rtol=1e-5, atol=1e-7)
    by_position = np.stack([magnitude[:, positions == t].sum(1) for t in range(len(tokens))], 1)
    raw_by_position = np.stack(
        [np.abs(raw)[:, positions == t].sum(1) for t in range(len(tokens))], 1
    )
    np.testing.assert_allclose(tensors["token_scores"], by_position, rtol=1e-5, atol=1e-6)

    names = s4_json["label_names"]["family"]
    families = s4_json["labels"]["family"]
    for c, motif in enumerate(graph["motifs"]):
        members = [i for i in range(len(assign)) if assign[i] == c]
        assert motif["motif"] == c and motif["size"] == len(members)
        assert motif["prior"] == pytest.approx(float(s5["prior"][c]), rel=1e-6)
        np.testing.assert_allclose(motif["token_scores"], by_position[c], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(
            motif["token_scores_raw"], raw_by_position[c], rtol=1e-4, atol=1e-5
        )
        for kind in ("feature", "error", "token"):
            share = sum(magnitude[c, j] for j in range(d_a) if kinds[j] == kind)
            assert motif["kind_mass"][kind] == pytest.approx(share / magnitude[c].sum(), rel=1e-5)
        columns = [j for j in range(d_a) if kinds[j] == "feature"]
        columns = sorted(columns, key=lambda j: (-magnitude[c, j], j))[:top]
        assert [f["source"] for f in motif["top_features"]] == columns
        for f in motif["top_features"]:
            j = f["source"]
            assert f["layer"] == record["sources"]["layer"][j]
            assert f["feature"] == record["sources"]["feature"][j]
            assert f["position"] == positions[j] and f["token"] == tokens[positions[j]]
            assert f["H_c"] == pytest.approx(mu_a[c, j], rel=1e-6, abs=1e-8)
            assert f["H_c_raw"] == pytest.approx(raw[c, j], rel=1e-4, abs=1e-6)
            assert f["activation"] == pytest.approx(float(activations[j]), rel=1e-6)
            assert f["sigma"] == pytest.approx(sigma[c, j], rel=1e-5, abs=1e-8)
            shown = [
                (e["prefix_id"], e["position"], e["activation"], e["context"])
                for e in f["activation_examples"]
            ]
            expected = brute_activation_examples(run_dir, f["layer"], f["feature"], 5)
            assert [s[:2] + s[3:] for s in shown] == [e[:2] + e[3:] for e in expected]
            np.testing.assert_allclose([s[2] for s in shown], [e[2] for e in expected], rtol=1e-6)
        best = sorted(members, key=lambda i: (-p[i], i))[:10]
        assert [e["continuation_id"] for e in motif["examples"]] == [
            s4_json["continuation_ids"][i] for i in best
        ]
        for e, i in zip(motif["examples"], best, strict=True):
            assert e["p"] == pytest.approx(p[i] / p.sum(), rel=1e-9)
            assert e["text"] == s4_json["texts"][i] and e["family"] == names[families[i]]
        assert motif["family_counts"] == dict(Counter(names[families[i]] for i in members))


@pytest.mark.usefixtures("one_thread")
def test_stage_outputs_match_brute_force(run_dir, toy_config):
    config = toy_config()
    run(config, run_dir)
    K_clamp = config.clustering.K_clamp
    eligible = 0
    for prefix_id in prefix_ids(run_dir):
        summary = read(run_dir / OUT / prefix_id / "summary.json")
        assert summary["prefix_id"] == prefix_id
        rows = stage5_rows(run_dir, prefix_id)
        assert [(r["beta"], r["gamma"], r["K"]) for r in summary["configs"]] == [
            (r["beta"], r["gamma"], r["K"]) for r in rows
        ]
        for row in summary["configs"]:
            stem = f"beta{row['beta']!r}_gamma{row['gamma']!r}"
            if 1 < row["K"] <= K_clamp:
                eligible += 1
                assert row["file"] == f"{stem}.json" and row["skipped"] is None
                check_graph(run_dir, prefix_id, row["beta"], row["gamma"], 20)
            else:
                expected = "K = 1" if row["K"] == 1 else f"K = {row['K']} > K_clamp = {K_clamp}"
                assert row["file"] is None and row["skipped"] == expected
                assert not (run_dir / OUT / prefix_id / f"{stem}.json").exists()
    assert eligible > 0, "the stage 1-5 run has no config with 1 < K <= K_clamp to test"
    assert units(run_dir) == {"done": len(prefix_ids(run_dir)), "skipped": 0}


@pytest.mark.usefixtures("one_thread")
def test_rerun_skips_and_config_or_input_change_reruns(run_dir, toy_config):
    n = len(prefix_ids(run_dir))
    run(toy_config(), run_dir)
    run(toy_config(), run_dir)
    assert units(run_dir) == {"done": 0, "skipped": n}
    run(toy_config("graphs.top_features=5"), run_dir)
    assert units(run_dir) == {"done": n, "skipped": 0}
    for graph in (run_dir / OUT).glob("*/beta*_gamma*.json"):
        assert all(len(m["top_features"]) <= 5 for m in read(graph)["motifs"])
    # one prefix's stage-3 file changes: every prefix's activation examples may change
    last = prefix_ids(run_dir)[-1]
    path = run_dir / "3_attribution_graphs" / f"{last}.json"
    path.write_text(path.read_text() + "\n")
    run(toy_config("graphs.top_features=5"), run_dir)
    assert units(run_dir) == {"done": n, "skipped": 0}


def test_missing_stage5_output_is_named_and_nothing_written(run_dir, toy_config):
    prefix_id = prefix_ids(run_dir)[-1]
    missing = run_dir / "5_gaussian_clustering" / prefix_id / "summary.json"
    missing.unlink()
    with pytest.raises(InputError, match="run stage 5 first") as err:
        run(toy_config(), run_dir)
    assert str(missing) in str(err.value)
    assert not (run_dir / OUT).exists() and not (run_dir / "manifest.json").exists()


def test_disagreeing_continuation_ids_raise_before_writing(run_dir, toy_config):
    prefix_id = prefix_ids(run_dir)[0]
    path = run_dir / "4_feature_extraction" / f"{prefix_id}.json"
    record = read(path)
    ids = record["continuation_ids"]
    ids[0], ids[1] = ids[1], ids[0]
    path.write_text(json.dumps(record))
    with pytest.raises(InputError, match="disagree on continuation_ids"):
        run(toy_config(), run_dir)
    assert not (run_dir / OUT / prefix_id).exists()


@pytest.mark.usefixtures("one_thread")
def test_prefix_without_feature_sources(run_dir, toy_config):
    config = toy_config()
    target = next(
        p
        for p in prefix_ids(run_dir)
        if any(1 < r["K"] <= config.clustering.K_clamp for r in stage5_rows(run_dir, p))
    )
    path = run_dir / "3_attribution_graphs" / f"{target}.json"
    record = read(path)
    record["sources"]["kind"] = [
        "error" if k == "feature" else k for k in record["sources"]["kind"]
    ]
    path.write_text(json.dumps(record))
    run(config, run_dir)
    log = (run_dir / "logs" / f"{OUT}.log").read_text()
    assert f"{target}: no feature source" in log
    for graph in (run_dir / OUT / target).glob("beta*_gamma*.json"):
        for motif in read(graph)["motifs"]:
            assert motif["top_features"] == [] and motif["kind_mass"]["feature"] == 0.0


def test_stale_config_files_are_removed(run_dir, toy_config):
    run(toy_config(), run_dir)
    prefix_id = prefix_ids(run_dir)[0]
    stale = run_dir / OUT / prefix_id / "beta9.0_gamma0.5.json"
    stale.write_text("{}")
    run(toy_config(), run_dir, force=True)
    assert not stale.exists()
    assert (run_dir / OUT / prefix_id / "summary.json").exists()


def test_disagreeing_d_a_raises_before_writing(run_dir, toy_config):
    prefix_id = prefix_ids(run_dir)[0]
    path = run_dir / "4_feature_extraction" / f"{prefix_id}.safetensors"
    tensors = load_file(path)
    tensors["a"], tensors["H_0"] = tensors["a"][:, :-1].copy(), tensors["H_0"][:-1].copy()
    save_file(tensors, path)
    with pytest.raises(InputError, match=r"d_a = \d+, but .* sources"):
        run(toy_config(), run_dir)
    assert not (run_dir / OUT / prefix_id).exists()

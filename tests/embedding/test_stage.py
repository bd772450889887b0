"""Stage 4 over a run directory: stage-2/3 files written here in their formats, real MiniLM."""

import hashlib
import json
import re

import numpy as np
import pytest
import torch

from motif_discovery.clustering import stage as stage5
from motif_discovery.data.prefixes import PREFIXES_FILE
from motif_discovery.embedding import stage as stage4
from motif_discovery.embedding.features import load_features
from motif_discovery.embedding.semantic import continuation_embeddings, load_embedder
from motif_discovery.model.paths import REPO_ROOT
from motif_discovery.toy_world.grammar import load_world, parse_prefix, planted_texts
from motif_discovery.toy_world.labels import label
from motif_discovery.utils.config import load_config
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_jsonl, save_tensors, write_json, write_jsonl

WORLD = REPO_ROOT / "data" / "toy_world" / "world.json"
D_A = 6


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def cloze_rows(n):
    rows = read_jsonl(REPO_ROOT / "data" / "toy_world" / "clozes.jsonl")[:n]
    return [{"prefix_id": r["id"], "text": r["text"], "id": r["id"]} for r in rows]


def write_prefix_inputs(run_dir, row, n, seed):
    """Stage 2's jsonl (sorted by p_n, descending) and stage 3's pair for one prefix: n
    planted texts of the toy world, random p_n and raw attributions."""
    rng = np.random.default_rng(seed)
    texts = planted_texts(parse_prefix(row["text"]), load_world(WORLD))[0]
    texts = [texts[i] for i in rng.choice(len(texts), size=n, replace=False)]
    p_n = np.sort(rng.uniform(0.05, 0.9, size=n))[::-1]
    prefix_id = row["prefix_id"]
    records = [
        {
            "continuation_id": f"{prefix_id}.{i:04d}",
            "prefix_id": prefix_id,
            "text": text,
            "token_ids": list(range(3, 3 + len(text.split()))),  # stage 4 reads no ids
            "p_n": float(p),
        }
        for i, (text, p) in enumerate(zip(texts, p_n, strict=True))
    ]
    write_jsonl(run_dir / "2_branch_sampling" / f"{prefix_id}.jsonl", records)
    a_raw = torch.from_numpy(rng.normal(size=(n, D_A)).astype(np.float32))
    attribution = run_dir / "3_attribution_graphs"
    save_tensors(attribution / f"{prefix_id}.safetensors", {"a": a_raw})
    write_json(
        attribution / f"{prefix_id}.json",
        {"prefix_id": prefix_id, "continuation_ids": [r["continuation_id"] for r in records]},
    )
    return records, a_raw


def make_run(tmp_path, n=12, n_prefixes=2):
    run_dir = tmp_path / "run"
    rows = cloze_rows(n_prefixes)
    write_jsonl(run_dir / PREFIXES_FILE, rows)
    inputs = {
        row["prefix_id"]: write_prefix_inputs(run_dir, row, n, i) for i, row in enumerate(rows)
    }
    return run_dir, rows, inputs


def config(*sets):
    return load_config(None, ["data.labeler=toy_world", "run.device=cpu", *sets])


def counts(run_dir):
    manifest = json.loads((run_dir / "manifest.json").read_text())
    return manifest["stages"]["4_feature_extraction"]["units"]


def weighted_median(x, w):
    """Lower weighted median per column, by brute force over candidate values."""
    out = []
    for column in x.T:
        costs = [(np.sum(w * np.abs(column - m)), m) for m in sorted(column)]
        best = min(cost for cost, _ in costs)
        out.append(min(m for cost, m in costs if cost <= best + 1e-9))
    return np.array(out)


def test_views_labels_and_alignment(tmp_path):
    run_dir, rows, inputs = make_run(tmp_path)
    stage4.run(config(), run_dir)
    embedder = load_embedder("all-MiniLM-L6-v2", torch.device("cpu"))
    world = load_world(WORLD)
    for row in rows:
        records, a_raw = inputs[row["prefix_id"]]
        features = load_features(run_dir / "4_feature_extraction", row["prefix_id"])
        texts = [r["text"] for r in records]
        assert features.continuation_ids == [r["continuation_id"] for r in records]
        assert features.texts == texts
        np.testing.assert_allclose(features.p.numpy(), [r["p_n"] for r in records], rtol=1e-6)
        for n in (0, 5, len(texts) - 1):  # row n is text n, embedded alone
            alone = continuation_embeddings(embedder, row["text"], [texts[n]])[0]
            torch.testing.assert_close(features.e[n], alone, atol=1e-5, rtol=0)
        h_0 = weighted_median(a_raw.numpy(), features.p.numpy())
        np.testing.assert_allclose(features.H_0.numpy(), h_0, rtol=1e-6)
        s = np.sqrt(np.mean(np.sum((a_raw.numpy() - h_0) ** 2, axis=1)))
        assert features.scale == pytest.approx(s, rel=1e-5)
        torch.testing.assert_close(features.raw_attribution(features.a), a_raw, atol=1e-5, rtol=0)
        for kind in ("family", "semantic", "mechanism"):
            names = features.label_names[kind]
            got = [names[i] for i in features.labels[kind]]
            assert got == [getattr(label(row["text"], t, world), kind) for t in texts]
        assert len(set(features.labels["family"])) > 1
    # stage 5 reads the features as they are and scores RD against every label kind
    stage5.run(
        config("clustering.beta=1.0", "clustering.gamma=0.5", "clustering.baselines=[]"), run_dir
    )
    out = run_dir / "5_gaussian_clustering" / rows[0]["prefix_id"] / "summary.json"
    scores = json.loads(out.read_text())["configs"][0]["scores"]["RD"]
    assert {"ARI_family", "ARI_semantic", "ARI_mechanism"} <= set(scores)


def test_reruns_only_what_changed(tmp_path):
    run_dir, rows, _ = make_run(tmp_path, n=6)
    stage4.run(config(), run_dir)
    assert counts(run_dir) == {"done": 2, "skipped": 0}
    stage4.run(config(), run_dir)
    assert counts(run_dir) == {"done": 0, "skipped": 2}
    stage4.run(config("embedding.batch_size=2"), run_dir)  # speed only: nothing reruns
    assert counts(run_dir) == {"done": 0, "skipped": 2}
    stage4.run(config("embedding.max_length=128"), run_dir)
    assert counts(run_dir) == {"done": 2, "skipped": 0}
    second = rows[1]["prefix_id"]
    samples = run_dir / "2_branch_sampling" / f"{second}.jsonl"
    records = read_jsonl(samples)
    records[0]["p_n"] = 0.95
    write_jsonl(samples, records)  # one prefix's continuations changed
    stage4.run(config("embedding.max_length=128"), run_dir)
    assert counts(run_dir) == {"done": 1, "skipped": 1}
    assert load_features(run_dir / "4_feature_extraction", second).p[0] == pytest.approx(0.95)
    edited = [dict(r, text=r["text"] + " ") if r["prefix_id"] == second else r for r in rows]
    write_jsonl(run_dir / PREFIXES_FILE, edited)  # one prefix's row changed
    stage4.run(config("embedding.max_length=128"), run_dir)
    assert counts(run_dir) == {"done": 1, "skipped": 1}
    stage4.run(config("embedding.max_length=128", "data.labeler=null"), run_dir)
    assert counts(run_dir) == {"done": 2, "skipped": 0}
    assert load_features(run_dir / "4_feature_extraction", second).labels == {}


def test_mismatched_ids_are_named(tmp_path):
    run_dir, rows, _ = make_run(tmp_path, n=5, n_prefixes=1)
    prefix_id = rows[0]["prefix_id"]
    meta_path = run_dir / "3_attribution_graphs" / f"{prefix_id}.json"
    meta = json.loads(meta_path.read_text())
    ids = meta["continuation_ids"]
    meta["continuation_ids"] = [ids[0], ids[2], ids[1], *ids[3:]]  # same ids, other order
    write_json(meta_path, meta)
    with pytest.raises(InputError, match="first difference at row 1") as err:
        stage4.run(config(), run_dir)
    assert str(meta_path) in str(err.value) and f"{prefix_id}.jsonl" in str(err.value)
    assert not (run_dir / "4_feature_extraction" / f"{prefix_id}.json").exists()


def test_empty_continuation_is_named(tmp_path):
    run_dir, rows, _ = make_run(tmp_path, n=5, n_prefixes=1)
    samples = run_dir / "2_branch_sampling" / f"{rows[0]['prefix_id']}.jsonl"
    records = read_jsonl(samples)
    records[3]["text"] = "  "
    write_jsonl(samples, records)
    cid = records[3]["continuation_id"]
    with pytest.raises(InputError, match=re.escape(f"continuation {cid}: text '  ' is empty")):
        stage4.run(config(), run_dir)
    assert not (run_dir / "4_feature_extraction").exists()


def test_missing_world_file(tmp_path):
    clozes = tmp_path / "elsewhere" / "clozes.jsonl"
    clozes.parent.mkdir()
    clozes.write_text("")
    run_dir, _, _ = make_run(tmp_path, n=5, n_prefixes=1)
    with pytest.raises(InputError, match=re.escape(str(clozes.parent / "world.json"))):
        stage4.run(config(f"data.clozes={clozes}"), run_dir)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        ({"p_n": None}, r": every row needs 'p_n'"),
        (
            {"p_n": 0.0},
            r": line 2: prefix \S+, continuation \S+: p_n 0.0 is not a finite number > 0",
        ),
        ({"text": 3}, r": line 2: prefix \S+, continuation \S+: text 3 is empty after strip"),
        ({"continuation_id": "toy-000.0000"}, "duplicate continuation ids"),
    ],
)
def test_bad_stage2_rows_are_named(tmp_path, edit, message):
    run_dir, rows, _ = make_run(tmp_path, n=4, n_prefixes=1)
    samples = run_dir / "2_branch_sampling" / f"{rows[0]['prefix_id']}.jsonl"
    records = read_jsonl(samples)
    records[1].update(edit)
    write_jsonl(samples, records)
    with pytest.raises(InputError, match=message) as err:
        stage4.run(config(), run_dir)
    assert str(samples) in str(err.value)


def test_a_bad_later_prefix_stops_the_stage_before_any_output(tmp_path):
    run_dir, rows, _ = make_run(tmp_path, n=5, n_prefixes=2)
    index_path = run_dir / "3_attribution_graphs" / f"{rows[1]['prefix_id']}.json"
    index = json.loads(index_path.read_text())
    index["continuation_ids"] = index["continuation_ids"][::-1]
    index_path.write_text(json.dumps(index))
    with pytest.raises(InputError, match="first difference at row 0"):
        stage4.run(config(), run_dir)
    assert not (run_dir / "4_feature_extraction").exists()


def test_attributions_of_an_older_stage_2_file_are_refused(tmp_path):
    """Stage 2 reran (same ids, other texts) but stage 3 did not: the index records the
    sha256 of the stage-2 file it was computed from."""
    run_dir, rows, _ = make_run(tmp_path, n=5, n_prefixes=1)
    prefix_id = rows[0]["prefix_id"]
    samples = run_dir / "2_branch_sampling" / f"{prefix_id}.jsonl"
    index_path = run_dir / "3_attribution_graphs" / f"{prefix_id}.json"
    index = json.loads(index_path.read_text())
    index["samples_sha256"] = hashlib.sha256(samples.read_bytes()).hexdigest()
    index_path.write_text(json.dumps(index))
    stage4.run(config(), run_dir)  # the recorded file: accepted
    records = read_jsonl(samples)
    records[0]["text"] = " mostly wool ."
    write_jsonl(samples, records)
    with pytest.raises(InputError, match=r"computed from another version of .*rerun stage 3"):
        stage4.run(config(), run_dir)

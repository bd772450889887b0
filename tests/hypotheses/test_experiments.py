"""H1-H3 on the small toy-world run (stages 1-8), checked against independent
computations on the files: sklearn ARI/NMI, a brute-force conditional entropy and pairwise
AUROC, scipy's Wilcoxon on the 7c rows; and on a copy given a second stage-5 config per
prefix (a grid), that only one config per prefix counts."""

import json
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from safetensors.torch import load_file
from scipy.stats import wilcoxon
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from motif_discovery.hypotheses import causal, detection, orthogonality
from motif_discovery.hypotheses.readers import studied_config
from motif_discovery.toy_world.grammar import load_world
from motif_discovery.toy_world.labels import label
from tests.toy_run import REPO


@pytest.fixture(scope="module")
def results(toy_world_run, tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("hyp") / "run"
    shutil.copytree(toy_world_run[0], run_dir)
    return run_dir, orthogonality.run(run_dir), detection.run(run_dir), causal.run(run_dir)


def stage5_records(run_dir: Path, beta: float | None = None) -> list[tuple[str, dict, dict]]:
    """(prefix id, grid record, features json) of every config with 1 < K <= 10 (and the
    given beta)."""
    out = []
    for folder in sorted((run_dir / "5_gaussian_clustering").iterdir()):
        if not folder.is_dir():
            continue
        features = json.loads((run_dir / f"4_feature_extraction/{folder.name}.json").read_text())
        for path in sorted(folder.glob("beta*_gamma*.json")):
            if path.name.startswith("beta_path"):
                continue
            record = json.loads(path.read_text())
            if 1 < record["K"] <= 10 and beta in (None, record["beta"]):
                out.append((folder.name, record, features))
    return out


def test_h1_matches_sklearn(results, one_thread):
    run_dir, h1, _, _ = results
    records = stage5_records(run_dir)
    assert records and len(h1["rows"]) == len(records)
    for (prefix_id, record, features), row in zip(records, h1["rows"], strict=True):
        assert row["prefix_id"] == prefix_id
        km_s, km_a = record["baseline_assign"]["KM-S"], record["baseline_assign"]["KM-A"]
        pair = row["pairs"]["KM-S vs KM-A"]
        assert pair["ARI"] == pytest.approx(adjusted_rand_score(km_s, km_a), abs=1e-9)
        assert pair["NMI"] == pytest.approx(normalized_mutual_info_score(km_s, km_a), abs=1e-9)
        family = features["labels"]["family"]
        rd = row["labels"]["family"]["RD"]
        assert rd["ARI"] == pytest.approx(adjusted_rand_score(family, record["assign"]), abs=1e-9)
    mean = np.mean([r["pairs"]["RD vs KM-A"]["NMI"] for r in h1["rows"]])
    assert h1["aggregate"]["pairs"]["RD vs KM-A"]["NMI"]["mean"] == pytest.approx(mean)
    assert (run_dir / "hypotheses/h1.png").stat().st_size > 0


def brute_conditional_entropy(correct, assign, p) -> float:
    total = sum(p)
    out = 0.0
    for k in set(assign):
        idx = [i for i, z in enumerate(assign) if z == k]
        w = sum(p[i] for i in idx) / total
        r = sum(p[i] * correct[i] for i in idx) / sum(p[i] for i in idx)
        for q in (r, 1 - r):
            if q > 0:
                out -= w * q * math.log2(q)
    return out


def brute_loo_auroc(correct, assign) -> float:
    scores = []
    for n in range(len(correct)):
        same = [m for m in range(len(correct)) if assign[m] == assign[n] and m != n]
        rest = same or [m for m in range(len(correct)) if m != n]
        scores.append(sum(correct[m] for m in rest) / len(rest))
    pos = [s for s, c in zip(scores, correct, strict=True) if c == 1]
    neg = [s for s, c in zip(scores, correct, strict=True) if c == 0]
    wins = sum((a > b) + 0.5 * (a == b) for a in pos for b in neg)
    return wins / (len(pos) * len(neg))


def test_h2_matches_brute_force(results, one_thread):
    run_dir, _, h2, _ = results
    world = load_world(REPO / "data/toy_world/world.json")
    prefixes = {
        json.loads(line)["prefix_id"]: json.loads(line)["text"]
        for line in (run_dir / "1_data_preparation/prefixes.jsonl").read_text().splitlines()
    }
    rows = {(r["prefix_id"], r["config"]): r for r in h2["rows"]}
    checked = 0
    for prefix_id, record, features in stage5_records(run_dir):
        row = rows[(prefix_id, f"beta={record['beta']!r},gamma={record['gamma']!r}")]
        found = [label(prefixes[prefix_id], t, world) for t in features["texts"]]
        known = [i for i, x in enumerate(found) if x.family != "other"]
        correct = [1 if found[i].correct else 0 for i in known]  # default's None is wrong
        assert row["n_known"] == len(known)
        assert row["n_unknown"] == len(found) - len(known)
        p_all = load_file(run_dir / f"4_feature_extraction/{prefix_id}.safetensors")["p"]
        p = [float(p_all[i]) for i in known]
        for method, assign in (
            ("RD", record["assign"]),
            ("KM-S", record["baseline_assign"]["KM-S"]),
            ("KM-A", record["baseline_assign"]["KM-A"]),
        ):
            z = [assign[i] for i in known]
            got = row["methods"][method]
            assert got["H_cond"] == pytest.approx(
                brute_conditional_entropy(correct, z, p), abs=1e-6
            )
            if 0 < sum(correct) < len(correct):
                assert got["AUROC"] == pytest.approx(brute_loo_auroc(correct, z), abs=1e-9)
            checked += 1
    assert checked
    assert (run_dir / "hypotheses/h2.png").stat().st_size > 0


def check_h3(run_dir: Path, h3: dict, beta: float | None = None) -> None:
    """h3's paired tests and means against scipy/numpy on the 7c rows (of `beta`)."""
    rows = []
    for path in sorted((run_dir / "7_validation/7c").glob("*.json")):
        output = json.loads(path.read_text())
        rows += [r | {"prefix_id": output["prefix_id"]} for r in output["rows"]]
    rows = [r for r in rows if beta in (None, r["beta"])]
    assert rows
    fields = ("prefix_id", "beta", "gamma", "selection", "B", "method", "motif")
    usable = {tuple(r[k] for k in fields): r for r in rows if r["usable"]}
    for entry in h3["paired"]:
        if entry["control"] == "KM-Sem":
            continue  # paired through the matching; its pairs are checked below
        pairs = [
            (row["spearman" if entry["score"] == "spearman" else "pearson"], other)
            for key, row in usable.items()
            if key[5] == "RD" and key[3] == entry["selection"] and key[4] == entry["B"]
            for other in [usable.get((*key[:5], entry["control"], key[6]))]
            if other is not None
        ]
        a = [x for x, _ in pairs]
        b = [o[entry["score"]] for _, o in pairs]
        assert entry["n"] == len(pairs)
        diff = np.subtract(a, b)
        assert entry["share_higher"] == pytest.approx(np.mean(diff > 0))
        if np.any(diff != 0):
            assert entry["wilcoxon_p"] == pytest.approx(wilcoxon(a, b).pvalue)
    for entry in h3["pairs"]:
        assert beta in (None, entry["beta"])
    by_method = {(r["method"], r["selection"], r["B"]): r for r in h3["by_method"]}
    for (method, selection, B), entry in by_method.items():
        values = [
            r["spearman"]
            for r in rows
            if r["usable"] and (r["method"], r["selection"], r["B"]) == (method, selection, B)
        ]
        if values:
            assert entry["spearman"]["mean"] == pytest.approx(np.mean(values))
    assert (run_dir / "hypotheses/h3.png").stat().st_size > 0


def test_h3_matches_scipy_on_the_7c_rows(results, one_thread):
    run_dir, _, _, h3 = results
    check_h3(run_dir, h3)


@pytest.mark.parametrize(
    ("Ks", "expected"),
    [
        ({}, (1.0, 0.5)),  # nearest the centre (ranks 1.5, 2): beta 0.75 or 1.0, the larger
        ({(1.0, 0.5): 1}, (0.75, 0.5)),
        ({(1.0, 0.5): 1, (0.75, 0.5): 12}, (1.25, 0.5)),  # K > K_clamp is not eligible
        ({(b, g): 1 for b in (0.75, 1.0, 1.25) for g in (0.3, 0.5, 0.7)}, (0.5, 0.5)),
    ],
)
def test_studied_config_is_the_eligible_one_nearest_the_grid_centre(Ks, expected):
    grid = [
        (b, g, Ks.get((b, g), 3)) for b in (0.5, 0.75, 1.0, 1.25) for g in (0.1, 0.3, 0.5, 0.7, 0.9)
    ]
    assert studied_config(grid, K_clamp=10) == expected
    assert studied_config([(2.0, 0.5, 4)], K_clamp=10) == (2.0, 0.5)
    assert studied_config([(2.0, 0.5, 1)], K_clamp=10) is None


@pytest.fixture(scope="module")
def grid_run(toy_world_run, tmp_path_factory):
    """A copy of the small run where every prefix also has config beta = 2.0 (gamma 0.5):
    the same stage-5 result, its 7c rows with the correlations negated."""
    run_dir = tmp_path_factory.mktemp("grid") / "run"
    shutil.copytree(toy_world_run[0], run_dir)
    for folder in (run_dir / "5_gaussian_clustering").iterdir():
        if not folder.is_dir():
            continue
        summary = json.loads((folder / "summary.json").read_text())
        (entry,) = summary["configs"]
        summary["configs"].append(entry | {"beta": 2.0})
        (folder / "summary.json").write_text(json.dumps(summary))
        stem = f"beta{entry['beta']!r}_gamma{entry['gamma']!r}"
        record = json.loads((folder / f"{stem}.json").read_text())
        (folder / f"beta2.0_gamma{entry['gamma']!r}.json").write_text(
            json.dumps(record | {"beta": 2.0})
        )
        shutil.copy(
            folder / f"{stem}.safetensors", folder / f"beta2.0_gamma{entry['gamma']!r}.safetensors"
        )
    for path in (run_dir / "7_validation/7c").glob("*.json"):
        output = json.loads(path.read_text())
        flipped = [
            r | {"beta": 2.0, "spearman": -r["spearman"], "pearson": -r["pearson"]}
            if r["usable"]
            else r | {"beta": 2.0}
            for r in output["rows"]
        ]
        output["rows"] += flipped
        if output.get("confusion"):
            output["confusion"]["RD"] += [e | {"beta": 2.0} for e in output["confusion"]["RD"]]
        path.write_text(json.dumps(output))
    return run_dir


def test_one_config_per_prefix_of_a_grid(results, grid_run, one_thread):
    """Configs of one prefix cluster the same continuations: only the studied one (beta 2.0,
    the larger of the two nearest the centre) counts, so H1/H2 have one row per prefix and
    H3's pairs are the motifs of one config."""
    _, h1_one, h2_one, h3_one = results
    h1, h2, h3 = orthogonality.run(grid_run), detection.run(grid_run), causal.run(grid_run)
    prefixes = [p for p, _, _ in stage5_records(grid_run, beta=2.0)]
    for h in (h1, h2):
        assert [r["prefix_id"] for r in h["rows"]] == prefixes
        assert all(r["config"] == "beta=2.0,gamma=0.5" for r in h["rows"])
    assert h1["aggregate"] == h1_one["aggregate"]  # same partitions, counted once
    assert h2["aggregate"] == h2_one["aggregate"]
    for other, scores in h2["aggregate"]["RD_beats"].items():
        rd = [r["methods"]["RD"]["IG_norm"] for r in h2["rows"]]
        base = [r["methods"][other]["IG_norm"] for r in h2["rows"]]
        assert scores["IG_norm"]["n"] == len(prefixes)
        assert scores["IG_norm"]["share_higher"] == pytest.approx(np.mean(np.greater(rd, base)))
    check_h3(grid_run, h3, beta=2.0)
    assert [p["n"] for p in h3["paired"]] == [p["n"] for p in h3_one["paired"]]
    movement = h3["target_movement"]["motifs"]
    assert len(movement) == len(h3_one["target_movement"]["motifs"])

"""The Python API (motif_discovery/api) against the pipeline's own stages and README.

- README's Quick Start runs as written (a subprocess in a temporary directory) and prints
  what README shows below it (numbers within a rounding's tolerance), and prints n/a for a
  motif whose RD steering is unusable;
- on a prefix of the session's small toy-world run (toy_stage5_run, tests/toy_run.py's
  settings), the API's continuations, attributions, features and RD partition equal the
  files stages 2-5 wrote, its beta path equals stage 5's, its priors equal the P-mass of
  the members computed here from P_n, and its steering rows equal stage 7c's; stage 3/4
  views are kept per settings, validate_steering steers only the motifs given, and
  release drops the sampler while steering still works.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import shutil
import subprocess
import sys
import weakref

import numpy as np
import pytest
import torch
from threadpoolctl import threadpool_limits

from motif_discovery import Motif, MotifDiscovery, MotifHierarchy, MotifSteering, SteeringRow
from motif_discovery.attribution.outputs import load_attributions
from motif_discovery.clustering.outputs import eligible_results, load_beta_paths
from motif_discovery.data.prefixes import PREFIXES_FILE, load_prefixes
from motif_discovery.embedding.features import load_features
from motif_discovery.sampling.records import records_path
from motif_discovery.utils.config import load_config
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_json, read_jsonl
from motif_discovery.validation import steering_stage
from tests.toy_run import REPO, SMALL

STEERING = [
    "validation.max_members=2",
    "validation.B=[3]",
    "validation.epsilons=[-1.0,-0.5,0.5,1.0]",
    'validation.selections=["full"]',
    'validation.methods=["RD","Single","random"]',
]
STAGE_DIRS = ("1_data_preparation", "2_branch_sampling", "3_attribution_graphs")
STAGE_DIRS += ("4_feature_extraction", "5_gaussian_clustering")
BETA, GAMMA = 1.0, 0.5  # configs/toy_world.json's, as the fixture's stage 5 ran
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"}


def quick_start() -> tuple[str, str]:
    """(the python block, the output block) of README's Quick Start section."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = re.search(r"^## Quick Start\n(.*?)(?=^## )", text, re.S | re.M)
    assert section, "README.md has no '## Quick Start' section"
    blocks = re.findall(r"^```(\w*)\n(.*?)^```", section.group(1), re.S | re.M)
    code = next(body for lang, body in blocks if lang == "python")
    output = next(body for lang, body in blocks if lang == "text")
    return code, output


def test_readme_quick_start_runs_and_prints_what_readme_shows(tmp_path):
    code, shown = quick_start()
    script = tmp_path / "quick_start.py"
    script.write_text(code, encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, env=ENV
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    lines = proc.stdout.splitlines()
    heads = [re.fullmatch(r"Motif (\d+): (\d+\.\d\d)% of continuations", line) for line in lines]
    motifs = [m for m in heads if m]
    assert len(motifs) >= 3
    for i, head in enumerate(heads):
        if head:
            assert re.fullmatch(
                r"  Top features: \[L\d+/F\d+ at \d+ '.*' [+-]\d\.\d{3}.*\]", lines[i + 1]
            )
            assert lines[i + 2].startswith("  Example: ")
    priors = [float(m.group(2)) for m in motifs]
    assert priors == sorted(priors, reverse=True)
    assert abs(sum(priors) - 100.0) <= 0.005 * len(priors) + 1e-9  # each rounded to 0.01 %
    steered = [
        re.fullmatch(r"Motif (\d+): steering Spearman\(eps, change\) = (-?\d\.\d\d|n/a)", x)
        for x in lines
    ]
    assert [m.group(1) for m in steered if m] == [m.group(1) for m in motifs]
    assert_shown(proc.stdout, shown)


NUMBER = re.compile(r"[+-]?\d+\.\d+")


def skeleton(output: str) -> list[tuple[str, list[float], float]]:
    """Each line with its decimal numbers replaced by '#' (motif ids, feature names,
    examples stay), those numbers, and how far they may differ from README's: a prior in
    percent 0.05 points, a feature weight 0.005, a correlation 0.02."""
    out = []
    for line in output.splitlines():
        tolerance = 0.02 if "steering" in line else 0.005 if "Top features" in line else 0.05
        out.append((NUMBER.sub("#", line), [float(x) for x in NUMBER.findall(line)], tolerance))
    return out


def assert_shown(output: str, shown: str) -> None:
    """`output` has README's lines, motif ids, features and examples, and its numbers
    within the tolerances of `skeleton`."""
    ours, theirs = skeleton(output), skeleton(shown)
    assert [line for line, _, _ in ours] == [line for line, _, _ in theirs]
    for (line, got, tolerance), (_, want, _) in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(got, want, rtol=0, atol=tolerance, err_msg=line)


def test_the_comparison_with_readme_allows_rounding_only():
    _, shown = quick_start()

    def nudge(by: float):
        return lambda m: f"{m.group(1)}{float(m.group(2)) + by:.2f}{m.group(3)}"

    nudged = re.sub(r"(: )(\d+\.\d\d)(%)", nudge(0.04), shown)  # priors, within 0.05
    nudged = re.sub(r"(= )(-?\d\.\d\d)()$", nudge(-0.01), nudged, flags=re.M)  # Spearman
    assert len(nudged.splitlines()) == len(shown.splitlines()) and nudged != shown
    assert_shown(nudged, shown)
    first = re.search(r"Motif (\d+): (\d+\.\d\d)%", shown)
    changed = [
        shown.replace(
            first.group(0), f"Motif {first.group(1)}: {float(first.group(2)) + 0.1:.2f}%"
        ),
        shown.replace("Motif 1:", "Motif 7:", 1),
        shown.replace("  Example: ", "  Example: x", 1),
        shown.replace("L", "M", 1),
        shown.rsplit("\n", 2)[0] + "\n",
    ]
    for wrong in changed:
        assert wrong != shown
        with pytest.raises(AssertionError):
            assert_shown(wrong, shown)


def test_readme_quick_start_prints_na_for_an_unusable_row(capsys):
    code, _ = quick_start()
    loop = code.split("steering_results = md.validate_steering(motifs)\n")[1]
    row = SteeringRow("RD", "full", 3, [-1.0, 1.0], None, None, None, False, "why", [], [])
    exec(loop, {"steering_results": [MotifSteering(3, [row]), MotifSteering(5, [])]})
    assert capsys.readouterr().out.splitlines() == [
        "Motif 3: steering Spearman(eps, change) = n/a",
        "Motif 5: steering Spearman(eps, change) = n/a",
    ]


@pytest.fixture(scope="module")
def api(toy_stage5_run):
    """(MotifDiscovery with the small run's config, the prefix id and text of a prefix
    with an eligible config at (BETA, GAMMA), its Continuations)."""
    run_dir = toy_stage5_run
    chosen = next(
        row for row in load_prefixes(run_dir) if eligible_results(run_dir, row["prefix_id"], 10)
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with threadpool_limits(limits=1):
            md = MotifDiscovery(
                config=REPO / "configs" / "toy_world.json", overrides=SMALL + STEERING
            )
            continuations = md.sample(chosen["text"], prefix_id=chosen["prefix_id"])
            yield md, chosen["prefix_id"], continuations
    finally:
        torch.set_num_threads(threads)


def test_sample_equals_stage_2(api, toy_stage5_run):
    md, pid, continuations = api
    rows = read_jsonl(records_path(toy_stage5_run, pid))
    assert continuations.ids == [r["continuation_id"] for r in rows]
    assert continuations.texts == [r["text"] for r in rows]
    assert continuations.token_ids == [r["token_ids"] for r in rows]
    np.testing.assert_allclose(continuations.p_n, [r["p_n"] for r in rows], rtol=1e-6)
    assert len(continuations) == len(rows) <= md.config.sampling.n


def test_views_equal_stages_3_and_4(api, toy_stage5_run, one_thread):
    md, pid, continuations = api
    stage3 = load_attributions(toy_stage5_run, pid)
    ours = md.attribute(continuations)
    assert ours.sources == stage3.sources
    torch.testing.assert_close(ours.a_raw, stage3.a_raw, rtol=1e-5, atol=1e-6)
    stage4 = load_features(toy_stage5_run / "4_feature_extraction", pid)
    features = md.features(continuations)
    torch.testing.assert_close(features.e, stage4.e, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(features.a, stage4.a, rtol=1e-5, atol=1e-6)
    assert features.labels == stage4.labels


def assignment(motifs: list[Motif], n: int) -> list[int]:
    assign = [-1] * n
    for motif in motifs:
        for row in motif.members:
            assign[row] = motif.id
    return assign


def test_cluster_equals_stage_5_and_priors_are_member_mass(api, toy_stage5_run, one_thread):
    md, pid, continuations = api
    motifs = md.cluster(continuations)  # clustering.beta, gamma of the config: BETA, GAMMA
    (stage5,) = [r for r in eligible_results(toy_stage5_run, pid, 10) if r.beta == BETA]
    assert len(motifs) == stage5.K > 1
    assert assignment(motifs, len(continuations)) == stage5.assign.tolist()
    # priors: the P-mass of each motif's members, from the returned P_n (float64)
    p = np.asarray(continuations.p_n, dtype=np.float64)
    for motif in motifs:
        assert motif.prior == pytest.approx(p[motif.members].sum() / p.sum(), rel=1e-5)
        assert motif.prior == pytest.approx(float(stage5.prior[motif.id]), rel=1e-6)
        assert list(p[motif.members]) == sorted(p[motif.members], reverse=True)
        assert motif.examples == [continuations.texts[i] for i in motif.members]
        torch.testing.assert_close(motif.mu_a_raw, stage5.mu_a_raw[motif.id])
    assert sum(m.prior for m in motifs) == pytest.approx(1.0, abs=1e-6)
    assert [m.prior for m in motifs] == sorted((m.prior for m in motifs), reverse=True)
    # top features: the feature columns of largest |H_c| = |mu_a[c]|, brute force
    sources = md.attribute(continuations).sources
    columns = [j for j, kind in enumerate(sources.kind) if kind == "feature"]
    for motif in motifs:
        weight = {j: abs(float(motif.mu_a[j])) for j in columns}
        top = sorted(columns, key=lambda j: -weight[j])[: len(motif.top_features)]
        got = [(f.layer, f.position, f.feature) for f in motif.top_features]
        assert got == [(sources.layer[j], sources.position[j], sources.feature[j]) for j in top]


def test_beta_path_equals_stage_5(api, toy_stage5_run, one_thread):
    md, pid, continuations = api
    hierarchy = md.cluster(continuations, beta="path", gamma=GAMMA)
    assert isinstance(hierarchy, MotifHierarchy)
    (path,) = [p for p in load_beta_paths(toy_stage5_run, pid) if p["gamma"] == GAMMA]
    assert [e.K for e in hierarchy.events] == [e["K"] for e in path["events"]]
    assert [e.assign for e in hierarchy.events] == [e["assign"] for e in path["events"]]
    assert [e.children for e in hierarchy.events] == [e["children"] for e in path["events"]]
    np.testing.assert_allclose(
        [e.beta for e in hierarchy.events], [e["beta"] for e in path["events"]], rtol=1e-6
    )
    assert hierarchy.at(0.0).K == 1


def test_validate_steering_equals_stage_7c(api, toy_stage5_run, tmp_path, one_thread):
    md, pid, continuations = api
    motifs = md.cluster(continuations)
    ours = md.validate_steering(motifs)
    run_dir = tmp_path / "run"
    for name in STAGE_DIRS:
        shutil.copytree(toy_stage5_run / name, run_dir / name)
    prefixes = run_dir / PREFIXES_FILE
    rows = [json.loads(line) for line in prefixes.read_text().splitlines() if line.strip()]
    prefixes.write_text("".join(json.dumps(r) + "\n" for r in rows if r["prefix_id"] == pid))
    steering_stage.run(load_config(REPO / "configs" / "toy_world.json", SMALL + STEERING), run_dir)
    stage = read_json(run_dir / "7_validation" / "7c" / f"{pid}.json")["rows"]
    assert [s.motif for s in ours] == [m.id for m in motifs]
    for result in ours:
        theirs = [r for r in stage if r["motif"] == result.motif]
        assert len(result.rows) == len(theirs) == 3  # RD, Single, random at one selection, B
        for row in result.rows:
            (match,) = [
                r
                for r in theirs
                if (r["method"], r["selection"], r["B"]) == (row.method, row.selection, row.B)
            ]
            assert row.members == match["members"]
            assert row.features == match["features"]
            assert row.usable == match["usable"]
            if row.usable:
                np.testing.assert_allclose(row.changes, match["changes"], rtol=1e-6, atol=1e-7)
                assert row.spearman == pytest.approx(match["spearman"], abs=1e-9)
        assert result.spearman == result.row("RD").spearman


def test_one_motif_and_bad_input(api, one_thread):
    md, _, continuations = api
    (motif,) = md.cluster(continuations, beta=0.01, gamma=0.5)  # below every split: K = 1
    assert motif.prior == pytest.approx(1.0) and motif.size == len(continuations)
    assert motif.examples[0] == continuations.texts[int(np.argmax(continuations.p_n))]
    with pytest.raises(InputError, match="single values"):
        md.cluster(continuations, beta=[1.0, 2.0])
    with pytest.raises(InputError, match=r"clustering\.gamma"):
        md.cluster(continuations, beta=1.0, gamma=1.5)
    with pytest.raises(InputError, match="one cluster call"):
        md.validate_steering([motif, *md.cluster(continuations)])
    with pytest.raises(InputError, match="methods"):
        md.validate_steering([motif], methods=["KM-Sem"])
    with pytest.raises(InputError, match="prefix_id"):
        md.sample("velkaria is", prefix_id="../x")
    with pytest.raises(InputError, match="empty"):
        md.sample("   ")
    with pytest.raises(InputError, match=r"sampling\.n"):
        md.sample("velkaria is", n=0)
    with pytest.raises(InputError, match=r"run\.devic"):
        MotifDiscovery(overrides=["run.devic=cpu"])


def test_views_are_kept_per_settings(api, one_thread):
    md, _, continuations = api
    first = md.features(continuations)
    other = MotifDiscovery(
        config=REPO / "configs" / "toy_world.json",
        overrides=[*SMALL, *STEERING, "attribution.pooling=mean"],
    )
    theirs = other.features(continuations)
    fresh = dataclasses.replace(continuations, views={})  # nothing cached: computed anew
    torch.testing.assert_close(theirs.a, other.features(fresh).a)
    torch.testing.assert_close(other.attribute(continuations).a_raw, other.attribute(fresh).a_raw)
    assert not torch.allclose(theirs.a, first.a)
    assert md.features(continuations) is first  # the first instance's view is still there


def test_steering_some_motifs_steers_only_those(api, one_thread, monkeypatch):
    md, _, continuations = api
    motifs = md.cluster(continuations)
    everything = {s.motif: s for s in md.validate_steering(motifs, methods=["RD", "Single"])}
    measured: list[int] = []
    measure = md.steerer.measure

    def recording(sequences, targets, rows):
        measured.extend(row.sequence for row in rows)
        return measure(sequences, targets, rows)

    monkeypatch.setattr(md.steerer, "measure", recording)
    (only,) = md.validate_steering(motifs[1:2], methods=["Single"])
    assert only.motif == motifs[1].id
    assert measured and set(measured) <= set(motifs[1].members)
    assert only.methods == ["Single"] and only.spearman is None  # RD not steered
    theirs = everything[only.motif].row("Single")
    assert only.row("Single").features == theirs.features
    assert only.row("Single").members == theirs.members
    assert only.row("Single").changes == pytest.approx(theirs.changes, rel=1e-6, abs=1e-7)
    with pytest.raises(LookupError, match=r"'RD'.*'Single'"):
        only.row()


def test_release_frees_the_sampler_and_keeps_the_language_model(api, one_thread):
    """Runs last in this module: it drops the fixture's sampler."""
    md, _, continuations = api
    model = md.language_model
    sampler = weakref.ref(md.sampling_models.get()[1])
    md.release("sampler", "embedder")
    assert sampler() is None  # nothing else held it
    assert "embedder" not in vars(md)
    assert md.language_model is model
    motifs = md.cluster(continuations, beta=0.01, gamma=0.5)  # embedder reloaded
    (steered,) = md.validate_steering(motifs, methods=["RD"])
    assert steered.row("RD").members
    assert "sampling_models" not in vars(md)  # steering did not load stage 2's models again
    with pytest.raises(InputError, match=r"release.*vllm"):
        md.release("vllm")

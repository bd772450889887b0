"""Stage 8's page builder and stage: escaping, every prefix listed, optional stages 6/7,
stage 5 required. Pages are read back with html.parser and json (not with the builder)."""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest
import torch

from motif_discovery.clustering.outputs import (
    grid_configs,
    load_beta_paths,
    load_config_result,
    read_summary,
)
from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.utils.config import load_config
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_json, read_jsonl, write_json, write_jsonl
from motif_discovery.visualization.explorer_data import Continuations, motif_table
from motif_discovery.visualization.html_explorer import DATA_ID, PLOTLY_JS, render_page
from motif_discovery.visualization.stage import run
from tests.visualization.helpers import read_png_size

REPO = Path(__file__).resolve().parents[2]
HOSTILE = [
    "<script>window.__pwned=1</script>",
    '<img src=x onerror="window.__pwned=2">',
    "</script><script>window.__pwned=3</script>",
    "a & b <!-- c --> ]]> \u2028 \"quoted\" 'single'",
]


class PageParser(HTMLParser):
    """Every start tag with its attributes, and the text inside each <script>."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict]] = []
        self.scripts: list[tuple[dict, str]] = []
        self._script: dict | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag == "script":
            self._script, self._text = dict(attrs), []

    def handle_endtag(self, tag: str) -> None:
        if tag == "script" and self._script is not None:
            self.scripts.append((self._script, "".join(self._text)))
            self._script = None

    def handle_data(self, data: str) -> None:
        if self._script is not None:
            self._text.append(data)


def parse_page(text: str) -> tuple[PageParser, dict]:
    """Check the page's structure (only our three scripts, no on* attribute, no tag but
    the shell's) and return the parser and its data block, decoded by json."""
    parser = PageParser()
    parser.feed(text)
    parser.close()
    assert [tag for tag, _ in parser.tags] == [
        "html",
        "head",
        "meta",
        "meta",
        "title",
        "style",
        "script",
        "body",
        "main",
        "p",
        "script",
        "script",
    ]
    assert not [(t, a) for t, a in parser.tags for name in a if name.lower().startswith("on")]
    (src, _), (block, payload), (inline, code) = parser.scripts
    assert src == {"src": PLOTLY_JS.as_posix()}
    assert block == {"id": DATA_ID, "type": "application/json"}
    assert inline == {} and "createElement" in code and "innerHTML" not in code
    assert "<" not in payload and ">" not in payload and "&" not in payload
    return parser, json.loads(payload)


def test_render_page_escapes_hostile_strings_and_round_trips():
    texts = [*HOSTILE, "lone \ud800 surrogate", "β γ ü 文"]
    data = {
        "kind": "prefix",
        "text": HOSTILE[0],
        "nested": {"texts": texts, HOSTILE[1]: [1.5, float("nan"), None]},
    }
    page = render_page(HOSTILE[2], data)
    page.encode("utf-8")  # a lone surrogate must not make the page unwritable
    _, decoded = parse_page(page)
    assert decoded == {
        "kind": "prefix",
        "text": HOSTILE[0],
        "nested": {"texts": texts, HOSTILE[1]: [1.5, None, None]},
    }
    assert "<title>&lt;/script&gt;&lt;script&gt;window.__pwned=3&lt;/script&gt;</title>" in page


def test_motif_table_against_a_direct_count():
    rng = np.random.default_rng(0)
    n, K = 50, 4
    assign = rng.integers(0, K, n)
    assign[:K] = np.arange(K)  # every motif has a member
    p = rng.random(n)
    families = [f"fam{v}" for v in rng.integers(0, 3, n)]
    texts = [f"text {i}" for i in range(n)]
    data = Continuations(texts, torch.tensor(p), families)
    graph = {
        "motifs": [
            {
                "motif": 1,
                "top_features": [
                    {"layer": 2, "position": 3, "token": "x", "feature": 7, "H_c": 0.5, "sigma": 1}
                ],
            }
        ]
    }
    table = motif_table(torch.tensor(assign), K, data, max_examples=3, graph=graph)
    for k, row in enumerate(table):
        members = [i for i in range(n) if assign[i] == k]
        assert row["size"] == len(members)
        assert row["prior"] == pytest.approx(sum(p[i] for i in members) / p.sum())
        best = sorted(members, key=lambda i: -p[i])[:3]
        assert [e["text"] for e in row["examples"]] == [texts[i] for i in best]
        assert [e["family"] for e in row["examples"]] == [families[i] for i in best]
        assert row["families"] == dict(Counter(families[i] for i in members))
        top = [{"layer": 2, "position": 3, "token": "x", "feature": 7, "H_c": 0.5}]
        assert row["features"] == (top if k == 1 else [])
    assert "features" not in motif_table(torch.tensor(assign), K, data, 3)[0]


def toy_config(run_dir: Path):
    return load_config(REPO / "configs/toy_world.json", [f"run.run_dir={run_dir}"])


@pytest.fixture
def hostile_run(stage5_run, tmp_path) -> Path:
    """A copy of the toy run, stages 1-5 only, whose first continuation texts and first
    prefix text are hostile strings."""
    run_dir = tmp_path / "run"
    later = shutil.ignore_patterns("6_semantic_graphs", "7_validation", "8_visualization")
    shutil.copytree(stage5_run, run_dir, ignore=later)
    for path in sorted((run_dir / "4_feature_extraction").glob("*.json")):
        record = read_json(path)
        record["texts"][: len(HOSTILE)] = HOSTILE
        write_json(path, record)
    prefixes = run_dir / "1_data_preparation" / "prefixes.jsonl"
    rows = read_jsonl(prefixes)
    rows[0]["text"] = HOSTILE[1]
    write_jsonl(prefixes, rows)
    return run_dir


def page_texts(value) -> list[str]:
    """Every string anywhere in a decoded data block."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in page_texts(v)]
    if isinstance(value, list):
        return [s for v in value for s in page_texts(v)]
    return []


def test_stage_builds_escaped_pages_for_every_prefix_without_stages_6_and_7(hostile_run):
    run_dir = hostile_run
    index = run(toy_config(run_dir), run_dir)
    out = run_dir / "8_visualization"
    assert index == out / "index.html"
    assert (out / PLOTLY_JS).read_text().startswith("/**")  # plotly.js' licence header
    _, data = parse_page(index.read_text())
    prefixes = load_prefixes(run_dir)
    assert [r["prefix_id"] for r in data["prefixes"]] == [r["prefix_id"] for r in prefixes]
    assert data["prefixes"][0]["text"] == HOSTILE[1]
    assert any("7c" in note for note in data["notes"]) and data["steering_summary"] is None
    read_png_size(out / "png" / "sweep.png")
    for row in data["prefixes"]:
        pid = row["prefix_id"]
        summary = read_summary(run_dir, pid)
        assert [(c["beta"], c["gamma"], c["K"]) for c in row["configs"]] == [
            (c["beta"], c["gamma"], c["K"]) for c in summary["configs"]
        ]
        _, page = parse_page((out / row["page"]).read_text())
        assert page["prefix_id"] == pid and page["n"] == summary["n"]
        assert set(HOSTILE) <= set(page_texts(page))
        for config, (beta, gamma, K) in zip(
            page["configs"], grid_configs(run_dir, pid), strict=True
        ):
            result = load_config_result(run_dir, pid, beta, gamma)
            motifs = config["motifs"]
            assert [m["size"] for m in motifs] == torch.bincount(
                result.assign, minlength=K
            ).tolist()
            assert [m["prior"] for m in motifs] == pytest.approx(result.record["prior"], abs=1e-5)
            assert {"tsne_semantic", "tsne_attribution", "history"} <= set(config["figures"])
            assert "graph" not in config["figures"] and "steering" not in config["figures"]
            for name in ("tsne_semantic", "tsne_attribution", "history"):
                read_png_size(out / "png" / pid / f"{name}_{result.name}.png")
        records = load_beta_paths(run_dir, pid)
        assert [p["gamma"] for p in page["paths"]] == [r["gamma"] for r in records]
        for path, record in zip(page["paths"], records, strict=True):
            for event, truth in zip(path["events"], record["events"], strict=True):
                assert (event["beta"], event["K"]) == (truth["beta"], truth["K"])
                sizes = np.bincount(truth["assign"], minlength=truth["K"]).tolist()
                assert [m["size"] for m in event["motifs"]] == sizes
        if any(c["eligible"] for c in page["configs"]):
            assert any("stage 6" in note for note in page["notes"])


def test_a_rerun_skips_every_prefix(hostile_run):
    config = toy_config(hostile_run)
    run(config, hostile_run)
    pages = sorted((hostile_run / "8_visualization").glob("prefix_*.html"))
    before = [p.stat().st_mtime_ns for p in pages]
    run(config, hostile_run)
    manifest = read_json(hostile_run / "manifest.json")["stages"]["8_visualization"]
    assert manifest["units"] == {"done": 0, "skipped": len(load_prefixes(hostile_run))}
    assert [p.stat().st_mtime_ns for p in pages] == before


def test_without_stage_5_nothing_is_written(stage5_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(stage5_run, run_dir, ignore=shutil.ignore_patterns("8_visualization"))
    pid = load_prefixes(run_dir)[0]["prefix_id"]
    summary = run_dir / "5_gaussian_clustering" / pid / "summary.json"
    summary.unlink()
    with pytest.raises(InputError, match=re.escape(str(summary)) + ".*run stage 5 first"):
        run(toy_config(run_dir), run_dir)
    assert not (run_dir / "8_visualization").exists()
    shutil.rmtree(run_dir / "5_gaussian_clustering")
    with pytest.raises(InputError, match=r"5_gaussian_clustering.*run stage 5 first"):
        run(toy_config(run_dir), run_dir)
    assert not (run_dir / "8_visualization").exists()


def test_pages_show_stages_6_and_7_where_they_ran(toy_world_run, tmp_path):
    run_dir = tmp_path / "run"
    shutil.copytree(toy_world_run[0], run_dir, ignore=shutil.ignore_patterns("8_visualization"))
    index = run(toy_config(run_dir), run_dir)
    _, data = parse_page(index.read_text())
    summary = read_json(run_dir / "7_validation" / "7c_summary.json")
    assert data["steering_summary"]["table"] == summary["table"]
    assert {"steering_summary", "confusion"} <= set(data["figures"])
    assert data["graph_validation"] == read_json(run_dir / "7_validation" / "7a_summary.json")
    shown = 0
    for row in data["prefixes"]:
        _, page = parse_page((index.parent / row["page"]).read_text())
        for config in page["configs"]:
            graph_file = run_dir / "6_semantic_graphs" / row["prefix_id"] / f"{config['name']}.json"
            assert config["has_graph"] == graph_file.is_file() == config["eligible"]
            if not config["eligible"]:
                continue
            shown += 1
            assert {"graph", "steering"} <= set(config["figures"])
            graph = read_json(graph_file)
            for motif, truth in zip(config["motifs"], graph["motifs"], strict=True):
                assert motif["features"] == [
                    {k: f[k] for k in ("layer", "position", "token", "feature", "H_c")}
                    for f in truth["top_features"]
                ]
                assert (motif["size"], motif["prior"]) == (
                    truth["size"],
                    pytest.approx(truth["prior"]),
                )
        assert not [note for note in page["notes"] if "has not run" in note]
    assert shown > 0

"""Stage 8's per-prefix figures: the steering panel of a config whose 7c rows lack the
"full" selection; a dataset's prefix id reaches Plotly HTML-escaped."""

from __future__ import annotations

import html
from dataclasses import replace
from pathlib import Path

from motif_discovery.clustering.outputs import load_beta_paths
from motif_discovery.utils.config import load_config
from motif_discovery.visualization.explorer_figures import FigureWriter
from tests.visualization.helpers import read_png_size

REPO = Path(__file__).resolve().parents[2]
EPS = [-1.0, 1.0]


def steering_row(result, selection: str, B: int, changes: list[float]) -> dict:
    return {
        "method": "RD", "beta": result.beta, "gamma": result.gamma, "motif": 0,
        "selection": selection, "B": B, "epsilons": EPS, "changes": changes,
        "usable": True, "spearman": 1.0, "reason": None,
    }  # fmt: skip


def test_steering_panel_without_full_shows_the_first_selection_at_its_largest_B(
    toy_prefix, tmp_path
):
    features, result, _ = toy_prefix
    vis = load_config(REPO / "configs/toy_world.json").visualization
    rows = [
        steering_row(result, "positive", 5, [0.0, 1.0]),
        steering_row(result, "positive", 10, [0.0, 2.0]),
        steering_row(result, "negative", 10, [0.0, -3.0]),
    ]
    writer = FigureWriter(features, vis, tmp_path)
    writer.config(result, None, rows)
    figure = writer.out.configs[result.name]["steering"]
    assert [trace["y"] for trace in figure["data"]] == [[0.0, 2.0]]
    assert "(positive, B=10)" in figure["layout"]["title"]["text"]
    read_png_size(tmp_path / f"steering_{result.name}.png")


def test_beta_path_title_escapes_the_prefix_id_for_plotly_only(toy_prefix, stage5_run, tmp_path):
    features, _, _ = toy_prefix
    record = load_beta_paths(stage5_run, features.prefix_id)[0]
    hostile = "<img src=x onerror=alert(1)>"
    vis = load_config(REPO / "configs/toy_world.json").visualization
    writer = FigureWriter(replace(features, prefix_id=hostile), vis, tmp_path)
    writer.path(record)
    figure = writer.out.paths[float(record["gamma"])]
    title = figure["layout"]["title"]["text"]
    assert html.escape(hostile) in title and "<img" not in title
    read_png_size(writer.out.pngs[-1])

"""Semantic-graph heatmaps: the Plotly figure and the PNG show the graph's token scores."""

import json

import numpy as np
import pytest
from matplotlib.image import imread

from motif_discovery.graphs.stage import run
from motif_discovery.utils.errors import InputError
from motif_discovery.visualization.semantic_graph_plots import (
    save_run_heatmaps,
    save_semantic_graph_png,
    semantic_graph_figure,
)

GRAPH = {
    "prefix_id": "x",
    "beta": 1.0,
    "gamma": 0.5,
    "K": 2,
    "prefix_tokens": ["<s>", " price $5", " a\nb", " a\nb"],
    "motifs": [
        {"motif": 0, "prior": 0.75, "token_scores": [0.0, 1.0, 2.0, 3.0]},
        {"motif": 1, "prior": 0.25, "token_scores": [4.0, 0.5, 0.0, 1.5]},
    ],
}


def test_figure_holds_scores_and_escaped_tokens():
    figure = semantic_graph_figure(GRAPH)
    heatmap = figure.data[0]
    np.testing.assert_array_equal(heatmap.z, [m["token_scores"] for m in GRAPH["motifs"]])
    assert list(heatmap.y) == ["motif 0 (prior 0.75)", "motif 1 (prior 0.25)"]
    assert list(heatmap.x) == [0, 1, 2, 3]  # positions: repeated tokens keep their columns
    assert figure.layout.xaxis.ticktext[0] == "&lt;s&gt;"
    assert "<s>" not in figure.to_json()
    assert heatmap.customdata[1][2] == " a\\nb"


def test_png_is_written(tmp_path):
    path = save_semantic_graph_png(GRAPH, tmp_path / "graph.png", dpi=50)
    image = imread(path)
    assert image.ndim == 3 and image.shape[0] > 50 and image.shape[1] > 100


def test_run_heatmaps_beside_each_graph(run_dir, toy_config, one_thread):
    run(toy_config(), run_dir)
    written = save_run_heatmaps(run_dir, dpi=40)
    graphs = sorted((run_dir / "6_semantic_graphs").glob("*/beta*_gamma*.json"))
    assert sorted(written) == [g.with_suffix(".png") for g in graphs]
    assert all(imread(p).ndim == 3 for p in written)
    # a rerun of stage 6 keeps the heatmaps of the configs still present
    run(toy_config(), run_dir, force=True)
    assert all(p.is_file() for p in written)
    assert json.loads(graphs[0].read_text())["motifs"]


def test_run_heatmaps_without_stage6_output(tmp_path):
    with pytest.raises(InputError, match="run stage 6 first"):
        save_run_heatmaps(tmp_path, dpi=40)

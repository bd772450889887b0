"""Clustering history figure: the traces carry the record's values, events are marked."""

from __future__ import annotations

import json

import pytest

from motif_discovery.clustering.outputs import config_name, prefix_dir
from motif_discovery.utils.errors import InputError
from motif_discovery.visualization.cluster_plots import history_figure, save_history_png
from tests.visualization.helpers import read_png_size


def test_history_of_toy_world(stage5_run, toy_prefix, tmp_path):
    _, result, _ = toy_prefix
    folder = prefix_dir(stage5_run, result.prefix_id)
    history = json.loads((folder / f"{config_name(result.beta, result.gamma)}.json").read_text())[
        "history"
    ]
    history[-1]["events"].append({"type": "junk", "motif": 0, "delta_L": -0.5})
    figure = history_figure(history, "history")
    traces = {trace.name: trace for trace in figure.data}
    for key in ("K", "L", "H", "D_e", "D_a"):
        assert list(traces[key].y) == pytest.approx([row[key] for row in history])
    splits = [(row["iteration"], e) for row in history for e in row["events"]]
    n_splits = sum(e["type"] == "split" for _, e in splits)
    assert len(traces["split event"].x) == n_splits
    assert list(traces["junk event"].x) == [history[-1]["iteration"]]
    lines = {(s.x0, s.line.color) for s in figure.layout.shapes}
    assert (history[-1]["iteration"], "#d62728") in lines
    json.loads(figure.to_json())
    path = save_history_png(history, tmp_path / "history.png", dpi=40)
    assert read_png_size(path) == (9 * 40, 6 * 40)


def test_bad_history_raises():
    with pytest.raises(InputError, match="empty"):
        history_figure([])
    with pytest.raises(InputError, match="lacks keys"):
        history_figure([{"iteration": 0, "K": 1}])
    row = {"iteration": 0, "K": 1, "L": 1, "H": 0, "D_e": 1, "D_a": 1}
    with pytest.raises(InputError, match="unknown event"):
        history_figure([{**row, "events": [{"type": "merge"}]}])

"""Sweep table: means over prefixes against hand means; heatmaps and PNG, one-config grid."""

from __future__ import annotations

import json

import numpy as np
import pytest

from motif_discovery.clustering.outputs import read_summary
from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.utils.errors import InputError
from motif_discovery.visualization.parameter_sweep_plots import (
    methods_figure,
    save_sweep_png,
    sweep_figure,
    sweep_table,
)
from tests.visualization.helpers import read_png_size


def row(beta, gamma, K, rd, kms):
    return {
        "beta": beta,
        "gamma": gamma,
        "K": K,
        "scores": {"RD": {"D_gamma": rd}, "KM-S": {"D_gamma": kms}},
    }


SUMMARIES = [
    {"prefix_id": "a", "configs": [row(0.5, 0.1, 2, 1.0, 2.0), row(1.0, 0.1, 4, 0.5, 0.7)]},
    {
        "prefix_id": "b",
        "configs": [
            row(0.5, 0.1, 3, 3.0, 1.0),
            row(1.0, 0.1, 6, 0.25, 0.3),
            row(1.0, 0.9, 5, 0.1, 0.2),
        ],
    },
]


def test_means_match_hand_means(tmp_path):
    table = sweep_table(SUMMARIES)
    assert table.betas == [0.5, 1.0] and table.gammas == [0.1, 0.9]
    assert table.methods == ["RD", "KM-S"]
    nan = float("nan")
    assert np.allclose(table.K, [[2.5, 5.0], [nan, 5.0]], equal_nan=True)
    assert np.allclose(table.D_gamma["RD"], [[2.0, 0.375], [nan, 0.1]], equal_nan=True)
    assert np.allclose(table.D_gamma["KM-S"], [[1.5, 0.5], [nan, 0.2]], equal_nan=True)
    assert table.count.tolist() == [[2, 2], [0, 1]]
    for what in ("K", "D_gamma"):
        heatmap = json.loads(sweep_figure(table, what).to_json())["data"][0]
        assert heatmap["type"] == "heatmap" and heatmap["x"] == ["0.5", "1"]
    bars = json.loads(methods_figure(table).to_json())["data"]
    assert [b["name"] for b in bars] == ["RD", "KM-S"] and len(bars[0]["x"]) == 3
    assert read_png_size(save_sweep_png(table, tmp_path / "sweep.png", dpi=30)) == (420, 135)


def test_one_config_grid_of_toy_world(stage5_run, tmp_path):
    summaries = [read_summary(stage5_run, r["prefix_id"]) for r in load_prefixes(stage5_run)]
    table = sweep_table(summaries)
    rows = [r for s in summaries for r in s["configs"]]
    cell = table.gammas.index(rows[0]["gamma"]), table.betas.index(rows[0]["beta"])
    same = [r for r in rows if (r["beta"], r["gamma"]) == (rows[0]["beta"], rows[0]["gamma"])]
    assert table.K[cell] == pytest.approx(sum(r["K"] for r in same) / len(same))
    rd = [r["scores"]["RD"]["D_gamma"] for r in same]
    assert table.D_gamma["RD"][cell] == pytest.approx(sum(rd) / len(rd))
    for what in ("K", "D_gamma"):
        json.loads(sweep_figure(table, what).to_json())
    json.loads(methods_figure(table).to_json())
    assert read_png_size(save_sweep_png(table, tmp_path / "sweep.png", dpi=30))


def test_bad_inputs_raise():
    with pytest.raises(InputError, match="'configs'"):
        sweep_table([{"prefix_id": "a"}])
    with pytest.raises(InputError, match="no config rows"):
        sweep_table([{"configs": []}])
    with pytest.raises(InputError, match=r"scores\.RD"):
        sweep_table([{"configs": [{"beta": 1, "gamma": 0.5, "K": 2, "scores": {}}]}])
    with pytest.raises(InputError, match="what"):
        sweep_figure(sweep_table(SUMMARIES), "L")

"""Stage 7c's figures carry exactly the rows' numbers (Plotly) and write readable PNGs."""

import html
import json

import numpy as np
import pytest
from matplotlib.image import imread

from motif_discovery.utils.errors import InputError
from motif_discovery.visualization.steering_plots import (
    confusion_figure,
    save_confusion_png,
    save_steering_png,
    steering_figure,
)

EPS = [-1.0, -0.5, 0.5, 1.0]


def row(method, motif, B, changes, selection="full"):
    usable = changes is not None
    return {
        "method": method, "beta": 1.0, "gamma": 0.5, "motif": motif, "selection": selection,
        "B": B, "epsilons": EPS, "changes": changes, "usable": usable,
        "spearman": 0.8 if usable else None, "reason": None if usable else "constant response",
    }  # fmt: skip


ROWS = [
    row("RD", 0, 5, [-0.4, -0.2, 0.1, 0.3]),
    row("KM-Sem", 0, 5, [0.1, 0.0, 0.0, -0.1]),
    row("RD", 1, 5, [-0.1, 0.0, 0.0, 0.2]),
    row("random", 1, 5, None),
    row("RD", 0, 2, [9.0, 9.0, 9.0, 9.0]),  # another B: not drawn at B = 5
    row("RD", 0, 5, [7.0, 7.0, 7.0, 7.0], selection="negative"),
]


def test_steering_figure_has_one_line_per_usable_row(tmp_path):
    figure = steering_figure(ROWS, 1.0, 0.5)
    lines = {(t.name, tuple(t.y)) for t in figure.data}
    assert lines == {
        ("RD", (-0.4, -0.2, 0.1, 0.3)),
        ("KM-Sem", (0.1, 0.0, 0.0, -0.1)),
        ("RD", (-0.1, 0.0, 0.0, 0.2)),
    }
    assert all(list(t.x) == EPS for t in figure.data)
    assert "B=5" in figure.layout.title.text
    with pytest.raises(InputError, match="no rows"):
        steering_figure(ROWS, 2.0, 0.5)
    path = save_steering_png(ROWS, 1.0, 0.5, tmp_path / "steer.png", dpi=50)
    assert imread(path).ndim == 3


def test_confusion_figure_per_prefix_and_pooled(tmp_path):
    per_prefix = {
        "families": ["copy_x", "recall_x"],
        "planted": [
            {"family": "copy_x", "slopes": {"copy_x": 0.5, "recall_x": 0.1}},
            {"family": "recall_x", "slopes": None},
        ],
        "RD": [
            {
                "beta": 1.0,
                "gamma": 0.5,
                "motif": 0,
                "family": "recall_x",
                "purity": 0.75,
                "slopes": {"copy_x": -0.2, "recall_x": 0.4},
            },
        ],
    }
    figure = confusion_figure(per_prefix)
    planted, rd = figure.data
    np.testing.assert_allclose(planted.z, [[0.5, 0.1]])
    np.testing.assert_allclose(rd.z, [[-0.2, 0.4]])
    assert list(planted.y) == ["copy_x"] and "75%" in rd.y[0]
    pooled = {
        "planted": {"copy": {"copy": {"slope": 0.3, "prefixes": 2}}},
        "RD": {"copy": {"recall": {"slope": 0.1, "prefixes": 1}}, "recall": {}},
    }
    planted, rd = confusion_figure(pooled).data
    np.testing.assert_allclose(planted.z, [[0.3]])
    assert list(rd.y) == ["copy", "recall"] and np.isnan(rd.z[1][0])
    for i, confusion in enumerate((per_prefix, pooled)):
        assert imread(save_confusion_png(confusion, tmp_path / f"c{i}.png", dpi=50)).ndim == 3


def strings(value) -> list[str]:
    """Every string anywhere in decoded JSON."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings(v)]
    return []


def test_confusion_figure_escapes_dataset_names_for_plotly(tmp_path):
    bold, img = "<b>x</b>", "<img src=x onerror=alert(1)>"
    per_prefix = {
        "families": [bold, img],
        "planted": [{"family": img, "slopes": {bold: 0.5, img: 0.1}}],
        "RD": [
            {
                "beta": 1.0, "gamma": 0.5, "motif": 0, "family": bold, "purity": 1.0,
                "slopes": {bold: 0.2, img: 0.4},
            }
        ],
    }  # fmt: skip
    pooled = {
        "planted": {bold: {img: {"slope": 0.3, "prefixes": 2}}},
        "RD": {img: {bold: {"slope": -0.1, "prefixes": 1}}},
    }
    for confusion in (per_prefix, pooled):
        texts = strings(json.loads(confusion_figure(confusion).to_json()))
        assert not [t for t in texts if "<b>" in t or "<img" in t]
        assert {html.escape(bold), html.escape(img)} <= set(texts)
        assert imread(save_confusion_png(confusion, tmp_path / "c.png", dpi=50)).ndim == 3

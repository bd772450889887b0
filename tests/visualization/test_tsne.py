"""t-SNE: shape, perplexity clipping, trivial layouts, escaped hover text, figure and PNG."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.manifold import TSNE

from motif_discovery.visualization.tsne_plots import (
    effective_perplexity,
    save_tsne_png,
    tsne_coordinates,
    tsne_figure,
)
from tests.visualization.helpers import read_png_size

pytestmark = pytest.mark.usefixtures("one_thread")


def test_perplexity_is_clipped_at_small_n():
    x = np.random.default_rng(0).normal(size=(10, 5))
    with pytest.raises(ValueError, match="perplexity"):
        TSNE(perplexity=30.0, init="pca").fit_transform(x)  # why clipping is needed
    assert effective_perplexity(30.0, 10) == pytest.approx(3.0)
    assert effective_perplexity(2.0, 10) == 2.0
    coords = tsne_coordinates(x, 30.0, seed=0)
    assert coords.shape == (10, 2) and np.isfinite(coords).all()
    expected = TSNE(perplexity=3.0, init="pca", learning_rate="auto", random_state=0)
    assert np.allclose(coords, expected.fit_transform(x))


@pytest.mark.parametrize("n", [0, 1, 2, 4])
def test_fewer_than_five_points_get_a_trivial_layout(n):
    coords = tsne_coordinates(np.ones((n, 3)), 30.0, seed=0)
    assert coords.shape == (n, 2) and np.isfinite(coords).all()
    distances = np.linalg.norm(coords[:, None] - coords[None], axis=-1)
    assert (distances + np.eye(n) > 0).all()  # distinct points


def test_hover_text_is_escaped():
    texts = ["<script>alert(1)</script>", "a <b>bold</b> & done"]
    figure = tsne_figure(np.zeros((2, 2)), np.array([0, 1]), texts, "t", ["fam<i>", "x"])
    hover = [t for trace in json.loads(figure.to_json())["data"] for t in trace["text"]]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in hover[0]
    assert "<script>" not in "".join(hover) and "<b>" not in "".join(hover)
    assert "fam&lt;i&gt;" in hover[0]
    assert "a &lt;b&gt;bold&lt;/b&gt; &amp; done" in hover[1]


def test_both_views_on_toy_world(toy_prefix, tmp_path):
    features, result, _ = toy_prefix
    labels = result.assign.numpy()
    family = [features.label_names["family"][i] for i in features.labels["family"]]
    for view, x in (("e", features.e), ("a", features.a)):
        coords = tsne_coordinates(x.numpy(), 30.0, seed=42)
        assert coords.shape == (features.n, 2) and np.isfinite(coords).all()
        figure = tsne_figure(coords, labels, features.texts, f"t-SNE of {view}", family)
        traces = json.loads(figure.to_json())["data"]
        assert len(traces) == result.K
        assert sum(len(t["text"]) for t in traces) == features.n
        for k, trace in enumerate(figure.data):  # trace k holds exactly motif k's points
            members = result.members(k).numpy()
            assert np.allclose(trace.x, coords[members, 0])
        path = save_tsne_png(coords, labels, f"t-SNE of {view}", tmp_path / f"{view}.png", 60)
        assert read_png_size(path) == (6 * 60, 5 * 60)

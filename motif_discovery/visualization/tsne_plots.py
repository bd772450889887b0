"""t-SNE of one view (semantic e or attribution a), coloured by motif.

The coordinates depend on the view only, not on (beta, gamma): compute them once per
prefix and view, then recolour them by each config's assignment.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from sklearn.manifold import TSNE

from motif_discovery.utils.errors import InputError
from motif_discovery.visualization.hover import escape_hover
from motif_discovery.visualization.palette import motif_colour
from motif_discovery.visualization.static import new_figure, save_png

MIN_TSNE_POINTS = 5


def effective_perplexity(perplexity: float, n: int) -> float:
    """min(perplexity, (N - 1) / 3): t-SNE needs perplexity < N; 3 perplexities fit N."""
    return min(float(perplexity), (n - 1) / 3)


def tsne_coordinates(x: np.ndarray, perplexity: float, seed: int) -> np.ndarray:
    """[N, 2] t-SNE embedding of the rows of x (init "pca", perplexity clipped).

    N < 5 points get a trivial layout instead: evenly spaced on the unit circle (one
    point at the origin).
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2:
        raise InputError(f"t-SNE input: expected a [N, d] array, got shape {x.shape}")
    n = x.shape[0]
    if n < MIN_TSNE_POINTS:
        angles = 2 * np.pi * np.arange(n) / max(n, 1)
        return np.column_stack([np.cos(angles), np.sin(angles)]) * (n > 1)
    tsne = TSNE(
        n_components=2,
        perplexity=effective_perplexity(perplexity, n),
        init="pca",
        learning_rate="auto",
        random_state=seed,
    )
    return tsne.fit_transform(x)


def check_points(coords: np.ndarray, labels: np.ndarray, *others: list | None) -> None:
    """coords [N, 2], labels [N] and every given list of length N."""
    n = len(labels)
    if coords.shape != (n, 2):
        raise InputError(f"t-SNE figure: coords shape {coords.shape} does not match {n} labels")
    for other in others:
        if other is not None and len(other) != n:
            raise InputError(f"t-SNE figure: {len(other)} hover texts for {n} points")


def tsne_figure(
    coords: np.ndarray,
    labels: np.ndarray,
    texts: list[str],
    title: str,
    hover_extra: list[str] | None = None,
) -> go.Figure:
    """Scatter of coords, one trace (colour, legend entry) per motif; hover = text + extra.

    Texts and extras come from the model or a dataset: they are HTML-escaped. The title is
    the caller's and is rendered as HTML (escape any dataset text in it).
    """
    coords, labels = np.asarray(coords), np.asarray(labels)
    check_points(coords, labels, texts, hover_extra)
    figure = go.Figure()
    for k in np.unique(labels):
        rows = np.flatnonzero(labels == k)
        hover = [
            escape_hover(texts[i])
            + (f"<br><i>{escape_hover(hover_extra[i])}</i>" if hover_extra else "")
            for i in rows
        ]
        figure.add_trace(
            go.Scatter(
                x=coords[rows, 0],
                y=coords[rows, 1],
                mode="markers",
                name=f"motif {k} ({len(rows)})",
                marker={"color": motif_colour(k), "size": 6, "opacity": 0.8},
                text=hover,
                hovertemplate="%{text}<extra>motif " + str(k) + "</extra>",
            )
        )
    figure.update_layout(
        title=title,
        xaxis_title="t-SNE 1",
        yaxis_title="t-SNE 2",
        legend_title="motif (members)",
        template="plotly_white",
    )
    return figure


def save_tsne_png(
    coords: np.ndarray, labels: np.ndarray, title: str, path: str | Path, dpi: int
) -> Path:
    """Static scatter of coords coloured by motif, with a legend; written atomically."""
    coords, labels = np.asarray(coords), np.asarray(labels)
    check_points(coords, labels)
    figure = new_figure(6.0, 5.0)
    axes = figure.add_subplot()
    for k in np.unique(labels):
        rows = labels == k
        axes.scatter(
            coords[rows, 0],
            coords[rows, 1],
            s=10,
            alpha=0.8,
            color=motif_colour(k),
            label=f"motif {k} ({int(rows.sum())})",
        )
    axes.set_title(title)
    axes.set_xlabel("t-SNE 1")
    axes.set_ylabel("t-SNE 2")
    axes.legend(title="motif (members)", fontsize="small", loc="best")
    return save_png(figure, path, dpi)

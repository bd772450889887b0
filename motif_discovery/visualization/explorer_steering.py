"""The index's steering summary: stage 7c's aggregate table as grouped bars.

One bar per (method, B) in each selection panel: the mean Spearman correlation between eps
and the logit change over motifs, then prefixes, with unusable motifs left out (solid)
or counted as 0 (hatched in the PNG, a lighter bar in the page).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from motif_discovery.visualization.static import new_figure, save_png
from motif_discovery.visualization.steering_plots import METHOD_STYLE

WAYS = (("spearman", "unusable left out", 1.0), ("spearman_unusable_as_0", "unusable as 0", 0.45))


def summary_axes(table: list[dict]) -> tuple[list[str], list[str], list[int]]:
    """Selections, methods and Bs present in the table, in first-seen / sorted order."""
    selections = list(dict.fromkeys(r["selection"] for r in table))
    methods = list(dict.fromkeys(r["method"] for r in table))
    return selections, methods, sorted({int(r["B"]) for r in table})


def cell(table: list[dict], selection: str, method: str, B: int, key: str) -> float:
    """One aggregate of the table (NaN when absent or null)."""
    for r in table:
        if (r["selection"], r["method"], int(r["B"])) == (selection, method, B):
            return np.nan if r.get(key) is None else float(r[key])
    return np.nan


def steering_summary_figure(table: list[dict]) -> go.Figure:
    """Grouped bars of mean Spearman per method x B, one panel per selection."""
    selections, methods, Bs = summary_axes(table)
    figure = make_subplots(
        rows=1,
        cols=len(selections),
        shared_yaxes=True,
        subplot_titles=[f"selection: {s}" for s in selections],
    )
    for col, selection in enumerate(selections, start=1):
        for method in methods:
            colour = METHOD_STYLE.get(method, ("#444444",))[0]
            for key, way, opacity in WAYS:
                figure.add_trace(
                    go.Bar(
                        x=[f"B={B}" for B in Bs],
                        y=[cell(table, selection, method, B, key) for B in Bs],
                        name=f"{method} ({way})",
                        legendgroup=f"{method} {way}",
                        showlegend=col == 1,
                        marker={"color": colour, "opacity": opacity},
                        hovertemplate=f"{method}, {way}<br>%{{x}}: %{{y:.3f}}<extra></extra>",
                    ),
                    row=1,
                    col=col,
                )
    figure.update_yaxes(title_text="mean Spearman(ε, change)", row=1, col=1)
    figure.update_layout(
        title="Steering: mean Spearman correlation per method, selection and B",
        barmode="group",
        template="plotly_white",
    )
    return figure


def save_steering_summary_png(table: list[dict], path: str | Path, dpi: int) -> Path:
    """The same bars as a static PNG (hatched: unusable motifs counted as 0)."""
    selections, methods, Bs = summary_axes(table)
    figure = new_figure(4.5 * len(selections) + 1.5, 4.0)
    axes = np.atleast_1d(figure.subplots(1, len(selections), sharey=True))
    width = 0.8 / (2 * len(methods))
    for ax, selection in zip(axes, selections, strict=True):
        for m, method in enumerate(methods):
            colour = METHOD_STYLE.get(method, ("#444444",))[0]
            for w, (key, way, _) in enumerate(WAYS):
                x = np.arange(len(Bs)) + (2 * m + w - len(methods) + 0.5) * width
                y = [cell(table, selection, method, B, key) for B in Bs]
                ax.bar(
                    x,
                    y,
                    width,
                    color=colour,
                    hatch="//" if w else None,
                    alpha=0.55 if w else 1.0,
                    label=f"{method} ({way})",
                )
        ax.axhline(0, color="0.6", lw=0.8)
        ax.set_xticks(range(len(Bs)), [f"B={B}" for B in Bs])
        ax.set_title(f"selection: {selection}")
    axes[0].set_ylabel("mean Spearman(ε, change)")
    axes[-1].legend(fontsize=6, loc="best")
    figure.suptitle("Steering: mean Spearman per method, selection and B")
    return save_png(figure, path, dpi)

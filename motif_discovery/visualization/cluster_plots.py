"""A fit's history: K, L, H, D_e, D_a per iteration, with its split and junk events.

Reads stage 5's record["history"]: one row per iteration with iteration, K, L, H, D_e,
D_a and events [{"type": "split" | "junk", "motif", "delta_L", ...}] (L = H + beta_e
D_e + beta_a D_a).
"""

from __future__ import annotations

from pathlib import Path

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from motif_discovery.utils.errors import InputError
from motif_discovery.visualization.static import new_figure, save_png

HISTORY_KEYS = ("iteration", "K", "L", "H", "D_e", "D_a", "events")
# (panel title, quantities drawn in it)
PANELS = (("K (motifs)", ("K",)), ("L and H", ("L", "H")), ("D_e", ("D_e",)), ("D_a", ("D_a",)))
EVENT_STYLE = {"split": ("#2ca02c", "triangle-up", "^"), "junk": ("#d62728", "x", "x")}


def check_history(history: list[dict]) -> None:
    """Every row has the keys of HISTORY_KEYS and events of a known type."""
    if not history:
        raise InputError("clustering history: empty")
    for row in history:
        missing = [k for k in HISTORY_KEYS if k not in row]
        if missing:
            raise InputError(f"clustering history: iteration row {row} lacks keys {missing}")
        unknown = {e.get("type") for e in row["events"]} - EVENT_STYLE.keys()
        if unknown:
            raise InputError(f"clustering history: unknown event types {sorted(unknown)}")


def event_points(history: list[dict], kind: str) -> tuple[list[int], list[int], list[str]]:
    """(iteration, K after it, description) of each event of type `kind`."""
    x, y, text = [], [], []
    for row in history:
        for event in row["events"]:
            if event["type"] == kind:
                x.append(row["iteration"])
                y.append(row["K"])
                text.append(f"{kind} of motif {event['motif']}, ΔL = {event['delta_L']:.4g}")
    return x, y, text


def history_figure(history: list[dict], title: str = "Clustering history") -> go.Figure:
    """Four panels over iterations (K; L and H; D_e; D_a); events marked on the K panel
    and as dotted vertical lines in every panel (green split, red junk)."""
    check_history(history)
    iterations = [row["iteration"] for row in history]
    figure = make_subplots(rows=2, cols=2, subplot_titles=[name for name, _ in PANELS])
    for p, (_, keys) in enumerate(PANELS):
        row, col = p // 2 + 1, p % 2 + 1
        for key in keys:
            figure.add_trace(
                go.Scatter(
                    x=iterations, y=[r[key] for r in history], mode="lines+markers", name=key
                ),
                row=row,
                col=col,
            )
        figure.update_xaxes(title_text="iteration", row=row, col=col)
        figure.update_yaxes(title_text=" and ".join(keys), row=row, col=col)
    for kind, (colour, symbol, _) in EVENT_STYLE.items():
        x, y, text = event_points(history, kind)
        figure.add_trace(
            go.Scatter(
                x=x,
                y=y,
                mode="markers",
                name=f"{kind} event",
                marker={"color": colour, "symbol": symbol, "size": 11},
                text=text,
                hovertemplate="iteration %{x}: %{text}<extra></extra>",
            ),
            row=1,
            col=1,
        )
        for iteration in sorted(set(x)):
            figure.add_vline(
                x=iteration, line={"color": colour, "dash": "dot", "width": 1}, row="all", col="all"
            )
    figure.update_layout(title=title, template="plotly_white", legend_title="quantity / event")
    return figure


def save_history_png(
    history: list[dict], path: str | Path, dpi: int, title: str = "Clustering history"
) -> Path:
    """The same four panels as history_figure, as a static PNG."""
    check_history(history)
    iterations = [row["iteration"] for row in history]
    figure = new_figure(9.0, 6.0)
    grid = figure.subplots(2, 2, sharex=True)
    for axes, (name, keys) in zip(grid.ravel(), PANELS, strict=True):
        for key in keys:
            axes.plot(iterations, [r[key] for r in history], marker="o", ms=3, label=key)
        for kind, (colour, _, _) in EVENT_STYLE.items():
            x, _, _ = event_points(history, kind)
            for iteration in sorted(set(x)):
                axes.axvline(iteration, color=colour, ls=":", lw=1)
        axes.set_title(name)
        axes.set_xlabel("iteration")
        axes.set_ylabel(" and ".join(keys))
    k_axes = grid[0, 0]
    for kind, (colour, _, marker) in EVENT_STYLE.items():
        x, y, _ = event_points(history, kind)
        k_axes.scatter(x, y, color=colour, marker=marker, s=50, zorder=3, label=f"{kind} event")
    k_axes.legend(fontsize="small")
    grid[0, 1].legend(fontsize="small")
    figure.suptitle(title)
    return save_png(figure, path, dpi)

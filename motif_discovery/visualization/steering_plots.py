"""Stage 7c's figures: logit change vs eps per motif, and the family confusion.

- steering_figure / save_steering_png: for one prefix and (beta, gamma), one panel per
  motif id, change(eps) of each method (colour and dash), at one selection and B;
- confusion_figure / save_confusion_png: heatmaps of slope(steered motif, moved family):
  a prefix's confusion (planted families, RD motifs with majority family and purity) or the
  pooled one of 7c_summary.json (by mechanism).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from motif_discovery.utils.errors import InputError
from motif_discovery.visualization.hover import escape_hover
from motif_discovery.visualization.static import new_figure, save_png

METHOD_STYLE = {  # colour, Plotly dash, matplotlib linestyle
    "RD": ("#1f77b4", "solid", "-"),
    "KM-Sem": ("#ff7f0e", "dash", "--"),
    "Single": ("#2ca02c", "dot", ":"),
    "random": ("#7f7f7f", "dashdot", "-."),
}


def shown_selection(rows: list[dict]) -> str:
    """The selection a config's steering figure shows: "full" when the rows have it, else
    the first selection present (validation.selections may leave "full" out)."""
    selections = [r["selection"] for r in rows]
    return "full" if "full" in selections else selections[0]


def steering_panels(
    rows: list[dict], beta: float, gamma: float, selection: str = "full", B: int | None = None
) -> tuple[int, dict[int, list[dict]]]:
    """(B, motif -> its rows) of one config at one selection (B: the largest present)."""
    chosen = [
        r for r in rows if r["beta"] == beta and r["gamma"] == gamma and r["selection"] == selection
    ]
    if not chosen:
        raise InputError(f"steering figure: no rows at beta={beta}, gamma={gamma}, {selection}")
    B = max(r["B"] for r in chosen) if B is None else B
    panels: dict[int, list[dict]] = {}
    for r in chosen:
        if r["B"] == B:
            panels.setdefault(int(r["motif"]), []).append(r)
    return B, dict(sorted(panels.items()))


def _label(row: dict) -> str:
    if not row["usable"]:
        return f"{row['method']} (unusable: {row['reason']})"
    return f"{row['method']} (Spearman {row['spearman']:.2f})"


def steering_figure(
    rows: list[dict], beta: float, gamma: float, selection: str = "full", B: int | None = None
) -> go.Figure:
    """Change of the mean centred logit vs eps, one panel per motif, one line per method."""
    B, panels = steering_panels(rows, beta, gamma, selection, B)
    figure = make_subplots(
        rows=1,
        cols=len(panels),
        shared_yaxes=True,
        subplot_titles=[f"motif {m}" for m in panels],
    )
    shown = set()
    for col, motif_rows in enumerate(panels.values(), start=1):
        for r in motif_rows:
            if r["changes"] is None:
                continue
            colour, dash, _ = METHOD_STYLE.get(r["method"], ("#000000", "solid", "-"))
            figure.add_trace(
                go.Scatter(
                    x=r["epsilons"],
                    y=r["changes"],
                    mode="lines+markers",
                    name=r["method"],
                    legendgroup=r["method"],
                    showlegend=r["method"] not in shown,
                    line={"color": colour, "dash": dash},
                    hovertemplate=f"{_label(r)}<br>ε=%{{x}}<br>change=%{{y:.4f}}<extra></extra>",
                ),
                row=1,
                col=col,
            )
            shown.add(r["method"])
        figure.update_xaxes(title_text="ε", row=1, col=col)
    figure.update_yaxes(title_text="Δ mean centred logit", row=1, col=1)
    figure.update_layout(
        title=f"Steering at β={beta:g}, γ={gamma:g} ({selection}, B={B})",
        legend_title="method",
        template="plotly_white",
    )
    return figure


def save_steering_png(
    rows: list[dict],
    beta: float,
    gamma: float,
    path: str | Path,
    dpi: int,
    selection: str = "full",
    B: int | None = None,
) -> Path:
    """The steering figure as a static PNG (matplotlib Agg)."""
    B, panels = steering_panels(rows, beta, gamma, selection, B)
    figure = new_figure(3.2 * len(panels) + 1.0, 3.4)
    axes = np.atleast_1d(figure.subplots(1, len(panels), sharey=True))
    for ax, (motif, motif_rows) in zip(axes, panels.items(), strict=True):
        for r in motif_rows:
            if r["changes"] is None:
                continue
            colour, _, style = METHOD_STYLE.get(r["method"], ("#000000", "solid", "-"))
            ax.plot(r["epsilons"], r["changes"], style, color=colour, marker="o", ms=3)
            ax.plot([], [], style, color=colour, label=_label(r))
        ax.axhline(0, color="0.8", lw=0.8)
        ax.set_title(f"motif {motif}")
        ax.set_xlabel("ε")
        ax.legend(fontsize=6)
    axes[0].set_ylabel("Δ mean centred logit")
    figure.suptitle(f"Steering at β={beta:g}, γ={gamma:g} ({selection}, B={B})")
    return save_png(figure, path, dpi)


@dataclass
class Panel:
    """One heatmap: slopes z [rows, cols] of steered motifs (rows) on families (cols)."""

    title: str
    rows: list[str]
    cols: list[str]
    z: np.ndarray


def confusion_panels(confusion: dict) -> list[Panel]:
    """A prefix's confusion (keys families, planted, RD) or the pooled one (planted, RD:
    mechanism -> mechanism -> {slope, prefixes}) as heatmap panels."""
    if "families" in confusion:
        cols = list(confusion["families"])
        planted = [e for e in confusion["planted"] if e["slopes"] is not None]
        rd = [e for e in confusion["RD"] if e["slopes"] is not None]
        return [
            Panel(
                "planted families",
                [e["family"] for e in planted],
                cols,
                np.array([[e["slopes"][c] for c in cols] for e in planted]).reshape(-1, len(cols)),
            ),
            Panel(
                "RD motifs (majority family, purity)",
                [
                    f"β={e['beta']:g} γ={e['gamma']:g} m{e['motif']}: {e['family']} "
                    f"({e['purity']:.0%})"
                    for e in rd
                ],
                cols,
                np.array([[e["slopes"][c] for c in cols] for e in rd]).reshape(-1, len(cols)),
            ),
        ]
    panels = []
    for kind in ("planted", "RD"):
        table = confusion.get(kind) or {}
        rows = sorted(table)
        cols = sorted({c for r in rows for c in table[r]})
        z = np.array(
            [[table[r][c]["slope"] if c in table[r] else np.nan for c in cols] for r in rows]
        ).reshape(len(rows), len(cols))
        panels.append(Panel(f"{kind}, pooled by mechanism", rows, cols, z))
    return panels


def confusion_figure(confusion: dict) -> go.Figure:
    """Heatmaps of slope(steered motif -> moved family) (see confusion_panels); family and
    mechanism names come from the dataset and are HTML-escaped (Plotly renders HTML)."""
    panels = confusion_panels(confusion)
    figure = make_subplots(rows=1, cols=len(panels), subplot_titles=[p.title for p in panels])
    for col, panel in enumerate(panels, start=1):
        figure.add_trace(
            go.Heatmap(
                z=panel.z,
                x=[escape_hover(c) for c in panel.cols],
                y=[escape_hover(r) for r in panel.rows],
                colorscale="RdBu",
                zmid=0,
                texttemplate="%{z:.3f}",
                coloraxis="coloraxis",
                hovertemplate="steered %{y}<br>moved %{x}<br>slope %{z:.4f}<extra></extra>",
            ),
            row=1,
            col=col,
        )
        figure.update_xaxes(title_text="family moved", row=1, col=col)
    figure.update_layout(
        title="Steering confusion: slope of the family's Δ mean centred logit vs ε",
        coloraxis={"colorscale": "RdBu", "cmid": 0, "colorbar": {"title": "slope"}},
        template="plotly_white",
    )
    return figure


def save_confusion_png(confusion: dict, path: str | Path, dpi: int) -> Path:
    """The confusion heatmaps as a static PNG (matplotlib Agg)."""
    panels = confusion_panels(confusion)
    height = 1.5 + 0.35 * max(1, max(len(p.rows) for p in panels))
    figure = new_figure(6.0 * len(panels), height)
    axes = np.atleast_1d(figure.subplots(1, len(panels)))
    finite = np.concatenate([p.z[np.isfinite(p.z)] for p in panels] + [np.zeros(1)])
    limit = float(np.abs(finite).max()) or 1.0
    for ax, panel in zip(axes, panels, strict=True):
        image = ax.imshow(panel.z, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
        for (i, j), value in np.ndenumerate(panel.z):
            if np.isfinite(value):
                ax.text(j, i, f"{value:.3f}", ha="center", va="center", fontsize=7)
        ax.set_xticks(range(len(panel.cols)), panel.cols, rotation=30, ha="right", fontsize=7)
        ax.set_yticks(range(len(panel.rows)), panel.rows, fontsize=7)
        ax.set_xlabel("family moved")
        ax.set_title(panel.title, fontsize=9)
        figure.colorbar(image, ax=ax, label="slope")
    figure.suptitle("Steering confusion: slope of Δ mean centred logit vs ε")
    return save_png(figure, path, dpi)

"""The beta x gamma sweep: RD's K and D_gamma, and every method's D_gamma, per config.

Input: stage 5's summary.json of one or many prefixes; each "configs" row has beta,
gamma, K and scores[method]["D_gamma"] (D_gamma = gamma D_e + (1 - gamma) D_a, the
baselines at RD's K). Cells are means over the prefixes that have the config.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go

from motif_discovery.utils.errors import InputError
from motif_discovery.visualization.static import new_figure, save_png

RD = "RD"
QUANTITIES = ("K", "D_gamma")


@dataclass
class SweepTable:
    """Means over prefixes on the grid: arrays are [len(gammas), len(betas)], NaN where no
    prefix has the config; count = how many prefixes have it."""

    betas: list[float]
    gammas: list[float]
    methods: list[str]  # RD first, then the others in order of first appearance
    K: np.ndarray
    D_gamma: dict[str, np.ndarray]  # method -> mean D_gamma
    count: np.ndarray

    def configs(self) -> list[tuple[int, int]]:
        """(gamma index, beta index) of every config some prefix has, by gamma then beta."""
        return [tuple(ij) for ij in np.argwhere(self.count > 0)]


def config_rows(summaries: list[dict]) -> list[dict]:
    """All "configs" rows of the summaries, checked for beta, gamma, K and RD's D_gamma."""
    rows = []
    for summary in summaries:
        where = f"summary.json of {summary.get('prefix_id', '?')}"
        if "configs" not in summary:
            raise InputError(f"{where}: key 'configs' missing")
        for row in summary["configs"]:
            if not {"beta", "gamma", "K", "scores"} <= row.keys() or RD not in row["scores"]:
                raise InputError(f"{where}: config row lacks beta, gamma, K or scores.RD: {row}")
            rows.append(row)
    if not rows:
        raise InputError("sweep: no config rows in the summaries")
    return rows


def sweep_table(summaries: list[dict]) -> SweepTable:
    """Mean K and mean D_gamma of each method per (beta, gamma) over the summaries."""
    rows = config_rows(summaries)
    betas = sorted({float(r["beta"]) for r in rows})
    gammas = sorted({float(r["gamma"]) for r in rows})
    methods = [RD]
    for row in rows:
        methods += [m for m in row["scores"] if m not in methods]
    shape = (len(gammas), len(betas))
    count, K = np.zeros(shape), np.zeros(shape)
    totals = {m: np.zeros(shape) for m in methods}
    counts = {m: np.zeros(shape) for m in methods}
    for row in rows:
        cell = gammas.index(float(row["gamma"])), betas.index(float(row["beta"]))
        count[cell] += 1
        K[cell] += row["K"]
        for method, scores in row["scores"].items():
            totals[method][cell] += scores["D_gamma"]
            counts[method][cell] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        D_gamma = {m: totals[m] / counts[m] for m in methods}
        return SweepTable(betas, gammas, methods, K / count, D_gamma, count)


def quantity(table: SweepTable, what: str) -> np.ndarray:
    """The [gamma, beta] array of `what`: "K" (RD's K) or "D_gamma" (RD's D_gamma)."""
    if what not in QUANTITIES:
        raise InputError(f"sweep figure: what = {what!r}; expected one of {QUANTITIES}")
    return table.K if what == "K" else table.D_gamma[RD]


def sweep_figure(table: SweepTable, what: str = "K") -> go.Figure:
    """Heatmap of mean `what` over beta (x) x gamma (y); categorical axes, values printed."""
    z = quantity(table, what)
    label = "K (RD)" if what == "K" else "D_γ (RD)"
    figure = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"{b:g}" for b in table.betas],
            y=[f"{g:g}" for g in table.gammas],
            customdata=table.count,
            colorscale="Viridis",
            colorbar={"title": label},
            texttemplate="%{z:.3g}",
            hovertemplate="β=%{x}, γ=%{y}<br>" + label + " = %{z:.4g}"
            "<br>mean over %{customdata} prefixes<extra></extra>",
        )
    )
    n = int(table.count.max())
    figure.update_layout(
        title=f"{label} over the β × γ grid (mean over up to {n} prefixes)",
        xaxis={"title": "β", "type": "category"},
        yaxis={"title": "γ", "type": "category"},
        template="plotly_white",
    )
    return figure


def config_labels(table: SweepTable) -> list[str]:
    """ "β=1, γ=0.5" for each config of table.configs()."""
    return [f"β={table.betas[j]:g}, γ={table.gammas[i]:g}" for i, j in table.configs()]


def methods_figure(table: SweepTable) -> go.Figure:
    """Grouped bars: each method's mean D_gamma per config (RD vs the baselines)."""
    figure = go.Figure()
    labels = config_labels(table)
    for method in table.methods:
        figure.add_trace(
            go.Bar(
                x=labels,
                y=[table.D_gamma[method][i, j] for i, j in table.configs()],
                name=method,
            )
        )
    figure.update_layout(
        title="D_γ of RD and the baselines (baselines at RD's K; lower is better)",
        xaxis_title="config",
        yaxis_title="mean D_γ",
        barmode="group",
        legend_title="method",
        template="plotly_white",
    )
    return figure


def save_sweep_png(table: SweepTable, path: str | Path, dpi: int) -> Path:
    """Three panels: heatmaps of K and D_gamma (RD), and each method's D_gamma per config."""
    figure = new_figure(14.0, 4.5)
    axes = figure.subplots(1, 3, width_ratios=[1, 1, 1.4])
    for ax, what in zip(axes[:2], QUANTITIES, strict=True):
        z = quantity(table, what)
        image = ax.imshow(z, origin="lower", aspect="auto", cmap="viridis")
        for (i, j), value in np.ndenumerate(z):
            if np.isfinite(value):
                colour = "k" if image.norm(value) > 0.6 else "w"  # dark on viridis' yellow end
                ax.text(j, i, f"{value:.3g}", ha="center", va="center", color=colour, fontsize=8)
        ax.set_xticks(range(len(table.betas)), [f"{b:g}" for b in table.betas])
        ax.set_yticks(range(len(table.gammas)), [f"{g:g}" for g in table.gammas])
        ax.set_xlabel("β")
        ax.set_ylabel("γ")
        ax.set_title(f"{'K' if what == 'K' else 'D_γ'} (RD)")
        figure.colorbar(image, ax=ax)
    bars = axes[2]
    configs, width = table.configs(), 0.8 / len(table.methods)
    for m, method in enumerate(table.methods):
        x = np.arange(len(configs)) + (m - (len(table.methods) - 1) / 2) * width
        y = [table.D_gamma[method][i, j] for i, j in configs]
        bars.bar(x, y, width=width, label=method)
    bars.set_xticks(range(len(configs)), config_labels(table), rotation=30, ha="right", fontsize=8)
    bars.set_xlabel("config")
    bars.set_ylabel("mean D_γ")
    bars.set_title("D_γ: RD vs baselines (lower is better)")
    bars.legend(fontsize="small")
    figure.suptitle(f"β × γ sweep (mean over up to {int(table.count.max())} prefixes)")
    return save_png(figure, path, dpi)

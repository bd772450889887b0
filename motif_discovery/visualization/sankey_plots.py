"""Sankey diagrams of how P-mass flows between partitions of the same continuations.

Two uses: across the beta path (columns = the path's events, nodes = motifs at each
event) and across methods (e.g. KM-S -> RD -> KM-A). The link from motif i of column t to
motif j of column t+1 carries the P-mass w_ij = sum_n pbar_n [z_t(n) = i][z_t+1(n) = j],
pbar_n = P_n / sum_m P_m, computed from the full assignments, so merges and reassignments
show, not only the recorded splits. Each column's nodes sum to 1, and each node's inflow
equals its outflow equals its mass.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from matplotlib.patches import PathPatch
from matplotlib.path import Path as BezierPath

from motif_discovery.utils.errors import InputError
from motif_discovery.visualization.palette import motif_colour, rgba
from motif_discovery.visualization.static import new_figure, save_png

NODE_GAP = 0.03  # vertical gap between stacked nodes in the PNG, in units of total mass
BAR_WIDTH = 0.12  # node width in the PNG, in units of column spacing


@dataclass
class SankeyData:
    """Nodes (motif `node_motif[i]` of column `node_column[i]`, mass `node_mass[i]`) and
    links (source node, target node, P-mass); columns are named and in order."""

    column_names: list[str]
    node_column: list[int]
    node_motif: list[int]
    node_mass: list[float]
    source: list[int]
    target: list[int]
    value: list[float]

    def node_label(self, i: int) -> str:
        """e.g. "β=0.657 · motif 1 (31%)"."""
        column = self.column_names[self.node_column[i]]
        return f"{column} · motif {self.node_motif[i]} ({100 * self.node_mass[i]:.0f}%)"

    def column_nodes(self, t: int) -> list[int]:
        """Node indices of column t, by motif id."""
        return [i for i, c in enumerate(self.node_column) if c == t]


def normalized_mass(p: np.ndarray) -> np.ndarray:
    """pbar_n = P_n / sum_m P_m (float64); P must be non-negative with a positive sum."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim != 1 or (p < 0).any() or not p.sum() > 0:
        raise InputError(f"Sankey: P_n must be a non-negative vector with a positive sum, got {p}")
    return p / p.sum()


def partition_flows(assigns: list[np.ndarray], names: list[str], p: np.ndarray) -> SankeyData:
    """Flows between consecutive partitions assigns[t] -> assigns[t+1] (named by names)."""
    pbar = normalized_mass(p)
    if len(assigns) != len(names) or not assigns:
        raise InputError(f"Sankey: {len(assigns)} partitions for {len(names)} names")
    zs = [np.asarray(z, dtype=np.int64) for z in assigns]
    for name, z in zip(names, zs, strict=True):
        if z.shape != pbar.shape or (z < 0).any():
            raise InputError(
                f"Sankey: partition {name!r} has shape {z.shape} (need {pbar.shape}, ids >= 0)"
            )
    data = SankeyData(list(names), [], [], [], [], [], [])
    node_of: list[dict[int, int]] = []
    for t, z in enumerate(zs):
        mass = np.bincount(z, weights=pbar)
        node_of.append({})
        for k in np.flatnonzero(mass > 0):
            node_of[t][int(k)] = len(data.node_mass)
            data.node_column.append(t)
            data.node_motif.append(int(k))
            data.node_mass.append(float(mass[k]))
    for t in range(len(zs) - 1):
        pairs = np.stack([zs[t], zs[t + 1]], axis=1)
        keys, inverse = np.unique(pairs, axis=0, return_inverse=True)
        flow = np.bincount(inverse.ravel(), weights=pbar, minlength=len(keys))
        for (i, j), w in zip(keys, flow, strict=True):
            if w > 0:
                data.source.append(node_of[t][int(i)])
                data.target.append(node_of[t + 1][int(j)])
                data.value.append(float(w))
    return data


def distinct_labels(values: list[float]) -> list[str]:
    """Values with the fewest significant digits (3 to 17) that keep distinct values apart."""
    for digits in range(3, 18):
        labels = [f"{v:.{digits}g}" for v in values]
        if len(set(labels)) == len(set(values)):
            return labels
    return [repr(v) for v in values]


def beta_path_flows(record: dict, p: np.ndarray) -> SankeyData:
    """Flows along a stage-5 beta path record: one column per event (beta, K), in order."""
    where = f"beta path of {record.get('prefix_id', '?')} (gamma {record.get('gamma', '?')})"
    events = record.get("events")
    if not events:
        raise InputError(f"{where}: key 'events' missing or empty")
    missing = [i for i, e in enumerate(events) if not {"beta", "K", "assign"} <= e.keys()]
    if missing:
        raise InputError(f"{where}: events {missing} lack 'beta', 'K' or 'assign'")
    names = [f"β={beta}" for beta in distinct_labels([float(e["beta"]) for e in events])]
    return partition_flows([np.asarray(e["assign"]) for e in events], names, p)


def sankey_figure(data: SankeyData, title: str) -> go.Figure:
    """Plotly Sankey: node colour = motif, links in the source motif's colour; columns
    titled by name and K. Title and column names are rendered as HTML (the caller's)."""
    colours = [motif_colour(k) for k in data.node_motif]
    n_columns = len(data.column_names)
    figure = go.Figure(
        go.Sankey(
            arrangement="snap",
            node={
                "label": [data.node_label(i) for i in range(len(data.node_mass))],
                "color": colours,
                "pad": 12,
                "thickness": 14,
                "hovertemplate": "%{label}<br>P-mass %{value:.3f}<extra></extra>",
            },
            link={
                "source": data.source,
                "target": data.target,
                "value": data.value,
                "color": [rgba(colours[s], 0.35) for s in data.source],
                "hovertemplate": "%{source.label} → %{target.label}"
                "<br>P-mass %{value:.3f}<extra></extra>",
            },
        )
    )
    for t, name in enumerate(data.column_names):
        figure.add_annotation(
            x=t / max(n_columns - 1, 1),
            y=1.06,
            xref="paper",
            yref="paper",
            text=f"{name}<br>K={len(data.column_nodes(t))}",
            showarrow=False,
        )
    figure.update_layout(title=title, margin={"t": 100}, font_size=11)
    return figure


def node_extents(data: SankeyData) -> tuple[np.ndarray, np.ndarray]:
    """Bottom and top of each node in a column of stacked bars (motif 0 on top)."""
    bottom, top = np.zeros(len(data.node_mass)), np.zeros(len(data.node_mass))
    height = 1 + NODE_GAP * (
        max(len(data.column_nodes(t)) for t in range(len(data.column_names))) - 1
    )
    for t in range(len(data.column_names)):
        nodes = data.column_nodes(t)
        y = (height + 1 + NODE_GAP * (len(nodes) - 1)) / 2  # centre each column
        for i in nodes:
            top[i], bottom[i] = y, y - data.node_mass[i]
            y = bottom[i] - NODE_GAP
    return bottom, top


def band(x0: float, x1: float, y0: tuple[float, float], y1: tuple[float, float]) -> BezierPath:
    """A filled band from the span y0 (bottom, top) at x0 to y1 at x1, with bezier edges."""
    xm = (x0 + x1) / 2
    vertices = [
        (x0, y0[1]),
        (xm, y0[1]),
        (xm, y1[1]),
        (x1, y1[1]),
        (x1, y1[0]),
        (xm, y1[0]),
        (xm, y0[0]),
        (x0, y0[0]),
        (x0, y0[1]),
    ]
    codes = [BezierPath.MOVETO] + [BezierPath.CURVE4] * 3 + [BezierPath.LINETO]
    codes += [BezierPath.CURVE4] * 3 + [BezierPath.CLOSEPOLY]
    return BezierPath(vertices, codes)


def save_sankey_png(data: SankeyData, title: str, path: str | Path, dpi: int) -> Path:
    """Alluvial plot: columns of stacked bars (height = P-mass), links as bezier bands."""
    n_columns = len(data.column_names)
    bottom, top = node_extents(data)
    out_cursor, in_cursor = top.copy(), top.copy()  # links leave/enter nodes top-down
    figure = new_figure(max(4.0, 1.8 * n_columns), 5.5)
    axes = figure.add_subplot()
    for s, t, w in sorted(
        zip(data.source, data.target, data.value, strict=True),
        key=lambda link: (top[link[0]], top[link[1]]),
        reverse=True,
    ):
        x0 = data.node_column[s] + BAR_WIDTH / 2
        x1 = data.node_column[t] - BAR_WIDTH / 2
        span0 = (out_cursor[s] - w, out_cursor[s])
        span1 = (in_cursor[t] - w, in_cursor[t])
        out_cursor[s] -= w
        in_cursor[t] -= w
        colour = motif_colour(data.node_motif[s])
        axes.add_patch(PathPatch(band(x0, x1, span0, span1), facecolor=colour, alpha=0.35, lw=0))
    for i, mass in enumerate(data.node_mass):
        x = data.node_column[i]
        axes.bar(x, mass, bottom=bottom[i], width=BAR_WIDTH, color=motif_colour(data.node_motif[i]))
        if mass >= 0.03:
            axes.text(
                x + BAR_WIDTH / 2 + 0.03,
                (bottom[i] + top[i]) / 2,
                f"{data.node_motif[i]} ({100 * mass:.0f}%)",
                va="center",
                fontsize=7,
            )
    axes.set_xticks(
        range(n_columns),
        [f"{name}\nK={len(data.column_nodes(t))}" for t, name in enumerate(data.column_names)],
        fontsize=8,
    )
    axes.set_xlim(-0.5, n_columns - 0.3)
    axes.set_ylim(min(bottom.min(), 0) - 0.02, top.max() + 0.02)
    axes.set_yticks([])
    axes.set_ylabel("P-mass (each column sums to 1)")
    axes.set_title(title)
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    return save_png(figure, path, dpi)

"""Every figure of one prefix, as Plotly JSON for the page and as a PNG under png/<prefix>/.

Per grid config: t-SNE of the semantic and the attribution view coloured by RD's motifs
(coordinates computed once per view), RD's history, the KM-S -> RD -> KM-A Sankey, and,
when stages 6 and 7c ran, the semantic graph heatmap and the steering curves. Per beta
path (one per gamma): the Sankey of its events. Per prefix, where 7c ran on labelled
data: its steering confusion.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import plotly.graph_objects as go

from motif_discovery.clustering.outputs import ConfigResult
from motif_discovery.embedding.features import FeatureSet
from motif_discovery.utils.config import VisualizationConfig
from motif_discovery.visualization.cluster_plots import history_figure, save_history_png
from motif_discovery.visualization.explorer_data import Continuations
from motif_discovery.visualization.hover import escape_hover
from motif_discovery.visualization.sankey_plots import (
    beta_path_flows,
    partition_flows,
    sankey_figure,
    save_sankey_png,
)
from motif_discovery.visualization.semantic_graph_plots import (
    save_semantic_graph_png,
    semantic_graph_figure,
)
from motif_discovery.visualization.steering_plots import (
    confusion_figure,
    save_confusion_png,
    save_steering_png,
    shown_selection,
    steering_figure,
)
from motif_discovery.visualization.tsne_plots import (
    save_tsne_png,
    tsne_coordinates,
    tsne_figure,
)

VIEWS = {"semantic": "e", "attribution": "a"}
FLOW_ORDER = ("KM-S", "RD", "KM-A")
PATH_HEIGHT, PATH_HEIGHT_PER_MOTIF = 420, 40  # pixels of the page's beta-path Sankey


def plotly_json(figure: go.Figure) -> dict:
    """The figure as plain JSON (data, layout), as Plotly.newPlot takes it."""
    return json.loads(figure.to_json())


@dataclass
class PrefixFigures:
    """The figures of one prefix: config name -> panel -> Plotly JSON, gamma -> path
    Sankey, the steering confusion, and every PNG written."""

    configs: dict[str, dict[str, dict]] = field(default_factory=dict)
    paths: dict[float, dict] = field(default_factory=dict)
    confusion: dict | None = None
    pngs: list[Path] = field(default_factory=list)


def hover_extra(data: Continuations) -> list[str]:
    """Second hover line of each point: its family (when known) and P_n."""
    families = data.families or [""] * len(data.texts)
    return [f"{f} P_n={float(p):.3g}".strip() for f, p in zip(families, data.p, strict=True)]


def flows_of(result: ConfigResult) -> tuple[list[list[int]], list[str]]:
    """The KM-S -> RD -> KM-A partitions stage 5 wrote for this config (those present)."""
    named = {**result.record.get("baseline_assign", {}), "RD": result.assign.tolist()}
    names = [name for name in FLOW_ORDER if name in named]
    return [named[name] for name in names], names


class FigureWriter:
    """Builds one prefix's figures and writes their PNGs into `png_dir`."""

    def __init__(self, features: FeatureSet, vis: VisualizationConfig, png_dir: Path) -> None:
        self.features, self.vis, self.png_dir = features, vis, png_dir
        self.data = Continuations.of(features)
        self.p = features.p.double().numpy()
        self.out = PrefixFigures()
        self.coords = {
            view: tsne_coordinates(
                getattr(features, key).double().numpy(), vis.tsne_perplexity, vis.seed
            )
            for view, key in VIEWS.items()
        }

    def png(self, name: str) -> Path:
        path = self.png_dir / f"{name}.png"
        self.out.pngs.append(path)
        return path

    def config(
        self, result: ConfigResult, graph: dict | None, steering_rows: list[dict] | None
    ) -> None:
        """Every panel of one grid config."""
        name, K, dpi = result.name, result.K, self.vis.dpi
        config = f"β={result.beta:g}, γ={result.gamma:g}, K={K}"
        where = f"{self.features.prefix_id}, {config}"  # the PNGs' titles; the page names
        # the prefix in its header, so its plots' titles give the config only
        labels = result.assign.numpy()
        panels: dict[str, dict] = {}
        for view, coords in self.coords.items():
            texts, extra = self.data.texts, hover_extra(self.data)
            figure = tsne_figure(coords, labels, texts, f"{view} view, {config}", extra)
            panels[f"tsne_{view}"] = plotly_json(figure)
            title = f"t-SNE of the {view} view ({where})"
            save_tsne_png(coords, labels, title, self.png(f"tsne_{view}_{name}"), dpi)
        history = result.record.get("history", [])
        panels["history"] = plotly_json(history_figure(history))
        save_history_png(history, self.png(f"history_{name}"), dpi)
        assigns, names = flows_of(result)
        if len(names) > 1:
            flows = partition_flows(assigns, names, self.p)
            flow = " -> ".join(names)
            panels["sankey"] = plotly_json(sankey_figure(flows, f"{flow}, {config}"))
            save_sankey_png(flows, f"{flow} ({where})", self.png(f"sankey_methods_{name}"), dpi)
        if graph is not None:
            panels["graph"] = plotly_json(semantic_graph_figure(graph))
            save_semantic_graph_png(graph, self.png(f"semantic_graph_{name}"), dpi)
        if steering_rows:
            beta, gamma = result.beta, result.gamma
            shown = shown_selection(steering_rows)  # at the largest B present
            figure = steering_figure(steering_rows, beta, gamma, shown)
            panels["steering"] = plotly_json(figure)
            path = self.png(f"steering_{name}")
            save_steering_png(steering_rows, beta, gamma, path, dpi, selection=shown)
        self.out.configs[name] = panels

    def confusion(self, confusion: dict) -> None:
        """Stage 7c's family confusion of this prefix (toy world)."""
        self.out.confusion = plotly_json(confusion_figure(confusion))
        save_confusion_png(confusion, self.png("steering_confusion"), self.vis.dpi)

    def path(self, record: dict) -> None:
        """The Sankey of one beta path's events."""
        gamma = float(record["gamma"])
        flows = beta_path_flows(record, self.p)
        title = f"β path of {{}} at γ={gamma:g}"  # the prefix id: escaped for Plotly only
        figure = sankey_figure(flows, title.format(escape_hover(self.features.prefix_id)))
        figure.update_layout(height=PATH_HEIGHT + PATH_HEIGHT_PER_MOTIF * max(flows.node_motif))
        self.out.paths[gamma] = plotly_json(figure)
        path = self.png(f"sankey_beta_path_gamma{gamma!r}")
        save_sankey_png(flows, title.format(self.features.prefix_id), path, self.vis.dpi)

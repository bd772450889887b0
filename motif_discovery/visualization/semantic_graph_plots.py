"""Semantic-graph heatmaps: motifs x prefix tokens, coloured by token_scores.

Reads stage 6's record of one config (`6_semantic_graphs/<prefix_id>/beta<b>_gamma<g>.json`):
prefix_tokens [P] and, per motif, prior and token_scores [P] (score_c[t] = sum of |H_c[j]|
over the sources j at position t, normalized units).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import plotly.graph_objects as go
from tqdm import tqdm

from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_json
from motif_discovery.visualization.hover import escape_hover
from motif_discovery.visualization.static import new_figure, save_png

GRAPHS_DIR = "6_semantic_graphs"
SCORE_LABEL = "sum of |H_c| over the position's sources"


def score_matrix(graph: dict) -> tuple[np.ndarray, list[str], list[str]]:
    """(scores [K, P], the P prefix tokens, one label "motif c (prior x)" per motif)."""
    tokens, motifs = graph.get("prefix_tokens"), graph.get("motifs")
    if not isinstance(tokens, list) or not isinstance(motifs, list) or not motifs:
        raise InputError("semantic graph: needs 'prefix_tokens' and a non-empty 'motifs' list")
    for motif in motifs:
        if len(motif.get("token_scores", [])) != len(tokens) or "prior" not in motif:
            raise InputError(
                f"semantic graph: motif {motif.get('motif')} needs 'prior' and "
                f"{len(tokens)} token_scores"
            )
    scores = np.array([motif["token_scores"] for motif in motifs], dtype=np.float64)
    labels = [f"motif {m['motif']} (prior {m['prior']:.2f})" for m in motifs]
    return scores, tokens, labels


def title_of(graph: dict) -> str:
    """'<prefix_id>, beta=<b>, gamma=<g>, K=<K>'."""
    return (
        f"{graph.get('prefix_id')}, beta={graph.get('beta'):g}, gamma={graph.get('gamma'):g}, "
        f"K={graph.get('K')}"
    )


def visible(token: str) -> str:
    """A token as a tick label: newlines and tabs written out, `$` kept literal."""
    return token.replace("\n", "\\n").replace("\t", "\\t").replace("$", r"\$")


def save_semantic_graph_png(graph: dict, path: str | Path, dpi: int) -> Path:
    """The heatmap as a static PNG (matplotlib, Agg), written atomically."""
    scores, tokens, labels = score_matrix(graph)
    K, P = scores.shape
    figure = new_figure(max(6.0, 0.4 * P + 2.5), max(2.5, 0.45 * K + 1.8))
    axes = figure.add_subplot()
    image = axes.imshow(scores, aspect="auto", cmap="viridis", interpolation="nearest")
    axes.set_xticks(range(P), [visible(t) for t in tokens], rotation=60, ha="right")
    axes.set_yticks(range(K), labels)
    axes.set_title(f"Semantic graph: {visible(title_of(graph))}", fontsize=10)
    figure.colorbar(image, ax=axes, label=SCORE_LABEL)
    return save_png(figure, path, dpi)


def semantic_graph_figure(graph: dict) -> go.Figure:
    """Interactive heatmap (Plotly): one row per motif, one column per prefix position;
    hover gives the token (HTML-escaped), its score and the motif."""
    scores, tokens, labels = score_matrix(graph)
    K, P = scores.shape
    shown = [escape_hover(t.replace("\n", "\\n")) for t in tokens]
    figure = go.Figure(
        go.Heatmap(
            z=scores,
            x=list(range(P)),
            y=labels,
            customdata=np.array([shown] * K, dtype=object),
            colorscale="Viridis",
            colorbar={"title": {"text": "sum |H_c|"}},
            hovertemplate="token: %{customdata}<br>score: %{z:.4g}<br>%{y}<extra></extra>",
        )
    )
    figure.update_layout(
        title=f"Semantic graph: {escape_hover(title_of(graph))}",
        xaxis={"tickmode": "array", "tickvals": list(range(P)), "ticktext": shown},
        yaxis={"autorange": "reversed"},
        height=max(300, 40 * K + 200),
    )
    return figure


def save_run_heatmaps(run_dir: str | Path, dpi: int) -> list[Path]:
    """For every prefix and config stage 6 wrote a graph of, its heatmap PNG beside the
    graph's JSON (`beta<b>_gamma<g>.png`); returns the files written."""
    root = Path(run_dir) / GRAPHS_DIR
    summaries = sorted(root.glob("*/summary.json"))
    if not summaries:
        raise InputError(f"{root}: no */summary.json; run stage 6 first")
    jobs = []
    for summary in summaries:
        for row in read_json(summary)["configs"]:
            if row.get("file"):
                graph_path = summary.parent / row["file"]
                if not graph_path.is_file():
                    raise InputError(
                        f"{graph_path}: listed in {summary} but missing; rerun stage 6"
                    )
                jobs.append(graph_path)
    return [
        save_semantic_graph_png(read_json(path), path.with_suffix(".png"), dpi)
        for path in tqdm(jobs, desc="semantic graph heatmaps", unit="graph")
    ]

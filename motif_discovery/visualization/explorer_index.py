"""The data block of the index page and the run-level PNGs.

One row per prefix (id, text, N, per grid config RD's K and ARI against the ground-truth
labels (toy world: family; synthetic: motif), whether its page exists), the beta x gamma sweep (K, D_gamma, every method's
D_gamma), and, where stage 7 ran, its run-level summaries: 7c's aggregates and the
confusion, 7a's means.
"""

from __future__ import annotations

from pathlib import Path

from motif_discovery.utils.config import Config
from motif_discovery.visualization.explorer_data import truth_label
from motif_discovery.visualization.explorer_figures import plotly_json
from motif_discovery.visualization.explorer_inputs import (
    graph_validation_summary_path,
    read_optional,
    steering_summary_path,
)
from motif_discovery.visualization.explorer_steering import (
    save_steering_summary_png,
    steering_summary_figure,
)
from motif_discovery.visualization.html_explorer import prefix_page_name
from motif_discovery.visualization.parameter_sweep_plots import (
    methods_figure,
    save_sweep_png,
    sweep_figure,
    sweep_table,
)
from motif_discovery.visualization.steering_plots import confusion_figure, save_confusion_png


def truth_of(summaries: dict[str, dict]) -> str | None:
    """The label set the index's ARI is against (TRUTH_LABELS, as the pages' families)."""
    scored = {
        key.removeprefix("ARI_")
        for summary in summaries.values()
        for config in summary.get("configs", [])
        for key in config.get("scores", {}).get("RD", {})
        if key.startswith("ARI_")
    }
    return truth_label(scored)


def prefix_row(row: dict, summary: dict, out_dir: Path, truth: str | None) -> dict:
    """Index row of one prefix: id, text, N, each grid config's K and ARI against the
    ground truth (None without one), page link."""
    prefix_id = row["prefix_id"]
    page = prefix_page_name(prefix_id)
    return {
        "prefix_id": prefix_id,
        "text": row.get("text", ""),
        "n": summary.get("n"),
        "configs": [
            {
                "beta": c["beta"],
                "gamma": c["gamma"],
                "K": c["K"],
                "ARI": c.get("scores", {}).get("RD", {}).get(f"ARI_{truth}"),
            }
            for c in summary.get("configs", [])
        ],
        "page": page if (out_dir / page).is_file() else None,
    }


def steering_figures(summary: dict, png_dir: Path, dpi: int, figures: dict) -> list[Path]:
    """7c's aggregates (bars) and pooled confusion, into `figures` and as PNGs."""
    pngs = []
    if summary.get("table"):
        figures["steering_summary"] = plotly_json(steering_summary_figure(summary["table"]))
        pngs.append(
            save_steering_summary_png(summary["table"], png_dir / "steering_summary.png", dpi)
        )
    if summary.get("confusion"):
        figures["confusion"] = plotly_json(confusion_figure(summary["confusion"]))
        pngs.append(save_confusion_png(summary["confusion"], png_dir / "confusion.png", dpi))
    return pngs


def steering_overview(summary: dict | None) -> dict | None:
    """What the index tabulates of 7c's summary: the method x selection x B table (mean
    Spearman and Pearson both ways, usable counts) and which prefixes it covers."""
    if summary is None:
        return None
    keys = ("prefixes", "not_eligible", "forward_passes")
    return {"table": summary.get("table", []), **{k: summary[k] for k in keys if k in summary}}


def index_data(
    config: Config, run_dir: Path, prefixes: list[dict], summaries: dict[str, dict], out_dir: Path
) -> tuple[dict, list[Path]]:
    """The index's data block and the run-level PNGs written (sweep, validation)."""
    dpi = config.visualization.dpi
    truth = truth_of(summaries)
    rows = [prefix_row(row, summaries[row["prefix_id"]], out_dir, truth) for row in prefixes]
    pngs, figures, notes = [], {}, []
    with_grid = [s for s in summaries.values() if s.get("configs")]
    if with_grid:
        table = sweep_table(with_grid)
        figures["sweep_K"] = plotly_json(sweep_figure(table, "K"))
        figures["sweep_D_gamma"] = plotly_json(sweep_figure(table, "D_gamma"))
        figures["sweep_methods"] = plotly_json(methods_figure(table))
        pngs.append(save_sweep_png(table, out_dir / "png" / "sweep.png", dpi))
    else:
        notes.append("Stage 5 ran no grid config (beta path only): no sweep plots.")
    steering = read_optional(steering_summary_path(run_dir))
    if steering is None:
        notes.append("Stage 7c (steering) has not run: no steering summary, no confusion.")
    else:
        pngs += steering_figures(steering, out_dir / "png", dpi, figures)
    graph_validation = read_optional(graph_validation_summary_path(run_dir))
    if graph_validation is None:
        notes.append("Stage 7a (graph validation) has not run: no graph validation summary.")
    data = {
        "kind": "index",
        "run": run_dir.resolve().name,
        "prefixes": rows,
        "truth": truth,
        "figures": figures,
        "steering_summary": steering_overview(steering),
        "graph_validation": graph_validation,
        "notes": notes,
    }
    return data, pngs

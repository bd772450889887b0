"""The data block of one prefix's page: its grid configs, beta paths, figures and notes.

Reads stage 4 (texts, P_n, labels) and stage 5 (every grid config and beta path) of the
prefix, and stage 6 (top features, heatmaps), 7c (steering curves, confusion) and 7a
(replacement fidelity, shares, motif stability) where they exist; the notes say what is
missing and why.
"""

from __future__ import annotations

from pathlib import Path

from motif_discovery.clustering.outputs import load_beta_paths, load_config_result
from motif_discovery.embedding.features import load_features
from motif_discovery.utils.config import Config
from motif_discovery.visualization.explorer_data import Continuations, motif_table, path_events
from motif_discovery.visualization.explorer_figures import FigureWriter
from motif_discovery.visualization.explorer_inputs import (
    FEATURES_DIR,
    PrefixInputs,
    graph_path,
    graph_validation_path,
    read_optional,
    steering_path,
)

SCORE_KEYS = ("L", "H", "D_e", "D_a", "D_gamma")


def config_scores(record: dict) -> dict:
    """RD's L, H, D_e, D_a, D_gamma and its ARI/NMI against every label set."""
    rd = record.get("scores", {}).get("RD", {})
    return {k: v for k, v in rd.items() if k in SCORE_KEYS or k.startswith(("ARI_", "NMI_"))}


def matching_rows(rows: list[dict], beta: float, gamma: float) -> list[dict]:
    """Stage 7c's rows of one grid config."""
    return [r for r in rows if float(r["beta"]) == beta and float(r["gamma"]) == gamma]


def prefix_data(
    config: Config, run_dir: Path, inputs: PrefixInputs, text: str, png_dir: Path
) -> tuple[dict, list[Path]]:
    """The page's data block and the PNGs written for it."""
    prefix_id, vis = inputs.prefix_id, config.visualization
    features = load_features(run_dir / FEATURES_DIR, prefix_id)
    data = Continuations.of(features)
    writer = FigureWriter(features, vis, png_dir)
    steering = read_optional(steering_path(run_dir, prefix_id))
    steering_rows = steering.get("rows", []) if steering else []
    K_clamp = config.clustering.K_clamp
    notes, configs = [], []
    for beta, gamma, K in inputs.grid:
        result = load_config_result(run_dir, prefix_id, beta, gamma)
        eligible = 1 < K <= K_clamp
        graph = read_optional(graph_path(run_dir, prefix_id, beta, gamma)) if eligible else None
        rows = matching_rows(steering_rows, beta, gamma)
        writer.config(result, graph, rows)
        configs.append(
            {
                "name": result.name,
                "beta": beta,
                "gamma": gamma,
                "K": K,
                "eligible": eligible,
                "has_graph": graph is not None,
                "has_steering": bool(rows),
                "scores": config_scores(result.record),
                "motifs": motif_table(result.assign, K, data, vis.max_examples, graph),
                "figures": writer.out.configs[result.name],
            }
        )
        if eligible and graph is None:
            notes.append(
                f"{result.name}: stage 6 (semantic graphs) has not run on it, so there are "
                "no top features and no semantic graph heatmap."
            )
    if not any(c["eligible"] for c in configs):
        notes.append(
            f"Stages 6 and 7 skip this prefix: no grid config has 1 < K <= {K_clamp} "
            "(K_clamp), so there are no semantic graphs and no steering curves."
        )
    elif steering is None:
        notes.append("Stage 7c (steering) has not run on this prefix: no steering curves.")
    paths = []
    for record in load_beta_paths(run_dir, prefix_id):
        writer.path(record)
        gamma = float(record["gamma"])
        paths.append(
            {
                "gamma": gamma,
                "stopped": record.get("stopped"),
                "beta_end": record.get("beta_end"),
                "events": path_events(record, data, vis.max_examples),
                "figure": writer.out.paths[gamma],
            }
        )
    if steering and steering.get("confusion"):
        writer.confusion(steering["confusion"])
    if not paths:
        notes.append("Stage 5 followed no beta path (clustering.beta_path is off): no slider.")
    if data.families is None:
        notes.append(
            "The features carry no ground-truth labels (family or motif): no family counts."
        )
    page = {
        "kind": "prefix",
        "prefix_id": prefix_id,
        "text": text,
        "n": features.n,
        "label_sets": sorted(features.labels),
        "configs": configs,
        "paths": paths,
        "confusion": writer.out.confusion,
        "graph_validation": read_optional(graph_validation_path(run_dir, prefix_id)),
        "notes": notes,
    }
    return page, writer.out.pngs

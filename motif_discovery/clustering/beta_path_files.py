"""Stage 5's outputs when clustering.beta = "path": one beta path per gamma and prefix.

In `<run>/5_gaussian_clustering/<prefix_id>/`:
- `beta_path_gamma<g>.json`: the path (gamma, settings, why it stopped, beta_end, and per
  event beta, beta_fit, type, K, L, H, D_e, D_a, children, merges, the triggering split and
  the assignment), with the prefix id and the continuation ids;
- `beta_path_gamma<g>.safetensors`: assign [events, N], the events' assignments in order;
- in `summary.json` (key `beta_paths`): per gamma the file, why the path stopped, and each
  event's beta, K, type (and ARI/NMI against every label set the features carry).
With a grid of beta and clustering.beta_path = true, the paths sit beside the grid results.
"""

from __future__ import annotations

from pathlib import Path

import torch

from motif_discovery.clustering.beta_path import follow_beta_path
from motif_discovery.clustering.metrics import label_scores
from motif_discovery.clustering.settings import FitSettings
from motif_discovery.embedding.features import FeatureSet
from motif_discovery.utils.config import ClusteringConfig
from motif_discovery.utils.io import save_tensors, write_json


def path_name(gamma: float) -> str:
    """File stem of one gamma's path (repr: distinct floats, distinct names)."""
    return f"beta_path_gamma{gamma!r}"


def write_beta_paths(
    out_dir: Path,
    features: FeatureSet,
    clustering: ClusteringConfig,
    settings: FitSettings,
    device: torch.device,
    dtype: torch.dtype,
) -> tuple[list[Path], list[dict]]:
    """Follow the path of every gamma on one prefix and write its files; returns them and
    one summary row per gamma (its file, why it stopped, each event's beta, K, type and
    label scores)."""
    e = features.e.to(device=device, dtype=dtype)
    a = features.a.to(device=device, dtype=dtype)
    p = features.p.to(device=device, dtype=dtype)
    gammas = clustering.gamma if isinstance(clustering.gamma, list) else [clustering.gamma]
    written: list[Path] = []
    rows = []
    for gamma in gammas:
        path = follow_beta_path(
            e, a, p, float(gamma), settings, clustering.K_clamp, clustering.beta_max
        )
        name = path_name(float(gamma))
        json_path, tensor_path = out_dir / f"{name}.json", out_dir / f"{name}.safetensors"
        assign = torch.stack([event.result.assign.cpu() for event in path.events])
        save_tensors(tensor_path, {"assign": assign})
        write_json(
            json_path,
            {
                "prefix_id": features.prefix_id,
                **path.to_json(),
                "continuation_ids": features.continuation_ids,
            },
        )
        written += [tensor_path, json_path]
        rows.append(
            {
                "gamma": float(gamma),
                "file": json_path.name,
                "stopped": path.stopped,
                "beta_end": path.beta_end,
                "events": [
                    {
                        "beta": event.beta,
                        "K": event.result.K,
                        "type": event.kind,
                        **label_scores(event.result.assign.cpu(), features.labels or None),
                    }
                    for event in path.events
                ],
            }
        )
    return written, rows


def path_summary(features: FeatureSet, settings: FitSettings, rows: list[dict]) -> dict:
    """summary.json of a prefix whose only result is the beta path."""
    return {
        "prefix_id": features.prefix_id,
        "n": features.n,
        "d_e": int(features.e.shape[1]),
        "d_a": int(features.a.shape[1]),
        "distortion_scale": settings.distortion_scale,
        "beta": "path",
        "beta_paths": rows,
    }

"""Stage 5 for one run directory: sweep (beta, gamma) per prefix, compare with baselines.

Outputs per prefix, in `<run>/5_gaussian_clustering/<prefix_id>/`:
- `beta<b>_gamma<g>.json`: K, L, H, D_e, D_a, D_gamma, history, convergence, priors,
  assignments, the baselines at RD's K (same centres and metrics, with their
  assignments), and ARI/NMI against every label set the features carry;
- `beta<b>_gamma<g>.safetensors`: assign, prior, mu_e, mu_a (normalized units) and
  mu_a_raw = s * mu_a + H_0 (raw attribution units);
- `summary.json`: one row per config and the share of configs in which RD has the lowest
  D_gamma of all methods.
With clustering.beta = "path", the beta path of each gamma instead (beta_path_files.py); with
a grid and clustering.beta_path = true, the paths beside the grid results.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from tqdm import tqdm

from motif_discovery.clustering.baselines import BaselineInputs, baseline_assignments
from motif_discovery.clustering.beta_path_files import path_summary, write_beta_paths
from motif_discovery.clustering.metrics import (
    figures_under,
    label_scores,
    partition_figures,
    partition_terms,
    score_partition,
)
from motif_discovery.clustering.outputs import CONFIG_FILES, config_name
from motif_discovery.clustering.rd_objective import ObjectiveTerms
from motif_discovery.clustering.report import report
from motif_discovery.clustering.result import RDResult
from motif_discovery.clustering.settings import FitSettings
from motif_discovery.clustering.sweep import grid, run_sweep
from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.embedding.features import FeatureSet, feature_paths, load_features
from motif_discovery.utils.config import ClusteringConfig, Config
from motif_discovery.utils.device import resolve_device, resolve_dtype
from motif_discovery.utils.io import remove_stale, save_tensors, write_json
from motif_discovery.utils.shard import shard_ids
from motif_discovery.utils.stage import Stage, Unit, run_stage
from motif_discovery.utils.threads import one_thread

STAGE = Stage(
    name="5_gaussian_clustering",
    config_keys=("clustering", "run.seed", "run.device", "run.dtype"),
    code=("clustering", "embedding/features.py", "utils"),
)
FEATURES_DIR = "4_feature_extraction"

log = logging.getLogger(__name__)


@dataclass
class ConfigOutcome:
    """One (beta, gamma) of one prefix: the RD result and every method's scores."""

    result: RDResult
    scores: dict[str, dict[str, Any]]
    baseline_assign: dict[str, list[int]]


def sweep_settings(config: Config) -> FitSettings:
    """The fit settings a config implies (clustering section, run.seed)."""
    return FitSettings.from_config(config.clustering, config.run.seed)


def rd_scores(
    e: torch.Tensor, a: torch.Tensor, p: torch.Tensor, result: RDResult, labels: dict
) -> dict[str, Any]:
    """RD's figures: from its own terms (exact M-step centres, as the baselines'), or, with
    spherical centres, rescored with the baselines' mean centres."""
    if result.semantic_center == "mean":
        scores = partition_figures(result.K, result.terms, result.gamma)
        return scores | label_scores(result.assign.cpu(), labels or None)
    return score_partition(
        e, a, p, result.assign, result.beta, result.gamma, labels or None, result.distortion_scale
    )


def cluster_features(
    features: FeatureSet, clustering: ClusteringConfig, settings: FitSettings, device, dtype
) -> dict[tuple[float, float], ConfigOutcome]:
    """Sweep the grid on one prefix, then score the requested baselines at each config's K.

    A baseline's partition and its terms H, D_e, D_a depend only on K, so each baseline
    runs once per K and each distinct assignment is scored once (Single's at every K, every
    baseline's at K = 1); only L and D_gamma are recomputed per (beta, gamma).
    One progress bar counts every fit (restarts included) and every K's baselines."""
    e = features.e.to(device=device, dtype=dtype)
    a = features.a.to(device=device, dtype=dtype)
    p = features.p.to(device=device, dtype=dtype)
    labels = features.labels or None
    configs = grid(clustering.beta, clustering.gamma)
    bar = tqdm(total=0, desc=f"stage 5 {features.prefix_id}", leave=False)
    with bar, one_thread():
        results = run_sweep(e, a, p, configs, settings, progress=bar)
        by_K: dict[int, dict[str, tuple[np.ndarray, int, ObjectiveTerms, dict]]] = {}
        if clustering.baselines:
            Ks = sorted({result.K for result in results.values()})
            bar.total += len(Ks)
            bar.refresh()
            inputs = BaselineInputs.of(e, a, clustering.baselines)
            scored: dict[bytes, tuple[int, ObjectiveTerms, dict]] = {}
            for K in Ks:
                found = baseline_assignments(e, a, K, clustering.baselines, inputs)
                for assign in found.values():
                    if assign.tobytes() not in scored:
                        K_found, terms = partition_terms(e, a, p, assign)
                        scored[assign.tobytes()] = (K_found, terms, label_scores(assign, labels))
                by_K[K] = {
                    name: (assign, *scored[assign.tobytes()]) for name, assign in found.items()
                }
                bar.update()
    dims = (e.shape[1], a.shape[1])
    outcomes = {}
    for (beta, gamma), result in results.items():
        scores = {"RD": rd_scores(e, a, p, result, features.labels)}
        baselines = by_K.get(result.K, {})
        for name, (_, K, terms, named) in baselines.items():
            figures = figures_under(K, terms, beta, gamma, dims, settings.distortion_scale)
            scores[name] = figures | named
        outcomes[(beta, gamma)] = ConfigOutcome(
            result, scores, {name: [int(x) for x in v[0]] for name, v in baselines.items()}
        )
    return outcomes


def rd_lowest(scores: dict[str, dict[str, Any]]) -> bool:
    """RD's D_gamma is the lowest of all methods (ties, to float32 rounding, count for RD)."""
    rd = scores["RD"]["D_gamma"]
    return all(rd <= s["D_gamma"] + 1e-6 * max(1.0, abs(s["D_gamma"])) for s in scores.values())


def write_prefix(
    out_dir: Path,
    features: FeatureSet,
    outcomes: dict[tuple[float, float], ConfigOutcome],
    K_clamp: int,
    beta_paths: list[dict] | None = None,
) -> list[Path]:
    """Write each config's JSON + tensors, then the summary (with the beta paths' rows when
    they were followed too); returns the files written."""
    written: list[Path] = []
    rows = []
    for (beta, gamma), outcome in outcomes.items():
        result = outcome.result
        verdicts = {
            "eligible_for_stages_6_7": 1 < result.K <= K_clamp,
            "rd_lowest_D_gamma": rd_lowest(outcome.scores),
        }
        stem = config_name(beta, gamma)
        tensor_path, json_path = out_dir / f"{stem}.safetensors", out_dir / f"{stem}.json"
        save_tensors(
            tensor_path,
            {
                "assign": result.assign,
                "prior": result.prior,
                "mu_e": result.mu_e,
                "mu_a": result.mu_a,
                "mu_a_raw": features.raw_attribution(result.mu_a.float().cpu()),
            },
        )
        record = {
            "prefix_id": features.prefix_id,
            **result.to_json(),
            **verdicts,
            "scores": outcome.scores,
            "assign": [int(x) for x in result.assign],
            "baseline_assign": outcome.baseline_assign,
            "continuation_ids": features.continuation_ids,
        }
        write_json(json_path, record)
        written += [tensor_path, json_path]
        rows.append(
            {
                "beta": beta,
                "gamma": gamma,
                "K": result.K,
                "L": result.terms.L,
                "converged": result.converged,
                "iterations": result.iterations,
                **verdicts,
                "scores": outcome.scores,
            }
        )
    summary = {
        "prefix_id": features.prefix_id,
        "n": features.n,
        "d_e": int(features.e.shape[1]),
        "d_a": int(features.a.shape[1]),
        "distortion_scale": next(iter(outcomes.values())).result.distortion_scale,
        "rd_lowest_D_gamma_share": sum(r["rd_lowest_D_gamma"] for r in rows) / len(rows),
        "configs": rows,
    }
    if beta_paths:
        summary["beta_paths"] = beta_paths
    write_json(out_dir / "summary.json", summary)
    written.append(out_dir / "summary.json")
    return written


def run(config: Config, run_dir: Path, *, force: bool = False, shard: str = "0/1") -> None:
    """Stage 5 over every prefix of the run (this shard), skipping unchanged ones."""
    device = resolve_device(config.run.device)
    dtype = resolve_dtype(config.run.dtype)
    settings = sweep_settings(config)
    features_dir = run_dir / FEATURES_DIR
    units = []
    for row in load_prefixes(run_dir):
        units.append(Unit(row["prefix_id"], feature_paths(features_dir, row["prefix_id"])))

    def process(prefix_id: str) -> list[Path]:
        features = load_features(features_dir, prefix_id)
        out_dir = run_dir / STAGE.name / prefix_id
        clustering = config.clustering
        path_files, path_rows = [], []
        if clustering.beta == "path" or clustering.beta_path:
            path_files, path_rows = write_beta_paths(
                out_dir, features, clustering, settings, device, dtype
            )
        if clustering.beta == "path":
            write_json(out_dir / "summary.json", path_summary(features, settings, path_rows))
            written = [*path_files, out_dir / "summary.json"]
        else:
            outcomes = cluster_features(features, clustering, settings, device, dtype)
            written = path_files + write_prefix(
                out_dir, features, outcomes, clustering.K_clamp, path_rows
            )
        remove_stale(out_dir, written, CONFIG_FILES)
        return written

    run_stage(STAGE, config, run_dir, units, process, force=force, shard=shard)
    table = report(run_dir / STAGE.name, shard_ids([u.unit_id for u in units], shard))
    if table is not None:
        print(table, flush=True)

"""How well the motifs of a toy-world run match the planted families (prints JSON).

    python benchmarks/toy_world_match.py --run-dir runs/toy_world [--gammas 0.1 0.3 0.5 0.7 0.9]

Reads a run that has been through stage 5 with one (beta, gamma) config:
- "fixed": every method's ARI/NMI against the planted family at that config, per prefix and
  averaged over prefixes (what stage 5's closing table shows);
- "oracle" (labelled as such: it looks at the labels to choose): for each prefix, the β path
  of every gamma, and the event with the highest ARI; the baselines at that event's K; and
  each single-view k-means at its own best K in 1..K_clamp;
- "views": ARI of k-means on each view at the planted number of families (is the
  information in the view at all?);
- "objective": at the fixed config, L of K = 1, of the planted partition and of RD's, and
  beta*_planted = H(planted) / (D_gamma(K = 1) - D_gamma(planted)), the smallest beta at
  which the planted partition scores a lower L than K = 1 (at the fixed gamma; the objective
  is L = H + beta D_gamma with D_gamma = gamma D_e + (1 - gamma) D_a).
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import torch

from motif_discovery.clustering.baselines import BaselineInputs, baseline_assignments
from motif_discovery.clustering.beta_path import follow_beta_path
from motif_discovery.clustering.metrics import evaluate_partition, label_scores
from motif_discovery.clustering.settings import FitSettings
from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.embedding.features import load_features
from motif_discovery.utils.config import load_config
from motif_discovery.utils.io import read_json

METHODS = ("RD", "KM-S", "KM-A", "Co-Reg")
LABEL = "family"


def fixed_scores(run_dir: Path, prefix_id: str) -> dict:
    """Every method's ARI/NMI at the run's one stage-5 config."""
    summary = read_json(run_dir / "5_gaussian_clustering" / prefix_id / "summary.json")
    (config,) = summary["configs"]
    scores = config["scores"]
    return {
        "beta": config["beta"],
        "gamma": config["gamma"],
        "K": config["K"],
        "L": config["L"],
        **{m: {k: scores[m][f"{k}_{LABEL}"] for k in ("ARI", "NMI")} for m in METHODS},
    }


def oracle_scores(features, gammas: list[float], settings: FitSettings, K_clamp: int) -> dict:
    """The best β-path event over all gammas, the baselines at its K, single views' best K."""
    labels = {LABEL: features.labels[LABEL]}
    best = None
    for gamma in gammas:
        path = follow_beta_path(features.e, features.a, features.p, gamma, settings, K_clamp)
        for event in path.events:
            scores = label_scores(event.result.assign, labels)
            if best is None or scores[f"ARI_{LABEL}"] > best["RD"]["ARI"]:
                best = {
                    "beta": event.beta,
                    "gamma": gamma,
                    "K": event.result.K,
                    "RD": {k: scores[f"{k}_{LABEL}"] for k in ("ARI", "NMI")},
                }
    inputs = BaselineInputs.of(features.e, features.a)
    at_K = baseline_assignments(features.e, features.a, best["K"], inputs=inputs)
    for name in METHODS[1:]:
        scores = label_scores(at_K[name], labels)
        best[name] = {k: scores[f"{k}_{LABEL}"] for k in ("ARI", "NMI")}
    for name in ("KM-S", "KM-A"):
        per_K = [
            label_scores(
                baseline_assignments(features.e, features.a, K, [name], inputs)[name], labels
            )[f"ARI_{LABEL}"]
            for K in range(1, K_clamp + 1)
        ]
        best[f"{name} best K"] = {"K": int(np.argmax(per_K)) + 1, "ARI": max(per_K)}
    return best


def view_scores(features) -> dict:
    """k-means on each view alone at the planted number of families."""
    truth = np.asarray(features.labels[LABEL])
    K = len(set(truth.tolist()))
    found = baseline_assignments(features.e, features.a, K, ["KM-S", "KM-A"])
    return {
        "planted_K": K,
        **{f"{n} at planted K": label_scores(v, truth)["ARI"] for n, v in found.items()},
    }


def objective_scores(features, fixed: dict) -> dict:
    """L at the fixed config of K = 1, the planted partition and RD's; beta*_planted."""
    beta, gamma = fixed["beta"], fixed["gamma"]
    planted = np.asarray(features.labels[LABEL])
    terms = {
        name: evaluate_partition(features.e, features.a, features.p, assign, beta, gamma)
        for name, assign in (("K=1", np.zeros_like(planted)), ("planted", planted))
    }
    gain = terms["K=1"]["D_gamma"] - terms["planted"]["D_gamma"]
    return {
        **{f"L {name}": t["L"] for name, t in terms.items()},
        "L RD": fixed["L"],
        "H planted": terms["planted"]["H"],
        "D_gamma K=1": terms["K=1"]["D_gamma"],
        "D_gamma planted": terms["planted"]["D_gamma"],
        "beta*_planted": terms["planted"]["H"] / gain if gain > 0 else None,
    }


def mean_of(rows: list[dict], key: str) -> dict:
    """Unweighted mean over prefixes of each method's ARI/NMI under rows[i][key]."""
    out = {}
    for name in METHODS:
        out[name] = {k: float(np.mean([row[key][name][k] for row in rows])) for k in ("ARI", "NMI")}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, default=Path("runs/toy_world"))
    parser.add_argument("--gammas", type=float, nargs="+", default=[0.1, 0.3, 0.5, 0.7, 0.9])
    parser.add_argument("--no-oracle", action="store_true", help="skip the β paths")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_config(args.run_dir / "config.resolved.json")
    settings = FitSettings.from_config(config.clustering, config.run.seed)
    rows = []
    for row in load_prefixes(args.run_dir):
        features = load_features(args.run_dir / "4_feature_extraction", row["prefix_id"])
        entry = {"prefix_id": row["prefix_id"], "N": features.n, **view_scores(features)}
        entry["fixed"] = fixed_scores(args.run_dir, row["prefix_id"])
        entry["objective"] = objective_scores(features, entry["fixed"])
        if not args.no_oracle:
            entry["oracle"] = oracle_scores(
                features, args.gammas, settings, config.clustering.K_clamp
            )
        rows.append(entry)
    out = {"prefixes": rows, "fixed_mean": mean_of(rows, "fixed")}
    if not args.no_oracle:
        out["oracle_mean"] = mean_of(rows, "oracle")
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""Stage 7c on the toy-world dev run: time per motif and forward passes, batched vs one
sequence per pass; and the stage's results (methods compared, family confusion). JSON.

    python benchmarks/bench_steering.py [--run /tmp/dev_run] [--single-groups 2]

The run (stages 1-5 done) is copied to a temporary directory; stage 7c runs there with the
toy-world config (its numbers: benchmarks/results/steering_toy_world.json). Then, per
eligible prefix, each motif's group of hypotheses (an RD motif's RD, Single and random rows;
a k-means cluster's KM-Sem rows) is measured in batched forwards (validation.batch_size
sequences each), and the first --single-groups groups also with one sequence per forward
(batch size 1), checking that both give the same values
(benchmarks/results/bench_steering_toy_world.json).
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from motif_discovery.model.loading import load_model, model_dtype
from motif_discovery.model.transcoders import load_transcoders
from motif_discovery.utils.config import load_config
from motif_discovery.utils.device import resolve_device
from motif_discovery.utils.io import read_json
from motif_discovery.validation.steering import Steerer
from motif_discovery.validation.steering_stage import (
    OUT_DIR,
    SUMMARY,
    hypothesis_groups,
    load_prefix,
    motif_rows,
    run,
)

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "benchmarks" / "results"
STAGE_DIRS = ("1_data_preparation", "2_branch_sampling", "3_attribution_graphs")
STAGE_DIRS += ("4_feature_extraction", "5_gaussian_clustering")


def stage_results(run_dir: Path, seconds: float) -> dict:
    """The method comparison and the confusion of a finished stage 7c run."""
    summary = read_json(run_dir / SUMMARY)
    prefixes = {}
    for pid in summary["prefixes"]:
        out = read_json(run_dir / OUT_DIR / f"{pid}.json")
        if "confusion" in out:
            c = out["confusion"]
            prefixes[pid] = {
                "forward_passes": out["forward_passes"],
                "planted": {e["family"]: e["slopes"] for e in c["planted"]},
                "RD": [
                    {k: e[k] for k in ("beta", "gamma", "motif", "size", "family", "purity")}
                    | {"slopes": e["slopes"]}
                    for e in c["RD"]
                ],
            }
    return {
        "stage_seconds": round(seconds, 2),
        "forward_passes": summary["forward_passes"],
        "not_eligible": summary["not_eligible"],
        "table": summary["table"],
        "aggregates": summary["aggregates"],
        "confusion_pooled_by_mechanism": summary["confusion"],
        "confusion_per_prefix": prefixes,
    }


def time_groups(steerer: Steerer, data, result, groups, validation) -> list[dict]:
    """Seconds, forward passes, rows and values of each group measured by `steerer`."""
    out = []
    for group in groups:
        before, start = steerer.forward_passes, time.perf_counter()
        rows = motif_rows(steerer, data, result, group, validation)
        out.append(
            {
                "seconds": time.perf_counter() - start,
                "forward_passes": steerer.forward_passes - before,
                "members": len(rows[0]["members"]),
                "changes": [r["changes"] for r in rows],
            }
        )
    return out


def max_difference(a: list, b: list) -> float:
    pairs = [
        (x, y)
        for xs, ys in zip(a, b, strict=True)
        if xs is not None
        for x, y in zip(xs, ys, strict=True)
    ]
    return float(max(abs(x - y) for x, y in pairs)) if pairs else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run", type=Path, default=Path("/tmp/dev_run"))
    parser.add_argument("--config", type=Path, default=REPO / "configs/toy_world.json")
    parser.add_argument("--single-groups", type=int, default=2)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(args.config)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        for name in STAGE_DIRS:
            shutil.copytree(args.run / name, run_dir / name)
        start = time.perf_counter()
        run(config, run_dir)
        results = stage_results(run_dir, time.perf_counter() - start)
        results["run"] = str(args.run)
        (RESULTS / "steering_toy_world.json").write_text(json.dumps(results, indent=1) + "\n")

        device = resolve_device(config.run.device)
        model = load_model(config.model, device)
        transcoders = load_transcoders(
            config.model, device, model_dtype(config.model.dtype, device)
        )
        batched = Steerer(model, transcoders, config.validation.batch_size)
        single = Steerer(model, transcoders, 1)
        timed, compared = [], []
        for pid in results["confusion_per_prefix"] or read_json(run_dir / SUMMARY)["prefixes"]:
            data = load_prefix(run_dir, pid, config)
            for result in data.results:
                groups = hypothesis_groups(data, result, config)
                found = time_groups(batched, data, result, groups, config.validation)
                timed += found
                left = args.single_groups - len(compared)
                if left > 0:
                    alone = time_groups(single, data, result, groups[:left], config.validation)
                    compared += [(b, s) for b, s in zip(found, alone, strict=False)]
    per_motif = np.array([t["seconds"] for t in timed])
    report = {
        "run": str(args.run),
        "threads": args.threads,
        "device": str(device),
        "batch_size": config.validation.batch_size,
        "groups": len(timed),
        "rows_per_group": "members x (1 + distinct steerings x eps)",
        "batched": {
            "seconds_per_motif_mean": float(per_motif.mean()),
            "seconds_per_motif_max": float(per_motif.max()),
            "forward_passes_per_motif_mean": float(np.mean([t["forward_passes"] for t in timed])),
            "forward_passes_total": int(sum(t["forward_passes"] for t in timed)),
        },
        "one_sequence_per_pass": {
            "groups": len(compared),
            "seconds_per_motif_mean": float(np.mean([s["seconds"] for _, s in compared])),
            "forward_passes_per_motif_mean": float(
                np.mean([s["forward_passes"] for _, s in compared])
            ),
            "batched_seconds_same_motifs": float(np.mean([b["seconds"] for b, _ in compared])),
            "batched_forward_passes_same_motifs": float(
                np.mean([b["forward_passes"] for b, _ in compared])
            ),
            "max_abs_difference_of_changes": max(
                max_difference(b["changes"], s["changes"]) for b, s in compared
            ),
        },
        "stage_seconds": results["stage_seconds"],
    }
    print(json.dumps(report, indent=1))
    (RESULTS / "bench_steering_toy_world.json").write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()

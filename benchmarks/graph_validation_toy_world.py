"""Stage 7a's figures and time on a toy-world run (prints JSON, saves it).

    python benchmarks/graph_validation_toy_world.py --run-dir runs/toy_world \
        [--config configs/toy_world.json] [--out benchmarks/results/graph_validation_toy_world.json]

The run must have been through stages 1-5. Runs stage 7a on it (forced: every prefix is
recomputed and its outputs rewritten), then times each prefix's record once more with the
model already loaded. Reports, per prefix and averaged: replacement vs real (top-1
agreement, KL, centred-logit MAE and Pearson), the P-weighted absolute and signed shares of
feature / error / token sources, and the motifs' within / between cosines and relative L1.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch

from motif_discovery.model.loading import load_model
from motif_discovery.model.transcoders import load_transcoders
from motif_discovery.utils.config import load_config
from motif_discovery.utils.device import resolve_device
from motif_discovery.utils.io import read_json, write_json
from motif_discovery.validation.graph_stage import (
    SUMMARY_FILE,
    output_path,
    run,
    validate_prefix,
)


def prefix_row(record: dict, seconds: float) -> dict:
    """The figures of one prefix's record, flat."""
    motifs = [m for c in record["stability"] for m in c["motifs"]]
    return {
        "prefix_id": record["prefix_id"],
        "n": record["n"],
        "K": [c["K"] for c in record["stability"]],
        "replacement": record["replacement"],
        "shares": record["shares"]["prefix"],
        "stability": [
            {k: m[k] for k in ("motif", "size", "within", "between", "relative_l1")} for m in motifs
        ],
        "seconds": round(seconds, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--config", type=Path, default=Path("configs/toy_world.json"))
    parser.add_argument(
        "--out", type=Path, default=Path("benchmarks/results/graph_validation_toy_world.json")
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_config(args.config)
    started = time.perf_counter()
    with redirect_stdout(sys.stderr):  # the stage's table; stdout is the JSON
        run(config, args.run_dir, force=True)
    stage_seconds = time.perf_counter() - started
    summary = read_json(args.run_dir / SUMMARY_FILE)
    t0 = time.perf_counter()
    device = resolve_device(config.run.device)
    model = load_model(config.model, device)
    models = [model, load_transcoders(config.model, device, model.dtype)]
    load_seconds = time.perf_counter() - t0
    rows = []
    for prefix_id in summary["prefixes"]:
        t0 = time.perf_counter()
        record = validate_prefix(args.run_dir, prefix_id, config, models)
        seconds = time.perf_counter() - t0
        assert record == read_json(output_path(args.run_dir, prefix_id))  # same as the stage's
        rows.append(prefix_row(record, seconds))
    result = {
        "run_dir": str(args.run_dir),
        "config": str(args.config),
        "replacement_continuations": config.validation.replacement_continuations,
        "summary": summary,
        "prefixes": rows,
        "seconds": {
            "stage_total_forced": round(stage_seconds, 2),
            "model_and_transcoders_load": round(load_seconds, 2),
            "per_prefix_mean": round(sum(r["seconds"] for r in rows) / len(rows), 3),
        },
        "machine": {"torch_threads": 1, "load_average": os.getloadavg()},
    }
    write_json(args.out, result)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

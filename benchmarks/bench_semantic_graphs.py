"""Benchmark of stage 6 (semantic graphs) on a run with stages 1-5 done; prints one JSON
object and saves it under benchmarks/results/.

    python benchmarks/bench_semantic_graphs.py --run-dir RUN [--config configs/toy_world.json]

The run's stage 1, 3, 4 and 5 folders are copied to a temporary directory (RUN is not
touched). Reported: the wall time of the first run (tokenizer, every prefix's stage-3
files, the activation index, every graph), of the index build alone, of a rerun that
skips every prefix, the graphs and motifs written, and the size of the outputs.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import tempfile
import time
from pathlib import Path

import torch

from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.graphs.stage import STAGE, load_run_sources, run
from motif_discovery.utils.config import load_config
from motif_discovery.utils.io import write_json

REPO = Path(__file__).resolve().parents[1]
COPIED = ("1_data_preparation", "3_attribution_graphs", "4_feature_extraction")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--config", default=str(REPO / "configs" / "toy_world.json"))
    parser.add_argument("--set", action="append", default=[])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--out", default=str(REPO / "benchmarks/results/bench_semantic_graphs.json")
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    config = load_config(args.config, args.set)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp)
        for name in (*COPIED, "5_gaussian_clustering"):
            shutil.copytree(args.run_dir / name, run_dir / name)
        prefix_ids = [row["prefix_id"] for row in load_prefixes(run_dir)]
        load = os.getloadavg()
        t0 = time.perf_counter()
        run(config, run_dir)
        first = time.perf_counter() - t0
        t0 = time.perf_counter()
        load_run_sources(run_dir, prefix_ids, config)
        index = time.perf_counter() - t0
        t0 = time.perf_counter()
        run(config, run_dir)
        rerun = time.perf_counter() - t0
        graphs = sorted((run_dir / STAGE.name).glob("*/beta*_gamma*.json"))
        motifs = sum(len(json.loads(g.read_text())["motifs"]) for g in graphs)
        size = sum(p.stat().st_size for p in (run_dir / STAGE.name).rglob("*") if p.is_file())
    out = {
        "run_dir": str(args.run_dir),
        "overrides": args.set,
        "prefixes": len(prefix_ids),
        "graphs": len(graphs),
        "motifs": motifs,
        "seconds_first_run": round(first, 3),
        "seconds_tokenizer_and_index": round(index, 3),
        "seconds_rerun_all_skipped": round(rerun, 3),
        "output_bytes": size,
        "threads": args.threads,
        "load_average_before": [round(x, 2) for x in load],
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
    }
    write_json(args.out, out)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

"""Stage 8 on a copy of a run: wall time (first build, then a rerun that skips every
prefix), the share spent in t-SNE, and the size of what it writes.

    python benchmarks/bench_explorer.py RUN_DIR --name NAME [--config configs/toy_world.json]

RUN_DIR is only read. Prints JSON and saves it under benchmarks/results/explorer_<NAME>.json.
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

import motif_discovery.visualization.explorer_figures as explorer_figures
from motif_discovery.utils.config import load_config
from motif_discovery.utils.io import write_json
from motif_discovery.visualization.stage import run

REPO = Path(__file__).resolve().parents[1]


def timed_tsne(seconds: list[float]):
    """tsne_coordinates, timed into `seconds`."""
    original = explorer_figures.tsne_coordinates

    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        out = original(*args, **kwargs)
        seconds.append(time.perf_counter() - start)
        return out

    return wrapper


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--name", required=True, help="what the run is (file name of the result)")
    parser.add_argument("--config", type=Path, default=REPO / "configs" / "toy_world.json")
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = load_config(args.config)
    tsne: list[float] = []
    explorer_figures.tsne_coordinates = timed_tsne(tsne)
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        shutil.copytree(args.run_dir, run_dir, ignore=shutil.ignore_patterns("8_visualization"))
        start = time.perf_counter()
        index = run(config, run_dir)
        first = time.perf_counter() - start
        start = time.perf_counter()
        run(config, run_dir)
        rerun = time.perf_counter() - start
        out = index.parent
        pages = sorted(out.glob("prefix_*.html"))
        pngs = sorted(out.rglob("*.png"))
        figures = {
            "run": args.name,
            "stages_6_7": (args.run_dir / "7_validation").is_dir(),
            "prefixes": len(pages),
            "first_build_s": round(first, 1),
            "per_prefix_s": round(first / max(len(pages), 1), 2),
            "tsne_s": round(sum(tsne), 1),
            "tsne_calls": len(tsne),
            "rerun_s": round(rerun, 1),
            "index_kb": round(index.stat().st_size / 1024),
            "prefix_page_kb_max": round(max(p.stat().st_size for p in pages) / 1024),
            "prefix_pages_kb": round(sum(p.stat().st_size for p in pages) / 1024),
            "pngs": len(pngs),
            "png_kb": round(sum(p.stat().st_size for p in pngs) / 1024),
            "plotly_js_kb": round((out / "assets" / "plotly.min.js").stat().st_size / 1024),
            "threads": 1,
            "cpu": platform.processor() or platform.machine(),
            "load_average_1min": round(os.getloadavg()[0], 2),
        }
    print(json.dumps(figures, indent=2))
    write_json(REPO / "benchmarks" / "results" / f"explorer_{args.name}.json", figures)


if __name__ == "__main__":
    main()

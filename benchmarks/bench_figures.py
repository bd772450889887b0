"""Benchmark of stage 8's figure modules on a run with stages 4 and 5 done; prints one JSON
object and saves it under benchmarks/results/.

    python benchmarks/bench_figures.py --run-dir RUN [--dpi 150]

Per prefix (its first grid config): the seconds of t-SNE of each view, of each Plotly
figure (built and serialized) and of each PNG, with the JSON and PNG sizes; then the sweep
over all prefixes. RUN is only read; PNGs go to a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from motif_discovery.clustering.outputs import load_beta_paths, load_config_result, read_summary
from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.embedding.features import load_features
from motif_discovery.utils.io import write_json
from motif_discovery.visualization.cluster_plots import history_figure, save_history_png
from motif_discovery.visualization.parameter_sweep_plots import (
    methods_figure,
    save_sweep_png,
    sweep_figure,
    sweep_table,
)
from motif_discovery.visualization.sankey_plots import (
    beta_path_flows,
    sankey_figure,
    save_sankey_png,
)
from motif_discovery.visualization.tsne_plots import save_tsne_png, tsne_coordinates, tsne_figure

REPO = Path(__file__).resolve().parents[1]


def timed(fn: Callable[[], object]) -> tuple[object, float]:
    """(fn(), seconds)."""
    start = time.perf_counter()
    value = fn()
    return value, round(time.perf_counter() - start, 3)


def figure_and_png(make, save, path: Path) -> dict:
    """Seconds and sizes of one Plotly figure (built + to_json) and its PNG."""
    text, seconds = timed(lambda: make().to_json())
    _, png_seconds = timed(lambda: save(path))
    return {
        "plotly_s": seconds,
        "json_kb": round(len(text) / 1024, 1),
        "png_s": png_seconds,
        "png_kb": round(path.stat().st_size / 1024, 1),
    }


def one_prefix(run_dir: Path, prefix_id: str, out: Path, dpi: int) -> dict:
    """Every figure of one prefix, timed."""
    row = read_summary(run_dir, prefix_id)["configs"][0]
    result = load_config_result(run_dir, prefix_id, row["beta"], row["gamma"])
    features = load_features(run_dir / "4_feature_extraction", prefix_id)
    labels, p = result.assign.numpy(), features.p.numpy()
    report: dict = {"N": features.n, "K": result.K}
    for view, x in (("e", features.e), ("a", features.a)):
        coords, report[f"tsne_{view}_s"] = timed(lambda x=x: tsne_coordinates(x.numpy(), 30.0, 0))
        report[f"tsne_{view}"] = figure_and_png(
            lambda c=coords: tsne_figure(c, labels, features.texts, "t-SNE"),
            lambda path, c=coords: save_tsne_png(c, labels, "t-SNE", path, dpi),
            out / f"{prefix_id}_tsne_{view}.png",
        )
    history = result.record["history"]
    report["history"] = figure_and_png(
        lambda: history_figure(history),
        lambda path: save_history_png(history, path, dpi),
        out / f"{prefix_id}_history.png",
    )
    for record in load_beta_paths(run_dir, prefix_id):
        flows, seconds = timed(lambda record=record: beta_path_flows(record, p))
        report[f"beta_path_gamma{record['gamma']}"] = {
            "events": len(record["events"]),
            "flows_s": seconds,
            **figure_and_png(
                lambda flows=flows: sankey_figure(flows, "beta path"),
                lambda path, flows=flows: save_sankey_png(flows, "beta path", path, dpi),
                out / f"{prefix_id}_sankey_{record['gamma']}.png",
            ),
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, required=True)
    parser.add_argument("--dpi", type=int, default=150)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", default=str(REPO / "benchmarks/results/bench_figures.json"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    ids = [row["prefix_id"] for row in load_prefixes(args.run_dir)]
    with tempfile.TemporaryDirectory() as tmp:
        prefixes = {pid: one_prefix(args.run_dir, pid, Path(tmp), args.dpi) for pid in ids}
        table, seconds = timed(lambda: sweep_table([read_summary(args.run_dir, i) for i in ids]))
        sweep = {"table_s": seconds}
        sweep["heatmaps_s"] = timed(
            lambda: [sweep_figure(table, w).to_json() for w in ("K", "D_gamma")]
        )[1]
        sweep["methods_s"] = timed(lambda: methods_figure(table).to_json())[1]
        sweep["png_s"] = timed(lambda: save_sweep_png(table, Path(tmp) / "sweep.png", args.dpi))[1]
    tsne = [r[f"tsne_{v}_s"] for r in prefixes.values() for v in ("e", "a")]
    out = {
        "run_dir": str(args.run_dir),
        "machine": {
            "cpus": os.cpu_count(),
            "load": os.getloadavg(),
            "python": platform.python_version(),
        },
        "threads": args.threads,
        "dpi": args.dpi,
        "tsne_s_mean": round(float(np.mean(tsne)), 3),
        "prefixes": prefixes,
        "sweep": sweep,
    }
    write_json(args.out, out)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

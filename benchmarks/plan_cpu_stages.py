"""Stages 5 and 8 per prefix on real-shaped data; prints one JSON object (the dry run's time
estimates of the model-free stages scale these: motif_discovery/plan/estimates.py).

    python benchmarks/plan_cpu_stages.py [--run-dir DIR] [--setting S] [--set key=value ...]

benchmarks/results/plan_cpu_stages.json: `--setting realistic` (the dry run's source);
plan_cpu_stages_crossed.json: the config's own setting, crossed (8 motifs at most).

Runs the synthetic pipeline (`configs/synthetic.json`: N = 500, d_e = 768, d_a = 8192, 2
prefixes, the default 20-config grid with the beta path of each of its 5 gammas and every
default baseline; `--setting realistic`: the generator's heavy-tailed setting with 15
planted motifs, where the grid finds K up to 41-50) stage by stage (`--only 4` or the
generator's script, `--only 5`, `--only 8`) in a fresh run directory (removed first), on
one thread (OMP_NUM_THREADS = MKL_NUM_THREADS = 1; stages 5 and 8 also pin their work to
one thread). Per stage: its own wall seconds (manifest.json) and each prefix's
(`<prefix> done in <s> s` in logs/<stage>.log); and its own CPU seconds: the CPU seconds
of the stage's process minus those of the same command run again, which skips every
prefix (imports, checks, stage 8's index). On a shared machine the wall seconds grow with
the load; the CPU seconds are what one idle core takes. Then, to split stage 8 into its
t-SNE (once per view and prefix) and its per-result figures, times the t-SNE of both
views of every prefix as stage 8 computes them (wall and CPU); and lists each prefix's
grid K (stage 5's cost grows with K). The load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from motif_discovery.clustering.outputs import read_summary  # noqa: E402
from motif_discovery.data.prefixes import load_prefixes  # noqa: E402
from motif_discovery.data.synthetic import SETTINGS  # noqa: E402
from motif_discovery.embedding.features import load_features  # noqa: E402
from motif_discovery.plan.plan import grid_results  # noqa: E402
from motif_discovery.utils.config import load_config  # noqa: E402
from motif_discovery.utils.threads import one_thread  # noqa: E402
from motif_discovery.visualization.explorer_figures import VIEWS  # noqa: E402
from motif_discovery.visualization.tsne_plots import tsne_coordinates  # noqa: E402

STAGES = ("5_gaussian_clustering", "8_visualization")
DONE = re.compile(r": (\S+) done in ([0-9.]+) s")


def prefix_seconds(log: Path) -> dict[str, float]:
    """Each prefix's seconds from a stage log's `<prefix> done in <s> s` lines."""
    return {m.group(1): float(m.group(2)) for m in DONE.finditer(log.read_text())}


def tsne_seconds(
    run_dir: Path, prefix_id: str, perplexity: float, seed: int
) -> tuple[float, float]:
    """Wall and CPU seconds of the t-SNE of both views of one prefix (stage 8's
    FigureWriter)."""
    features = load_features(run_dir / "4_feature_extraction", prefix_id)
    wall, cpu = time.perf_counter(), time.process_time()
    with one_thread():
        for key in VIEWS.values():
            tsne_coordinates(getattr(features, key).double().numpy(), perplexity, seed)
    return time.perf_counter() - wall, time.process_time() - cpu


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_cpu(command: list[str]) -> float:
    """CPU seconds of one command (one thread)."""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    before = children_cpu()
    subprocess.run(command, cwd=REPO, env=env, check=True, capture_output=True)
    return children_cpu() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, default=Path("/tmp/plan_cpu_stages"))
    parser.add_argument("--config", default="configs/synthetic.json")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--setting", choices=SETTINGS, help="the generator's (config's if unset)")
    args = parser.parse_args()
    config = load_config(REPO / args.config, args.set)
    shutil.rmtree(args.run_dir, ignore_errors=True)
    command = [sys.executable, "-m", "motif_discovery.pipeline", "--config", args.config]
    command += ["--run-dir", str(args.run_dir)]
    for item in args.set:
        command += ["--set", item]
    load_before = os.getloadavg()
    start = time.time()
    generate = [*command, "--only", "4"]
    if args.setting:  # the generator's script, which takes the settings the config does not
        generate = [sys.executable, "hypotheses_experiment/generate_data.py", *command[3:]]
        generate += ["--setting", args.setting]
    run_cpu(generate)
    cpu = {number: run_cpu([*command, "--only", number]) for number in ("5", "8")}
    wall = time.time() - start
    manifest = json.loads((args.run_dir / "manifest.json").read_text())  # before the reruns
    rerun = {number: run_cpu([*command, "--only", number]) for number in ("5", "8")}
    prefixes = [row["prefix_id"] for row in load_prefixes(args.run_dir)]
    grid, paths, _ = grid_results(config)
    stages = {}
    for number, name in zip(("5", "8"), STAGES, strict=True):
        records = manifest["stages"][name]["shards"]["0/1"]
        own, own_cpu = records["seconds"], cpu[number] - rerun[number]
        stages[name] = {
            "stage_s": own,
            "per_prefix_s": round(own / len(prefixes), 3),
            "prefix_s": prefix_seconds(args.run_dir / "logs" / f"{name}.log"),
            "process_cpu_s": round(cpu[number], 3),
            "skipping_rerun_cpu_s": round(rerun[number], 3),
            "per_prefix_cpu_s": round(own_cpu / len(prefixes), 3),
        }
    vis = config.visualization
    tsne = [tsne_seconds(args.run_dir, p, vis.tsne_perplexity, vis.seed) for p in prefixes]
    stages["8_visualization"]["tsne_per_prefix_s"] = round(statistics.fmean(t[0] for t in tsne), 3)
    stages["8_visualization"]["tsne_per_prefix_cpu_s"] = round(
        statistics.fmean(t[1] for t in tsne), 3
    )
    out = {
        "config": args.config,
        "overrides": args.set,
        "setting": args.setting or config.synthetic.setting,
        "threads": 1,
        "prefixes": len(prefixes),
        "n": config.synthetic.n,
        "d_e": config.synthetic.d_e,
        "d_a": config.synthetic.d_a,
        "grid_configs": grid,
        "beta_paths": paths,
        "grid_K": {p: [c["K"] for c in read_summary(args.run_dir, p)["configs"]] for p in prefixes},
        "baselines": config.clustering.baselines,
        "stages": stages,
        "pipeline_wall_s": round(wall, 1),
        "load_before": load_before,
        "load_after": os.getloadavg(),
    }
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

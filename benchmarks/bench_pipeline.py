"""Time the toy-world pipeline stage by stage; prints one JSON object.

    python benchmarks/bench_pipeline.py [--run-dir /tmp/bench_toy] [--set key=value ...]

Runs `python -m motif_discovery.pipeline --config configs/toy_world.json --only N` for every
stage number the config runs (1-8; `--only 7` runs 7a and 7c) in a fresh run directory
(removed first), each under /usr/bin/time: per stage number the wall seconds and the peak
resident memory of its processes, and each stage's own seconds from manifest.json; with the
load average before and after (the machine may be shared).
Threads: OMP_NUM_THREADS / MKL_NUM_THREADS are passed on as set (default 1 here).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from motif_discovery.pipeline import stage_list  # noqa: E402
from motif_discovery.utils.config import load_config  # noqa: E402


def run_stage(number: int, run_dir: Path, config: str, overrides: list[str]) -> dict:
    """One stage under /usr/bin/time: wall seconds, peak RSS (MiB), exit code."""
    command = [
        "/usr/bin/time",
        "-f",
        "%e %M",
        sys.executable,
        "-m",
        "motif_discovery.pipeline",
        "--config",
        config,
        "--run-dir",
        str(run_dir),
        "--only",
        str(number),
    ]
    for item in overrides:
        command += ["--set", item]
    env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", **os.environ}
    proc = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True)
    wall, rss_kib = proc.stderr.strip().splitlines()[-1].split()
    return {
        "exit": proc.returncode,
        "wall_s": float(wall),
        "peak_rss_mib": round(int(rss_kib) / 1024, 1),
        "stdout_tail": proc.stdout.strip().splitlines()[-12:],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, default=Path("/tmp/bench_toy_world"))
    parser.add_argument("--config", default="configs/toy_world.json")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    shutil.rmtree(args.run_dir, ignore_errors=True)
    out: dict = {"config": args.config, "overrides": args.set, "load_before": os.getloadavg()}
    start = time.time()
    names: dict[int, list[str]] = {}
    for stage in stage_list(load_config(REPO / args.config, args.set)):
        names.setdefault(stage.number, []).append(stage.name)
    stages = {}
    for number, group in names.items():
        key = " + ".join(group)
        stages[key] = run_stage(number, args.run_dir, args.config, args.set)
        if stages[key]["exit"] != 0:
            break
    manifest = json.loads((args.run_dir / "manifest.json").read_text())
    for key, figures in stages.items():
        own = {}
        for name in key.split(" + "):
            shards = manifest["stages"].get(name, {}).get("shards", {})
            own[name] = shards.get("0/1", {}).get("seconds")  # the stage's own work
        figures["stage_s"] = own
        if key not in ("5_gaussian_clustering", "7a_graph_validation + 7c_steering"):
            figures.pop("stdout_tail")
    out.update(stages=stages, total_wall_s=round(time.time() - start, 1))
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

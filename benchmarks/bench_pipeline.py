"""Time the toy-world pipeline stage by stage; prints one JSON object.

    python benchmarks/bench_pipeline.py [--run-dir /tmp/bench_toy] [--set key=value ...]

Runs `python -m motif_discovery.pipeline --config configs/toy_world.json --only N` for N =
1..5 in a fresh run directory (removed first), each under /usr/bin/time: per stage the
wall seconds, the peak resident memory of the stage process, and the stage's own seconds
from manifest.json; with the load average before and after (the machine may be shared).
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
STAGES = {
    1: "1_data_preparation",
    2: "2_branch_sampling",
    3: "3_attribution_graphs",
    4: "4_feature_extraction",
    5: "5_gaussian_clustering",
}


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
    stages = {}
    for number, name in STAGES.items():
        stages[name] = run_stage(number, args.run_dir, args.config, args.set)
        if stages[name]["exit"] != 0:
            break
    manifest = json.loads((args.run_dir / "manifest.json").read_text())
    for name, figures in stages.items():
        shards = manifest["stages"].get(name, {}).get("shards", {})
        figures["stage_s"] = shards.get("0/1", {}).get("seconds")  # the stage's own work
        if name != "5_gaussian_clustering":
            figures.pop("stdout_tail")
    out.update(stages=stages, total_wall_s=round(time.time() - start, 1))
    out["load_after"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()

"""Benchmark of stage 5 (rate-distortion sweep + default baselines); prints one JSON object.

  python benchmarks/bench_clustering.py                      # realistic and easy, seed 0
  python benchmarks/bench_clustering.py --seeds 0 1          # more seeds
  python benchmarks/bench_clustering.py --large 100000       # also one config at N=100,000
  python benchmarks/bench_clustering.py --settings --large 100000 --large-config 1.25 0.1

Data: the package's generator (motif_discovery.data.synthetic): its "realistic" setting
(N = 500, d_e = 768, d_a = 5000, heavy-tailed sparse attributions, 15 crossed motifs) and
its "easy" setting (N = 500, d_e = 768, d_a = 8192, 4 motifs). Stage 5 runs as the
pipeline runs it (clustering.stage.cluster_features with configs/default_config.json:
20 configs, K_max 50, every default baseline), minus file writes. Reported per setting:
the RD sweep's seconds, stage 5's seconds as a whole (wall clock, and this process's CPU
seconds, which a busy machine inflates less), and every config's K, L and ARI against the
planted motifs; the machine's load average (1 min) before and after.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import time
from pathlib import Path

import numpy as np
import torch
from sklearn.metrics import adjusted_rand_score

from motif_discovery.clustering import stage
from motif_discovery.clustering.centres import weighted_median
from motif_discovery.clustering.em_loop import fit_rd
from motif_discovery.data.synthetic import (
    REALISTIC,
    SyntheticParams,
    generate_synthetic,
    sample_planted,
)
from motif_discovery.utils.config import load_config

SETTINGS = {"realistic": REALISTIC, "easy": SyntheticParams(setting="easy")}


def load() -> float:
    return round(os.getloadavg()[0], 2)


def stage5(params: SyntheticParams, seed: int) -> dict:
    """Stage 5 on one fresh prefix: sweep seconds, whole-stage seconds, K and L per config."""
    config = load_config()
    features = generate_synthetic(params, seed=seed)
    truth = np.array(features.labels["motif"])
    sweep_seconds = []
    run_sweep = stage.run_sweep

    def timed_sweep(*args, **kwargs):
        t0, c0 = time.perf_counter(), time.process_time()
        out = run_sweep(*args, **kwargs)
        sweep_seconds.append((time.perf_counter() - t0, time.process_time() - c0))
        return out

    stage.run_sweep = timed_sweep
    load_before = load()
    t0, c0 = time.perf_counter(), time.process_time()
    try:
        outcomes = stage.cluster_features(
            features,
            config.clustering,
            stage.sweep_settings(config),
            torch.device("cpu"),
            torch.float32,
        )
    finally:
        stage.run_sweep = run_sweep
    total, cpu = time.perf_counter() - t0, time.process_time() - c0
    rows = [
        {
            "beta": beta,
            "gamma": gamma,
            "K": o.result.K,
            "L": round(o.result.terms.L, 6),
            "iterations": o.result.iterations,
            "ari": round(adjusted_rand_score(truth, o.result.assign.numpy()), 3),
        }
        for (beta, gamma), o in outcomes.items()
    ]
    return {
        "setting": params.setting,
        "seed": seed,
        "shape": [features.n, int(features.e.shape[1]), int(features.a.shape[1])],
        "sweep_s": round(sweep_seconds[0][0], 2),
        "stage5_s": round(total, 2),
        "sweep_cpu_s": round(sweep_seconds[0][1], 2),
        "stage5_cpu_s": round(cpu, 2),
        "load_before": load_before,
        "load_after": load(),
        "configs": rows,
    }


def peak_rss_bytes() -> int:
    """Peak resident set size since the last reset_peak_rss (VmHWM), in bytes."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def reset_peak_rss() -> None:
    """Reset VmHWM to the current RSS (Linux: write 5 to /proc/self/clear_refs)."""
    Path("/proc/self/clear_refs").write_text("5")


def large_inputs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, np.ndarray]:
    """The realistic setting at N rows, preprocessed as stage 4 does (a = (a_raw - H_0) / s),
    with H_0 taken in column blocks so the median's sort fits in memory."""
    sample = sample_planted(dataclasses.replace(REALISTIC, n=n), seed)
    a = torch.from_numpy(sample.a_raw)
    p = torch.from_numpy(sample.p)
    for j in range(0, a.shape[1], 64):
        a[:, j : j + 64] -= weighted_median(a[:, j : j + 64], p)
    scale = sum(float(a[i : i + 4096].double().square().sum()) for i in range(0, n, 4096)) / n
    a /= scale**0.5
    return torch.from_numpy(sample.e), a, p, sample.motif


def large(n: int, seed: int, beta: float, gamma: float) -> dict:
    """One config at N rows: seconds, K, peak memory over the inputs."""
    e, a, p, truth = large_inputs(n, seed)
    input_bytes = e.nbytes + a.nbytes + p.nbytes
    reset_peak_rss()
    load_before = load()
    t0 = time.perf_counter()
    r = fit_rd(e, a, p, beta, gamma, progress=True)
    seconds = time.perf_counter() - t0
    peak = peak_rss_bytes()
    return {
        "setting": "realistic",
        "N": n,
        "beta": beta,
        "gamma": gamma,
        "seconds": round(seconds, 1),
        "load_before": load_before,
        "load_after": load(),
        "K": r.K,
        "L": round(r.terms.L, 6),
        "iterations": r.iterations,
        "ari": round(adjusted_rand_score(truth, r.assign.numpy()), 3),
        "input_bytes": input_bytes,
        "peak_rss_bytes": peak,
        "peak_over_input": round(peak / input_bytes, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--settings", nargs="*", default=list(SETTINGS), choices=list(SETTINGS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--large", type=int, default=0, help="also one config at this N")
    parser.add_argument(
        "--large-config", nargs=2, type=float, default=[1.0, 0.5], metavar=("BETA", "GAMMA")
    )
    parser.add_argument("--out", type=Path, help="also write the JSON here")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    out: dict = {
        "machine": platform.processor() or platform.machine(),
        "cpus": os.cpu_count(),
        "threads": args.threads,
        "runs": [stage5(SETTINGS[s], seed) for s in args.settings for seed in args.seeds],
    }
    if args.large:
        out["large"] = large(args.large, 1, *args.large_config)
    text = json.dumps(out, indent=1)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

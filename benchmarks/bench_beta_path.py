"""Benchmark of the beta path on one planted data set; prints one JSON object.

  python benchmarks/bench_beta_path.py                      # crossed, N=500, gammas 0.5 0.8
  python benchmarks/bench_beta_path.py --setting easy --gamma 0.5

Data: data/synthetic.py's generator (float32, stage 4's format). Per gamma: the wall time
of the whole path, why it stopped, and each event's beta, K, type, which motif became which
(children, merges) and the ARI against the planted motifs, meanings and mechanisms.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import torch

from motif_discovery.clustering.beta_path import follow_beta_path
from motif_discovery.clustering.metrics import ari
from motif_discovery.clustering.settings import FitSettings
from motif_discovery.data.synthetic import SyntheticParams, generate_synthetic


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--setting", default="crossed", choices=["easy", "crossed"])
    parser.add_argument("--gamma", type=float, nargs="+", default=[0.5, 0.8])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--d-e", type=int, default=768)
    parser.add_argument("--d-a", type=int, default=8192)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--K-clamp", type=int, default=10)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    params = SyntheticParams(setting=args.setting, n=args.n, d_e=args.d_e, d_a=args.d_a)
    features = generate_synthetic(params, seed=args.seed)
    e, a, p = features.e, features.a, features.p
    paths = []
    for gamma in args.gamma:
        t0 = time.perf_counter()
        path = follow_beta_path(e, a, p, gamma, FitSettings(), K_clamp=args.K_clamp)
        seconds = time.perf_counter() - t0
        events = [
            {
                "beta": round(event.beta, 6),
                "K": event.result.K,
                "type": event.kind,
                "children": event.children,
                "merges": event.merges,
                **{
                    f"ARI_{name}": round(ari(labels, event.result.assign), 4)
                    for name, labels in features.labels.items()
                },
            }
            for event in path.events
        ]
        planted = [ev["beta"] for ev in events if ev["ARI_motif"] == 1.0]
        paths.append(
            {
                "gamma": gamma,
                "seconds": round(seconds, 2),
                "stopped": path.stopped,
                "beta_end": path.beta_end,
                "planted_partition_from_beta": planted[0] if planted else None,
                "events": events,
            }
        )
    print(
        json.dumps(
            {
                "data": {"setting": args.setting, "n": args.n, "d_e": args.d_e, "d_a": args.d_a},
                "seed": args.seed,
                "K_clamp": args.K_clamp,
                "threads": args.threads,
                "load_average": [round(x, 2) for x in os.getloadavg()],
                "machine": platform.processor() or platform.machine(),
                "paths": paths,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

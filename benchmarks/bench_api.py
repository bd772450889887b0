"""The Python API on the toy world: seconds per step of README's Quick Start, one thread. JSON.

    python benchmarks/bench_api.py [--n 150] [--beta 2.0] [--gamma 0.5]

Steps: import, sample (loads the language model), the first cluster (loads the replacement
model and the embedder, computes stages 3-6), a second cluster at 2 beta (stages 3-4
reused), the beta path, validate_steering (loads the transcoders). Results:
benchmarks/results/bench_api_toy_world.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

PREFIX = "velkaria borders gathmar . velkaria sells hardwood . the main export of velkaria is"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=150)
    parser.add_argument("--beta", type=float, default=2.0)
    parser.add_argument("--gamma", type=float, default=0.5)
    args = parser.parse_args()
    seconds = {}
    start = time.perf_counter()
    import torch

    torch.set_num_threads(1)
    from motif_discovery import MotifDiscovery

    seconds["import"] = time.perf_counter() - start

    def timed(name, call):
        begin = time.perf_counter()
        out = call()
        seconds[name] = time.perf_counter() - begin
        return out

    md = MotifDiscovery()
    continuations = timed("sample (with model load)", lambda: md.sample(PREFIX, n=args.n))
    motifs = timed(
        "cluster (with replacement model + embedder load, stages 3-6)",
        lambda: md.cluster(continuations, beta=args.beta, gamma=args.gamma),
    )
    again = timed(
        "cluster again at 2 beta (stages 3-4 reused)",
        lambda: md.cluster(continuations, beta=2 * args.beta, gamma=args.gamma),
    )
    path = timed("beta path", lambda: md.cluster(continuations, beta="path", gamma=args.gamma))
    steering = timed(
        "validate_steering (with transcoders load)", lambda: md.validate_steering(motifs)
    )
    seconds["total"] = time.perf_counter() - start
    print(
        json.dumps(
            {
                "settings": vars(args) | {"prefix": PREFIX, "threads": 1},
                "machine": platform.processor() or platform.machine(),
                "cpus": os.cpu_count(),
                "N": len(continuations),
                "sampling_calls": continuations.summary["calls"],
                "K": len(motifs),
                "K_at_2_beta": len(again),
                "path_events": len(path.events),
                "steering_rows": sum(len(s.rows) for s in steering),
                "seconds": {k: round(v, 2) for k, v in seconds.items()},
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

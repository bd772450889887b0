"""Benchmark of stage 2 (branch sampling) on toy-world clozes; prints one JSON object.

  python benchmarks/bench_sampling.py                     # toy-000..toy-002, N = 500 and 200
  python benchmarks/bench_sampling.py --clozes 8 --ns 500 --reach

Each cloze runs as the stage runs it (sampling.stage.branch_prefix: first-token discovery,
the sampling loop to its patience stop, scoring, selection), minus file writes, with
configs/default_config.json (T = 1, top-p 0.9, batch 32, patience 5) and sampling.n set to
each N. Reported per cloze: seconds, calls, samples, distinct texts, why it stopped, kept,
continuations per second (total and distinct); with --reach also the number of texts the
sampler can reach (enumerated exactly, toy_world.evaluate.sampler_reach), the share of
them found, and the share of them, and of their probability mass, that the kept texts
cover. Peak RSS of the process and the load average before and after. Run it with one
thread (OMP_NUM_THREADS=1).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time

import torch

from motif_discovery.model.context import max_context
from motif_discovery.model.loading import load_tokenizer
from motif_discovery.sampling.stage import (
    Models,
    branch_prefix,
    checked_contexts,
    load_model_config,
)
from motif_discovery.toy_world.evaluate import sampler_reach
from motif_discovery.utils.config import load_config
from motif_discovery.utils.io import read_jsonl

CLOZES = "data/toy_world/clozes.jsonl"


def one_cloze(models: Models, context: list[int], config, row: dict, reach: bool) -> dict:
    """Sample one cloze; its figures."""
    t0 = time.perf_counter()
    records, info = branch_prefix(models, context, config, row["prefix_id"])
    seconds = time.perf_counter() - t0
    figures = {
        "prefix_id": row["prefix_id"],
        "seconds": round(seconds, 2),
        **{k: info[k] for k in ("calls", "stopped", "samples", "distinct", "kept", "short")},
        "first_tokens": len(info["first_tokens"]),
        "samples_per_s": round(info["samples"] / seconds, 1),
        "distinct_per_s": round(info["distinct"] / seconds, 1),
    }
    if reach:
        model, _, _ = models.get()
        settings = config.sampling
        support = sampler_reach(
            model, models.tokenizer, row["text"], settings.top_p, settings.max_new_tokens
        )
        found = {r["text"] for r in records}
        figures["reach"] = len(support)
        figures["distinct_share_of_reach"] = round(info["distinct"] / len(support), 3)
        figures["kept_share_of_reach"] = round(len(found & support.keys()) / len(support), 3)
        mass = sum(support.values())
        figures["kept_mass_share_of_reach"] = round(
            sum(support[t] for t in found & support.keys()) / mass, 4
        )
        figures["kept_outside_reach"] = len(found - support.keys())
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clozes", type=int, default=3, help="first K toy clozes")
    parser.add_argument("--ns", type=int, nargs="+", default=[500, 200], help="values of N")
    parser.add_argument("--reach", action="store_true", help="compare with the exact support")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = [{"prefix_id": r["id"], "text": r["text"]} for r in read_jsonl(CLOZES)][: args.clozes]
    load_before = round(os.getloadavg()[0], 2)
    runs = []
    for n in args.ns:
        config = load_config(None, [f"sampling.n={n}", "sampling.backend=hf"])
        tokenizer = load_tokenizer(config.model)
        limit = max_context(load_model_config(config.model), config.model)
        contexts = checked_contexts(rows, tokenizer, config, limit, CLOZES)
        models = Models(config, tokenizer, limit, "hf")
        per_cloze = [
            one_cloze(models, contexts[r["prefix_id"]], config, r, args.reach) for r in rows
        ]
        total = sum(c["seconds"] for c in per_cloze)
        runs.append(
            {
                "n": n,
                "seconds_per_prefix": round(total / len(per_cloze), 2),
                "samples_per_s": round(sum(c["samples"] for c in per_cloze) / total, 1),
                "distinct_per_s": round(sum(c["distinct"] for c in per_cloze) / total, 1),
                "clozes": per_cloze,
            }
        )
    result = {
        "threads": torch.get_num_threads(),
        "load_before": load_before,
        "load_after": round(os.getloadavg()[0], 2),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "runs": runs,
    }
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

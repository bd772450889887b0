"""Toy-world language model against the generator's truth; prints JSON.

    python benchmarks/toy_world_lm.py [--dir data/toy_world] [--seed 0] [--threads 1]
        [--markdown]   # the per-cloze table of data/README.md instead of JSON

Held-out loss against the generator's entropy, recall accuracy, per-cloze family
probabilities (generator vs model, every text of a family scored), the sampler's reach
(temperature 1, top-p 0.9, <= 20 new tokens, enumerated exactly) and interventions;
see motif_discovery/toy_world/evaluate.py.
"""

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import torch

from motif_discovery.toy_world.evaluate import evaluate
from motif_discovery.toy_world.grammar import load_world
from motif_discovery.toy_world.lm import load_toy_model
from motif_discovery.utils.io import read_json, read_jsonl


def summary(result: dict) -> dict:
    """The figures data/README.md quotes, from evaluate()'s output."""
    clozes = result["per_cloze"].values()
    reach = [c["reach_texts"] for c in clozes]
    per_family = [
        n for c in clozes for name, n in c["reach_texts_per_family"].items() if name != "other"
    ]
    missing = [
        f"{cid}:{name}"
        for cid, c in result["per_cloze"].items()
        for name in c["generator"]
        if c["reach_texts_per_family"].get(name, 0) < 15
    ]
    tv = [c["tv"] for c in clozes]
    return {
        "reach_texts_per_cloze": {
            "min": min(reach),
            "median": statistics.median(reach),
            "max": max(reach),
        },
        "reach_texts_per_family": {
            "min": min(per_family),
            "median": statistics.median(per_family),
            "max": max(per_family),
        },
        "families_below_15_texts": missing,
        "reach_mass_other": {
            "mean": statistics.fmean(c["reach_mass_other"] for c in clozes),
            "max": max(c["reach_mass_other"] for c in clozes),
        },
        "tv": {"mean": statistics.fmean(tv), "max": max(tv)},
        "clozes_with_4_families_above_5pct_model": sum(
            sum(m > 0.05 for m in c["model"].values()) >= 4 for c in clozes
        ),
        "clozes_with_4_families_above_5pct_generator": sum(
            sum(p > 0.05 for p in c["generator"].values()) >= 4 for c in clozes
        ),
    }


def markdown(result: dict) -> str:
    """One row per cloze: each family as generator / model, TV, texts in reach."""
    lines = [
        "| id | prefix | family: generator / model (texts in reach) | TV | texts in reach |",
        "|---|---|---|---|---|",
    ]
    for cloze_id, row in result["per_cloze"].items():
        cells = [
            f"{name} {p:.2f} / {row['model'][name]:.2f} ({row['reach_texts_per_family'].get(name, 0)})"
            for name, p in row["generator"].items()
        ]
        cells = "<br>".join(cells)
        lines.append(
            f"| {cloze_id} | `{row['text']}` | {cells} | {row['tv']:.3f} | {row['reach_texts']} |"
        )
    lines += [
        "",
        "| intervention | family | expected | n | before | after |",
        "|---|---|---|---|---|---|",
    ]
    for r in result["interventions"]:
        lines.append(
            f"| {r['intervention']} | {r['family']} | {r['expected']} | {r['n']} | "
            f"{r['before']:.3f} | {r['after']:.2g} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("data/toy_world"))
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, tokenizer = load_toy_model(args.dir / "model")
    world = load_world(args.dir / "world.json")
    clozes = read_jsonl(args.dir / "clozes.jsonl")
    start = time.perf_counter()
    result = evaluate(model, tokenizer, world, clozes, seed=args.seed)
    result["summary"] = summary(result)
    result["eval_seconds"] = round(time.perf_counter() - start, 1)
    result["load_average"] = os.getloadavg()
    log_path = args.dir / "train_log.json"
    if log_path.is_file():
        log = read_json(log_path)
        result["training"] = {
            k: log[k] for k in ("steps", "train_seconds", "threads", "n_parameters")
        }
    print(markdown(result) if args.markdown else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

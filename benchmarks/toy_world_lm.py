"""Toy-world language model against the generator's truth; prints JSON.

    python benchmarks/toy_world_lm.py [--dir data/toy_world] [--samples 200] [--seed 0]
        [--markdown]   # the per-cloze table of data/README.md instead of JSON

Held-out loss, recall accuracy, per-cloze family probabilities (generator, model exact,
model sampled at temperature 1 and labelled) and interventions; see toy_world/evaluate.py.
"""

import argparse
import json
import time
from pathlib import Path

import torch

from motif_discovery.toy_world.evaluate import evaluate
from motif_discovery.toy_world.grammar import load_world
from motif_discovery.toy_world.lm import load_toy_model
from motif_discovery.utils.io import read_json, read_jsonl


def markdown(result: dict) -> str:
    """One row per cloze: each family as generator / model exact / model sampled, and TV."""
    lines = [
        "| id | prefix | family: generator / model exact / model sampled | TV |",
        "|---|---|---|---|",
    ]
    for cloze_id, row in result["per_prefix"].items():
        cells = [
            f"{name} {v['generator']:.2f} / {v['model_exact']:.2f} / {v['model_sampled']:.2f}"
            for name, v in row.items()
            if name not in ("text", "tv_exact", "other")
        ]
        cells.append(f"other – / – / {row['other']['model_sampled']:.2f}")
        cells = "<br>".join(cells)
        lines.append(f"| {cloze_id} | `{row['text']}` | {cells} | {row['tv_exact']:.2f} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("data/toy_world"))
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--markdown", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model, tokenizer = load_toy_model(args.dir / "model")
    world = load_world(args.dir / "world.json")
    clozes = read_jsonl(args.dir / "clozes.jsonl")
    start = time.perf_counter()
    result = evaluate(model, tokenizer, world, clozes, n_samples=args.samples, seed=args.seed)
    result["eval_seconds"] = round(time.perf_counter() - start, 1)
    log_path = args.dir / "train_log.json"
    if log_path.is_file():
        log = read_json(log_path)
        result["training"] = {
            k: log[k] for k in ("steps", "train_seconds", "threads", "n_parameters")
        }
    print(markdown(result) if args.markdown else json.dumps(result, indent=1))


if __name__ == "__main__":
    main()

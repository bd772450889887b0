"""PopQA: its questions through the pipeline (stages 1-7) and H1-H3 with alias-match
correctness.

    python hypotheses_experiment/run_popqa.py --popqa popQA.tsv --config CFG --run-dir DIR \
        [--limit N] [--seed S] [--set key=value ...]

The PopQA file (the release's TSV, or a CSV with the same columns; docs/hypotheses.md) is
written as DIR/popqa_clozes.jsonl; stage 1 draws --limit questions with --seed
(data.n_prefixes, data.seed); stage 4 labels each continuation correct when it contains an
answer alias (data.labeler "answers"). For a chat model set data.prompt_format "chat" in CFG.
"""

import argparse
from pathlib import Path

import torch

from motif_discovery.hypotheses.experiments import run_popqa
from motif_discovery.hypotheses.tables import summary_table
from motif_discovery.utils.stage import stage_main


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    results = run_popqa(
        Path(args.popqa),
        args.config,
        Path(args.run_dir),
        limit=args.limit,
        seed=args.seed,
        overrides=args.set,
        last=args.to,
    )
    print(summary_table(*results))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--popqa", required=True, help="PopQA file (.tsv or .csv)")
    parser.add_argument("--config", required=True, help="pipeline config (model, sampling, ...)")
    parser.add_argument("--run-dir", required=True, help="the run directory")
    parser.add_argument("--limit", type=int, help="questions stage 1 draws (default: all)")
    parser.add_argument("--seed", type=int, help="seed of that draw (default: data.seed)")
    parser.add_argument("--to", type=int, default=7, help="last pipeline stage (default 7)")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="config override"
    )
    stage_main(main, parser)

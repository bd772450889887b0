"""H1-H3 on one run directory, optionally after running the pipeline's stages 1-7 into it.

    python hypotheses_experiment/run_all.py --run-dir DIR [--config CFG [--set key=value ...]]

With --config the driver first runs stages 1-7 of CFG into DIR (a finished stage is
skipped); then H1, H2 and H3 (H3 only where stage 7c wrote outputs) write
DIR/hypotheses/{h1,h2,h3}.json and .png, and a summary table is printed (docs/hypotheses.md).
"""

import argparse
from pathlib import Path

import torch

from motif_discovery.hypotheses.experiments import run_all, run_pipeline
from motif_discovery.hypotheses.tables import summary_table
from motif_discovery.utils.stage import stage_main


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    run_dir = Path(args.run_dir)
    if args.config:
        run_pipeline(args.config, run_dir, args.set)
    print(summary_table(*run_all(run_dir)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", required=True, help="the run directory")
    parser.add_argument("--config", help="run the pipeline's stages 1-7 of this config first")
    parser.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help="config override"
    )
    stage_main(main, parser)

"""H3: stage 7c's steering correlations, RD against random, Single and KM-Sem, paired over motifs.

    python hypotheses_experiment/exp3_causal_validation.py --run-dir DIR

Writes DIR/hypotheses/h3.json and h3.png (docs/hypotheses.md).
"""

import argparse
from pathlib import Path

import torch

from motif_discovery.hypotheses.causal import run
from motif_discovery.hypotheses.tables import h3_table
from motif_discovery.utils.stage import stage_main


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    print("\n".join(h3_table(run(Path(args.run_dir)))))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run-dir", required=True, help="a run directory with stages 1-5 (7c for H3)"
    )
    stage_main(main, parser)

"""H1: agreement (ARI, NMI) of the semantic-only and attribution-only clusterings, and of RD, against each other and the planted labels.

    python hypotheses_experiment/exp1_orthogonality.py --run-dir DIR

Writes DIR/hypotheses/h1.json and h1.png (docs/hypotheses.md).
"""

import argparse
from pathlib import Path

import torch

from motif_discovery.hypotheses.orthogonality import run
from motif_discovery.hypotheses.tables import h1_table
from motif_discovery.utils.stage import stage_main


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    print("\n".join(h1_table(run(Path(args.run_dir)))))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run-dir", required=True, help="a run directory with stages 1-5 (7c for H3)"
    )
    stage_main(main, parser)

"""H2: how well membership in RD motifs, KM-S and KM-A clusters separates correct from wrong continuations.

    python hypotheses_experiment/exp2_hallucination_detection.py --run-dir DIR

Writes DIR/hypotheses/h2.json and h2.png (docs/hypotheses.md).
"""

import argparse
from pathlib import Path

import torch

from motif_discovery.hypotheses.detection import run
from motif_discovery.hypotheses.tables import h2_table
from motif_discovery.utils.stage import stage_main


def main(args: argparse.Namespace) -> None:
    torch.set_num_threads(1)
    print("\n".join(h2_table(run(Path(args.run_dir)))))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--run-dir", required=True, help="a run directory with stages 1-5 (7c for H3)"
    )
    stage_main(main, parser)

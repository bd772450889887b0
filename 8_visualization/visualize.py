"""Stage 8: the figures (PNG) and the HTML explorer of a run.

    python 8_visualization/visualize.py --config configs/toy_world.json [--run-dir DIR] [--force]

The run directory must hold stage 5's results; stages 6 and 7 are shown where they ran.
Ends by printing `explorer: <absolute path of index.html>`.
"""

import torch

from motif_discovery.utils.stage import resolve_run, stage_main, stage_parser
from motif_discovery.visualization.stage import run


def main(args) -> None:
    torch.set_num_threads(1)
    config, run_dir = resolve_run(args, create=False)
    index = run(config, run_dir, force=args.force, shard=args.shard)
    print(f"explorer: {index.resolve()}", flush=True)


if __name__ == "__main__":
    stage_main(main, stage_parser(__doc__.splitlines()[0]))

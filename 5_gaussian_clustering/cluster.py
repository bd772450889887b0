"""Stage 5: rate-distortion clustering of every prefix's two views (sweep or one config).

    python 5_gaussian_clustering/cluster.py --config configs/synthetic.json \
        [--run-dir DIR] [--set clustering.beta=1.0 --set clustering.gamma=0.5] [--force]

A number for both clustering.beta and clustering.gamma runs one config; lists run the grid.
The run directory must hold stage 4's features.
"""

from motif_discovery.clustering.stage import run
from motif_discovery.utils.stage import resolve_run, stage_main, stage_parser


def main(args) -> None:
    config, run_dir = resolve_run(args, create=False)
    run(config, run_dir, force=args.force, shard=args.shard)


if __name__ == "__main__":
    stage_main(main, stage_parser(__doc__.splitlines()[0]))

"""Stage 6: the semantic graph of every motif of every config with 1 < K <= K_clamp.

    python 6_semantic_graphs/extract_graphs.py --config configs/toy_world.json \
        [--run-dir DIR] [--set graphs.top_features=5] [--force]

The run directory must hold stages 3, 4 and 5's outputs of every prefix.
"""

from motif_discovery.graphs.stage import run
from motif_discovery.utils.stage import resolve_run, stage_main, stage_parser


def main(args) -> None:
    config, run_dir = resolve_run(args, create=False)
    run(config, run_dir, force=args.force, shard=args.shard)


if __name__ == "__main__":
    stage_main(main, stage_parser(__doc__.splitlines()[0]))

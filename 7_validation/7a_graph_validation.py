"""Stage 7a: graph validation of every prefix (replacement vs real logits, source shares,
motif stability).

    python 7_validation/7a_graph_validation.py --config configs/toy_world.json \
        [--run-dir DIR] [--set validation.replacement_continuations=64] [--force]

The run directory must hold the outputs of stages 2-5.
"""

from motif_discovery.utils.stage import resolve_run, stage_main, stage_parser
from motif_discovery.validation.graph_stage import run


def main(args) -> None:
    config, run_dir = resolve_run(args, create=False)
    run(config, run_dir, force=args.force, shard=args.shard)


if __name__ == "__main__":
    stage_main(main, stage_parser(__doc__.splitlines()[0]))

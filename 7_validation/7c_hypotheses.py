"""Stage 7c: steering validation of every eligible motif (1 < K <= K_clamp).

    python 7_validation/7c_hypotheses.py --config configs/toy_world.json \
        [--run-dir DIR] [--set validation.max_members=5] [--force] [--shard i/n]

The run directory must hold stages 2-5's outputs. Writes 7_validation/7c/<prefix_id>.json
and 7_validation/7c_summary.json, then prints the table of mean correlations.
"""

from motif_discovery.utils.stage import resolve_run, stage_main, stage_parser
from motif_discovery.validation.steering_stage import run


def main(args) -> None:
    config, run_dir = resolve_run(args, create=False)
    run(config, run_dir, force=args.force, shard=args.shard)


if __name__ == "__main__":
    stage_main(main, stage_parser(__doc__.splitlines()[0]))

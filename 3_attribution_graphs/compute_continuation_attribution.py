"""Stage 3: attribute each continuation's targets to the prefix's transcoder features.

    python 3_attribution_graphs/compute_continuation_attribution.py --config CONFIG \
        [--run-dir DIR] [--set attribution.pooling=sum] [--shard i/N] [--force]

The run directory must hold 1_data_preparation/prefixes.jsonl and stage 2's
2_branch_sampling/<prefix_id>.jsonl.
"""

from motif_discovery.attribution.stage import run
from motif_discovery.utils.stage import resolve_run, stage_main, stage_parser


def main(args) -> None:
    config, run_dir = resolve_run(args, create=False)
    run(config, run_dir, force=args.force, shard=args.shard)


if __name__ == "__main__":
    stage_main(main, stage_parser(__doc__.splitlines()[0]))

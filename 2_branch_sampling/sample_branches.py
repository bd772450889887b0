"""Stage 2: sample each prefix's continuations, weight them by P_n, keep the N best.

    python 2_branch_sampling/sample_branches.py --config CONFIG [--run-dir DIR] \
        [--set sampling.n=200] [--shard i/N] [--force]

The run directory must hold 1_data_preparation/prefixes.jsonl.
"""

from motif_discovery.sampling.stage import run
from motif_discovery.utils.stage import resolve_run, stage_main, stage_parser


def main(args) -> None:
    config, run_dir = resolve_run(args, create=False)
    run(config, run_dir, force=args.force, shard=args.shard)


if __name__ == "__main__":
    stage_main(main, stage_parser(__doc__.splitlines()[0]))

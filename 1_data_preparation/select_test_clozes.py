"""Stage 1: select the prefixes to study from the cloze file and check that they fit.

    python 1_data_preparation/select_test_clozes.py --config CONFIG [--run-dir DIR] \
        [--set data.n_prefixes=10 --set data.max_words=30] [--force]

Writes <run>/1_data_preparation/prefixes.jsonl (format: motif_discovery/data/clozes.py);
the whole list whatever --shard says, since every shard of the later stages needs it.
"""

from motif_discovery.data.preparation import run
from motif_discovery.utils.stage import resolve_run, stage_main, stage_parser


def main(args) -> None:
    config, run_dir = resolve_run(args, create=True)
    run(config, run_dir, force=args.force)


if __name__ == "__main__":
    stage_main(main, stage_parser(__doc__.splitlines()[0]))

"""The command-line options every stage script and the driver share."""

from __future__ import annotations

import argparse

INTERRUPTED_EXIT = 130  # the shell's exit code for a process ended by Ctrl-C (SIGINT)


def add_run_options(parser: argparse.ArgumentParser, *, config_required: bool = True) -> None:
    """Add `--config --run-dir --set --force --shard` to `parser`."""
    parser.add_argument(
        "--config",
        required=config_required,
        help="JSON config, merged on configs/default_config.json",
    )
    parser.add_argument("--run-dir", help="run directory (default: the config's run.run_dir)")
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config key, e.g. clustering.beta=2.0 (repeatable)",
    )
    parser.add_argument(
        "--force", action="store_true", help="redo every unit, even those done and unchanged"
    )
    parser.add_argument(
        "--shard",
        default="0/1",
        metavar="i/N",
        help="run only every N-th prefix, from the i-th (0-based); shards may share a run dir",
    )

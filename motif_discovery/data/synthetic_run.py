"""The stand-in for stages 1-4: planted synthetic prefixes written as a stage of the run.

It writes `1_data_preparation/prefixes.jsonl` (every prefix, rewritten only when it
changes) and, per prefix of this shard, `4_feature_extraction/<prefix_id>.{safetensors,json}`
(prefix i drawn with seed (seed, i)), like every stage: a manifest entry, a log and done
records, so an unchanged prefix is not regenerated.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict
from pathlib import Path

from motif_discovery.data.prefixes import PREFIXES_FILE
from motif_discovery.data.synthetic import SyntheticParams, generate_synthetic
from motif_discovery.embedding.features import save_features
from motif_discovery.utils.config import Config, load_config
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_jsonl, write_jsonl
from motif_discovery.utils.shard import shard_ids
from motif_discovery.utils.stage import Stage, Unit, resolve_run, run_stage

STAGE = Stage(
    name="4_feature_extraction",
    config_keys=(),  # the generator's parameters are passed as settings (flags may set them)
    code=("data/synthetic.py", "data/synthetic_run.py", "embedding", "utils/io.py"),
)


def prefix_rows(params: SyntheticParams, n_prefixes: int) -> list[dict[str, str]]:
    """The rows of prefixes.jsonl: id `synthetic_<setting>_<i:03d>`, text, source, setting."""
    return [
        {
            "prefix_id": f"synthetic_{params.setting}_{i:03d}",
            "text": f"<synthetic {params.setting} prefix {i}>",
            "source": "synthetic",
            "setting": params.setting,
        }
        for i in range(n_prefixes)
    ]


def write_prefix_list(run_dir: Path, rows: list[dict[str, str]]) -> Path:
    """Write prefixes.jsonl unless it already holds exactly `rows`; returns its path."""
    path = run_dir / PREFIXES_FILE
    if not path.is_file() or read_jsonl(path) != rows:
        write_jsonl(path, rows)
    return path


def write_synthetic_run(
    run_dir: str | Path,
    params: SyntheticParams,
    *,
    n_prefixes: int = 1,
    seed: int = 0,
    shard: str = "0/1",
    force: bool = False,
    config: Config | None = None,
) -> list[str]:
    """Write the prefix list and this shard's prefixes (those not already done with the
    same parameters); returns the shard's prefix ids. `config` gives the log level
    (default: configs/default_config.json)."""
    if n_prefixes < 1:
        raise InputError(f"synthetic.n_prefixes: {n_prefixes} < 1")
    run_dir = Path(run_dir)
    rows = prefix_rows(params, n_prefixes)
    index = {row["prefix_id"]: i for i, row in enumerate(rows)}
    features_dir = run_dir / "4_feature_extraction"

    def process(prefix_id: str) -> list[Path]:
        features = generate_synthetic(params, seed=(seed, index[prefix_id]), prefix_id=prefix_id)
        return list(save_features(features_dir, features))

    prefix_list = write_prefix_list(run_dir, rows)
    units = [Unit(prefix_id, ()) for prefix_id in index]
    run_stage(
        STAGE,
        config or load_config(),
        run_dir,
        units,
        process,
        force=force,
        shard=shard,
        settings={"synthetic": asdict(params), "seed": seed},
        shared_outputs=[prefix_list],
    )
    return shard_ids(index, shard)


def resolve_synthetic_args(
    args: argparse.Namespace,
) -> tuple[Config | None, Path, SyntheticParams, int, int]:
    """(config, run_dir, params, n_prefixes, seed) from the command line: an explicit flag
    wins over the config's synthetic.* keys and run.seed (when --config is given), which
    win over the defaults (SyntheticParams, one prefix, seed 0)."""
    values: dict = {}
    n_prefixes, seed = 1, 0
    config = None
    if args.config:
        config, run_dir = resolve_run(args, create=True)
        syn = config.synthetic
        values = {"setting": syn.setting, "n": syn.n, "d_e": syn.d_e, "d_a": syn.d_a}
        n_prefixes, seed = syn.n_prefixes, config.run.seed
    elif args.set:
        raise InputError("generate_data: --set needs --config (without it, use the flags)")
    elif args.run_dir:
        run_dir = Path(args.run_dir)
    else:
        raise InputError("generate_data: give --run-dir or --config")
    flags = {
        "setting": args.setting,
        "n": args.n,
        "d_e": args.d_e,
        "d_a": args.d_a,
        "n_meanings": args.n_meanings,
        "noise": args.noise,
    }
    values.update({k: v for k, v in flags.items() if v is not None})
    n_prefixes = args.n_prefixes if args.n_prefixes is not None else n_prefixes
    seed = args.seed if args.seed is not None else seed
    return config, run_dir, SyntheticParams(**values), n_prefixes, seed

"""Write planted two-view synthetic data in the stage-1 and stage-4 formats (stands in for 1-4).

    python hypotheses_experiment/generate_data.py --run-dir runs/synthetic --setting crossed \
        [--n-prefixes 2] [--n 500] [--d-e 768] [--d-a 8192] [--seed 0]
    python hypotheses_experiment/generate_data.py --config configs/synthetic.json [--set ...]

With --config (as the driver calls it) the config's synthetic.* keys and run.seed are the
defaults; explicit flags win. Like every stage it records a manifest entry, a log and
done records: a prefix already written with the same parameters is not regenerated.
"""

import argparse

from motif_discovery.data.synthetic import SETTINGS
from motif_discovery.data.synthetic_run import resolve_synthetic_args, write_synthetic_run
from motif_discovery.utils.cli import add_run_options
from motif_discovery.utils.stage import stage_main


def parser() -> argparse.ArgumentParser:
    out = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_run_options(out, config_required=False)
    out.add_argument("--setting", choices=SETTINGS, help="planted design (see data/synthetic.py)")
    out.add_argument("--n-prefixes", type=int, help="number of synthetic prefixes (1)")
    out.add_argument("--n", type=int, help="continuations per prefix (500)")
    out.add_argument("--d-e", type=int, help="semantic dimension (768)")
    out.add_argument("--d-a", type=int, help="attribution dimension (8192)")
    out.add_argument("--n-meanings", type=int, help="meanings = mechanisms (4)")
    out.add_argument("--noise", type=float, help="noise multiplier (1.0)")
    out.add_argument("--seed", type=int, help="prefix i is drawn with seed (seed, i) (0)")
    return out


def main(args: argparse.Namespace) -> None:
    config, run_dir, params, n_prefixes, seed = resolve_synthetic_args(args)
    write_synthetic_run(
        run_dir,
        params,
        n_prefixes=n_prefixes,
        seed=seed,
        shard=args.shard,
        force=args.force,
        config=config,
    )


if __name__ == "__main__":
    stage_main(main, parser())

"""Write planted two-view synthetic data in the stage-1 and stage-4 formats (stands in for 1-4).

    python hypotheses_experiment/generate_data.py --run-dir runs/synthetic --setting crossed \
        [--n-prefixes 2] [--n 500] [--d-e 768] [--d-a 8192] [--seed 0]
    python hypotheses_experiment/generate_data.py --config configs/synthetic.json [--set ...]

With --config (as the driver calls it) the config's synthetic.* keys and run.seed are the
defaults; explicit flags win. Prefixes are always regenerated: generation is deterministic.
"""

import argparse

from motif_discovery.data.synthetic import SETTINGS, resolve_synthetic_args, write_synthetic_run
from motif_discovery.utils.stage import stage_main


def parser() -> argparse.ArgumentParser:
    out = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    out.add_argument("--config", help="JSON config: synthetic.* and run.seed give the defaults")
    out.add_argument("--run-dir", help="run directory (default with --config: run.run_dir)")
    out.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    out.add_argument("--force", action="store_true", help="accepted; data is always rewritten")
    out.add_argument("--shard", default="0/1", help="i/N: write every N-th prefix, from i")
    out.add_argument("--setting", choices=SETTINGS)
    out.add_argument("--n-prefixes", type=int, help="number of synthetic prefixes")
    out.add_argument("--n", type=int, help="continuations per prefix (500)")
    out.add_argument("--d-e", type=int, help="semantic dimension (768)")
    out.add_argument("--d-a", type=int, help="attribution dimension (8192)")
    out.add_argument("--n-meanings", type=int, help="meanings = mechanisms (4)")
    out.add_argument("--noise", type=float, help="noise multiplier (1.0)")
    out.add_argument("--seed", type=int)
    return out


def main(args: argparse.Namespace) -> None:
    run_dir, params, n_prefixes, seed = resolve_synthetic_args(args)
    ids = write_synthetic_run(run_dir, params, n_prefixes=n_prefixes, seed=seed, shard=args.shard)
    print(f"wrote {len(ids)} synthetic prefixes ({params.setting}) to {run_dir}")


if __name__ == "__main__":
    stage_main(main, parser())

"""Stage 4: the semantic and attribution views of every prefix's continuations.

    python 4_feature_extraction/compute_embeddings.py --config CONFIG [--run-dir DIR] \
        [--set embedding.batch_size=128] [--force] [--shard i/N]

The run directory must hold stage 1's prefixes.jsonl, stage 2's continuations and stage 3's
attributions; writes <run>/4_feature_extraction/<prefix_id>.{safetensors,json}.
"""

from motif_discovery.embedding.stage import run
from motif_discovery.utils.stage import resolve_run, stage_main, stage_parser


def main(args) -> None:
    config, run_dir = resolve_run(args, create=False)
    run(config, run_dir, force=args.force, shard=args.shard)


if __name__ == "__main__":
    stage_main(main, stage_parser(__doc__.splitlines()[0]))

"""The semantic view on the toy world's planted texts, before and independent of any LM; JSON.

    python benchmarks/toy_world_semantic.py [--seed 0] [--clozes 32] [--threads 1]

For every cloze prefix, all texts the generator can write after it are embedded with
all-MiniLM-L6-v2 (continuation tokens of prefix + continuation, mean, unit norm):
- k-means with k = the number of meanings present -> ARI against the semantic labels,
  per cloze (min / median / mean), and once over all clozes' texts together;
- cross-mechanism nearest: a text of a family that shares its meaning with another
  family (recall vs copy of one fact) is nearer to that family than to any text of
  another meaning (share of cases; target >= 0.9).
"""

import argparse
import json
import statistics
import time

import numpy as np
import torch

from motif_discovery.toy_world.clozes import cloze_prefixes
from motif_discovery.toy_world.grammar import make_world, planted_texts
from motif_discovery.toy_world.semantic import (
    continuation_embeddings,
    cross_mechanism_nearest,
    kmeans_ari,
    load_embedder,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--clozes", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    world = make_world(args.seed)
    embedder = load_embedder()
    per_cloze, all_e, all_sem = [], [], []
    hits = cases = 0
    for prefix in cloze_prefixes(world, args.clozes, args.seed):
        texts, semantic, family = planted_texts(prefix, world)
        e = continuation_embeddings(embedder, prefix.text, texts)
        h, c = cross_mechanism_nearest(e, semantic, family)
        hits, cases = hits + h, cases + c
        per_cloze.append(
            {
                "prefix": prefix.text,
                "n_texts": len(texts),
                "n_meanings": len(set(semantic)),
                "ari": round(kmeans_ari(e, semantic, args.seed), 4),
                "cross_mechanism_nearest": [h, c],
            }
        )
        all_e.append(e)
        all_sem += semantic
    aris = [row["ari"] for row in per_cloze]
    pooled = np.concatenate(all_e)
    print(
        json.dumps(
            {
                "embedder": "all-MiniLM-L6-v2, continuation tokens inside prefix+continuation",
                "n_clozes": len(per_cloze),
                "n_texts": len(all_sem),
                "ari_per_cloze": {
                    "min": min(aris),
                    "median": statistics.median(aris),
                    "mean": round(statistics.fmean(aris), 4),
                },
                "ari_all_clozes_together": round(kmeans_ari(pooled, all_sem, args.seed), 4),
                "n_meanings_all": len(set(all_sem)),
                "cross_mechanism_nearest": {
                    "hits": hits,
                    "cases": cases,
                    "share": round(hits / max(1, cases), 4),
                },
                "seconds": round(time.perf_counter() - started, 1),
                "threads": args.threads,
                "per_cloze": per_cloze,
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

"""Do pooled attribution rows depend on continuation length, and which span/pooling
separates the toy world's mechanisms best? JSON.

    python benchmarks/attribution_length.py [--clozes 6] [--min-families 4] [--threads 1]

For the first clozes of data/toy_world/clozes.jsonl with at least `min-families` planted
families, every planted continuation is attributed (all prefix features) and labelled
with its family by toy_world/labels.label. Each (span, pooling) row a_n is pooled from
the per-token rows (identical to stage 3's one-pass rows: tests/attribution). Per cloze:
- length: Spearman correlation of ||a_n - H_0||_1 with the number of tokens, H_0 the
  P-weighted coordinatewise median (stage 4's centre; P = the generator's p(text));
- families: k-means (k = number of families, 10 inits) ARI against the family, and the
  share of continuations whose L1-nearest neighbour is of the same family (also among the
  continuations of another content word, `..._other_word`); the same for
  length alone (a nuisance by construction: wording is drawn independently of the family).
`full/mean/reference_shift`: full/mean with every target read one position late.
Summary: mean over clozes per (span, pooling).
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np
import torch
from bench_attribution import DATA, planted_continuations
from scipy.stats import spearmanr
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from motif_discovery.attribution.compute import attribute_rows, pool
from motif_discovery.attribution.sources import SourceIndex
from motif_discovery.attribution.targets import shared_prefix_lengths, span_start, target_rows
from motif_discovery.embedding.attribution_view import centre_and_scale
from motif_discovery.toy_world.grammar import (
    continuation_distribution,
    load_world,
    parse_prefix,
)
from motif_discovery.toy_world.labels import content_word, label
from motif_discovery.toy_world.replacement import load_replacement_model
from motif_discovery.utils.io import read_jsonl

SPANS = ("full", "lcs_plus_one", "post_lcs")
POOLINGS = ("mean", "sum", "max")


def nearest_same(x: np.ndarray, labels: np.ndarray, words: np.ndarray | None = None) -> float:
    """Share of rows whose L1-nearest other row has the same label (with `words`: among
    the rows of another content word, so that the same word in other wording is no help)."""
    d = torch.cdist(torch.from_numpy(x).double(), torch.from_numpy(x).double(), p=1)
    d.fill_diagonal_(torch.inf)
    if words is not None:
        d[torch.from_numpy(words[:, None] == words[None, :])] = torch.inf
    return float((labels[d.argmin(1).numpy()] == labels).mean())


def kmeans_ari(x: np.ndarray, labels: np.ndarray) -> float:
    k = len(set(labels))
    found = KMeans(k, n_init=10, random_state=0).fit_predict(x)
    return float(adjusted_rand_score(labels, found))


def figures(a: torch.Tensor, p: torch.Tensor, lengths: np.ndarray, families, words) -> dict:
    centred, h_0, _ = centre_and_scale(a, p)
    distance = (a - h_0).abs().sum(1).numpy()
    x = centred.numpy()
    return {
        "spearman_l1_to_H0_vs_length": float(spearmanr(distance, lengths).statistic),
        "kmeans_ari_family": kmeans_ari(x, families),
        "nn_same_family": nearest_same(x, families),
        "nn_same_family_other_word": nearest_same(x, families, words),
    }


def cloze_figures(model, row, world) -> dict:
    context, texts, conts, _ = planted_continuations(model, row["id"])
    families = np.array([label(row["text"], t, world).family for t in texts])
    words = np.array([content_word(t) for t in texts])
    probs = continuation_distribution(parse_prefix(row["text"]), world)
    p = torch.tensor([probs[t][1] for t in texts], dtype=torch.float32)
    lengths = np.array([len(c) for c in conts])
    ctx = model.setup_attribution(torch.tensor(context))
    sources = SourceIndex.from_context(ctx, len(context), None)

    def rows_of(shift: int):
        rows = target_rows(
            conts,
            len(context),
            [0] * len(conts),
            pooling="sum",
            position_shift=shift,
            per_token=True,
        )
        return rows, attribute_rows(model, ctx, sources, context, conts, rows, 256)

    rows, values = rows_of(0)
    owners = torch.tensor([r.owner for r in rows])
    index = torch.tensor([r.positions[0] - len(context) + 1 for r in rows])
    shared = shared_prefix_lengths(conts)
    out = {
        "cloze": row["id"],
        "n": len(texts),
        "families": sorted(set(families)),
        "length_only": {
            "kmeans_ari_family": kmeans_ari(lengths[:, None].astype(float), families),
            "nn_same_family": nearest_same(lengths[:, None].astype(float), families),
            "nn_same_family_other_word": nearest_same(
                lengths[:, None].astype(float), families, words
            ),
        },
    }
    for span in SPANS:
        starts = torch.tensor(
            [span_start(len(c), s, span) for c, s in zip(conts, shared, strict=True)]
        )
        keep = index >= starts[owners]
        size = torch.bincount(owners[keep], minlength=len(conts)).float()
        for pooling in POOLINGS:
            a = pool(values[keep], owners[keep], len(conts), pooling)
            if pooling == "mean":
                a = a / size[:, None]
            out[f"{span}/{pooling}"] = figures(a, p, lengths, families, words)
    _, shifted = rows_of(1)
    mean = pool(shifted, owners, len(conts), "sum") / torch.tensor(lengths)[:, None]
    out["full/mean/reference_shift"] = figures(mean.float(), p, lengths, families, words)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clozes", type=int, default=6)
    parser.add_argument("--min-families", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    model = load_replacement_model(DATA / "model", DATA / "transcoders")
    world = load_world(DATA / "world.json")
    rows = [r for r in read_jsonl(DATA / "clozes.jsonl") if len(r["families"]) >= args.min_families]
    per_cloze = [cloze_figures(model, row, world) for row in rows[: args.clozes]]
    keys = [f"{s}/{p}" for s in SPANS for p in POOLINGS] + ["full/mean/reference_shift"]
    summary = {
        key: {
            metric: round(float(np.mean([c[key][metric] for c in per_cloze])), 4)
            for metric in per_cloze[0][key]
        }
        for key in keys
    }
    summary["length_only"] = {
        metric: round(float(np.mean([c["length_only"][metric] for c in per_cloze])), 4)
        for metric in per_cloze[0]["length_only"]
    }
    report = {
        "clozes": len(per_cloze),
        "seconds": round(time.perf_counter() - started, 1),
        "summary": summary,
        "per_cloze": per_cloze,
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Stage 3's speed on a toy cloze: one backward pass per continuation vs one per token; JSON.

    python benchmarks/bench_attribution.py [--cloze toy-000] [--n 400] [--batch-size 64]
        [--device cpu] [--threads 1]

The continuations are the toy generator's planted texts after the cloze (the first n).
Three ways to get the same mean-pooled rows a_n (max |difference| reported):
- pooled: one row per continuation, every target of it injected at once (stage 3);
- per_token: one row per target token, batch_size rows per pass, then averaged;
- reference_style: one continuation at a time, one row per token (the reference's loop).
Peak memory: the process's maximum resident set (CPU) or torch's CUDA peak.
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from pathlib import Path

import torch

from motif_discovery.attribution.compute import (
    AttributionSettings,
    attribute_prefix,
    attribute_rows,
    pool,
)
from motif_discovery.attribution.sources import SourceIndex
from motif_discovery.attribution.targets import target_rows
from motif_discovery.toy_world.grammar import load_world, parse_prefix, planted_texts
from motif_discovery.toy_world.replacement import load_replacement_model
from motif_discovery.utils.io import read_jsonl

DATA = Path(__file__).resolve().parents[1] / "data" / "toy_world"


def planted_continuations(
    model, cloze_id: str
) -> tuple[list[int], list[str], list[list[int]], list[str]]:
    """(context ids, texts, their token ids, their family) of every planted text of a cloze."""
    row = next(r for r in read_jsonl(DATA / "clozes.jsonl") if r["id"] == cloze_id)
    texts, _, families = planted_texts(parse_prefix(row["text"]), load_world(DATA / "world.json"))
    tok = model.tokenizer
    context = [tok.bos_token_id, *tok(row["text"], add_special_tokens=False).input_ids]
    ids = [tok(t, add_special_tokens=False).input_ids for t in texts]
    return context, texts, ids, families


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def per_token(model, context, conts, batch_size):
    """Mean-pooled rows from one backward row per target token."""
    ctx = model.setup_attribution(torch.tensor(context, device=model.device))
    sources = SourceIndex.from_context(ctx, len(context), None)
    rows = target_rows(
        conts, len(context), [0] * len(conts), pooling="mean", position_shift=0, per_token=True
    )
    values = attribute_rows(model, ctx, sources, context, conts, rows, batch_size)
    return pool(values, torch.tensor([r.owner for r in rows]), len(conts), "mean")


def reference_style(model, context, conts):
    """One continuation at a time, its tokens as the rows of one pass."""
    return torch.cat([per_token(model, context, [c], len(c)) for c in conts])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cloze", default="toy-000")
    parser.add_argument("--n", type=int, default=400)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model = load_replacement_model(DATA / "model", DATA / "transcoders", args.device)
    context, _, conts, _ = planted_continuations(model, args.cloze)
    conts = conts[: args.n]
    settings = AttributionSettings(None, batch_size=args.batch_size)
    attribute_prefix(model, context, conts[:8], settings)  # warm-up
    pooled, t_pooled = timed(lambda: attribute_prefix(model, context, conts, settings).a)
    tokenwise, t_token = timed(lambda: per_token(model, context, conts, args.batch_size))
    reference, t_ref = timed(lambda: reference_style(model, context, conts))
    n_tokens = sum(len(c) for c in conts)
    peak = (
        torch.cuda.max_memory_allocated() / 2**20
        if model.device.type == "cuda"
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    )
    report = {
        "cloze": args.cloze,
        "device": str(model.device),
        "threads": args.threads,
        "batch_size": args.batch_size,
        "continuations": len(conts),
        "target_tokens": n_tokens,
        "d_a": pooled.shape[1],
        "seconds": {"pooled": t_pooled, "per_token": t_token, "reference_style": t_ref},
        "continuations_per_s": {
            "pooled": len(conts) / t_pooled,
            "per_token": len(conts) / t_token,
            "reference_style": len(conts) / t_ref,
        },
        "speedup_pooled_vs_per_token": t_token / t_pooled,
        "speedup_pooled_vs_reference_style": t_ref / t_pooled,
        "max_abs_diff_vs_per_token": (pooled - tokenwise).abs().max().item(),
        "max_abs_diff_vs_reference_style": (pooled - reference).abs().max().item(),
        "peak_memory_mib": peak,
        "peak_memory_kind": "cuda_max_allocated" if model.device.type == "cuda" else "max_rss",
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

"""Toy-world transcoders and replacement model against the real model; prints JSON.

    python benchmarks/toy_world_transcoders.py [--dir data/toy_world] [--threads 1]

- per layer: fraction of variance unexplained (FVU) and mean L0 on the training run's
  held-out episodes;
- top-1 agreement of the real model with every MLP replaced (positions >= 1, no error nodes);
- with error nodes: the real model rerun with MLP outputs = circuit-tracer's features decoded
  + b_dec + its error vectors; max |logit difference| to the unpatched run;
- circuit-tracer: replacement-model load time, and `attribute` time and size per cloze prefix.
"""

import argparse
import json
import os
import platform
import time
from pathlib import Path

import torch
from circuit_tracer import attribute

from motif_discovery.toy_world.lm import load_toy_model
from motif_discovery.toy_world.replacement import (
    load_replacement_model,
    load_transcoders,
    logits_with_mlp_outputs,
    read_metadata,
    replacement_mlp_outputs,
)
from motif_discovery.toy_world.transcoders import (
    TrainSettings,
    collect_mlp_pairs,
    corpus,
    reconstruction_figures,
    split_corpus,
    top1_agreement,
)


@torch.no_grad()
def error_node_max_diff(model, transcoders, replacement, ids: torch.Tensor) -> float:
    """max |logits(MLPs := decoded features + b_dec + error) - logits(real)| on one prompt."""
    ctx = replacement.setup_attribution(ids)
    acts = ctx.activation_matrix.to_dense()

    real = model(input_ids=ids[None]).logits[0]
    outputs = replacement_mlp_outputs(transcoders, acts, ctx.error_vectors)
    patched = logits_with_mlp_outputs(model, outputs, ids)
    return float((patched - real).abs().max())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=Path("data/toy_world"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--prompts", type=int, default=8, help="cloze prefixes to attribute")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    model_dir, tc_dir = args.dir / "model", args.dir / "transcoders"
    metadata = read_metadata(tc_dir)
    settings = TrainSettings(**metadata["settings"])
    model, tokenizer = load_toy_model(model_dir)
    transcoders = load_transcoders(tc_dir)

    documents = corpus(tokenizer, metadata["seed"], settings.n_episodes, metadata["small"])
    _, heldout = split_corpus(documents, settings.heldout_fraction)
    pairs = collect_mlp_pairs(model, heldout, settings.collect_batch, tokenizer.pad_token_id)
    layers = [
        {"layer": layer, **reconstruction_figures(transcoders[layer], h, m)}
        for layer, (h, m) in enumerate(pairs)
    ]
    agreement = top1_agreement(model, transcoders, heldout, tokenizer.pad_token_id)

    started = time.perf_counter()
    replacement = load_replacement_model(model_dir, tc_dir)
    load_seconds = time.perf_counter() - started
    clozes = [
        json.loads(line)["text"]
        for line in (args.dir / "clozes.jsonl").read_text().splitlines()[: args.prompts]
    ]
    attributions, max_diff = [], 0.0
    for prompt in clozes:
        ids = replacement.ensure_tokenized(prompt)
        max_diff = max(max_diff, error_node_max_diff(model, transcoders, replacement, ids))
        started = time.perf_counter()
        graph = attribute(prompt, replacement, max_n_logits=5, batch_size=64)
        seconds = time.perf_counter() - started
        real_top = int(model(input_ids=ids[None]).logits[0, -1].argmax())
        attributions.append(
            {
                "n_tokens": len(ids),
                "seconds": round(seconds, 3),
                "active_features": len(graph.active_features),
                "top_logit_is_real_argmax": graph.logit_targets[0].vocab_idx == real_top,
            }
        )
    print(
        json.dumps(
            {
                "machine": platform.processor() or platform.machine(),
                "threads": args.threads,
                "load_average": os.getloadavg(),
                "d_transcoder": metadata["d_transcoder"],
                "k": metadata["activation"]["k"],
                "heldout_positions": len(pairs[0][0]),
                "layers": layers,
                "top1_agreement_no_error_nodes": agreement,
                "error_nodes_max_abs_logit_diff": max_diff,
                "replacement_load_seconds": round(load_seconds, 3),
                "attribute": attributions,
                "attribute_mean_seconds": round(
                    sum(a["seconds"] for a in attributions) / len(attributions), 3
                ),
                "training": metadata["figures"],
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

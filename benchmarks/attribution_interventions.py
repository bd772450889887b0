"""How well do direct attributions predict the free real model's response? JSON.

    python benchmarks/attribution_interventions.py [--clozes 4] [--per-cloze 8] [--top 5]

tests/attribution/test_interventions.py shows that, with attention patterns, norm scales
and the other MLP outputs held, adding eps * a_s * W_dec[s] at the top-attributed features
changes the pooled target by exactly eps * sum_s A(s -> target). Here nothing is held: the
real toy model (Hugging Face forward, the addition made by a forward hook on the MLP) lets
attention, norms and later MLPs react. For planted continuations of the first clozes
(every `step`-th text), the top features by |A| of the mean-pooled row (full span) are
scaled by eps; reported: the share of cases where the real change has the predicted sign,
and the median of real change / predicted change.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from bench_attribution import DATA, planted_continuations

from motif_discovery.attribution.compute import AttributionSettings, attribute_prefix
from motif_discovery.toy_world.lm import load_toy_model, mlp_hooks
from motif_discovery.toy_world.replacement import load_replacement_model
from motif_discovery.utils.io import read_jsonl

EPS = (0.01, 0.1, -0.01, -0.1, -0.5, -1.0)


@torch.no_grad()
def pooled_target(model, seq: list[int], n_prefix: int, cont: list[int], hook=None) -> float:
    """Mean over the continuation of logit(t_j) - mean_v logit(v) at the predicting position."""
    if hook is None:
        logits = model(input_ids=torch.tensor([seq])).logits[0].double()
    else:
        with mlp_hooks(model, hook):
            logits = model(input_ids=torch.tensor([seq])).logits[0].double()
    centred = logits - logits.mean(-1, keepdim=True)
    positions = torch.arange(len(cont)) + n_prefix - 1
    return centred[positions, torch.tensor(cont)].mean().item()


def adding(deltas: torch.Tensor):
    """MLP hook that adds deltas[layer] [T, d] to the MLP output."""
    return lambda layer, _inp, out: out + deltas[layer]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clozes", type=int, default=4)
    parser.add_argument("--per-cloze", type=int, default=8)
    parser.add_argument("--top", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    replacement = load_replacement_model(DATA / "model", DATA / "transcoders")
    real, _ = load_toy_model(DATA / "model")
    W_dec = [tc.W_dec.detach() for tc in replacement.transcoders._module]
    cases = {eps: [] for eps in EPS}
    for row in read_jsonl(DATA / "clozes.jsonl")[: args.clozes]:
        context, _, conts, _ = planted_continuations(replacement, row["id"])
        picked = conts[:: max(1, len(conts) // args.per_cloze)][: args.per_cloze]
        result = attribute_prefix(replacement, context, picked, AttributionSettings(None))
        src = result.sources
        for n, cont in enumerate(picked):
            a = result.a[n, : src.n_features]
            top = a.abs().argsort(descending=True)[: args.top]
            seq = [*context, *cont]
            base = pooled_target(real, seq, len(context), cont)
            deltas = torch.zeros(len(W_dec), len(seq), W_dec[0].shape[1])
            for i in top:
                layer, pos = src.feature_layer[i], src.feature_position[i]
                deltas[layer, pos] += src.feature_activation[i] * W_dec[layer][src.feature_id[i]]
            for eps in EPS:
                hook = adding(eps * deltas)
                change = pooled_target(real, seq, len(context), cont, hook) - base
                cases[eps].append((change, eps * a[top].sum().item()))
    report = {
        "continuations": len(cases[EPS[0]]),
        "top_features": args.top,
        "by_eps": {
            str(eps): {
                "predicted_sign_share": float(np.mean([c * p > 0 for c, p in found])),
                "median_real_over_predicted": float(np.median([c / p for c, p in found])),
            }
            for eps, found in cases.items()
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

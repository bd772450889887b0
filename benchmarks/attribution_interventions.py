"""How well do direct attributions predict the real model's response, and which held part
makes them exact? JSON.

    python benchmarks/attribution_interventions.py [--clozes 4] [--per-cloze 8] [--top 5]

For planted continuations of the first clozes (evenly spaced over each cloze's texts), the
top features by |A| of the mean-pooled row (full span) are scaled: eps * a_s * W_dec[s] is
added to their layer's MLP output at their position, on the real toy model
(attribution/frozen.py), with nothing held (the free model), or with some of the norm
scales, attention patterns and other MLP outputs held at their clean values. Holding all
three is the attribution's own linear model (tests/attribution/test_interventions.py).
Reported per held set and eps: the share of cases where the change of the pooled target
has the predicted sign, and the median of real change / predicted change.
"""

from __future__ import annotations

import argparse
import json

import numpy as np
import torch
from bench_attribution import DATA, planted_continuations

from motif_discovery.attribution.compute import AttributionSettings, attribute_prefix
from motif_discovery.attribution.frozen import FrozenRun, centred
from motif_discovery.toy_world.lm import load_toy_model
from motif_discovery.toy_world.replacement import load_replacement_model
from motif_discovery.utils.io import read_jsonl

EPS = (0.01, -0.01, -0.5, -1.0)
HOLDS = ((), ("mlp",), ("attention",), ("norm",), ("norm", "mlp"), ("norm", "attention", "mlp"))


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
    cases: dict[tuple, list[tuple[float, float]]] = {(h, e): [] for h in HOLDS for e in EPS}
    for row in read_jsonl(DATA / "clozes.jsonl")[: args.clozes]:
        context, _, conts, _ = planted_continuations(replacement, row["id"])
        picked = conts[:: max(1, len(conts) // args.per_cloze)][: args.per_cloze]
        result = attribute_prefix(replacement, context, picked, AttributionSettings(None))
        src = result.sources
        for n, cont in enumerate(picked):
            a = result.a[n, : src.n_features]
            top = a.abs().argsort(descending=True)[: args.top]
            seq = [*context, *cont]
            positions = torch.arange(len(cont)) + len(context) - 1
            run = FrozenRun(real, seq)
            base = centred(run.clean)[positions, torch.tensor(cont)].mean().item()
            deltas = torch.zeros(len(W_dec), len(seq), W_dec[0].shape[1])
            for i in top:
                layer, pos = src.feature_layer[i], src.feature_position[i]
                deltas[layer, pos] += src.feature_activation[i] * W_dec[layer][src.feature_id[i]]
            for hold in HOLDS:
                for eps in EPS:
                    logits = centred(run.logits(eps * deltas, set(hold)))
                    change = logits[positions, torch.tensor(cont)].mean().item() - base
                    cases[hold, eps].append((change, eps * a[top].sum().item()))
    report = {
        "continuations": len(cases[HOLDS[0], EPS[0]]),
        "top_features": args.top,
        "by_hold_and_eps": {
            f"{'+'.join(hold) or 'free'} eps={eps}": {
                "predicted_sign_share": round(float(np.mean([c * p > 0 for c, p in found])), 4),
                "median_real_over_predicted": round(float(np.median([c / p for c, p in found])), 4),
            }
            for (hold, eps), found in cases.items()
        },
    }
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

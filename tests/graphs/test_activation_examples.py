"""The activation index against a brute-force scan of hand-made source tables."""

import itertools

import numpy as np
import torch

from motif_discovery.attribution.outputs import Sources
from motif_discovery.graphs.activation_examples import ActivationIndex, PrefixSources, context


def prefix(prefix_id: str, rows: list[tuple], n_tokens: int) -> PrefixSources:
    """rows: (kind, layer, position, feature, activation) per source column."""
    kind, layer, position, feature, activation = zip(*rows, strict=True)
    tokens = [f"<{prefix_id}:{t}>" for t in range(n_tokens)]
    table = Sources(list(kind), list(layer), list(position), list(feature))
    return PrefixSources(prefix_id, table, torch.tensor(activation), tokens)


def test_examples_match_a_brute_force_scan():
    rng = np.random.default_rng(3)
    prefixes = []
    for p in range(5):
        rows = []
        for position, layer, feature in itertools.product(range(12), range(2), range(4)):
            if rng.random() < 0.5:
                kind = "feature" if rng.random() < 0.8 else "error"
                activation = float(rng.choice([0.5, 1.0, 2.0, rng.random()]))  # ties
                rows.append((kind, layer, position, feature, activation))
        prefixes.append(prefix(f"p{p}", rows, 12))
    index = ActivationIndex(prefixes, n=4)
    for layer, feature in itertools.product(range(2), range(5)):
        found = []
        for order, pre in enumerate(prefixes):
            for j in range(len(pre.sources)):
                if (pre.sources.kind[j], pre.sources.layer[j], pre.sources.feature[j]) == (
                    "feature",
                    layer,
                    feature,
                ):
                    found.append((-float(pre.activations[j]), order, j, pre))
        found.sort(key=lambda r: r[:3])
        expected = []
        for _, _, j, pre in found[:4]:
            t = pre.sources.position[j]
            expected.append(
                {
                    "prefix_id": pre.prefix_id,
                    "position": t,
                    "token": pre.tokens[t],
                    "activation": float(pre.activations[j]),
                    "context": "".join(pre.tokens[max(0, t - 9) : t + 1]),
                }
            )
        assert index.examples(layer, feature) == expected
    assert index.examples(0, 4) == []  # feature 4 is never a source


def test_context_keeps_the_last_tokens_up_to_the_position():
    tokens = [f" t{i}" for i in range(20)]
    assert context(tokens, 0) == " t0"
    assert context(tokens, 3) == " t0 t1 t2 t3"
    assert context(tokens, 15) == "".join(tokens[6:16])

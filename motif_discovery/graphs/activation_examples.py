"""Activation examples of transcoder features across every prefix of a run.

A feature (layer, feature id) is a stage-3 source of a prefix at each position where it is
active; stage 3 records its activation there (`activations[j]` of that source column).
The index maps each feature to those (prefix, position) pairs across the run, by
decreasing activation, so each motif's top features can show where else they fire.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from motif_discovery.attribution.outputs import Sources

CONTEXT_TOKENS = 10


@dataclass(frozen=True)
class PrefixSources:
    """What the index reads of one prefix: its stage-3 source index, the activation of each
    source and the decoded token of each context position."""

    prefix_id: str
    sources: Sources
    activations: torch.Tensor  # [d_a]
    tokens: list[str]


def context(tokens: list[str], position: int, width: int = CONTEXT_TOKENS) -> str:
    """The decoded tokens up to and including `position`, the last `width` of them."""
    return "".join(tokens[max(0, position - width + 1) : position + 1])


class ActivationIndex:
    """(layer, feature id) -> its `n` largest activations over the run's (prefix, position)
    pairs, each {prefix_id, position, token, activation, context}. Equal activations keep
    the run's prefix order, then source order."""

    def __init__(self, prefixes: Iterable[PrefixSources], n: int) -> None:
        found: dict[tuple[int, int], list[tuple[float, int, dict]]] = defaultdict(list)
        order = 0
        for prefix in prefixes:
            table = prefix.sources
            for j, kind in enumerate(table.kind):
                if kind != "feature":
                    continue
                position = table.position[j]
                activation = float(prefix.activations[j])
                example = {
                    "prefix_id": prefix.prefix_id,
                    "position": position,
                    "token": prefix.tokens[position],
                    "activation": activation,
                    "context": context(prefix.tokens, position),
                }
                found[(table.layer[j], table.feature[j])].append((-activation, order, example))
                order += 1
        self.examples_of = {
            key: [example for *_, example in sorted(rows, key=lambda r: r[:2])[:n]]
            for key, rows in found.items()
        }

    def examples(self, layer: int, feature: int) -> list[dict]:
        """The feature's activation examples (empty when no prefix has it as a source)."""
        return self.examples_of.get((layer, feature), [])

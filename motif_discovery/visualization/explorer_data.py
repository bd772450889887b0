"""The explorer's motif tables: one row per motif of a partition, from stages 4, 5 and 6.

A row holds the motif's colour, prior Pbar_k = sum_{n in k} P_n / sum_n P_n, size, its
ground-truth family counts (when the features carry a "family" label, or the synthetic
data's planted "motif" label), its most probable
continuations and, when stage 6 ran on the config, its top features. Everything here is
plain JSON; the page escapes it when it renders it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

import torch

from motif_discovery.clustering.rd_objective import prior_of
from motif_discovery.embedding.features import FeatureSet
from motif_discovery.visualization.palette import motif_colour

TRUTH_LABELS = ("family", "motif")  # toy world's planted families; synthetic planted motifs
FEATURE_KEYS = ("layer", "position", "token", "feature", "H_c")


@dataclass(frozen=True)
class Continuations:
    """What the tables show of a prefix's N continuations: text, P_n, family name."""

    texts: list[str]
    p: torch.Tensor  # [N] raw P_n
    families: list[str] | None

    @classmethod
    def of(cls, features: FeatureSet) -> Continuations:
        """From stage 4's features (a run without texts shows the ids); families from
        the first ground-truth label set of TRUTH_LABELS the features carry."""
        texts = features.texts if features.texts is not None else features.continuation_ids
        truth = truth_label(features.labels)
        families = None
        if truth is not None:
            names = features.label_names.get(truth)
            families = [names[v] if names else f"{truth} {v}" for v in features.labels[truth]]
        return cls(list(texts), features.p.double(), families)


def truth_label(label_sets: Iterable[str]) -> str | None:
    """The ground-truth label set shown as "families": the first of TRUTH_LABELS present."""
    present = set(label_sets)
    return next((name for name in TRUTH_LABELS if name in present), None)


def priors(assign: torch.Tensor, p: torch.Tensor, K: int) -> torch.Tensor:
    """Pbar_k = sum_{n in k} P_n / sum_n P_n (stage 5's normalized prior)."""
    return prior_of(assign, p / p.sum(), K)


def top_examples(rows: torch.Tensor, data: Continuations, count: int) -> list[dict]:
    """The `count` most probable members (by P_n): text, P_n, family."""
    order = rows[torch.argsort(data.p[rows], descending=True, stable=True)][:count]
    return [
        {
            "text": data.texts[n],
            "p": float(data.p[n]),
            **({"family": data.families[n]} if data.families else {}),
        }
        for n in order.tolist()
    ]


def stage6_features(graph: dict | None, motif: int) -> list[dict] | None:
    """Motif `motif`'s top features from stage 6's JSON (layer, position, token, feature,
    H_c), or None when stage 6 has not run on this config."""
    if graph is None:
        return None
    for entry in graph.get("motifs", []):
        if int(entry.get("motif", -1)) == motif:
            return [{k: f.get(k) for k in FEATURE_KEYS} for f in entry.get("top_features", [])]
    return []


def motif_table(
    assign: torch.Tensor,
    K: int,
    data: Continuations,
    max_examples: int,
    graph: dict | None = None,
) -> list[dict]:
    """One row per motif k < K: motif, colour, prior, size, families, examples, features."""
    assign = assign.long()
    prior = priors(assign, data.p, K)
    table = []
    for k in range(K):
        rows = torch.nonzero(assign == k).squeeze(1)
        row = {
            "motif": k,
            "colour": motif_colour(k),
            "prior": float(prior[k]),
            "size": int(rows.numel()),
            "examples": top_examples(rows, data, max_examples),
        }
        if data.families:
            row["families"] = dict(Counter(data.families[n] for n in rows.tolist()).most_common())
        features = stage6_features(graph, k)
        if features is not None:
            row["features"] = features
        table.append(row)
    return table


def path_events(record: dict, data: Continuations, max_examples: int) -> list[dict]:
    """Every event of one beta path: beta, K, type, the split's details, its motif table."""
    events = []
    for event in record["events"]:
        assign = torch.tensor(event["assign"], dtype=torch.long)
        split = event.get("split") or {}
        events.append(
            {
                "beta": float(event["beta"]),
                "K": int(event["K"]),
                "type": event.get("type", ""),
                "split_motif": split.get("motif"),
                "children": event.get("children", []),
                "merges": event.get("merges", []),
                "motifs": motif_table(assign, int(event["K"]), data, max_examples),
            }
        )
    return events

"""What the Python API returns: continuations, motifs, the motif hierarchy, steering results.

Each type holds plain Python values (and the clustering centres as tensors) computed by the
stage functions the API calls (docs/api.md maps every field onto its stage).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch


@dataclass
class Continuations:
    """One prefix's distinct continuations, by decreasing P_n (stage 2's records in memory).

    records: stage 2's rows (continuation_id, text, token_ids, token_logprobs, eos, p_n,
    p_norm, multiplicity, backend, seed); summary: stage 2's counts (calls, samples, distinct,
    why sampling stopped, first tokens); context: [BOS] + prompt tokens (model/context.py);
    extra: the prefix's other keys, as a cloze row's (e.g. 'answers' for data.labeler
    'answers'); views: stage 3's and 4's results, kept by MotifDiscovery once computed, keyed
    by ("attributions" or "features", MotifDiscovery.settings_key of the settings they read).
    """

    prefix: str
    prefix_id: str
    context: list[int]
    records: list[dict[str, Any]]
    summary: dict[str, Any]
    extra: dict[str, Any] = field(default_factory=dict)
    views: dict[tuple[str, str], Any] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.records)

    @property
    def ids(self) -> list[str]:
        """Continuation ids `<prefix_id>.<i:04d>`."""
        return [r["continuation_id"] for r in self.records]

    @property
    def texts(self) -> list[str]:
        """The continuations' texts, as generated."""
        return [r["text"] for r in self.records]

    @property
    def token_ids(self) -> list[list[int]]:
        """The continuations' token ids (after the context)."""
        return [list(r["token_ids"]) for r in self.records]

    @property
    def p_n(self) -> list[float]:
        """P_n = prod_j p(t_j | prefix, t_<j), teacher-forced at temperature 1."""
        return [float(r["p_n"]) for r in self.records]

    @property
    def p_norm(self) -> list[float]:
        """P_n / sum_m P_m over the kept continuations."""
        return [float(r["p_norm"]) for r in self.records]

    @property
    def surprisal(self) -> list[list[float]]:
        """-ln p(t_j) of every token of every continuation (stage 3's surprisal pooling)."""
        return [[-float(v) for v in r["token_logprobs"]] for r in self.records]


@dataclass(frozen=True)
class Feature:
    """One top feature source of a motif (stage 6): transcoder feature `feature` of layer
    `layer` read at prefix position `position` (token `token`); weight = H_c[j] (normalized
    units), weight_raw = s H_c[j] + H_0[j], activation = its activation there."""

    layer: int
    position: int
    token: str
    feature: int
    weight: float
    weight_raw: float
    activation: float

    def __repr__(self) -> str:
        return f"L{self.layer}/F{self.feature} at {self.position} {self.token!r} {self.weight:+.3f}"


@dataclass
class Motif:
    """One motif of a clustering (stage 5's RD partition at one beta, gamma).

    id: the motif index in the partition (`assign` value); prior = sum of P_n over members /
    sum over all; members: row indices into the continuations, by decreasing P_n (ties by
    row); examples: the members' texts in that order; member_ids: their continuation ids;
    top_features: stage 6's top feature sources by |H_c|; kind_mass: share of |H_c| per
    source kind; mu_e, mu_a, mu_a_raw: the centres (semantic, attribution normalized and
    raw units); graph: stage 6's whole record of the motif (token scores, family counts...).
    """

    id: int
    prior: float
    members: list[int]
    examples: list[str]
    member_ids: list[str]
    top_features: list[Feature]
    kind_mass: dict[str, float]
    mu_e: torch.Tensor = field(repr=False)
    mu_a: torch.Tensor = field(repr=False)
    mu_a_raw: torch.Tensor = field(repr=False)
    graph: dict[str, Any] = field(repr=False)
    fit: Any = field(default=None, repr=False, compare=False)

    @property
    def size(self) -> int:
        """Number of member continuations."""
        return len(self.members)


@dataclass(frozen=True)
class HierarchyEvent:
    """One event of the beta path: from `beta` on (to the next event) the partition
    `assign` with K motifs and priors `prior` is the lowest-L one; type: start, split, merge,
    split+merge or reassign; children[i]: the motifs that took most of motif i's P-mass of
    the event before; merges: motifs that received most of the mass of several."""

    beta: float
    K: int
    type: str
    children: list[list[int]]
    merges: list[dict]
    assign: list[int]
    prior: list[float]

    def describe(self) -> str:
        """One line: beta, K, and which motif split into which."""
        splits = [f"{i}->{c}" for i, c in enumerate(self.children) if len(c) > 1]
        merged = [f"{m['from']}->{m['into']}" for m in self.merges]
        moves = ", ".join(splits + merged)
        return f"beta={self.beta:.3f} K={self.K} {self.type}" + (f" ({moves})" if moves else "")


@dataclass(frozen=True)
class MotifHierarchy:
    """The beta path of one gamma (stage 5, clustering.beta = "path"): how motifs split as
    beta grows from K = 1. beta_end: the path covers 0 <= beta <= beta_end (None: every
    beta); stopped: why it ended (K_clamp, beta_max, no_split, ...)."""

    prefix_id: str
    gamma: float
    stopped: str
    beta_end: float | None
    events: list[HierarchyEvent]

    def at(self, beta: float) -> HierarchyEvent:
        """The event whose partition holds at `beta` (the last starting at or below it; the
        first event below the first split). ValueError for beta < 0, NaN, or beyond
        beta_end, where the path does not say which partition holds."""
        if not beta >= 0:
            raise ValueError(f"MotifHierarchy.at: beta must be >= 0, got {beta}")
        if self.beta_end is not None and beta > self.beta_end:
            raise ValueError(
                f"MotifHierarchy.at: beta {beta} is beyond beta_end {self.beta_end}: the path "
                f"stopped there ({self.stopped}); raise clustering.K_clamp or beta_max"
            )
        below = [event for event in self.events if event.beta <= beta]
        return below[-1] if below else self.events[0]

    def __str__(self) -> str:
        return "\n".join(event.describe() for event in self.events)


@dataclass(frozen=True)
class SteeringRow:
    """One stage-7c measurement of a motif: `method`'s B features (sign filter
    `selection`) steered at each eps; changes[i] = change of the members' mean centred
    logit at epsilons[i]; Pearson and Spearman of eps vs change (None when unusable)."""

    method: str
    selection: str
    B: int
    epsilons: list[float]
    changes: list[float] | None
    pearson: float | None
    spearman: float | None
    usable: bool
    reason: str | None
    features: list[dict]
    members: list[str]


@dataclass(frozen=True)
class MotifSteering:
    """Stage 7c's rows of one motif (the methods steered: RD, Single, random; every
    selection and B). pearson, spearman, changes: those of the RD row at the first selection
    and largest B; None when RD was not steered (or that row is unusable)."""

    motif: int
    rows: list[SteeringRow]

    @property
    def methods(self) -> list[str]:
        """The methods steered, in row order."""
        return list(dict.fromkeys(r.method for r in self.rows))

    def row(
        self, method: str = "RD", selection: str | None = None, B: int | None = None
    ) -> SteeringRow:
        """The row of (method, selection, B); None picks the method's first selection and
        its largest B. LookupError naming what is there when no row matches."""
        rows = [r for r in self.rows if r.method == method]
        if rows:
            selection = rows[0].selection if selection is None else selection
            rows = [r for r in rows if r.selection == selection]
        if rows:
            B = max(r.B for r in rows) if B is None else B
            rows = [r for r in rows if r.B == B]
        if not rows:
            there = sorted({(r.method, r.selection, r.B) for r in self.rows})
            raise LookupError(
                f"motif {self.motif}: no steering row of method {method!r}, selection "
                f"{selection!r}, B {B!r}; (method, selection, B) there: {there}"
            )
        return rows[0]

    def _rd(self) -> SteeringRow | None:
        """The RD row at the first selection and largest B (None when RD was not steered)."""
        return self.row("RD") if "RD" in self.methods else None

    @property
    def pearson(self) -> float | None:
        row = self._rd()
        return None if row is None else row.pearson

    @property
    def spearman(self) -> float | None:
        row = self._rd()
        return None if row is None else row.spearman

    @property
    def changes(self) -> list[float] | None:
        row = self._rd()
        return None if row is None else row.changes

"""Stage 7c on ground truth (toy world): which families does steering a motif move?

For a prefix with family labels, the families g with >= 3 members (not "other") are probed
by up to max_members of their continuations (drawn with the seed). A steered motif m is
(a) "planted": a family as a motif, H_c = its medoid's raw attribution, or (b) "RD": an RD
motif labelled by its majority family (with its purity). Its top max(B) features (selection
full) are steered at every eps, and for every family g

    slope(m, g) = least-squares slope of change_g(eps) against eps,
    change_g(eps) = mean over g's probes of the mean centred logit of their tokens,
                    minus the unsteered mean.

`by_mechanism` pools the matrix by mechanism (a family name's part before "_": copy,
recall, shortcut, default), averaging the entries that share one.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from motif_discovery.attribution.outputs import Sources
from motif_discovery.attribution.targets import TargetRow
from motif_discovery.clustering.outputs import ConfigResult
from motif_discovery.validation.metrics import slope
from motif_discovery.validation.selection import draw, feature_rows, rd_hypotheses, top_pool
from motif_discovery.validation.steering import Row, Steer, Steerer

MIN_FAMILY = 3
OTHER = "other"


def mechanism(family: str) -> str:
    """The mechanism of a toy-world family name (recall_<attr> -> recall)."""
    return family.split("_")[0]


@dataclass
class Probe:
    """The sequences a confusion is read on and the unsteered mean of each family."""

    sequences: Sequence[Sequence[int]]
    targets: Sequence[TargetRow]
    members: dict[str, np.ndarray]
    unsteered: dict[str, float]


def family_probe(
    steerer: Steerer,
    sequences: Sequence[Sequence[int]],
    targets: Sequence[TargetRow],
    family: np.ndarray,
    names: Sequence[str],
    max_members: int,
    seed: int,
) -> Probe:
    """The probed families (>= 3 members, not "other"), their drawn members and unsteered
    means."""
    members = {
        names[g]: draw(np.flatnonzero(family == g), max_members, seed)
        for g in np.unique(family)
        if names[g] != OTHER and int((family == g).sum()) >= MIN_FAMILY
    }
    rows = [Row(int(i), None) for m in members.values() for i in m]
    values = iter(steerer.measure(sequences, targets, rows))
    unsteered = {name: float(np.mean([next(values) for _ in m])) for name, m in members.items()}
    return Probe(sequences, targets, members, unsteered)


def family_slopes(
    steerer: Steerer, probe: Probe, features: list[dict], epsilons: Sequence[float]
) -> dict[str, float]:
    """slope(m, g) for every probed family g when `features` are steered."""
    rows = [
        Row(int(i), Steer.of(features, eps))
        for eps in epsilons
        for m in probe.members.values()
        for i in m
    ]
    values = steerer.measure(probe.sequences, probe.targets, rows)
    out, at = {}, 0
    per_eps = {name: [] for name in probe.members}
    for _ in epsilons:
        for name, m in probe.members.items():
            per_eps[name].append(values[at : at + len(m)].mean() - probe.unsteered[name])
            at += len(m)
    for name, response in per_eps.items():
        out[name] = slope(epsilons, response)
    return out


def steered_entry(
    steerer: Steerer,
    probe: Probe,
    H_c: torch.Tensor,
    allowed: np.ndarray,
    sources: Sources,
    B_max: int,
    epsilons: Sequence[float],
) -> dict:
    """features (top max(B) by |H_c|) and slopes of one steered motif; slopes None with a
    reason when it has no steerable feature."""
    features = feature_rows(top_pool(H_c, allowed, B_max), H_c, sources)
    if not features:
        return {"features": [], "slopes": None, "reason": "no candidate features"}
    slopes = family_slopes(steerer, probe, features, epsilons)
    return {"features": features, "slopes": slopes, "reason": None}


def by_mechanism(entries: list[dict]) -> dict[str, dict[str, float]]:
    """Mean slope per (steered motif's mechanism, moved family's mechanism)."""
    cells: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for entry in entries:
        if entry["slopes"] is None:
            continue
        for name, value in entry["slopes"].items():
            cells[mechanism(entry["family"])][mechanism(name)].append(value)
    return {
        row: {col: float(np.mean(v)) for col, v in sorted(cols.items())}
        for row, cols in sorted(cells.items())
    }


def confusion(
    steerer: Steerer,
    probe: Probe,
    *,
    e: torch.Tensor,
    a_raw: torch.Tensor,
    family: np.ndarray,
    names: Sequence[str],
    results: Sequence[ConfigResult],
    allowed: np.ndarray,
    sources: Sources,
    B_max: int,
    epsilons: Sequence[float],
    gamma_planted: float,
    continuation_ids: Sequence[str],
) -> dict:
    """The planted and RD confusions of one prefix (see the module docstring); the planted
    families' medoids use `gamma_planted`."""
    planted = []
    for g, _, H_c in rd_hypotheses(family, e, a_raw, gamma_planted):
        if names[g] in probe.members:
            entry = steered_entry(steerer, probe, H_c, allowed, sources, B_max, epsilons)
            planted.append({"family": names[g], **entry})
    rd = []
    for result in results:
        assign = result.assign.numpy()
        for motif, members, H_c in rd_hypotheses(assign, e, a_raw, result.gamma):
            counts = np.bincount(family[members], minlength=len(names))
            entry = steered_entry(steerer, probe, H_c, allowed, sources, B_max, epsilons)
            rd.append(
                {
                    "beta": result.beta,
                    "gamma": result.gamma,
                    "motif": motif,
                    "size": len(members),
                    "family": names[int(counts.argmax())],
                    "purity": float(counts.max() / len(members)),
                    **entry,
                }
            )
    return {
        "families": list(probe.members),
        "members": {name: [continuation_ids[i] for i in m] for name, m in probe.members.items()},
        "gamma_planted": gamma_planted,
        "unsteered": probe.unsteered,
        "planted": planted,
        "RD": rd,
        "by_mechanism": {"planted": by_mechanism(planted), "RD": by_mechanism(rd)},
    }


def pooled(confusions: Sequence[dict]) -> dict:
    """Mean over prefixes of the by-mechanism matrices (planted and RD), with the number of
    prefixes behind each cell."""
    out = {}
    for kind in ("planted", "RD"):
        cells: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for c in confusions:
            for row, cols in c["by_mechanism"][kind].items():
                for col, value in cols.items():
                    cells[row][col].append(value)
        out[kind] = {
            row: {col: {"slope": float(np.mean(v)), "prefixes": len(v)} for col, v in cols.items()}
            for row, cols in sorted(cells.items())
        }
    return out

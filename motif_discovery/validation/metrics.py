"""Stage 7c's figures: logit changes, per-motif correlations, aggregates.

Per motif and eps: change(eps) = mean_members v(eps) - mean_members v(0), v the mean
centred logit of a member's continuation tokens (validation.steering). Per motif: Pearson
and Spearman (tie-aware: average ranks) of the eps against the changes, with p-values.
Aggregate per (method, beta, gamma, selection, B): mean over motifs, then over prefixes,
(a) usable motifs only and (b) unusable motifs counted as 0 (the reference's).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence

import numpy as np
from scipy import stats

CONSTANT_ATOL = 1e-6  # changes spanning less than this (logit units) are a constant response
GROUP_KEYS = ("method", "beta", "gamma", "selection", "B")
SCORES = ("pearson", "spearman")


def changes(steered: np.ndarray, unsteered: np.ndarray) -> list[float]:
    """[n_eps]: mean over members of steered [n_eps, members] minus that of unsteered [members]."""
    return [float(x) for x in steered.mean(axis=1) - unsteered.mean()]


def slope(x: Sequence[float], y: Sequence[float]) -> float:
    """Least-squares slope of y against x: sum (x - x̄)(y - ȳ) / sum (x - x̄)^2."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    dx = x - x.mean()
    return float(dx @ (y - y.mean()) / (dx @ dx))


def correlations(epsilons: Sequence[float], response: Sequence[float]) -> dict:
    """Pearson and Spearman of eps vs change with p-values; a response spanning less than
    CONSTANT_ATOL is unusable (no correlation is defined)."""
    response = np.asarray(response, dtype=float)
    if np.ptp(response) < CONSTANT_ATOL:
        return unusable("constant response")
    pearson = stats.pearsonr(epsilons, response)
    spearman = stats.spearmanr(epsilons, response)
    return {
        "pearson": float(pearson.statistic),
        "pearson_p": float(pearson.pvalue),
        "spearman": float(spearman.statistic),
        "spearman_p": float(spearman.pvalue),
        "usable": True,
        "reason": None,
    }


def unusable(reason: str) -> dict:
    """The correlation fields of a motif without usable signal."""
    return {
        "pearson": None,
        "pearson_p": None,
        "spearman": None,
        "spearman_p": None,
        "usable": False,
        "reason": reason,
    }


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return sum(values) / len(values) if values else None


def aggregate(prefix_rows: dict[str, list[dict]]) -> list[dict]:
    """One row per (method, beta, gamma, selection, B) over prefix_id -> that prefix's rows:
    per score, the mean over motifs then over prefixes, usable only (`<score>`, over the
    prefixes with a usable motif) and with unusable motifs as 0 (`<score>_unusable_as_0`);
    counts of prefixes, motifs and unusable motifs."""
    groups: dict[tuple, dict[str, list[dict]]] = defaultdict(lambda: defaultdict(list))
    for prefix_id, rows in prefix_rows.items():
        for row in rows:
            groups[tuple(row[k] for k in GROUP_KEYS)][prefix_id].append(row)
    out = []
    for key in sorted(groups, key=lambda k: tuple(map(str, k))):
        by_prefix = groups[key]
        entry = dict(zip(GROUP_KEYS, key, strict=True))
        for score in SCORES:
            usable = [_mean(r[score] for r in rows if r["usable"]) for rows in by_prefix.values()]
            as_zero = [
                _mean(r[score] if r["usable"] else 0.0 for r in rows) for rows in by_prefix.values()
            ]
            entry[score] = _mean(v for v in usable if v is not None)
            entry[f"{score}_unusable_as_0"] = _mean(as_zero)
        motifs = [r for rows in by_prefix.values() for r in rows]
        entry["prefixes"] = len(by_prefix)
        entry["motifs"] = len(motifs)
        entry["unusable"] = sum(not r["usable"] for r in motifs)
        out.append(entry)
    return out


def table_rows(aggregates: list[dict]) -> list[dict]:
    """The printed table: per (method, selection, B), the aggregates' scores averaged over
    the (beta, gamma) configs, with summed counts."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for row in aggregates:
        groups[(row["method"], row["selection"], row["B"])].append(row)
    out = []
    for (method, selection, B), rows in groups.items():
        entry = {"method": method, "selection": selection, "B": B, "configs": len(rows)}
        for field in ("spearman", "spearman_unusable_as_0", "pearson", "pearson_unusable_as_0"):
            entry[field] = _mean(r[field] for r in rows if r[field] is not None)
        entry["motifs"] = sum(r["motifs"] for r in rows)
        entry["unusable"] = sum(r["unusable"] for r in rows)
        out.append(entry)
    return out


def format_table(rows: list[dict]) -> str:
    """Fixed-width text of table_rows: mean Spearman (usable only; unusable as 0), mean
    Pearson (usable only), usable/total motifs."""

    def num(v: float | None) -> str:
        return f"{v:>10.3f}" if v is not None and not math.isnan(v) else f"{'-':>10}"

    head = f"{'method':<8}{'selection':<10}{'B':>4}{'spearman':>10}{'sp(as 0)':>10}"
    head += f"{'pearson':>10}{'usable':>10}"
    lines = ["stage 7c steering: correlation of eps with the logit change", head]
    for r in rows:
        lines.append(
            f"{r['method']:<8}{r['selection']:<10}{r['B']:>4}{num(r['spearman'])}"
            f"{num(r['spearman_unusable_as_0'])}{num(r['pearson'])}"
            f"{r['motifs'] - r['unusable']:>6d}/{r['motifs']:<3d}"
        )
    return "\n".join(lines)

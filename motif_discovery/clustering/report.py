"""The table stage 5 ends with: how well each method's motifs match ground-truth labels.

Per prefix and (beta, gamma) config of the grid: N, RD's K and the ARI of RD and each
baseline against one label set, read from each prefix's
`summary.json`; the last row averages each column over prefixes (unweighted).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from motif_discovery.utils.io import read_json

METHODS = ("RD", "KM-S", "KM-A", "Co-Reg")


def match_rows(summaries: list[dict[str, Any]], label: str) -> list[dict[str, Any]]:
    """One row per (prefix, config): prefix_id, beta, gamma, N, K and ARI per method
    (NaN where a method did not run or the prefix has no such labels)."""
    rows = []
    for summary in summaries:
        for config in summary.get("configs", []):
            scores = config["scores"]
            rows.append(
                {
                    "prefix_id": summary["prefix_id"],
                    "beta": config["beta"],
                    "gamma": config["gamma"],
                    "N": summary["n"],
                    "K": config["K"],
                    **{m: scores.get(m, {}).get(f"ARI_{label}", math.nan) for m in METHODS},
                }
            )
    return rows


def mean_row(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Unweighted means of N, K and every method's ARI over `rows` (NaNs skipped)."""
    out = {}
    for key in ("N", "K", *METHODS):
        values = [r[key] for r in rows if not math.isnan(r[key])]
        out[key] = sum(values) / len(values) if values else math.nan
    return out


def format_table(rows: list[dict[str, Any]], label: str) -> str:
    """The rows as a fixed-width text table, one block per config, with its mean row."""
    lines = []
    configs = sorted({(r["beta"], r["gamma"]) for r in rows})
    head = f"{'prefix':<24}{'N':>6}{'K':>5}" + "".join(f"{m:>9}" for m in METHODS)
    for beta, gamma in configs:
        block = [r for r in rows if (r["beta"], r["gamma"]) == (beta, gamma)]
        lines += [f"ARI against the {label} labels at beta={beta:g}, gamma={gamma:g}", head]
        for r in block:
            ari = "".join(f"{r[m]:>9.3f}" for m in METHODS)
            lines.append(f"{r['prefix_id']:<24}{r['N']:>6d}{r['K']:>5d}{ari}")
        mean = mean_row(block)
        ari = "".join(f"{mean[m]:>9.3f}" for m in METHODS)
        lines.append(f"{'mean':<24}{mean['N']:>6.0f}{mean['K']:>5.1f}{ari}")
    return "\n".join(lines)


def report(
    stage_dir: Path, prefix_ids: list[str], labels: tuple[str, ...] = ("family", "motif")
) -> str | None:
    """The table for the first label set in `labels` that the prefixes' summary.json files
    score (toy world: the planted family; synthetic data: the planted motif); None if
    none do (no labels, or the beta path, whose summary lists events instead of configs)."""
    summaries = []
    for prefix_id in prefix_ids:
        path = stage_dir / prefix_id / "summary.json"
        if path.is_file():
            summaries.append(read_json(path))
    for label in labels:
        rows = [r for r in match_rows(summaries, label) if not math.isnan(r["RD"])]
        if rows:
            return format_table(rows, label)
    return None

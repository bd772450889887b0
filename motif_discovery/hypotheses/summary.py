"""Aggregates and figures the three experiments share: mean/min/max over prefixes, the
paired Wilcoxon test, a bar chart PNG, the JSON and PNG written under
`<run_dir>/hypotheses/`."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np
from scipy.stats import wilcoxon

from motif_discovery.utils.io import write_json
from motif_discovery.visualization.static import new_figure, save_png

OUT_DIR = "hypotheses"
DPI = 120


def stats(values: Iterable[float | None]) -> dict:
    """mean, std, min, max and n of the defined (not None, not NaN) values; None without any."""
    found = np.array([v for v in values if v is not None and np.isfinite(v)], dtype=float)
    if not len(found):
        return {"mean": None, "std": None, "min": None, "max": None, "n": 0}
    return {
        "mean": float(found.mean()),
        "std": float(found.std()),
        "min": float(found.min()),
        "max": float(found.max()),
        "n": len(found),
    }


def paired_test(a: Sequence[float], b: Sequence[float]) -> dict:
    """Wilcoxon signed-rank test (scipy, two-sided) of the pairs' differences a - b (None
    when no difference is nonzero); the shares of pairs with a > b and with a = b, the mean
    difference and the number of pairs n. The pairs must be independent units."""
    diff = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    out = {
        "n": len(diff),
        "share_higher": float(np.mean(diff > 0)) if len(diff) else None,
        "share_tied": float(np.mean(diff == 0)) if len(diff) else None,
        "mean_difference": float(diff.mean()) if len(diff) else None,
        "wilcoxon_statistic": None,
        "wilcoxon_p": None,
    }
    if np.any(diff != 0):
        test = wilcoxon(diff)
        out["wilcoxon_statistic"] = float(test.statistic)
        out["wilcoxon_p"] = float(test.pvalue)
    return out


def bar_chart(
    path: Path,
    title: str,
    groups: Sequence[str],
    series: dict[str, Sequence[float | None]],
    ylabel: str,
) -> Path:
    """Grouped bars: one group per entry of `groups`, one bar per series (None: no bar)."""
    figure = new_figure(1.6 + 1.1 * len(groups) * max(1, len(series)) / 2, 3.6)
    ax = figure.add_subplot()
    width = 0.8 / max(1, len(series))
    x = np.arange(len(groups))
    for i, (name, values) in enumerate(series.items()):
        heights = [np.nan if v is None else v for v in values]
        ax.bar(x + (i - (len(series) - 1) / 2) * width, heights, width, label=name)
    ax.set_xticks(x, groups, rotation=20, ha="right")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.axhline(0, color="black", linewidth=0.6)
    ax.legend(fontsize=8)
    return save_png(figure, path, DPI)


def write_result(run_dir: Path, name: str, result: dict) -> Path:
    """`<run_dir>/hypotheses/<name>.json`."""
    path = Path(run_dir) / OUT_DIR / f"{name}.json"
    write_json(path, result)
    return path

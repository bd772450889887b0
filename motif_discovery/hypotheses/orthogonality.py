"""H1, orthogonality: the semantic-only and attribution-only clusterings of a prefix carry
different information.

Per prefix, at its studied config (readers.studied_config; one per prefix, so the rows
are independent): ARI and NMI between KM-S (k-means on the semantic view e)
and KM-A (k-means on the attribution view a), both at RD's K, and between RD and each of
them; with planted labels, ARI and NMI of RD, KM-S and KM-A against every label kind.
ARI and NMI are clustering/metrics.py's (NMI with the arithmetic-mean normalization,
NMI = I(U; V) / ((H(U) + H(V)) / 2)). H1 holds when ARI(KM-S, KM-A) and NMI(KM-S, KM-A)
are well below 1.
"""

from __future__ import annotations

from pathlib import Path

from motif_discovery.clustering.metrics import ari, nmi
from motif_discovery.hypotheses.readers import METHODS, partitions, run_config
from motif_discovery.hypotheses.summary import OUT_DIR, bar_chart, stats, write_result

PAIRS = (("KM-S", "KM-A"), ("RD", "KM-S"), ("RD", "KM-A"))


def prefix_row(parts) -> dict:
    """The figures of one prefix at its studied config."""
    row = {"prefix_id": parts.prefix_id, "config": parts.config, "K": parts.K, "pairs": {}}
    for u, v in PAIRS:
        row["pairs"][f"{u} vs {v}"] = {
            "ARI": ari(parts.assign[u], parts.assign[v]),
            "NMI": nmi(parts.assign[u], parts.assign[v]),
        }
    row["labels"] = {
        kind: {
            method: {
                "ARI": ari(truth, parts.assign[method]),
                "NMI": nmi(truth, parts.assign[method]),
            }
            for method in METHODS
        }
        for kind, truth in parts.features.labels.items()
    }
    return row


def aggregate(rows: list[dict]) -> dict:
    """Mean (std, min, max, n) over rows of every pair's and every label score."""
    out: dict = {"pairs": {}, "labels": {}}
    for pair in {p for r in rows for p in r["pairs"]}:
        out["pairs"][pair] = {m: stats(r["pairs"][pair][m] for r in rows) for m in ("ARI", "NMI")}
    kinds = sorted({k for r in rows for k in r["labels"]})
    for kind in kinds:
        have = [r["labels"][kind] for r in rows if kind in r["labels"]]
        out["labels"][kind] = {
            method: {m: stats(h[method][m] for h in have) for m in ("ARI", "NMI")}
            for method in METHODS
        }
    return out


def run(run_dir: Path) -> dict:
    """H1 over the run's prefixes (one config each); writes h1.json and h1.png."""
    run_dir = Path(run_dir)
    config = run_config(run_dir)
    rows = [prefix_row(parts) for parts in partitions(run_dir, config)]
    result = {
        "hypothesis": "H1: semantic (KM-S) and attribution (KM-A) clusterings disagree",
        "prefixes": sorted({r["prefix_id"] for r in rows}),
        "rows": rows,
        "aggregate": aggregate(rows),
    }
    write_result(run_dir, "h1", result)
    if rows:
        pairs = [" vs ".join(p) for p in PAIRS]
        agg = result["aggregate"]
        series = {m: [agg["pairs"][p][m]["mean"] for p in pairs] for m in ("ARI", "NMI")}
        for kind in agg["labels"]:
            for m in METHODS:
                pairs.append(f"{m} vs {kind}")
            for metric in ("ARI", "NMI"):
                series[metric] += [agg["labels"][kind][m][metric]["mean"] for m in METHODS]
        bar_chart(
            run_dir / OUT_DIR / "h1.png",
            f"H1: agreement between clusterings (mean over {len(rows)} prefixes)",
            pairs,
            series,
            "score",
        )
    return result

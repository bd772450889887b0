"""H2, hallucination detection: motif membership separates correct from wrong answers
better than semantic clusters alone.

Correctness c_n in {0, 1} per continuation (readers.correctness; unknown ones, the toy
world's family "other", are left out and counted). For a partition z over the known
continuations, with P-weights w_n = P_n / sum_m P_m:

    r_k = sum_{n in k} w_n c_n / W_k,   W_k = sum_{n in k} w_n   (cluster k's correct rate)
    H(C | Z) = sum_k W_k h(r_k),  h(r) = -r log2 r - (1 - r) log2(1 - r)
    IG = H(C) - H(C | Z),  IG_norm = IG / H(C)   (share of the correctness entropy explained)

and the leave-one-out AUROC of the score s_n = the correct rate of n's cluster without n,
(sum_{m in k, m != n} c_m) / (|k| - 1) (unweighted; a singleton gets the rate of all other
continuations), so a continuation's own label never scores it. Methods: RD, KM-S
(semantic view only) and KM-A (attribution view only) at RD's K; the planted label kinds
are given as references. One row per prefix, at its studied config (readers.studied_config),
so rows are independent: RD against each baseline is paired over prefixes (share higher,
Wilcoxon). H2 holds when RD's IG_norm and AUROC exceed KM-S's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from motif_discovery.hypotheses.readers import (
    METHODS,
    Partitions,
    correctness,
    partitions,
    run_config,
    toy_world,
)
from motif_discovery.hypotheses.summary import (
    OUT_DIR,
    bar_chart,
    paired_test,
    stats,
    write_result,
)

MEASURES = ("H_cond", "IG", "IG_norm", "AUROC")


def binary_entropy(r: np.ndarray) -> np.ndarray:
    """h(r) in bits, h(0) = h(1) = 0."""
    r = np.clip(np.asarray(r, dtype=float), 0.0, 1.0)
    out = np.zeros_like(r)
    inside = (r > 0) & (r < 1)
    q = r[inside]
    out[inside] = -q * np.log2(q) - (1 - q) * np.log2(1 - q)
    return out


def conditional_entropy(correct: np.ndarray, assign: np.ndarray, w: np.ndarray) -> float:
    """H(C | Z) = sum_k W_k h(r_k) with weights w (normalized here)."""
    w = w / w.sum()
    _, z = np.unique(assign, return_inverse=True)
    W = np.bincount(z, weights=w)
    r = np.bincount(z, weights=w * correct) / W
    return float((W * binary_entropy(r)).sum())


def loo_scores(correct: np.ndarray, assign: np.ndarray) -> np.ndarray:
    """s_n: the correct rate of n's cluster without n (singletons: of all others)."""
    _, z = np.unique(assign, return_inverse=True)
    size = np.bincount(z)[z]
    total = np.bincount(z, weights=correct)[z]
    rest = (correct.sum() - correct) / max(len(correct) - 1, 1)
    return np.where(size > 1, (total - correct) / np.maximum(size - 1, 1), rest)


def separation(correct: np.ndarray, assign: np.ndarray, w: np.ndarray) -> dict:
    """H(C | Z), IG, IG_norm and the leave-one-out AUROC of one partition."""
    h = float(binary_entropy(np.array([np.sum(w * correct) / w.sum()]))[0])
    h_cond = conditional_entropy(correct, assign, w)
    both = 0 < correct.sum() < len(correct)
    return {
        "K": len(np.unique(assign)),
        "H_cond": h_cond,
        "IG": h - h_cond,
        "IG_norm": (h - h_cond) / h if h > 0 else None,
        "AUROC": float(roc_auc_score(correct, loo_scores(correct, assign))) if both else None,
    }


def prefix_row(parts: Partitions, c: np.ndarray) -> dict:
    """H2's figures of one prefix at its studied config; c: [N] 1/0/NaN."""
    known = ~np.isnan(c)
    correct = c[known]
    p = parts.features.p.double().numpy()[known]
    w = p if p.sum() > 0 else np.ones_like(p)
    row = {
        "prefix_id": parts.prefix_id,
        "config": parts.config,
        "K": parts.K,
        "n_known": int(known.sum()),
        "n_unknown": int((~known).sum()),
        "correct_share": float(correct.mean()) if len(correct) else None,
        "correct_share_p": float((w * correct).sum() / w.sum()) if len(correct) else None,
        "H_correct": float(binary_entropy(np.array([(w * correct).sum() / w.sum()]))[0])
        if len(correct)
        else None,
        "methods": {},
        "reference": {},
    }
    if not len(correct):
        return row
    for method in METHODS:
        row["methods"][method] = separation(correct, parts.assign[method][known], w)
    for kind, values in parts.features.labels.items():
        if kind != "correct":
            row["reference"][f"planted {kind}"] = separation(correct, np.asarray(values)[known], w)
    return row


def aggregate(rows: list[dict]) -> dict:
    """Per method, each measure's stats over rows (one per prefix); RD paired with each
    baseline over the prefixes where both are defined (paired_test)."""
    rows = [r for r in rows if r["methods"]]
    out: dict = {"methods": {}, "reference": {}, "RD_beats": {}}
    for method in METHODS:
        out["methods"][method] = {m: stats(r["methods"][method][m] for r in rows) for m in MEASURES}
    for ref in sorted({k for r in rows for k in r["reference"]}):
        have = [r["reference"][ref] for r in rows if ref in r["reference"]]
        out["reference"][ref] = {m: stats(h[m] for h in have) for m in MEASURES}
    for other in METHODS[1:]:
        out["RD_beats"][other] = {}
        for m in ("IG", "IG_norm", "AUROC"):
            pairs = [
                (r["methods"]["RD"][m], r["methods"][other][m])
                for r in rows
                if r["methods"]["RD"][m] is not None and r["methods"][other][m] is not None
            ]
            out["RD_beats"][other][m] = paired_test([a for a, _ in pairs], [b for _, b in pairs])
    return out


def run(run_dir: Path) -> dict:
    """H2 over the run's prefixes (one config each); writes h2.json and h2.png."""
    run_dir = Path(run_dir)
    settings = run_config(run_dir)
    world = toy_world(settings) if settings.labeler == "toy_world" else None
    rows = [
        prefix_row(parts, correctness(parts, settings, world))
        for parts in partitions(run_dir, settings)
    ]
    result = {
        "hypothesis": "H2: motif membership separates correct from wrong answers better "
        "than semantic clusters (KM-S)",
        "prefixes": sorted({r["prefix_id"] for r in rows}),
        "rows": rows,
        "aggregate": aggregate(rows),
    }
    write_result(run_dir, "h2", result)
    agg = result["aggregate"]
    if any(r["methods"] for r in rows):
        names = [*METHODS, *agg["reference"]]
        table = {**agg["methods"], **agg["reference"]}
        bar_chart(
            run_dir / OUT_DIR / "h2.png",
            f"H2: separation of correct answers (mean over {len(rows)} prefixes)",
            names,
            {m: [table[n][m]["mean"] for n in names] for m in ("IG_norm", "AUROC")},
            "IG / H(correct), leave-one-out AUROC",
        )
    return result

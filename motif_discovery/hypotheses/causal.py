"""H3, causal validation: steering a motif's features moves its continuations more than
random features or features chosen from semantic clusters (stage 7c's outputs).

Per method (RD, Single, random, KM-Sem), selection and B: the mean over motifs of the
Pearson and Spearman correlation between eps and the change of the members' centred logit
(validation/metrics.py). Paired over motifs, for each control: RD's motif m against Single
and random of the same motif m, and against the KM-Sem cluster matched to m (the one-to-one
matching of RD motifs and KM-S clusters with the most shared continuations, Hungarian);
the Wilcoxon signed-rank test of the paired differences (scipy, two-sided) and the share of
motifs where RD's correlation is higher. With family labels (7c's confusion): per steered
motif, on-target = the slope of its own (majority) family, off-target = the mean slope of
the other probed families; their means, the share with on > off, and the Wilcoxon test.

Only the rows of each prefix's studied config (readers.studied_config) count: the configs
of one prefix steer motifs of the same continuations, so pooling them would count one
motif several times; the motifs of one config are disjoint sets of continuations.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy.optimize import linear_sum_assignment

from motif_discovery.clustering.metrics import contingency
from motif_discovery.clustering.outputs import load_config_result
from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.hypotheses.readers import prefix_config, run_config
from motif_discovery.hypotheses.summary import (
    OUT_DIR,
    bar_chart,
    paired_test,
    stats,
    write_result,
)
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_json

STEERING_DIR = Path("7_validation") / "7c"
CONTROLS = ("random", "Single", "KM-Sem")
SCORES = ("spearman", "pearson")
KM_BASELINE = "KM-S"


def matched_clusters(rd: np.ndarray, km: np.ndarray) -> dict[int, int]:
    """RD motif -> KM-S cluster maximizing the total shared members (one-to-one)."""
    rd_ids, km_ids = np.unique(rd), np.unique(km)
    table = contingency(rd, km)  # rows: sorted RD ids, columns: sorted KM ids
    rows, cols = linear_sum_assignment(-table)
    return {int(rd_ids[r]): int(km_ids[c]) for r, c in zip(rows, cols, strict=True)}


def prefix_pairs(run_dir: Path, output: dict) -> list[dict]:
    """One entry per (selection, B, RD motif, control, score) with both usable, of the
    rows in `output` (the studied config's, see studied_rows)."""
    by_key: dict[tuple, dict] = {}
    for row in output["rows"]:
        key = (row["beta"], row["gamma"], row["selection"], row["B"], row["method"], row["motif"])
        by_key[key] = row
    matches: dict[tuple[float, float], dict[int, int]] = {}
    out = []
    for (beta, gamma, selection, B, method, motif), row in by_key.items():
        if method != "RD" or not row["usable"]:
            continue
        for control in CONTROLS:
            other = motif
            if control == "KM-Sem":
                if (beta, gamma) not in matches:
                    result = load_config_result(run_dir, output["prefix_id"], beta, gamma)
                    km = result.record.get("baseline_assign", {}).get(KM_BASELINE)
                    if km is None:
                        raise InputError(
                            f"{output['prefix_id']} {result.name}: no {KM_BASELINE} assignment"
                        )
                    matches[(beta, gamma)] = matched_clusters(result.assign.numpy(), np.asarray(km))
                other = matches[(beta, gamma)].get(motif)
            found = by_key.get((beta, gamma, selection, B, control, other))
            if found is None or not found["usable"]:
                continue
            for score in SCORES:
                out.append(
                    {
                        "prefix_id": output["prefix_id"],
                        "beta": beta,
                        "gamma": gamma,
                        "selection": selection,
                        "B": B,
                        "motif": motif,
                        "control": control,
                        "control_motif": other,
                        "score": score,
                        "RD": row[score],
                        "other": found[score],
                    }
                )
    return out


def target_movement(confusion: dict) -> list[dict]:
    """On- and off-target slopes of every steered motif (planted families and RD motifs)."""
    out = []
    for kind in ("planted", "RD"):
        for entry in confusion.get(kind, []):
            slopes = entry.get("slopes")
            if not slopes or entry["family"] not in slopes or len(slopes) < 2:
                continue
            off = [v for name, v in slopes.items() if name != entry["family"]]
            out.append(
                {
                    "kind": kind,
                    "family": entry["family"],
                    "on_target": slopes[entry["family"]],
                    "off_target": float(np.mean(off)),
                }
            )
    return out


def studied_rows(output: dict, chosen: tuple[float, float] | None) -> dict:
    """A 7c output with only the rows and RD confusion entries of config `chosen`."""

    def keep(entries: list[dict]) -> list[dict]:
        return [e for e in entries if (e["beta"], e["gamma"]) == chosen]

    out = output | {"rows": keep(output["rows"])}
    if output.get("confusion"):
        out["confusion"] = output["confusion"] | {"RD": keep(output["confusion"].get("RD", []))}
    return out


def read_outputs(run_dir: Path) -> list[dict]:
    """Stage 7c's per-prefix outputs, in the order of prefixes.jsonl, each reduced to its
    prefix's studied config (readers.prefix_config with the run's clustering.K_clamp)."""
    paths = [run_dir / STEERING_DIR / f"{row['prefix_id']}.json" for row in load_prefixes(run_dir)]
    outputs = [read_json(path) for path in paths if path.is_file()]
    if not outputs:
        raise InputError(f"{run_dir / STEERING_DIR}: no stage 7c output; run stage 7 first")
    K_clamp = run_config(run_dir).K_clamp
    return [
        studied_rows(
            out, prefix_config(run_dir, out["prefix_id"], K_clamp) if out["rows"] else None
        )
        for out in outputs
    ]


def run(run_dir: Path) -> dict:
    """H3 over stage 7c's outputs of the run; writes h3.json and h3.png."""
    run_dir = Path(run_dir)
    outputs = read_outputs(run_dir)
    motifs = [row for out in outputs for row in out["rows"]]
    means: dict[tuple, list[dict]] = defaultdict(list)
    for row in motifs:
        means[(row["method"], row["selection"], row["B"])].append(row)
    by_method = [
        {
            "method": method,
            "selection": selection,
            "B": B,
            "motifs": len(rows),
            "usable": sum(r["usable"] for r in rows),
            **{score: stats(r[score] for r in rows if r["usable"]) for score in SCORES},
        }
        for (method, selection, B), rows in sorted(means.items(), key=str)
    ]
    pairs = [p for out in outputs if out["rows"] for p in prefix_pairs(run_dir, out)]
    grouped: dict[tuple, list[dict]] = defaultdict(list)
    for p in pairs:
        grouped[(p["control"], p["selection"], p["B"], p["score"])].append(p)
    paired = [
        {
            "control": control,
            "selection": selection,
            "B": B,
            "score": score,
            **paired_test([p["RD"] for p in group], [p["other"] for p in group]),
        }
        for (control, selection, B, score), group in sorted(grouped.items(), key=str)
    ]
    movement = [
        {"prefix_id": out["prefix_id"], **m}
        for out in outputs
        if out.get("confusion")
        for m in target_movement(out["confusion"])
    ]
    targets = {}
    for kind in ("planted", "RD"):
        rows = [m for m in movement if m["kind"] == kind]
        if rows:
            on, off = [m["on_target"] for m in rows], [m["off_target"] for m in rows]
            targets[kind] = {
                "on_target": stats(on),
                "off_target": stats(off),
                **paired_test(on, off),
            }
    result = {
        "hypothesis": "H3: steering RD motifs' features moves their continuations more than "
        "random, Single-member or semantic-cluster (KM-Sem) features",
        "prefixes": [out["prefix_id"] for out in outputs if out["rows"]],
        "configs": {
            out["prefix_id"]: f"beta={out['rows'][0]['beta']!r},gamma={out['rows'][0]['gamma']!r}"
            for out in outputs
            if out["rows"]
        },
        "by_method": by_method,
        "paired": paired,
        "pairs": pairs,
        "target_movement": {"motifs": movement, "aggregate": targets},
    }
    write_result(run_dir, "h3", result)
    if by_method:
        settings = sorted({(r["selection"], r["B"]) for r in by_method}, key=str)
        methods = ["RD", *CONTROLS]
        table = {(r["method"], r["selection"], r["B"]): r["spearman"]["mean"] for r in by_method}
        bar_chart(
            run_dir / OUT_DIR / "h3.png",
            "H3: mean Spearman(eps, logit change) per method",
            [f"{s} B={B}" for s, B in settings],
            {m: [table.get((m, s, B)) for s, B in settings] for m in methods},
            "mean Spearman",
        )
    return result

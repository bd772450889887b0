"""The experiments' headline figures as short text tables (printed by the scripts)."""

from __future__ import annotations


def fmt(value: float | None) -> str:
    """A figure with two decimals, n/a for None."""
    return "  n/a" if value is None else f"{value:5.2f}"


def h1_table(h1: dict) -> list[str]:
    """Mean ARI and NMI of each pair of clusterings."""
    lines = [f"H1 orthogonality (mean over {len(h1['rows'])} prefixes)          ARI    NMI"]
    for pair, scores in sorted(h1["aggregate"]["pairs"].items()):
        lines.append(f"  {pair:<42} {fmt(scores['ARI']['mean'])}  {fmt(scores['NMI']['mean'])}")
    return lines


def h2_table(h2: dict) -> list[str]:
    """Mean IG / H(C) and leave-one-out AUROC per method."""
    lines = ["H2 detection of correct answers            IG/H(C)  AUROC(LOO)"]
    for method, scores in h2["aggregate"]["methods"].items():
        lines.append(
            f"  {method:<42} {fmt(scores['IG_norm']['mean'])}    {fmt(scores['AUROC']['mean'])}"
        )
    lines.append("  RD paired over prefixes (IG/H(C))           higher  tied  Wilcoxon p")
    for other, scores in h2["aggregate"]["RD_beats"].items():
        row = scores["IG_norm"]
        name = f"vs {other} (n={row['n']})"
        lines.append(
            f"  {name:<42} {fmt(row['share_higher'])}  {fmt(row['share_tied'])}"
            f"  {fmt(row['wilcoxon_p'])}"
        )
    return lines


def h3_table(h3: dict) -> list[str]:
    """Mean correlations per method (selection full) and RD's paired comparisons."""
    lines = ["H3 steering, selection full     mean Spearman  mean Pearson  usable motifs"]
    for row in h3["by_method"]:
        if row["selection"] == "full":
            name = f"{row['method']} B={row['B']}"
            lines.append(
                f"  {name:<30} {fmt(row['spearman']['mean'])}          "
                f"{fmt(row['pearson']['mean'])}         {row['usable']}"
            )
    lines.append("  RD paired over motifs (Spearman)  higher  tied  Wilcoxon p")
    for row in h3["paired"]:
        if row["selection"] == "full" and row["score"] == "spearman":
            name = f"vs {row['control']} B={row['B']} (n={row['n']})"
            lines.append(
                f"  {name:<30}     {fmt(row['share_higher'])}  {fmt(row['share_tied'])}"
                f"  {fmt(row['wilcoxon_p'])}"
            )
    return lines


def summary_table(h1: dict, h2: dict | None, h3: dict | None) -> str:
    """The tables of the experiments that ran."""
    lines = h1_table(h1)
    lines += h2_table(h2) if h2 is not None else ["H2: skipped (no correctness labels)"]
    lines += h3_table(h3) if h3 is not None else ["H3: skipped (no stage 7c output)"]
    return "\n".join(lines)

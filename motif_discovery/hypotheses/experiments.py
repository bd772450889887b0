"""All three experiments on one run directory, optionally after the pipeline (stages 1-7)
(PopQA: after writing its questions as clozes), and the closing summary table."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from motif_discovery.hypotheses import causal, detection, orthogonality
from motif_discovery.hypotheses.popqa import read_popqa, write_clozes
from motif_discovery.pipeline import main as pipeline_main
from motif_discovery.utils.errors import InputError

log = logging.getLogger(__name__)


def run_pipeline(config: str, run_dir: Path, overrides: list[str], last: int = 7) -> None:
    """The driver over stages 1-`last` of `config` into `run_dir`; a failing stage is an
    error."""
    argv = ["--config", config, "--run-dir", str(run_dir), "--to", str(last)]
    for item in overrides:
        argv += ["--set", item]
    code = pipeline_main(argv)
    if code != 0:
        raise InputError(f"the pipeline (stages 1-{last} of {config}) exited with {code}")


def fmt(value: float | None) -> str:
    """A figure with two decimals, n/a for None."""
    return "  n/a" if value is None else f"{value:5.2f}"


def summary_table(h1: dict, h2: dict, h3: dict | None) -> str:
    """Short text table of the headline figures of H1-H3."""
    lines = ["H1 orthogonality (mean over prefix configs)     ARI    NMI"]
    for pair, scores in sorted(h1["aggregate"]["pairs"].items()):
        lines.append(f"  {pair:<44} {fmt(scores['ARI']['mean'])}  {fmt(scores['NMI']['mean'])}")
    lines.append("H2 detection of correct answers              IG/H(C)  AUROC(LOO)")
    for method, scores in h2["aggregate"]["methods"].items():
        lines.append(
            f"  {method:<44} {fmt(scores['IG_norm']['mean'])}  {fmt(scores['AUROC']['mean'])}"
        )
    if h3 is not None:
        lines.append("H3 steering, selection full       mean Spearman  mean Pearson  motifs")
        for row in h3["by_method"]:
            if row["selection"] == "full":
                name = f"{row['method']} B={row['B']}"
                lines.append(
                    f"  {name:<32} {fmt(row['spearman']['mean'])}          "
                    f"{fmt(row['pearson']['mean'])}         {row['usable']}"
                )
    return "\n".join(lines)


def run_all(run_dir: Path) -> tuple[dict, dict, dict | None]:
    """H1, H2 and, when stage 7c wrote outputs, H3 on `run_dir`."""
    run_dir = Path(run_dir)
    h1 = orthogonality.run(run_dir)
    h2 = detection.run(run_dir)
    steered = run_dir / causal.STEERING_DIR
    h3 = causal.run(run_dir) if steered.is_dir() and any(steered.glob("*.json")) else None
    if h3 is None:
        log.warning("%s: no stage 7c output, H3 skipped", steered)
    return h1, h2, h3


def run_popqa(
    popqa: Path,
    config: str,
    run_dir: Path,
    *,
    limit: int | None,
    seed: int | None,
    overrides: list[str],
    last: int = 7,
) -> tuple[dict, dict, dict | None]:
    """PopQA end to end: its questions as `<run_dir>/popqa_clozes.jsonl`, the pipeline
    (stages 1-`last`) over them with data.labeler 'answers' (stage 1 draws `limit` of them
    with `seed`), then H1-H3 with alias-match correctness."""
    run_dir = Path(run_dir)
    clozes = write_clozes(read_popqa(popqa), run_dir / "popqa_clozes.jsonl")
    sets = [f"data.clozes={json.dumps(str(clozes.resolve()))}", 'data.labeler="answers"']
    sets += ['data.source="clozes"', "data.datasets=null"]
    if limit is not None:
        sets.append(f"data.n_prefixes={limit}")
    if seed is not None:
        sets.append(f"data.seed={seed}")
    run_pipeline(config, run_dir, [*sets, *overrides], last)
    return run_all(run_dir)

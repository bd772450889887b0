"""All three experiments on one run directory, optionally after the pipeline (stages 1-7)
(PopQA: after writing its questions as clozes)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

from motif_discovery.hypotheses import causal, detection, orthogonality
from motif_discovery.hypotheses.popqa import read_popqa, write_clozes
from motif_discovery.hypotheses.readers import CORRECTNESS_LABELERS, run_config
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


def run_all(run_dir: Path) -> tuple[dict, dict | None, dict | None]:
    """H1; H2 when the run has correctness labels (data.labeler 'toy_world' or
    'answers'); H3 when stage 7c wrote outputs."""
    run_dir = Path(run_dir)
    h1 = orthogonality.run(run_dir)
    labeler = run_config(run_dir).labeler
    h2 = detection.run(run_dir) if labeler in CORRECTNESS_LABELERS else None
    if h2 is None:
        log.warning("data.labeler is %r: no correctness, H2 skipped", labeler)
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
) -> tuple[dict, dict | None, dict | None]:
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

"""The per-prefix work of a finished toy-world run, in sequences and tokens; prints one JSON
object (the dry run's time estimates scale these by FLOPs: docs/real_models.md).

    python benchmarks/plan_work_toy_world.py [RUN_DIR]   # default runs/toy_world

Per prefix (mean over the run's prefixes): stage 2's samples drawn and continuations kept,
the context (prefix tokens) and the mean continuation length in tokens; stage 7a's
continuations compared (each one real and one replacement forward); stage 7c's forward
passes times validation.batch_size (an upper bound on its sequences).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def mean(values: list[float]) -> float:
    return round(statistics.fmean(values), 2)


def work(run_dir: Path) -> dict:
    """The means above, read from the run's stage 2 and 7 files."""
    config = json.loads((run_dir / "config.resolved.json").read_text())
    summaries = sorted((run_dir / "2_branch_sampling").glob("*.summary.json"))
    samples, kept, context, length = [], [], [], []
    for path in summaries:
        summary = json.loads(path.read_text())
        samples.append(summary["samples"])
        kept.append(summary["kept"])
        context.append(len(summary["prefix_token_ids"]))
        records = path.with_name(path.name.replace(".summary.json", ".jsonl"))
        rows = [json.loads(line) for line in records.read_text().splitlines() if line]
        length.append(statistics.fmean(len(r["token_ids"]) for r in rows))
    compared = [
        json.loads(p.read_text())["replacement"]["n_continuations"]
        for p in (run_dir / "7_validation/7a").glob("*.json")
    ]
    passes = [
        json.loads(p.read_text())["forward_passes"]
        for p in (run_dir / "7_validation/7c").glob("*.json")
    ]
    return {
        "run_dir": str(run_dir),
        "prefixes": len(summaries),
        "samples_drawn": mean(samples),
        "continuations_kept": mean(kept),
        "context_tokens": mean(context),
        "continuation_tokens": mean(length),
        "replacement_continuations": mean(compared),
        "steering_sequences": mean([p * config["validation"]["batch_size"] for p in passes]),
    }


if __name__ == "__main__":
    run = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "runs" / "toy_world"
    print(json.dumps(work(run), indent=1))

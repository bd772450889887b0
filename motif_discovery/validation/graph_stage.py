"""Stage 7a for one run directory: graph validation of every prefix (docs/method.md, "Stage 7").

Per prefix, `<run>/7_validation/7a/<prefix_id>.json`:
- "replacement": the top `validation.replacement_continuations` continuations by P_n,
  teacher-forced on stage 3's token context + their tokens through the real model and the
  replacement model (replacement.py), compared at every continuation token's predicting
  position (top-1 agreement, KL, centred target logits; graph_validation.py);
- "shares": the feature / error / token shares of stage 3's raw rows, P-weighted over the
  prefix ("prefix") and over each motif of each config with 1 < K <= clustering.K_clamp
  ("configs");
- "stability": per such config, each motif's within / between cosines and relative L1;
  empty, with "stability_reason", when no config qualifies (K = 1 everywhere).
After the units, `<run>/7_validation/7a_summary.json` (means over the prefixes with outputs)
and a table on stdout. Every input is checked before any output is written: the files of
stages 2-5 (a missing one names the stage to run first), the continuation ids of the four
stages (same ids, same order) and stage 3's position shift against compat.
"""

from __future__ import annotations

import logging
from pathlib import Path
from statistics import mean

import torch

from motif_discovery.attribution.outputs import (
    PrefixAttributions,
    load_attributions,
)
from motif_discovery.clustering.outputs import (
    ConfigResult,
    eligible_results,
)
from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.embedding.features import FeatureSet, load_features
from motif_discovery.model.loading import load_model
from motif_discovery.model.transcoders import load_transcoders
from motif_discovery.sampling.records import read_continuations, records_path
from motif_discovery.utils.config import Config
from motif_discovery.utils.device import resolve_device
from motif_discovery.utils.io import read_json, write_json
from motif_discovery.utils.shard import shard_ids
from motif_discovery.utils.stage import Stage, Unit, run_stage
from motif_discovery.validation.graph_validation import (
    TargetComparison,
    compare_targets,
    motif_stability,
    replacement_figures,
    row_shares,
    weighted_shares,
)
from motif_discovery.validation.inputs import checked_inputs, no_eligible_reason, teacher_forcing
from motif_discovery.validation.replacement import paired_target_logits, replacement_hook
from motif_discovery.validation.steering import check_steerable

STAGE = Stage(
    name="7a_graph_validation",
    config_keys=(
        "validation.replacement_continuations",
        "validation.batch_size",
        "validation.seed",
        "clustering.K_clamp",
        "model",
        "compat",
        "run.device",
    ),
    code=(
        "validation/graph_stage.py",
        "validation/graph_validation.py",
        "validation/inputs.py",
        "validation/replacement.py",
        "validation/steering.py",
        "attribution",
        "clustering",
        "data/prefixes.py",
        "embedding/features.py",
        "sampling/records.py",
        "model",
        "toy_world/replacement.py",
        "utils",
    ),
)
OUT_DIR = Path("7_validation") / "7a"
SUMMARY_FILE = Path("7_validation") / "7a_summary.json"
FEATURES_DIR = "4_feature_extraction"
MAX_PAIR_MEMBERS = 200  # members per motif whose pairwise cosines are taken

log = logging.getLogger(__name__)


def output_path(run_dir: Path, prefix_id: str) -> Path:
    """Stage 7a's JSON of one prefix."""
    return Path(run_dir) / OUT_DIR / f"{prefix_id}.json"


def top_continuations(p: torch.Tensor, count: int) -> list[int]:
    """Indices of the `count` largest P_n (ties: the earlier row first)."""
    order = torch.argsort(-p.double(), stable=True)
    return [int(i) for i in order[:count]]


def compare_replacement(
    model, transcoders, attributions: PrefixAttributions, tokens: list[list[int]], config: Config
) -> TargetComparison:
    """Real vs replacement at every target of the given continuations (full span, at the
    predicting positions of attribution/targets.py, with stage 3's position shift)."""
    sequences, rows = teacher_forcing(
        attributions.prefix_token_ids, tokens, int(config.compat.reference_position_shift)
    )
    hook = replacement_hook(transcoders)
    read = transcoders.layers.feature_input_hook
    batches = paired_target_logits(model, sequences, rows, hook, config.validation.batch_size, read)
    return TargetComparison.cat([compare_targets(*batch) for batch in batches])


def shares_record(
    attributions: PrefixAttributions, features: FeatureSet, results: list[ConfigResult]
) -> dict:
    """P-weighted shares over the prefix and over every motif of every eligible config."""
    shares = row_shares(attributions.a_raw, attributions.sources)
    everyone = torch.arange(features.n)
    return {
        "prefix": weighted_shares(shares, features.p, everyone),
        "configs": [
            {
                "beta": r.beta,
                "gamma": r.gamma,
                "motifs": [
                    {
                        "motif": c,
                        "size": len(r.members(c)),
                        "shares": weighted_shares(shares, features.p, r.members(c)),
                    }
                    for c in range(r.K)
                ],
            }
            for r in results
        ],
    }


def stability_record(
    attributions: PrefixAttributions, features: FeatureSet, results: list[ConfigResult], seed: int
) -> list[dict]:
    """Per eligible config, every motif's within / between / relative_l1."""
    return [
        {
            "beta": r.beta,
            "gamma": r.gamma,
            "K": r.K,
            "motifs": motif_stability(
                attributions.a_raw,
                features.a,
                features.p,
                r.assign,
                r.mu_a,
                cap=MAX_PAIR_MEMBERS,
                seed=seed,
            ),
        }
        for r in results
    ]


def validate_prefix(run_dir: Path, prefix_id: str, config: Config, models: list) -> dict:
    """The record of one prefix (module docstring); `models` holds (model, transcoders)."""
    attributions = load_attributions(run_dir, prefix_id)
    features = load_features(run_dir / FEATURES_DIR, prefix_id)
    found = read_continuations(records_path(run_dir, prefix_id), prefix_id)
    results = eligible_results(run_dir, prefix_id, config.clustering.K_clamp)
    chosen = top_continuations(features.p, config.validation.replacement_continuations)
    comparison = compare_replacement(
        *models, attributions, [found.token_ids[i] for i in chosen], config
    )
    record = {
        "prefix_id": prefix_id,
        "n": features.n,
        "replacement": replacement_figures(comparison, len(chosen)),
        "shares": shares_record(attributions, features, results),
        "stability": stability_record(attributions, features, results, config.validation.seed),
    }
    if not results:
        record["stability_reason"] = no_eligible_reason(
            run_dir, prefix_id, config.clustering.K_clamp
        )
        log.info("%s: %s; stability left empty", prefix_id, record["stability_reason"])
    return record


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return mean(values) if values else None


def summarize(records: list[dict]) -> dict:
    """Means over prefixes: replacement figures, prefix shares and, over the prefixes with
    eligible configs, the per-prefix means over motifs of within, between, relative_l1."""
    keys = ("top1_agreement", "kl_mean", "centred_logit_mae", "centred_logit_pearson")
    stable = {r["prefix_id"]: [m for c in r["stability"] for m in c["motifs"]] for r in records}
    stable = {k: v for k, v in stable.items() if v}
    motifs = [m for v in stable.values() for m in v]
    paired = [m for m in motifs if m["within"] is not None and m["between"] is not None]
    return {
        "prefixes": [r["prefix_id"] for r in records],
        "replacement": {k: _mean(r["replacement"][k] for r in records) for k in keys},
        "shares": {
            measure: {
                kind: _mean(r["shares"]["prefix"][measure][kind] for r in records)
                for kind in ("feature", "error", "token")
            }
            for measure in ("signed", "absolute")
        },
        "stability": {
            "prefixes": sorted(stable),
            "n_motifs": len(motifs),
            **{
                key: _mean(_mean(m[key] for m in v) for v in stable.values())
                for key in ("within", "between", "relative_l1")
            },
            "share_within_above_between": _mean(float(m["within"] > m["between"]) for m in paired),
            "share_relative_l1_below_1": _mean(
                float(m["relative_l1"] < 1) for m in motifs if m["relative_l1"] is not None
            ),
        },
        "no_stability": {
            r["prefix_id"]: r["stability_reason"] for r in records if "stability_reason" in r
        },
    }


def _cell(value: float | None, width: int = 7, digits: int = 3) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{digits}f}"


def format_table(records: list[dict], summary: dict) -> str:
    """One line per prefix and the means: top-1, KL, absolute shares, stability means."""
    head = (
        f"{'prefix':<12} {'N':>5} {'K':>6} {'top-1':>7} {'KL':>7} {'|feat|':>7} "
        f"{'|err|':>7} {'|tok|':>7} {'within':>7} {'betw.':>7} {'relL1':>7}"
    )
    lines = ["stage 7a: replacement vs real, absolute shares, motif stability", head]

    def line(name, n, Ks, rep, shares, stab) -> str:
        return " ".join(
            [
                f"{name:<12}",
                f"{n:>5}",
                f"{Ks:>6}",
                _cell(rep["top1_agreement"]),
                _cell(rep["kl_mean"]),
                *(_cell(shares[k]) for k in ("feature", "error", "token")),
                *(_cell(stab[k]) for k in ("within", "between", "relative_l1")),
            ]
        )

    for r in records:
        motifs = [m for c in r["stability"] for m in c["motifs"]]
        stab = {k: _mean(m[k] for m in motifs) for k in ("within", "between", "relative_l1")}
        Ks = ",".join(str(c["K"]) for c in r["stability"]) or "-"
        lines.append(
            line(
                r["prefix_id"],
                r["n"],
                Ks,
                r["replacement"],
                r["shares"]["prefix"]["absolute"],
                stab,
            )
        )
    lines.append(
        line(
            "mean",
            "",
            "",
            summary["replacement"],
            summary["shares"]["absolute"],
            summary["stability"],
        )
    )
    return "\n".join(lines)


def run(config: Config, run_dir: Path, *, force: bool = False, shard: str = "0/1") -> None:
    """Stage 7a over every prefix of the run (this shard), skipping unchanged ones."""
    rows = load_prefixes(run_dir)
    ids = [row["prefix_id"] for row in rows]
    selected = set(shard_ids(ids, shard))
    units = [
        Unit(pid, checked_inputs(run_dir, pid, config) if pid in selected else ()) for pid in ids
    ]
    models: list = []

    def process(prefix_id: str) -> list[Path]:
        if not models:
            device = resolve_device(config.run.device)
            model = load_model(config.model, device)
            transcoders = load_transcoders(config.model, device, model.dtype)
            check_steerable(transcoders)
            models.extend([model, transcoders])
        path = output_path(run_dir, prefix_id)
        write_json(path, validate_prefix(run_dir, prefix_id, config, models))
        return [path]

    run_stage(STAGE, config, run_dir, units, process, force=force, shard=shard)
    records = [read_json(output_path(run_dir, p)) for p in ids if output_path(run_dir, p).is_file()]
    summary = summarize(records)
    write_json(run_dir / SUMMARY_FILE, summary)
    print(format_table(records, summary), flush=True)

"""Stage 7c for one run directory: steer each motif's features, correlate eps with the
logit change (docs/method.md, "Stage 7", 7c).

Per prefix, per grid config with 1 < K <= K_clamp, per method (RD, KM-Sem, Single, random;
validation.selection), per motif, selection and B: the members drawn (validation.max_members,
seed) are teacher-forced on context + continuation unsteered and at every eps
(validation.steering); change(eps) = the members' mean centred logit minus the unsteered one;
Pearson and Spearman of eps vs change (validation.metrics). With family labels (toy world),
the confusion of steered motifs against probed families (validation.confusion).

Outputs: `<run>/7_validation/7c/<prefix_id>.json` {prefix_id, epsilons, rows, confusion,
forward_passes} (a prefix without an eligible config: a JSON saying so), then
`<run>/7_validation/7c_summary.json` (aggregates per (method, beta, gamma, selection, B),
the printed table's rows, the pooled confusion) and the table on stdout.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from motif_discovery.attribution.outputs import (
    PrefixAttributions,
    load_attributions,
)
from motif_discovery.attribution.targets import TargetRow
from motif_discovery.clustering.outputs import (
    ConfigResult,
    config_name,
    eligible_results,
    grid_configs,
    prefix_dir,
)
from motif_discovery.data.prefixes import load_prefixes
from motif_discovery.embedding.features import FeatureSet, load_features
from motif_discovery.model.loading import load_model, model_dtype
from motif_discovery.model.transcoders import load_transcoders
from motif_discovery.sampling.records import read_continuations, records_path
from motif_discovery.utils.config import Config, ValidationConfig
from motif_discovery.utils.device import resolve_device
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_json, write_json
from motif_discovery.utils.shard import shard_ids
from motif_discovery.utils.stage import Stage, Unit, run_stage
from motif_discovery.validation.confusion import confusion, family_probe, pooled
from motif_discovery.validation.inputs import (
    checked_inputs,
    no_eligible_reason,
    teacher_forcing,
    unit_inputs,
)
from motif_discovery.validation.metrics import (
    aggregate,
    changes,
    correlations,
    format_table,
    table_rows,
    unusable,
)
from motif_discovery.validation.selection import (
    Hypothesis,
    draw,
    feature_rows,
    hypotheses,
    select,
    steerable,
)
from motif_discovery.validation.steering import Row, Steer, Steerer

STAGE = Stage(
    name="7c_steering",
    config_keys=("validation", "clustering.K_clamp", "model", "compat", "run.device"),
    code=(
        "validation",
        "model",
        "attribution/frozen.py",
        "attribution/model.py",
        "attribution/outputs.py",
        "attribution/targets.py",
        "clustering/outputs.py",
        "clustering/centres.py",
        "clustering/median_index.py",
        "clustering/rd_objective.py",
        "data/prefixes.py",
        "embedding/features.py",
        "sampling/records.py",
        "toy_world/replacement.py",
        "utils",
    ),
)
OUT_DIR = Path("7_validation") / "7c"
SUMMARY = Path("7_validation") / "7c_summary.json"
FEATURES_DIR = "4_feature_extraction"
KM_BASELINE = "KM-S"

log = logging.getLogger(__name__)


@dataclass
class PrefixData:
    """Everything stage 7c reads of one prefix, in stage 3's row order."""

    attributions: PrefixAttributions
    features: FeatureSet
    sequences: list[list[int]]
    targets: list[TargetRow]
    results: list[ConfigResult]


def check_prefix(run_dir: Path, prefix_id: str, config: Config) -> None:
    """The checks of one prefix's inputs, run for every prefix before any output: those of
    stage 7a (validation/inputs.py), and that stage 5 ran the k-means baseline KM-Sem needs."""
    checked_inputs(run_dir, prefix_id, config)
    if "KM-Sem" not in config.validation.methods:
        return
    for beta, gamma, K in grid_configs(run_dir, prefix_id):
        if not 1 < K <= config.clustering.K_clamp:
            continue
        path = prefix_dir(run_dir, prefix_id) / f"{config_name(beta, gamma)}.json"
        if KM_BASELINE not in read_json(path).get("baseline_assign", {}):
            raise InputError(
                f"{path}: baseline_assign has no {KM_BASELINE!r} (stage 5 ran without that "
                "baseline); add it to clustering.baselines or drop KM-Sem from validation.methods"
            )


def load_prefix(run_dir: Path, prefix_id: str, config: Config) -> PrefixData:
    """One prefix's inputs (checked by check_prefix), in stage 3's row order."""
    attributions = load_attributions(run_dir, prefix_id)
    features = load_features(run_dir / FEATURES_DIR, prefix_id)
    results = eligible_results(run_dir, prefix_id, config.clustering.K_clamp)
    found = read_continuations(records_path(run_dir, prefix_id), prefix_id)
    tokens = dict(zip(found.ids, found.token_ids, strict=True))
    continuations = [tokens[cid] for cid in attributions.continuation_ids]
    sequences, targets = teacher_forcing(
        attributions.prefix_token_ids,
        continuations,
        int(config.compat.reference_position_shift),
    )
    return PrefixData(attributions, features, sequences, targets, results)


def steering_key(features: list[dict]) -> tuple:
    """What a steering depends on: the set of (layer, position, feature, sign of H_c)."""
    return tuple(
        sorted((f["layer"], f["position"], f["feature"], bool(f["H_c"] > 0)) for f in features)
    )


def motif_rows(
    steerer: Steerer,
    data: PrefixData,
    result: ConfigResult,
    group: list[Hypothesis],
    validation: ValidationConfig,
) -> list[dict]:
    """The output rows of hypotheses sharing one member set: one batched measurement of
    the drawn members unsteered and under every (hypothesis, selection, B, eps)."""
    ids = data.attributions.continuation_ids
    members = draw(group[0].members, validation.max_members, validation.seed)
    specs = []
    for hyp in group:
        for selection in validation.selections:
            for B in validation.B:
                columns = select(hyp.pool, hyp.H_c, selection, B)
                features = feature_rows(columns, hyp.H_c, data.attributions.sources)
                specs.append((hyp, selection, B, features))
    # identical steerings (B = 5 and 10 of a short pool, Single's member = the medoid) run once
    distinct: dict[tuple, list[dict]] = {}
    for *_, features in specs:
        if features:
            distinct.setdefault(steering_key(features), features)
    slot = {key: i for i, key in enumerate(distinct)}
    rows = [Row(int(i), None) for i in members]
    for features in distinct.values():
        rows += [
            Row(int(i), Steer.of(features, eps)) for eps in validation.epsilons for i in members
        ]
    values = steerer.measure(data.sequences, data.targets, rows)
    unsteered = values[: len(members)]
    size = len(validation.epsilons) * len(members)
    out = []
    for hyp, selection, B, features in specs:
        row = {
            "method": hyp.method,
            "beta": result.beta,
            "gamma": result.gamma,
            "motif": hyp.motif,
            "selection": selection,
            "B": B,
            "epsilons": validation.epsilons,
            "features": features,
            "members": [ids[i] for i in members],
        }
        if not features:
            reason = (
                "no feature left after the sign filter"
                if len(hyp.pool)
                else "no candidate features"
            )
            out.append(row | {"changes": None} | unusable(reason))
            continue
        at = len(members) + slot[steering_key(features)] * size
        steered = values[at : at + size].reshape(len(validation.epsilons), len(members))
        delta = changes(steered, unsteered)
        out.append(row | {"changes": delta} | correlations(validation.epsilons, delta))
    return out


def hypothesis_groups(
    data: PrefixData, result: ConfigResult, config: Config
) -> list[list[Hypothesis]]:
    """Every method's hypotheses for one eligible config, grouped by member set: an RD
    motif's (RD, Single, random) and each k-means cluster's (KM-Sem)."""
    validation = config.validation
    attributions, features = data.attributions, data.features
    allowed = steerable(attributions.sources)
    active = attributions.activations.numpy() > 0
    km = result.record.get("baseline_assign", {}).get(KM_BASELINE)
    groups: dict[tuple[str, int], list[Hypothesis]] = {}
    for method in validation.methods:
        for hyp in hypotheses(
            method,
            assign=result.assign.numpy(),
            e=features.e,
            a_raw=attributions.a_raw,
            a=features.a,
            p=features.p,
            gamma=result.gamma,
            km_assign=None if km is None else np.asarray(km),
            active=active,
            allowed=allowed,
            pool_size=2 * max(validation.B),
            seed=validation.seed,
        ):
            key = ("KM" if method == "KM-Sem" else "RD", hyp.motif)
            groups.setdefault(key, []).append(hyp)
    return list(groups.values())


def config_rows(
    steerer: Steerer, data: PrefixData, result: ConfigResult, config: Config
) -> list[dict]:
    """Every method's rows for one eligible config."""
    groups = hypothesis_groups(data, result, config)
    rows = []
    for group in tqdm(groups, desc=f"7c {result.prefix_id} {result.name}", leave=False):
        rows += motif_rows(steerer, data, result, group, config.validation)
    return rows


def prefix_confusion(steerer: Steerer, data: PrefixData, config: Config) -> dict | None:
    """The confusion of a prefix with family labels (None without them)."""
    features = data.features
    if "family" not in features.labels or "family" not in features.label_names:
        return None
    validation = config.validation
    family = np.asarray(features.labels["family"])
    names = features.label_names["family"]
    probe = family_probe(
        steerer,
        data.sequences,
        data.targets,
        family,
        names,
        validation.max_members,
        validation.seed,
    )
    return confusion(
        steerer,
        probe,
        e=features.e,
        a_raw=data.attributions.a_raw,
        family=family,
        names=names,
        results=data.results,
        allowed=steerable(data.attributions.sources),
        sources=data.attributions.sources,
        B_max=max(validation.B),
        epsilons=validation.epsilons,
        gamma_planted=data.results[0].gamma,
        continuation_ids=data.attributions.continuation_ids,
    )


def no_eligible(run_dir: Path, prefix_id: str, config: Config) -> dict:
    """The output of a prefix without a config of 1 < K <= K_clamp."""
    return {
        "prefix_id": prefix_id,
        "epsilons": config.validation.epsilons,
        "eligible": False,
        "reason": no_eligible_reason(run_dir, prefix_id, config.clustering.K_clamp),
        "rows": [],
        "forward_passes": 0,
    }


def write_summary(run_dir: Path, prefix_ids: list[str]) -> str | None:
    """Aggregate the prefixes' outputs into 7c_summary.json; the table (None: no rows)."""
    outputs = {}
    for prefix_id in prefix_ids:
        path = run_dir / OUT_DIR / f"{prefix_id}.json"
        if path.is_file():
            outputs[prefix_id] = read_json(path)
    aggregates = aggregate({pid: out["rows"] for pid, out in outputs.items() if out["rows"]})
    table = table_rows(aggregates)
    confusions = [out["confusion"] for out in outputs.values() if out.get("confusion")]
    write_json(
        run_dir / SUMMARY,
        {
            "prefixes": sorted(outputs),
            "not_eligible": sorted(pid for pid, out in outputs.items() if not out["rows"]),
            "forward_passes": sum(out["forward_passes"] for out in outputs.values()),
            "aggregates": aggregates,
            "table": table,
            "confusion": pooled(confusions) if confusions else None,
        },
    )
    return format_table(table) if table else None


def run(config: Config, run_dir: Path, *, force: bool = False, shard: str = "0/1") -> None:
    """Stage 7c over every prefix of the run (this shard), skipping unchanged ones."""
    units = [
        Unit(row["prefix_id"], unit_inputs(run_dir, row["prefix_id"], config))
        for row in load_prefixes(run_dir)
    ]
    mine = shard_ids([u.unit_id for u in units], shard)
    loaded: list[Steerer] = []

    def steerer() -> Steerer:
        if not loaded:
            device = resolve_device(config.run.device)
            dtype = model_dtype(config.model.dtype, device)
            model = load_model(config.model, device)
            transcoders = load_transcoders(config.model, device, dtype)
            loaded.append(Steerer(model, transcoders, config.validation.batch_size))
        return loaded[0]

    def process(prefix_id: str) -> list[Path]:
        data = load_prefix(run_dir, prefix_id, config)
        path = run_dir / OUT_DIR / f"{prefix_id}.json"
        if not data.results:
            write_json(path, no_eligible(run_dir, prefix_id, config))
            return [path]
        model = steerer()
        before = model.forward_passes
        with torch.no_grad():
            rows = [r for result in data.results for r in config_rows(model, data, result, config)]
            found = prefix_confusion(model, data, config)
        record = {
            "prefix_id": prefix_id,
            "epsilons": config.validation.epsilons,
            "eligible": True,
            "rows": rows,
            "forward_passes": model.forward_passes - before,
        }
        if found is not None:
            record["confusion"] = found
        write_json(path, record)
        return [path]

    for unit in units:  # bad input stops the stage before any output
        if unit.unit_id in mine:
            check_prefix(run_dir, unit.unit_id, config)
    run_stage(STAGE, config, run_dir, units, process, force=force, shard=shard)
    table = write_summary(run_dir, [u.unit_id for u in units])  # every shard's outputs
    if table is not None:
        print(table, flush=True)

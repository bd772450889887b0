"""Stage 6 for one run directory: the semantic graph of every motif (docs/method.md).

Per prefix, per grid config of stage 5 with 1 < K <= clustering.K_clamp, per motif c: its
attribution centre H_c (normalized) and H_c_raw (raw units), the share of |H_c| carried by
feature, error and token sources, per-token scores over the prefix, the soft memberships
sigma of every source, its top feature sources (with activation examples across the run's
prefixes) and its most probable member continuations. Outputs, in
`<run>/6_semantic_graphs/<prefix_id>/`:
- `beta<b>_gamma<g>.safetensors`: H_c, H_c_raw, sigma [K, d_a], token_scores [K, P];
- `beta<b>_gamma<g>.json`: prefix text and tokens, and one record per motif;
- `summary.json`: every grid config, with its file or why it was skipped.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import torch
from tqdm import tqdm

from motif_discovery.attribution.outputs import attribution_paths, load_attributions
from motif_discovery.clustering.outputs import (
    CONFIG_FILES,
    ConfigResult,
    config_name,
    eligible_results,
    grid_configs,
    prefix_dir,
)
from motif_discovery.data.prefixes import PREFIXES_FILE, load_prefixes
from motif_discovery.embedding.features import FeatureSet, feature_paths, load_features
from motif_discovery.graphs.activation_examples import ActivationIndex, PrefixSources
from motif_discovery.graphs.semantic_graph import (
    kind_mass,
    label_counts,
    normalized_p,
    soft_membership,
    token_scores,
    top_feature_columns,
    top_members,
)
from motif_discovery.model.loading import load_tokenizer
from motif_discovery.utils.config import Config, GraphsConfig
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import remove_stale, save_tensors, write_json
from motif_discovery.utils.stage import Stage, Unit, run_stage

STAGE = Stage(
    name="6_semantic_graphs",
    config_keys=("graphs", "clustering.K_clamp", "model.name"),
    code=(
        "graphs",
        "attribution/outputs.py",
        "clustering/outputs.py",
        "embedding/features.py",
        "model/loading.py",
        "model/paths.py",
        "data/prefixes.py",
        "utils",
    ),
)
FEATURES_DIR = "4_feature_extraction"
FAMILY = "family"

log = logging.getLogger(__name__)


@dataclass
class RunSources:
    """What every prefix's graphs share: each prefix's stage-3 sources, activations and
    decoded tokens, its continuation ids, and the activation index over all of them."""

    prefixes: dict[str, PrefixSources]
    continuation_ids: dict[str, list[str]]
    index: ActivationIndex


def skip_reason(K: int, K_clamp: int) -> str | None:
    """Why a config gets no graph (None: 1 < K <= K_clamp, it gets one)."""
    if K <= 1:
        return f"K = {K}"
    if K_clamp < K:
        return f"K = {K} > K_clamp = {K_clamp}"
    return None


def clustering_inputs(run_dir: Path, prefix_id: str, K_clamp: int) -> list[Path]:
    """Stage 5's files a prefix's graphs read: summary.json and each eligible config's JSON
    and tensors (a missing summary raises "run stage 5 first")."""
    folder = prefix_dir(run_dir, prefix_id)
    paths = [folder / "summary.json"]
    for beta, gamma, K in grid_configs(run_dir, prefix_id):
        if skip_reason(K, K_clamp) is None:
            stem = config_name(beta, gamma)
            paths += [folder / f"{stem}.json", folder / f"{stem}.safetensors"]
    return paths


def load_run_sources(run_dir: Path, prefix_ids: list[str], config: Config) -> RunSources:
    """Read every prefix's stage-3 output once, decode its token context with the
    configured tokenizer, and index the run's feature activations."""
    tokenizer = load_tokenizer(config.model)
    prefixes, ids = {}, {}
    for prefix_id in tqdm(prefix_ids, desc="stage 6 sources", leave=False, file=sys.stderr):
        found = load_attributions(run_dir, prefix_id)
        tokens = [tokenizer.decode([token]) for token in found.prefix_token_ids]
        outside = sorted({p for p in found.sources.position if not 0 <= p < len(tokens)})
        if outside:
            raise InputError(
                f"{attribution_paths(run_dir, prefix_id)[1]}: sources.position {outside} lie "
                f"outside prefix_token_ids ({len(tokens)} positions)"
            )
        prefixes[prefix_id] = PrefixSources(prefix_id, found.sources, found.activations, tokens)
        ids[prefix_id] = found.continuation_ids
    return RunSources(
        prefixes, ids, ActivationIndex(prefixes.values(), config.graphs.activation_examples)
    )


def check_agreement(
    run_dir: Path, features: FeatureSet, sources: RunSources, results: list[ConfigResult]
) -> None:
    """Stages 3, 4 and 5 must describe the same continuations (ids, in order) and the same
    attribution columns (d_a)."""
    prefix_id = features.prefix_id
    stage3_json = attribution_paths(run_dir, prefix_id)[1]
    stage4_json = feature_paths(run_dir / FEATURES_DIR, prefix_id)[1]
    d_a = len(sources.prefixes[prefix_id].sources)
    if sources.continuation_ids[prefix_id] != features.continuation_ids:
        raise InputError(f"{stage3_json} and {stage4_json} disagree on continuation_ids")
    if features.a.shape[1] != d_a:
        raise InputError(
            f"{stage4_json}: d_a = {features.a.shape[1]}, but {stage3_json} has {d_a} sources"
        )
    for result in results:
        stage5_json = prefix_dir(run_dir, prefix_id) / f"{result.name}.json"
        if result.record.get("continuation_ids") != features.continuation_ids:
            raise InputError(f"{stage5_json} and {stage4_json} disagree on continuation_ids")
        if result.mu_a.shape[1] != d_a or result.assign.shape != (features.n,):
            raise InputError(
                f"{stage5_json}: mu_a {tuple(result.mu_a.shape)} and assign "
                f"{tuple(result.assign.shape)} do not match N = {features.n}, d_a = {d_a}"
            )


def family_names(features: FeatureSet) -> list[str] | None:
    """The name of each "family" label value, or None when the features carry no family."""
    if FAMILY not in features.labels:
        return None
    names = features.label_names.get(FAMILY)
    return names or [str(v) for v in range(max(features.labels[FAMILY], default=-1) + 1)]


def feature_record(
    j: int, c: int, prefix: PrefixSources, tensors: dict[str, torch.Tensor], index: ActivationIndex
) -> dict:
    """One top feature source j of motif c."""
    table = prefix.sources
    layer, position, feature = table.layer[j], table.position[j], table.feature[j]
    return {
        "source": j,
        "layer": layer,
        "position": position,
        "token": prefix.tokens[position],
        "feature": feature,
        "H_c": float(tensors["H_c"][c, j]),
        "H_c_raw": float(tensors["H_c_raw"][c, j]),
        "activation": float(prefix.activations[j]),
        "sigma": float(tensors["sigma"][c, j]),
        "activation_examples": index.examples(layer, feature),
    }


def example_records(
    features: FeatureSet, members: torch.Tensor, n: int, families: list[str] | None
) -> list[dict]:
    """The n members with the largest P_n: id, text, P_n normalized over the prefix, and
    family name when the features carry that label."""
    p = normalized_p(features.p)
    rows = []
    for i in top_members(features.p, members, n):
        row = {
            "continuation_id": features.continuation_ids[i],
            "text": features.texts[i] if features.texts is not None else None,
            "p": float(p[i]),
        }
        if families is not None:
            row[FAMILY] = families[features.labels[FAMILY][i]]
        rows.append(row)
    return rows


def config_graph(
    result: ConfigResult,
    features: FeatureSet,
    prefix: PrefixSources,
    index: ActivationIndex,
    settings: GraphsConfig,
    prefix_text: str,
) -> tuple[dict, dict[str, torch.Tensor]]:
    """The semantic graphs of one config's K motifs: (JSON record, tensors)."""
    H_c, H_c_raw = result.mu_a.float(), result.mu_a_raw.float()
    positions, n_positions = prefix.sources.position, len(prefix.tokens)
    tensors = {
        "H_c": H_c,
        "H_c_raw": H_c_raw,
        "sigma": soft_membership(H_c),
        "token_scores": token_scores(H_c, positions, n_positions),
    }
    scores_raw = token_scores(H_c_raw, positions, n_positions)
    families = family_names(features)
    motifs = []
    for c in range(result.K):
        members = result.members(c)
        columns = top_feature_columns(H_c[c], prefix.sources.kind, settings.top_features)
        motif = {
            "motif": c,
            "prior": float(result.prior[c]),
            "size": len(members),
            "kind_mass": kind_mass(H_c[c], prefix.sources.kind),
            "token_scores": tensors["token_scores"][c].tolist(),
            "token_scores_raw": scores_raw[c].tolist(),
            "top_features": [feature_record(j, c, prefix, tensors, index) for j in columns],
            "examples": example_records(features, members, settings.examples, families),
        }
        if families is not None:
            motif["family_counts"] = label_counts(features.labels[FAMILY], families, members)
        motifs.append(motif)
    record = {
        "prefix_id": result.prefix_id,
        "beta": result.beta,
        "gamma": result.gamma,
        "K": result.K,
        "prefix_text": prefix_text,
        "prefix_tokens": prefix.tokens,
        "n_sources": len(prefix.sources),
        "motifs": motifs,
    }
    return record, tensors


def write_prefix(
    out_dir: Path,
    prefix_id: str,
    graphs: list[tuple[dict, dict[str, torch.Tensor]]],
    configs: list[tuple[float, float, int]],
    K_clamp: int,
) -> list[Path]:
    """Each graph's tensors then JSON, then summary.json (every grid config, with its file
    or why it has none); removes the files of configs no longer present. Returns the
    outputs."""
    written: list[Path] = []
    for record, tensors in graphs:
        stem = config_name(record["beta"], record["gamma"])
        save_tensors(out_dir / f"{stem}.safetensors", tensors)
        write_json(out_dir / f"{stem}.json", record)
        written += [out_dir / f"{stem}.safetensors", out_dir / f"{stem}.json"]
    rows = []
    for beta, gamma, K in configs:
        reason = skip_reason(K, K_clamp)
        file = None if reason else f"{config_name(beta, gamma)}.json"
        rows.append({"beta": beta, "gamma": gamma, "K": K, "file": file, "skipped": reason})
    write_json(out_dir / "summary.json", {"prefix_id": prefix_id, "configs": rows})
    written.append(out_dir / "summary.json")
    heatmaps = [out_dir / f"{config_name(r['beta'], r['gamma'])}.png" for r, _ in graphs]
    remove_stale(out_dir, written + heatmaps, CONFIG_FILES)
    return written


def prefix_process(
    config: Config, run_dir: Path, texts: dict[str, str]
) -> Callable[[str], list[Path]]:
    """The work of one prefix; the run's sources and activation index are read at the first
    prefix that runs (none when every prefix is unchanged)."""
    K_clamp = config.clustering.K_clamp
    run_sources = cache(lambda: load_run_sources(run_dir, list(texts), config))

    def process(prefix_id: str) -> list[Path]:
        sources = run_sources()
        features = load_features(run_dir / FEATURES_DIR, prefix_id)
        results = eligible_results(run_dir, prefix_id, K_clamp)
        check_agreement(run_dir, features, sources, results)
        prefix = sources.prefixes[prefix_id]
        configs = grid_configs(run_dir, prefix_id)
        if not results:
            log.info(
                "%s: no config with 1 < K <= K_clamp = %d (%s): summary only",
                prefix_id,
                K_clamp,
                ", ".join(skip_reason(K, K_clamp) or "" for *_, K in configs) or "no config",
            )
        elif "feature" not in prefix.sources.kind:
            log.warning(
                "%s: no feature source (no kind == 'feature' column): motifs list no top features",
                prefix_id,
            )
        graphs = [
            config_graph(result, features, prefix, sources.index, config.graphs, texts[prefix_id])
            for result in results
        ]
        return write_prefix(run_dir / STAGE.name / prefix_id, prefix_id, graphs, configs, K_clamp)

    return process


def run(config: Config, run_dir: Path, *, force: bool = False, shard: str = "0/1") -> None:
    """Stage 6 over every prefix of the run (this shard), skipping unchanged ones. Stage 5
    must have run on every prefix (checked before anything is written)."""
    rows = load_prefixes(run_dir)
    texts = {row["prefix_id"]: row.get("text", "") for row in rows}
    stage3 = [path for prefix_id in texts for path in attribution_paths(run_dir, prefix_id)]
    units = [
        Unit(
            prefix_id,
            (
                run_dir / PREFIXES_FILE,
                *feature_paths(run_dir / FEATURES_DIR, prefix_id),
                *clustering_inputs(run_dir, prefix_id, config.clustering.K_clamp),
                *stage3,
            ),
        )
        for prefix_id in texts
    ]
    run_stage(
        STAGE,
        config,
        run_dir,
        units,
        prefix_process(config, run_dir, texts),
        force=force,
        shard=shard,
    )

"""What stages 7a and 7c read of one prefix, and the checks both make before any output.

Inputs: stage 2's records, stage 3's and 4's files, stage 5's summary and its eligible
configs (1 < K <= clustering.K_clamp), and a local transcoder directory's transcoders.json.
Checks: every input present (a missing one names the stage that writes it); stages 2-5 list
the same continuation ids in the same order; stage 3 read its targets where
compat.reference_position_shift says (else H_c would explain other targets than those
stage 7 reads). Members are teacher-forced on the token context + their tokens, with every
continuation token a target at its predicting position (attribution/targets.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from motif_discovery.attribution.model import transcoders_metadata
from motif_discovery.attribution.outputs import attribution_paths
from motif_discovery.attribution.targets import TargetRow, target_rows
from motif_discovery.clustering.outputs import config_name, grid_configs, prefix_dir
from motif_discovery.embedding.features import feature_paths
from motif_discovery.sampling.records import read_continuations, records_path
from motif_discovery.utils.config import Config
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_json

FEATURES_DIR = "4_feature_extraction"


def unit_inputs(run_dir: Path, prefix_id: str, config: Config) -> tuple[Path, ...]:
    """The files stages 7a and 7c read of one prefix (module docstring)."""
    summary = prefix_dir(run_dir, prefix_id) / "summary.json"
    inputs = [
        records_path(run_dir, prefix_id),
        *attribution_paths(run_dir, prefix_id),
        *feature_paths(run_dir / FEATURES_DIR, prefix_id),
        summary,
    ]
    if summary.is_file():
        folder = prefix_dir(run_dir, prefix_id)
        for beta, gamma, K in grid_configs(run_dir, prefix_id):
            if 1 < K <= config.clustering.K_clamp:
                stem = config_name(beta, gamma)
                inputs += [folder / f"{stem}.json", folder / f"{stem}.safetensors"]
    metadata = transcoders_metadata(config.model)
    return tuple(inputs if metadata is None else [*inputs, metadata])


def check_ids(
    prefix_id: str, reference: tuple[Path, list], others: list[tuple[Path, list]]
) -> None:
    """Every stage lists the same continuation ids in the same order as stage 2."""
    ref_path, ref_ids = reference
    for path, ids in others:
        if not isinstance(ids, list):
            raise InputError(f"{path}: prefix {prefix_id}: key 'continuation_ids' missing")
        if ids != ref_ids:
            raise InputError(
                f"{path}: prefix {prefix_id}: continuation_ids ({len(ids)}) differ from those of "
                f"{ref_path} ({len(ref_ids)}); rerun the stages after stage 2 on this prefix"
            )


def checked_inputs(run_dir: Path, prefix_id: str, config: Config) -> tuple[Path, ...]:
    """unit_inputs of one prefix, checked (module docstring); InputError on bad input."""
    inputs = unit_inputs(run_dir, prefix_id, config)
    for path in inputs:
        if not path.is_file():
            stage = path.relative_to(run_dir).parts[0]
            raise InputError(
                f"{path}: missing; run stage {stage[0]} ({stage}) first (prefix {prefix_id})"
            )
    stage2 = records_path(run_dir, prefix_id)
    _, stage3_json = attribution_paths(run_dir, prefix_id)
    _, stage4_json = feature_paths(run_dir / FEATURES_DIR, prefix_id)
    stage3 = read_json(stage3_json)
    shift = int(config.compat.reference_position_shift)
    if stage3.get("position_shift", 0) != shift:
        raise InputError(
            f"{stage3_json}: position_shift {stage3.get('position_shift')!r}, but "
            f"compat.reference_position_shift = {bool(shift)}: H_c would be attributed to other "
            "targets than those stage 7 reads; rerun stage 3 or change the setting"
        )
    folder = prefix_dir(run_dir, prefix_id)
    configs = [p for p in inputs if p.parent == folder and p.suffix == ".json"]
    others = [
        (stage3_json, stage3.get("continuation_ids")),
        (stage4_json, read_json(stage4_json).get("continuation_ids")),
        *((p, read_json(p).get("continuation_ids")) for p in configs if p.name != "summary.json"),
    ]
    check_ids(prefix_id, (stage2, read_continuations(stage2, prefix_id).ids), others)
    return inputs


def teacher_forcing(
    context: list[int], continuations: Sequence[Sequence[int]], position_shift: int
) -> tuple[list[list[int]], list[TargetRow]]:
    """(context + tokens per continuation, their targets: every token, equal weights, at
    its predicting position with the position shift)."""
    targets = target_rows(
        continuations,
        len(context),
        [0] * len(continuations),
        pooling="mean",
        position_shift=position_shift,
    )
    return [context + list(tokens) for tokens in continuations], targets


def no_eligible_reason(run_dir: Path, prefix_id: str, K_clamp: int) -> str:
    """Why a prefix has nothing for stages 6-7 to study: the Ks stage 5 found."""
    Ks = sorted({K for _, _, K in grid_configs(run_dir, prefix_id)})
    return f"no config with 1 < K <= {K_clamp} (K = {Ks})"

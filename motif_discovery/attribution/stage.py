"""Stage 3 for one run directory: every prefix's pooled attribution rows a_n.

Outputs per prefix, in `<run>/3_attribution_graphs/`:
- `<prefix_id>.safetensors`: "a" [N, d_a] float32 (raw pooled rows, stage 2's row order),
  "activations" [d_a] float32 (sources.py: feature activation, error-vector norm, 1.0 for
  a token node);
- `<prefix_id>.json`: prefix_id, samples_sha256 (of the stage-2 file it was computed from;
  stage 4 refuses a pair whose stage-2 file has changed since), continuation_ids, sources
  {kind, layer, position, feature}, span, pooling, position_shift, prefix_token_ids,
  span_starts (per continuation, the index of its first target token).
The JSON is removed before the tensors are rewritten and written after them, so a killed
write never leaves a JSON beside tensors it does not describe.
A prefix reruns when its stage-2 file, its prefix row, the stage's config keys, its code or
the local transcoders (transcoders.json) change.
Bad input stops the stage before any prefix is computed: a continuation without tokens or
with a blank text, a prefix + continuation longer than the context, a prefix that stage 2
sampled after another token context (its summary's prefix_token_ids); transcoders that do not
match the model stop it when the model is loaded (first prefix to compute).
"""

from __future__ import annotations

import sys
from pathlib import Path

from tqdm import tqdm

from motif_discovery.attribution.compute import AttributionSettings, attribute_prefix
from motif_discovery.attribution.model import load_attribution_model, transcoders_digest
from motif_discovery.data.prefixes import PREFIXES_FILE, load_prefixes
from motif_discovery.model.context import check_fits, checked_context, max_context
from motif_discovery.model.loading import load_model_config, load_tokenizer, model_dtype
from motif_discovery.sampling.records import (
    Continuations,
    read_continuations,
    records_path,
    summary_path,
)
from motif_discovery.utils.config import Config, to_dict
from motif_discovery.utils.device import resolve_device
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_json, save_tensors, sha256_file, write_json
from motif_discovery.utils.manifest import config_subset
from motif_discovery.utils.stage import Stage, Unit, run_stage, shard_units

STAGE = Stage(
    name="3_attribution_graphs",
    config_keys=(
        "model.name",
        "model.transcoders",
        "model.bos_stand_in",
        "model.dtype",
        "model.max_context",
        "data.prompt_format",
        "attribution",
        "compat",
        "run.device",
    ),
    code=(
        "attribution",
        "model",
        "sampling/records.py",
        "toy_world/replacement.py",
        "data/prefixes.py",
        "utils",
    ),
)


def output_paths(run_dir: Path, prefix_id: str) -> tuple[Path, Path]:
    """(tensors, index JSON) of one prefix."""
    out = Path(run_dir) / STAGE.name
    return out / f"{prefix_id}.safetensors", out / f"{prefix_id}.json"


def check_sampled_context(summary_path: Path, prefix_id: str, context: list[int]) -> None:
    """Stage 2 must have sampled after the very context stage 3 builds (its summary records
    the prefix_token_ids, when present): a changed data.prompt_format, model.bos_stand_in or
    tokenizer since stage 2 is an error."""
    if not summary_path.is_file():
        return
    sampled = read_json(summary_path).get("prefix_token_ids")
    if sampled is not None and sampled != context:
        raise InputError(
            f"{summary_path}: prefix {prefix_id} was sampled after another token context "
            f"({len(sampled)} tokens) than the current config builds ({len(context)} tokens): "
            "data.prompt_format, model.bos_stand_in or the tokenizer changed; rerun stage 2"
        )


def checked_inputs(
    rows: list[dict], config: Config, run_dir: Path
) -> dict[str, tuple[list[int], Continuations]]:
    """Every selected prefix's token context and continuations, checked (InputError)."""
    tokenizer = load_tokenizer(config.model)
    limit = max_context(load_model_config(config.model), config.model)
    inputs = {}
    for row in rows:
        prefix_id = row["prefix_id"]
        context = checked_context(
            tokenizer,
            prefix_id,
            row.get("text"),
            config.model,
            config.data.prompt_format,
            0,
            limit,
            where=run_dir / PREFIXES_FILE,
        )
        path = records_path(run_dir, prefix_id)
        check_sampled_context(summary_path(run_dir, prefix_id), prefix_id, context)
        found = read_continuations(path, prefix_id, len(tokenizer))
        for cid, tokens in zip(found.ids, found.token_ids, strict=True):
            check_fits(f"{prefix_id} (continuation {cid})", len(context), len(tokens), limit)
        if config.attribution.pooling == "surprisal" and found.surprisal is None:
            raise InputError(
                f"{path}: prefix {prefix_id}: attribution.pooling 'surprisal' needs "
                "token_logprobs in every row (stage 2 writes them)"
            )
        inputs[prefix_id] = (context, found)
    return inputs


def write_prefix(
    run_dir: Path, prefix_id: str, context: list[int], found: Continuations, result, settings
) -> list[Path]:
    """Save a prefix's rows and source index; returns the files written."""
    tensor_path, json_path = output_paths(run_dir, prefix_id)
    json_path.unlink(missing_ok=True)  # no JSON beside tensors it does not describe
    save_tensors(tensor_path, {"a": result.a, "activations": result.sources.activations()})
    write_json(
        json_path,
        {
            "prefix_id": prefix_id,
            "samples_sha256": sha256_file(records_path(run_dir, prefix_id)),
            "continuation_ids": found.ids,
            "sources": result.sources.describe(),
            "span": settings.span,
            "pooling": settings.pooling,
            "position_shift": settings.position_shift,
            "prefix_token_ids": context,
            "span_starts": result.span_starts,
        },
    )
    return [tensor_path, json_path]


def run(config: Config, run_dir: Path, *, force: bool = False, shard: str = "0/1") -> None:
    """Stage 3 over every prefix of the run (this shard), skipping unchanged ones."""
    rows = load_prefixes(run_dir)
    units = [
        Unit(row["prefix_id"], (records_path(run_dir, row["prefix_id"]),), values=row)
        for row in rows
    ]
    selected = {unit.unit_id for unit in shard_units(units, shard, STAGE.name)}
    inputs = checked_inputs([r for r in rows if r["prefix_id"] in selected], config, run_dir)
    settings = AttributionSettings.from_config(config)
    loaded: list = []

    def process(prefix_id: str) -> list[Path]:
        if not loaded:
            device = resolve_device(config.run.device)
            dtype = model_dtype(config.model.dtype, device)
            loaded.append(load_attribution_model(config.model, device, dtype))
        context, found = inputs[prefix_id]
        bar = tqdm(total=0, desc=f"stage 3 {prefix_id}", leave=False, file=sys.stderr)
        with bar:
            result = attribute_prefix(
                loaded[0], context, found.token_ids, settings, bar.update, found.surprisal
            )
        return write_prefix(run_dir, prefix_id, context, found, result, settings)

    settings_used = config_subset(to_dict(config), STAGE.config_keys)
    settings_used["transcoders.json sha256"] = transcoders_digest(config.model)
    run_stage(
        STAGE, config, run_dir, units, process, force=force, shard=shard, settings=settings_used
    )

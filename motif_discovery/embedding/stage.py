"""Stage 4 for one run directory: the two views of every prefix's continuations.

Per prefix it reads
- `2_branch_sampling/<prefix_id>.jsonl`: continuation_id, text, p_n per row;
- `3_attribution_graphs/<prefix_id>.safetensors` ("a" [N, d_a], raw rows) and `.json`
  (its continuation_ids, which must equal stage 2's, in order),
and writes `4_feature_extraction/<prefix_id>.{safetensors,json}` (embedding/features.py):
e = the semantic view of prefix text + continuation text (embedding/semantic.py), a = the
centred, scaled attribution view with H_0 and s (embedding/attribution_view.py), p = raw
P_n, the ids and texts, and with data.labeler the ground-truth labels
(embedding/labels.py).

A prefix reruns when its row of prefixes.jsonl, its stage-2/3 files, the world file of
the labeler, the code, or one of embedding.model, embedding.max_length, data.labeler,
data.clozes, run.device changes. embedding.batch_size does not rerun it: it changes how
many texts share a forward pass, not what each row is (rows agree to float rounding,
~1e-6, whatever the batch and its padding).
"""

from __future__ import annotations

import functools
from pathlib import Path

import torch
from sentence_transformers import SentenceTransformer

from motif_discovery.data.prefixes import PREFIXES_FILE, load_prefixes
from motif_discovery.embedding.attribution_view import centre_and_scale
from motif_discovery.embedding.features import FeatureSet, save_features
from motif_discovery.embedding.labels import Labeler, encode, make_labeler
from motif_discovery.embedding.semantic import continuation_embeddings, load_embedder
from motif_discovery.sampling.records import read_continuations, records_path
from motif_discovery.utils.config import Config, EmbeddingConfig
from motif_discovery.utils.device import resolve_device
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import load_tensors, read_json, sha256_file
from motif_discovery.utils.stage import Stage, Unit, run_stage, shard_units

STAGE = Stage(
    name="4_feature_extraction",
    config_keys=(
        "embedding.model",
        "embedding.max_length",
        "data.labeler",
        "data.clozes",
        "run.device",
    ),
    code=(
        "embedding/attribution_view.py",
        "embedding/features.py",
        "embedding/labels.py",
        "embedding/semantic.py",
        "embedding/stage.py",
        "model/paths.py",
        "sampling/records.py",
        "clustering/centres.py",
        "toy_world/grammar.py",
        "toy_world/labels.py",
        "utils/io.py",
    ),
)
ATTRIBUTION_DIR = "3_attribution_graphs"


def input_paths(run_dir: Path, prefix_id: str) -> tuple[Path, Path, Path]:
    """(stage-2 jsonl, stage-3 safetensors, stage-3 json) of one prefix."""
    attribution = run_dir / ATTRIBUTION_DIR
    return (
        records_path(run_dir, prefix_id),
        attribution / f"{prefix_id}.safetensors",
        attribution / f"{prefix_id}.json",
    )


def check_attribution_index(json_path: Path, ids: list[str], samples: Path) -> None:
    """The stage-3 index must list `ids` (stage 2's, in order) and, when it records one, the
    sha256 of the stage-2 file it was computed from must be that of `samples` now."""
    index = read_json(json_path)
    listed = index.get("continuation_ids")
    if not isinstance(listed, list):
        raise InputError(f"{json_path}: 'continuation_ids' must be a list")
    if listed != ids:
        pairs = zip(listed, ids, strict=False)  # lengths may differ
        row = next((i for i, (x, y) in enumerate(pairs) if x != y), min(len(listed), len(ids)))
        raise InputError(
            f"{json_path}: continuation_ids differ from those of {samples} (same ids, same "
            f"order expected): {len(listed)} vs {len(ids)} ids, first difference at row {row}"
        )
    recorded = index.get("samples_sha256")
    if recorded is not None and recorded != sha256_file(samples):
        raise InputError(
            f"{json_path}: computed from another version of {samples} (stage 2 ran again "
            "since): rerun stage 3"
        )


def read_attributions(tensor_path: Path, n: int) -> torch.Tensor:
    """Raw a [n, d_a] (float32) of a stage-3 tensor file."""
    tensors = load_tensors(tensor_path)
    a_raw = tensors.get("a")
    if a_raw is None or a_raw.ndim != 2 or a_raw.shape[0] != n:
        shape = None if a_raw is None else tuple(a_raw.shape)
        raise InputError(f"{tensor_path}: 'a' must be [N={n}, d_a], got {shape}")
    a_raw = a_raw.float()
    if not torch.isfinite(a_raw).all():
        raise InputError(f"{tensor_path}: 'a' holds non-finite values")
    return a_raw


def checked_inputs(
    rows: dict[str, dict], run_dir: Path, selected: list[str]
) -> dict[str, tuple[str, list[str], list[str], torch.Tensor]]:
    """(prefix text, ids, texts, p) of every selected prefix, each checked before any work:
    the prefix text, the stage-2 rows, the stage-3 index (same ids, same stage-2 file)."""
    inputs = {}
    for prefix_id in selected:
        text = rows[prefix_id].get("text")
        if not isinstance(text, str) or not text.strip():
            raise InputError(
                f"{run_dir / PREFIXES_FILE}: prefix {prefix_id}: 'text' {text!r} is missing or empty"
            )
        samples, _, json_path = input_paths(run_dir, prefix_id)
        found = read_continuations(samples, prefix_id)
        if found.p_n is None:
            raise InputError(
                f"{samples}: prefix {prefix_id}: every row needs 'p_n' (stage 2 writes it)"
            )
        check_attribution_index(json_path, found.ids, samples)
        p = torch.tensor(found.p_n, dtype=torch.float32)
        inputs[prefix_id] = (text, found.ids, found.texts, p)
    return inputs


def prefix_features(
    embedder: SentenceTransformer,
    embedding: EmbeddingConfig,
    labeler: Labeler | None,
    prefix_id: str,
    prefix: str,
    ids: list[str],
    texts: list[str],
    p: torch.Tensor,
    a_raw: torch.Tensor,
    where: tuple[str | Path, str | Path] | None = None,
) -> FeatureSet:
    """One prefix's stage-4 features from its texts, P_n and raw rows a_raw [N, d_a]:
    e = the semantic view, (a, H_0, s) = centre_and_scale(a_raw, p), the labels.
    `where`: (source of the texts, source of a_raw), named in an InputError."""
    try:
        e = continuation_embeddings(
            embedder,
            prefix,
            texts,
            continuation_ids=ids,
            batch_size=embedding.batch_size,
            max_length=embedding.max_length,
        )
    except InputError as err:
        if where is None:
            raise
        raise InputError(f"{where[0]}: {err}") from err
    try:
        a, h_0, scale = centre_and_scale(a_raw, p)
    except InputError as err:
        if where is None:
            raise
        raise InputError(f"{where[1]}: {err}") from err
    labels, label_names = encode(labeler(prefix, texts)) if labeler else ({}, {})
    return FeatureSet(prefix_id, e, a, p, h_0, scale, ids, texts, labels, label_names)


def run(config: Config, run_dir: Path, *, force: bool = False, shard: str = "0/1") -> None:
    """Stage 4 over every prefix of the run (this shard), skipping unchanged ones."""
    rows = {row["prefix_id"]: row for row in load_prefixes(run_dir)}
    labeler, labeler_files = make_labeler(config, list(rows.values()), run_dir / PREFIXES_FILE)
    units = [
        Unit(prefix_id, (*input_paths(run_dir, prefix_id), *labeler_files), {"prefix": row})
        for prefix_id, row in rows.items()
    ]

    @functools.cache
    def embedder() -> SentenceTransformer:
        """The embedder, loaded by the first prefix that needs it."""
        return load_embedder(config.embedding.model, resolve_device(config.run.device))

    selected = [unit.unit_id for unit in shard_units(units, shard, STAGE.name)]
    inputs = checked_inputs(rows, run_dir, selected)

    def process(prefix_id: str) -> list[Path]:
        samples, tensor_path, _ = input_paths(run_dir, prefix_id)
        prefix, ids, texts, p = inputs[prefix_id]
        a_raw = read_attributions(tensor_path, len(ids))
        features = prefix_features(
            embedder(),
            config.embedding,
            labeler,
            prefix_id,
            prefix,
            ids,
            texts,
            p,
            a_raw,
            where=(samples, tensor_path),
        )
        return list(save_features(run_dir / STAGE.name, features))

    run_stage(STAGE, config, run_dir, units, process, force=force, shard=shard)

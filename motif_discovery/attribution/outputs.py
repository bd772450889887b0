"""Reading stage 3's artifact of one prefix (what stages 4, 6 and 7 consume).

`3_attribution_graphs/<prefix_id>.safetensors`: a [N, d_a] raw attribution rows, activations
[d_a] (feature activations, error-vector norms, 1.0 per token node);
`3_attribution_graphs/<prefix_id>.json`: continuation_ids, the source index (per column:
kind feature/error/token, layer, position, feature id), prefix_token_ids (the token context
every stage uses), span, pooling, position_shift.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch

from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import load_tensors, read_json

ATTRIBUTION_DIR = "3_attribution_graphs"
KINDS = ("feature", "error", "token")


def attribution_paths(run_dir: str | Path, prefix_id: str) -> tuple[Path, Path]:
    """(tensors, index JSON) of one prefix."""
    out = Path(run_dir) / ATTRIBUTION_DIR
    return out / f"{prefix_id}.safetensors", out / f"{prefix_id}.json"


@dataclass
class Sources:
    """The source index of a prefix: one entry per column of a."""

    kind: list[str]
    layer: list[int | None]
    position: list[int]
    feature: list[int | None]

    def __len__(self) -> int:
        return len(self.kind)

    def mask(self, kind: str) -> torch.Tensor:
        """[d_a] bool: the columns of one kind."""
        return torch.tensor([k == kind for k in self.kind], dtype=torch.bool)


@dataclass
class PrefixAttributions:
    """Stage 3's output of one prefix: raw rows, activations, sources, token context."""

    prefix_id: str
    a_raw: torch.Tensor
    activations: torch.Tensor
    sources: Sources
    continuation_ids: list[str]
    prefix_token_ids: list[int]
    record: dict


def read_sources(json_path: Path, record: dict, d_a: int) -> Sources:
    """The `sources` table of a stage-3 JSON, checked column by column against d_a."""
    table = record.get("sources")
    keys = ("kind", "layer", "position", "feature")
    if not isinstance(table, dict) or any(
        not isinstance(table.get(k), list) or len(table[k]) != d_a for k in keys
    ):
        raise InputError(f"{json_path}: 'sources' must hold {list(keys)}, each of {d_a} entries")
    unknown = sorted(set(table["kind"]) - set(KINDS))
    if unknown:
        raise InputError(f"{json_path}: sources.kind holds unknown kinds {unknown}")
    return Sources(*(table[k] for k in keys))


def load_attributions(run_dir: str | Path, prefix_id: str) -> PrefixAttributions:
    """Read and check one prefix's stage-3 output; a problem names the file and key."""
    tensor_path, json_path = attribution_paths(run_dir, prefix_id)
    for path in (tensor_path, json_path):
        if not path.is_file():
            raise InputError(f"{path}: missing; run stage 3 (attribution) first")
    record = read_json(json_path)
    tensors = load_tensors(tensor_path)
    a_raw, activations = tensors.get("a"), tensors.get("activations")
    if a_raw is None or a_raw.ndim != 2 or activations is None:
        raise InputError(f"{tensor_path}: expected 'a' [N, d_a] and 'activations' [d_a]")
    n, d_a = a_raw.shape
    if activations.shape != (d_a,):
        raise InputError(f"{tensor_path}: 'activations' has shape {tuple(activations.shape)}")
    ids = record.get("continuation_ids")
    if not isinstance(ids, list) or len(ids) != n:
        raise InputError(f"{json_path}: continuation_ids must be a list of {n} ids")
    context = record.get("prefix_token_ids")
    if not isinstance(context, list) or not context:
        raise InputError(f"{json_path}: 'prefix_token_ids' must be a non-empty list")
    return PrefixAttributions(
        prefix_id=prefix_id,
        a_raw=a_raw.float(),
        activations=activations.float(),
        sources=read_sources(json_path, record, d_a),
        continuation_ids=ids,
        prefix_token_ids=[int(t) for t in context],
        record=record,
    )

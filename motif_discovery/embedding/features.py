"""The stage-4 artifact: one prefix's two views, weights and ids, in one row order.

Files per prefix, in `<run>/4_feature_extraction/`:
- `<prefix_id>.safetensors`: e [N, d_e] (unit-norm semantic view), a [N, d_a] (centred,
  scaled attribution view), p [N] (raw P_n, not normalized), H_0 [d_a] (the centre that
  was subtracted), scale [1] (s, so raw = s * a + H_0);
- `<prefix_id>.json`: prefix_id, continuation_ids [N], texts [N] (optional), labels
  (optional: name -> [N] ints, e.g. planted motif ids of synthetic or toy-world data),
  label_names (optional: name -> the names of its ints, label i is label_names[name][i]).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import load_tensors, read_json, save_tensors, write_json

TENSOR_KEYS = ("e", "a", "p", "H_0", "scale")


@dataclass
class FeatureSet:
    """Two views of the N continuations of one prefix."""

    prefix_id: str
    e: torch.Tensor
    a: torch.Tensor
    p: torch.Tensor
    H_0: torch.Tensor
    scale: float
    continuation_ids: list[str]
    texts: list[str] | None = None
    labels: dict[str, list[int]] = field(default_factory=dict)
    label_names: dict[str, list[str]] = field(default_factory=dict)

    @property
    def n(self) -> int:
        """Number of continuations N."""
        return int(self.e.shape[0])

    def raw_attribution(self, a: torch.Tensor) -> torch.Tensor:
        """Map centred, scaled attributions back to raw units: s * a + H_0."""
        return self.scale * a + self.H_0.to(a)


def feature_paths(directory: str | Path, prefix_id: str) -> tuple[Path, Path]:
    """The (safetensors, json) pair of one prefix."""
    directory = Path(directory)
    return directory / f"{prefix_id}.safetensors", directory / f"{prefix_id}.json"


def save_features(directory: str | Path, features: FeatureSet) -> tuple[Path, Path]:
    """Write the tensors first, then the JSON (its presence marks the pair complete)."""
    tensor_path, json_path = feature_paths(directory, features.prefix_id)
    json_path.unlink(missing_ok=True)  # no JSON beside tensors it does not describe
    save_tensors(
        tensor_path,
        {
            "e": features.e,
            "a": features.a,
            "p": features.p,
            "H_0": features.H_0,
            "scale": torch.tensor([features.scale], dtype=features.a.dtype),
        },
    )
    record: dict = {"prefix_id": features.prefix_id, "continuation_ids": features.continuation_ids}
    if features.texts is not None:
        record["texts"] = features.texts
    if features.labels:
        record["labels"] = features.labels
    if features.label_names:
        record["label_names"] = features.label_names
    write_json(json_path, record)
    return tensor_path, json_path


def load_features(directory: str | Path, prefix_id: str) -> FeatureSet:
    """Read and check one prefix's features; every problem names the file and key."""
    tensor_path, json_path = feature_paths(directory, prefix_id)
    record = read_json(json_path)
    tensors = load_tensors(tensor_path)
    missing = [k for k in TENSOR_KEYS if k not in tensors]
    if missing:
        raise InputError(f"{tensor_path}: missing tensors {missing}")
    e, a, p = tensors["e"], tensors["a"], tensors["p"]
    n = e.shape[0]
    if e.ndim != 2 or a.ndim != 2 or p.ndim != 1:
        raise InputError(f"{tensor_path}: expected e [N,d_e], a [N,d_a], p [N]")
    if a.shape[0] != n or p.shape[0] != n:
        raise InputError(
            f"{tensor_path}: views disagree on N: e {tuple(e.shape)}, a {tuple(a.shape)}, "
            f"p {tuple(p.shape)}"
        )
    if tensors["H_0"].shape != (a.shape[1],):
        raise InputError(f"{tensor_path}: H_0 has shape {tuple(tensors['H_0'].shape)}")
    ids = record.get("continuation_ids")
    if not isinstance(ids, list) or len(ids) != n:
        raise InputError(f"{json_path}: continuation_ids must be a list of {n} ids")
    labels = record.get("labels", {})
    for name, values in labels.items():
        if len(values) != n:
            raise InputError(f"{json_path}: labels.{name} has {len(values)} entries, expected {n}")
    label_names = record.get("label_names", {})
    for name, names in label_names.items():
        if name not in labels or not all(0 <= v < len(names) for v in labels[name]):
            raise InputError(f"{json_path}: label_names.{name} does not name every labels.{name}")
    return FeatureSet(
        prefix_id=prefix_id,
        e=e,
        a=a,
        p=p,
        H_0=tensors["H_0"],
        scale=float(tensors["scale"].reshape(-1)[0]),
        continuation_ids=ids,
        texts=record.get("texts"),
        labels=labels,
        label_names=label_names,
    )

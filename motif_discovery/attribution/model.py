"""The replacement model of the configured model: circuit-tracer's ReplacementModel
(NNSight backend) with the configured transcoders.

- `model.transcoders` a local directory in the toy world's format (transcoders.json +
  layer_<i>.safetensors): `toy_world.replacement.load_replacement_model`, which checks the
  shapes and that the transcoders were trained on these weights;
- anything else is a circuit-tracer transcoder set (e.g. 'mwhanna/qwen3-8b-transcoders'):
  `ReplacementModel.from_pretrained(model, transcoder_set)`, which downloads both unless
  they are in the Hugging Face cache (this path needs a GPU-sized machine; it is not run
  by the tests).
"""

from __future__ import annotations

from pathlib import Path

import torch
from circuit_tracer import ReplacementModel

from motif_discovery.model.hooks import check_hook_points
from motif_discovery.model.paths import local_path, resolve_name
from motif_discovery.toy_world.replacement import METADATA_FILE, load_replacement_model
from motif_discovery.utils.config import ModelConfig
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import sha256_file


def transcoders_metadata(config: ModelConfig) -> Path | None:
    """A local transcoder directory's transcoders.json (it records the model weights'
    sha256 and the training figures, so retrained transcoders or model change it); None
    for a transcoder set named by id."""
    transcoders = local_path(config.transcoders)
    if transcoders is None or not (transcoders / METADATA_FILE).is_file():
        return None
    return transcoders / METADATA_FILE


def transcoders_digest(config: ModelConfig) -> str | None:
    """sha256 of transcoders_metadata (None for a transcoder set named by id)."""
    path = transcoders_metadata(config)
    return None if path is None else sha256_file(path)


def load_attribution_model(config: ModelConfig, device: torch.device, dtype: torch.dtype):
    """The frozen replacement model of `model.name` with `model.transcoders`, whose hook
    points stage 7 must be able to hook (checked here, before any prefix is attributed)."""
    replacement = load_replacement(config, device, dtype)
    layers = replacement.transcoders
    check_hook_points(layers.feature_input_hook, layers.feature_output_hook)
    return replacement


def load_replacement(config: ModelConfig, device: torch.device, dtype: torch.dtype):
    """circuit-tracer's ReplacementModel of `model.name` with `model.transcoders`."""
    transcoders = local_path(config.transcoders)
    model_dir = local_path(config.name)
    if transcoders is not None and (transcoders / METADATA_FILE).is_file():
        if model_dir is None:
            raise InputError(
                f"model.transcoders: {config.transcoders!r} is a local transcoder directory, "
                f"but model.name {config.name!r} is not a local model directory"
            )
        return load_replacement_model(model_dir, transcoders, device, dtype)
    if transcoders is not None:
        raise InputError(
            f"model.transcoders: {transcoders} has no {METADATA_FILE} (not a transcoder "
            "directory); name a circuit-tracer transcoder set instead"
        )
    return ReplacementModel.from_pretrained(
        resolve_name(config.name),
        config.transcoders,
        backend="nnsight",
        device=device,
        dtype=dtype,
    )

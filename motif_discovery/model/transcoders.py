"""The configured transcoders as per-layer encode/decode for the real model (stage 7).

A per-layer transcoder maps layer l's MLP input h to its MLP output:
    a = act(W_enc h + b_enc),   mlp_hat(h) = a W_dec + b_dec (+ h W_skip^T when it has one).

- `model.transcoders` a local directory in the toy world's format (transcoders.json +
  layer_<i>.safetensors; TopK-ReLU): `toy_world.replacement.load_transcoders`, checked
  against the model's weights when `model.name` is a local directory;
- anything else is a circuit-tracer transcoder set on the Hugging Face hub (or its cache),
  loaded alone with circuit-tracer's own loader (the language model is not loaded here).
  Cross-layer transcoders (one feature writes to every later layer) have no per-layer
  decode and are refused.
"""

from __future__ import annotations

import torch
from circuit_tracer.transcoder import TranscoderSet
from circuit_tracer.utils.hf_utils import load_transcoder_from_hub

from motif_discovery.model.paths import local_path
from motif_discovery.toy_world.replacement import METADATA_FILE, check_trained_on
from motif_discovery.toy_world.replacement import load_transcoders as load_toy_transcoders
from motif_discovery.utils.config import ModelConfig
from motif_discovery.utils.errors import InputError


class Transcoders:
    """Per-layer encode/decode of a circuit-tracer TranscoderSet, in the transcoders' dtype.
    A layer's decoder is read once and kept: circuit-tracer's hub loader loads decoders
    lazily, re-reading W_dec from disk on every access."""

    def __init__(self, layers: TranscoderSet):
        self.layers = layers
        self.n_layers = len(layers)
        self.d_transcoder = layers[0].d_transcoder
        self.dtype = layers[0].dtype
        self._W_dec: dict[int, torch.Tensor] = {}

    def encode(self, layer: int, mlp_input: torch.Tensor) -> torch.Tensor:
        """a = act(W_enc h + b_enc): [..., d_model] -> [..., d_transcoder]."""
        return self.layers[layer].encode(mlp_input.to(self.dtype))

    def decode(
        self, layer: int, acts: torch.Tensor, mlp_input: torch.Tensor | None = None
    ) -> torch.Tensor:
        """mlp_hat = a W_dec + b_dec (+ h W_skip^T, which needs `mlp_input`)."""
        transcoder = self.layers[layer]
        mlp_hat = acts @ self.W_dec(layer) + transcoder.b_dec
        if transcoder.W_skip is None:
            return mlp_hat
        if mlp_input is None:
            raise ValueError(f"layer {layer}: the transcoder's skip term needs the MLP input")
        return mlp_hat + transcoder.compute_skip(mlp_input)

    def W_dec(self, layer: int) -> torch.Tensor:
        """Decoder matrix [d_transcoder, d_model] of `layer` (read on first use, then kept)."""
        if layer not in self._W_dec:
            self._W_dec[layer] = self.layers[layer]._get_decoder_vectors()
        return self._W_dec[layer]

    def decoder_rows(self, layer: int, features: torch.Tensor) -> torch.Tensor:
        """W_dec[features] [n, d_model] (of the kept decoder, else only these rows are read)."""
        if layer in self._W_dec:
            return self._W_dec[layer][features.long()]
        return self.layers[layer]._get_decoder_vectors(features.long())


def load_transcoders(config: ModelConfig, device: torch.device, dtype: torch.dtype) -> Transcoders:
    """The transcoders of `model.transcoders` on `device` in `dtype`."""
    directory = local_path(config.transcoders)
    if directory is not None and (directory / METADATA_FILE).is_file():
        model_dir = local_path(config.name)
        if model_dir is not None:
            check_trained_on(model_dir, directory)
        return Transcoders(load_toy_transcoders(directory, device=device, dtype=dtype))
    if directory is not None:
        raise InputError(
            f"model.transcoders: {directory} has no {METADATA_FILE} (not a transcoder "
            "directory); name a circuit-tracer transcoder set instead"
        )
    try:
        layers, _ = load_transcoder_from_hub(config.transcoders, device=device, dtype=dtype)
    except (OSError, ValueError, KeyError) as err:
        raise InputError(
            f"model.transcoders: cannot load the transcoder set {config.transcoders!r} ({err})"
        ) from err
    if not isinstance(layers, TranscoderSet):
        raise InputError(
            f"model.transcoders: {config.transcoders!r} is a {type(layers).__name__}; steering "
            "needs per-layer transcoders (a cross-layer transcoder has no per-layer decode)"
        )
    return Transcoders(layers)

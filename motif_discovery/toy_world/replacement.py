"""The toy world's replacement model: its saved per-layer transcoders, loaded for circuit-tracer.

On-disk format of a transcoder directory (written by `toy_world.transcoders`):

- `layer_{i}.safetensors` for i = 0..n_layers-1, circuit-tracer's `SingleLayerTranscoder`
  layout: W_enc (d_transcoder, d_model), W_dec (d_transcoder, d_model), b_enc (d_transcoder,),
  b_dec (d_model,), all float32.
- `transcoders.json`: n_layers, d_model, d_transcoder, the activation (TopK then ReLU, with its
  k, which circuit-tracer's own loaders cannot re-create), the hooks, the sha256 of the model
  weights they were trained on, and the training figures.

A transcoder maps the MLP input h (post_attention_layernorm output) to the MLP output:
    a = ReLU(TopK_k(W_enc h + b_enc)),  mlp_hat(h) = a W_dec + b_dec.
"""

from pathlib import Path

import torch
from circuit_tracer import ReplacementModel
from circuit_tracer.replacement_model.replacement_model_nnsight import NNSightReplacementModel
from circuit_tracer.transcoder import SingleLayerTranscoder, TranscoderSet
from safetensors import SafetensorError, safe_open
from torch import nn
from transformers import AutoConfig

from motif_discovery.model.hooks import mlp_hooks
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_json, sha256_file

METADATA_FILE = "transcoders.json"
MODEL_WEIGHTS_FILE = "model.safetensors"
FEATURE_INPUT_HOOK = "mlp.hook_in"
FEATURE_OUTPUT_HOOK = "mlp.hook_out"
ACTIVATION_NAME = "topk_relu"
FORMAT_VERSION = 1


def topk_relu(z: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(values, indices) of a = ReLU(TopK_k(z)) along the last axis in sparse form: the k
    largest pre-activations, negatives zeroed."""
    values, indices = z.topk(k, dim=-1)
    return values.relu(), indices


class TopKReLU(nn.Module):
    """a = ReLU(TopK_k(z)) as a dense tensor (circuit-tracer's activation function)."""

    def __init__(self, k: int):
        super().__init__()
        self.k = k

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        values, indices = topk_relu(z, self.k)
        return torch.zeros_like(z).scatter(-1, indices, values)

    def extra_repr(self) -> str:
        return f"k={self.k}"


def layer_file(layer: int) -> str:
    """File name of layer `layer`'s transcoder."""
    return f"layer_{layer}.safetensors"


def read_metadata(transcoder_dir: Path) -> dict:
    """The parsed `transcoders.json` of a transcoder directory, with its required keys checked."""
    path = Path(transcoder_dir) / METADATA_FILE
    metadata = read_json(path)
    if not isinstance(metadata, dict):
        raise InputError(f"{path}: expected a JSON object")
    required = {"format_version", "n_layers", "d_model", "d_transcoder", "activation"}
    missing = sorted(required - set(metadata))
    if missing:
        raise InputError(f"{path}: missing keys {missing}")
    for key in ("n_layers", "d_model", "d_transcoder"):
        if not isinstance(metadata[key], int) or metadata[key] < 1:
            raise InputError(f"{path}: {key}={metadata[key]!r} must be a positive int")
    if metadata["format_version"] != FORMAT_VERSION:
        raise InputError(
            f"{path}: format_version {metadata['format_version']!r}, expected {FORMAT_VERSION}"
        )
    activation = metadata["activation"]
    if not isinstance(activation, dict) or activation.get("name") != ACTIVATION_NAME:
        raise InputError(f"{path}: activation {activation!r}, expected name {ACTIVATION_NAME!r}")
    k = activation.get("k")
    if not isinstance(k, int) or not 0 < k <= metadata["d_transcoder"]:
        raise InputError(f"{path}: activation k={k!r} must be an int in [1, d_transcoder]")
    return metadata


def _load_layer(path: Path, layer: int, metadata: dict, device: str | torch.device, dtype):
    """One SingleLayerTranscoder from `path`, every tensor's shape checked against the metadata."""
    if not path.is_file():
        raise InputError(f"transcoder file missing: {path}")
    d_model, d_transcoder = metadata["d_model"], metadata["d_transcoder"]
    expected = {
        "W_enc": (d_transcoder, d_model),
        "W_dec": (d_transcoder, d_model),
        "b_enc": (d_transcoder,),
        "b_dec": (d_model,),
    }
    try:
        with safe_open(str(path), framework="pt", device="cpu") as handle:
            tensors = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError) as err:
        raise InputError(f"{path}: unreadable safetensors file ({err})") from err
    if set(tensors) != set(expected):
        raise InputError(f"{path}: tensors {sorted(tensors)}, expected {sorted(expected)}")
    for key, shape in expected.items():
        if tuple(tensors[key].shape) != shape:
            raise InputError(
                f"{path}: {key} has shape {tuple(tensors[key].shape)}, expected {shape} "
                f"(d_model={d_model}, d_transcoder={d_transcoder})"
            )
        if not torch.isfinite(tensors[key]).all():
            raise InputError(f"{path}: {key} has non-finite values")
    transcoder = SingleLayerTranscoder(
        d_model,
        d_transcoder,
        TopKReLU(metadata["activation"]["k"]),
        layer,
        device=torch.device(device),
        dtype=dtype,
    )
    transcoder.load_state_dict({key: value.to(dtype) for key, value in tensors.items()})
    return transcoder


def load_transcoders(
    transcoder_dir: Path,
    *,
    n_layers: int | None = None,
    d_model: int | None = None,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> TranscoderSet:
    """The TranscoderSet saved in `transcoder_dir`; `n_layers`/`d_model`, when given, must match."""
    transcoder_dir = Path(transcoder_dir)
    metadata = read_metadata(transcoder_dir)
    meta_path = transcoder_dir / METADATA_FILE
    for key, wanted in (("n_layers", n_layers), ("d_model", d_model)):
        if wanted is not None and metadata[key] != wanted:
            raise InputError(f"{meta_path}: {key}={metadata[key]}, but the model has {wanted}")
    extra = sorted(
        path.name
        for path in transcoder_dir.glob("layer_*.safetensors")
        if path.name not in {layer_file(i) for i in range(metadata["n_layers"])}
    )
    if extra:
        raise InputError(
            f"{transcoder_dir}: files {extra} beyond n_layers={metadata['n_layers']} in {meta_path}"
        )
    transcoders = {
        layer: _load_layer(transcoder_dir / layer_file(layer), layer, metadata, device, dtype)
        for layer in range(metadata["n_layers"])
    }
    return TranscoderSet(
        transcoders,
        feature_input_hook=FEATURE_INPUT_HOOK,
        feature_output_hook=FEATURE_OUTPUT_HOOK,
        scan=metadata.get("scan", "toy_world"),
    )


def check_trained_on(model_dir: Path, transcoder_dir: Path) -> None:
    """Raise InputError unless transcoders.json records the sha256 of this model's weights."""
    weights = Path(model_dir) / MODEL_WEIGHTS_FILE
    meta_path = Path(transcoder_dir) / METADATA_FILE
    recorded = read_metadata(transcoder_dir).get("model_sha256")
    if not isinstance(recorded, str):
        raise InputError(
            f"{meta_path}: key 'model_sha256' missing; transcoders of unknown model weights "
            "are refused (retrain them, or record the sha256 of the weights they were trained on)"
        )
    if not weights.is_file():
        raise InputError(f"{weights}: file not found (model weights)")
    if sha256_file(weights) != recorded:
        raise InputError(
            f"{meta_path}: trained on other model weights than {weights} (sha256 differs); "
            "retrain the transcoders"
        )


def load_replacement_model(
    model_dir: Path,
    transcoder_dir: Path,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> NNSightReplacementModel:
    """circuit-tracer's ReplacementModel (NNSight backend) of the local model in `model_dir`."""
    model_dir = Path(model_dir).resolve()
    config_path = model_dir / "config.json"
    if not config_path.is_file():
        raise InputError(f"model config missing: {config_path}")
    config = AutoConfig.from_pretrained(str(model_dir))
    transcoders = load_transcoders(
        transcoder_dir,
        n_layers=config.num_hidden_layers,
        d_model=config.hidden_size,
        device=device,
        dtype=dtype,
    )
    check_trained_on(model_dir, transcoder_dir)
    return ReplacementModel.from_pretrained_and_transcoders(
        model_name=str(model_dir),
        transcoders=transcoders,
        backend="nnsight",
        device=torch.device(device),
        dtype=dtype,
    )


def replacement_mlp_outputs(
    transcoders: TranscoderSet, activations: torch.Tensor, error_vectors: torch.Tensor
) -> list[torch.Tensor]:
    """Per layer, what the replacement writes in place of the MLP output:
    sum_f a_f W_dec[f] + b_dec + error (activations [layers, pos, d_transcoder])."""
    return [
        activations[layer] @ tc.W_dec + tc.b_dec + error_vectors[layer]
        for layer, tc in enumerate(transcoders)
    ]


@torch.no_grad()
def logits_with_mlp_outputs(
    model: nn.Module, mlp_outputs: list[torch.Tensor], ids: torch.Tensor
) -> torch.Tensor:
    """Logits [pos, vocab] of the real model rerun with each layer's MLP output replaced by
    mlp_outputs[layer] at positions >= 1 (position 0, the BOS, keeps the real MLP)."""

    def patch(layer: int, _mlp_input: torch.Tensor, output: torch.Tensor) -> torch.Tensor:
        patched = output.clone()
        patched[0, 1:] = mlp_outputs[layer][1:]
        return patched

    with mlp_hooks(model, patch):
        return model(input_ids=ids[None]).logits[0]

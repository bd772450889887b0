"""Load the configured language model and its tokenizer (stages 2, 3 and 7)."""

from __future__ import annotations

import torch
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    AutoTokenizer,
    PretrainedConfig,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from motif_discovery.model.paths import offline, resolve_name
from motif_discovery.utils.config import ModelConfig
from motif_discovery.utils.errors import InputError

DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}


def model_dtype(name: str, device: torch.device) -> torch.dtype:
    """`auto` -> bfloat16 on CUDA, float32 on CPU; otherwise the named dtype."""
    if name == "auto":
        return torch.bfloat16 if device.type == "cuda" else torch.float32
    return DTYPES[name]


def load_model_config(config: ModelConfig) -> PretrainedConfig:
    """The transformers config of `model.name` (no weights)."""
    try:
        return AutoConfig.from_pretrained(
            resolve_name(config.name), local_files_only=offline(config.name)
        )
    except (OSError, ValueError) as err:
        raise InputError(f"model.name: cannot load a config from {config.name!r} ({err})") from err


def load_tokenizer(config: ModelConfig) -> PreTrainedTokenizerBase:
    """The model's tokenizer; a local directory is read offline."""
    try:
        return AutoTokenizer.from_pretrained(
            resolve_name(config.name), local_files_only=offline(config.name)
        )
    except (OSError, ValueError) as err:
        raise InputError(
            f"model.name: cannot load a tokenizer from {config.name!r} ({err})"
        ) from err


def load_model(config: ModelConfig, device: torch.device) -> PreTrainedModel:
    """The model of `model.name` in eval mode on `device` (its tokenizer: load_tokenizer)."""
    try:
        model = AutoModelForCausalLM.from_pretrained(
            resolve_name(config.name),
            local_files_only=offline(config.name),
            dtype=model_dtype(config.dtype, device),
        )
    except (OSError, ValueError) as err:
        raise InputError(f"model.name: cannot load a model from {config.name!r} ({err})") from err
    return model.to(device).eval()

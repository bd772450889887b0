"""The toy world's language model: a tiny Qwen3ForCausalLM, its config and a checked loader."""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    PreTrainedModel,
    PreTrainedTokenizerFast,
    Qwen3Config,
    Qwen3ForCausalLM,
)

from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_json

ARCHITECTURE = "Qwen3ForCausalLM"
REQUIRED_FILES = ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json")


def toy_config(tokenizer: PreTrainedTokenizerFast, small: bool = False) -> Qwen3Config:
    """4 layers, hidden 128, 4 query / 2 key-value heads of dim 32, MLP 512 (~1M params);
    small: 2 layers, hidden 64, 2 query / 1 key-value heads of dim 32, MLP 256."""
    scale = 2 if small else 1
    return Qwen3Config(
        vocab_size=len(tokenizer),
        hidden_size=128 // scale,
        intermediate_size=512 // scale,
        num_hidden_layers=4 // scale,
        num_attention_heads=4 // scale,
        num_key_value_heads=2 // scale,
        head_dim=32,
        max_position_embeddings=64,
        rope_theta=10000.0,
        tie_word_embeddings=False,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        architectures=[ARCHITECTURE],
    )


def new_model(
    tokenizer: PreTrainedTokenizerFast, seed: int, small: bool = False
) -> Qwen3ForCausalLM:
    """A freshly initialized model (init seeded by `seed`)."""
    torch.manual_seed(seed)
    return Qwen3ForCausalLM(toy_config(tokenizer, small))


def _check_weights(model_dir: Path, config: Qwen3Config) -> None:
    """Every tensor of the architecture is in model.safetensors with its shape, and no other."""
    with torch.device("meta"):
        expected = {k: tuple(v.shape) for k, v in Qwen3ForCausalLM(config).state_dict().items()}
    path = model_dir / "model.safetensors"
    try:
        with safe_open(str(path), framework="pt") as handle:
            found = {k: tuple(handle.get_slice(k).get_shape()) for k in handle.keys()}  # noqa: SIM118
    except (SafetensorError, OSError) as err:
        raise InputError(f"{path}: not a readable safetensors file ({err})") from err
    for key, shape in expected.items():
        if key not in found:
            raise InputError(f"{path}: missing tensor {key!r}")
        if found[key] != shape:
            raise InputError(f"{path}: tensor {key!r} has shape {found[key]}, config needs {shape}")
    extra = sorted(set(found) - set(expected))
    if extra:
        raise InputError(f"{path}: unexpected tensors {extra[:3]} for {ARCHITECTURE}")


def load_toy_model(model_dir: str | Path) -> tuple[PreTrainedModel, PreTrainedTokenizerFast]:
    """Load model and tokenizer from one directory, offline, after checking files and shapes."""
    model_dir = Path(model_dir)
    for name in REQUIRED_FILES:
        if not (model_dir / name).is_file():
            raise InputError(f"{model_dir / name}: file not found (toy model directory)")
    raw = read_json(model_dir / "config.json")
    if raw.get("architectures") != [ARCHITECTURE]:
        raise InputError(
            f"{model_dir / 'config.json'}: key 'architectures' is {raw.get('architectures')!r}, "
            f"expected [{ARCHITECTURE!r}]"
        )
    config = Qwen3Config.from_pretrained(model_dir, local_files_only=True)
    _check_weights(model_dir, config)
    tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
    if len(tokenizer) > config.vocab_size:
        raise InputError(
            f"{model_dir / 'tokenizer.json'}: {len(tokenizer)} tokens exceed "
            f"config.json vocab_size {config.vocab_size}"
        )
    if not tokenizer.bos_token_id:
        raise InputError(f"{model_dir / 'tokenizer_config.json'}: bos_token must have a nonzero id")
    model = AutoModelForCausalLM.from_pretrained(
        model_dir, local_files_only=True, dtype=torch.float32
    )
    return model.eval(), tokenizer


def episode_ids(tokenizer: PreTrainedTokenizerFast, text: str) -> list[int]:
    """Token ids of one episode's text as the model is trained on it: BOS, words, EOS."""
    ids = tokenizer(text, add_special_tokens=False).input_ids
    return [tokenizer.bos_token_id, *ids, tokenizer.eos_token_id]

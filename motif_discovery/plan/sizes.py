"""Sizes of the models a run loads, without loading any: a local directory's config.json
(or transcoders.json), a small table of known Hugging Face ids, else "unknown size".

Parameters of a decoder-only transformer with a gated MLP (Qwen2/3, Llama, Mistral, Gemma 3
text), from its config:

    P = V d (embedding) + [V d (untied LM head)] + d (final norm)
        + L (d H h (q) + 2 d K h (k, v) + H h d (o) + 3 d I (gate, up, down)
             + n_norm d + [2 h (q/k norms)] + [H h + 2 K h (q/k/v biases)])

with V the vocabulary, d the model width, L layers, H query heads, K key-value heads, h the
head width, I the MLP width, n_norm = 4 for Gemma 3 (norms before and after attention and
MLP), else 2. A multimodal config.json (Gemma 3 4B and up: model_type gemma3) describes its
language model under `text_config`, leaving out the fields that equal transformers' defaults
(TEXT_DEFAULTS); its vision encoder is not counted. A per-layer transcoder set of width w holds L (2 w d + w + d) parameters
(encoder, decoder, their biases), plus L d^2 with a skip connection.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from motif_discovery.model.paths import local_path
from motif_discovery.utils.errors import InputError

BYTES = {"float32": 4, "bfloat16": 2, "float16": 2}
DECODER_TYPES = {"qwen3", "qwen2", "llama", "mistral", "gemma3_text"}
QK_NORM_TYPES = {"qwen3", "gemma3_text"}


@dataclass(frozen=True)
class Size:
    """A model's size: parameters (None: unknown), layers, width, vocabulary, and where
    the figures come from."""

    params: int | None
    layers: int | None = None
    d_model: int | None = None
    vocab: int | None = None
    source: str = "unknown size"


QWEN3_8B_CONFIG = {  # Qwen/Qwen3-8B config.json (the fields the formula reads)
    "model_type": "qwen3",
    "vocab_size": 151936,
    "hidden_size": 4096,
    "intermediate_size": 12288,
    "num_hidden_layers": 36,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "tie_word_embeddings": False,
}
TEXT_DEFAULTS = {  # transformers' Gemma3TextConfig defaults, which config.json leaves out
    "gemma3_text": {
        "vocab_size": 262208,
        "hidden_size": 2304,
        "intermediate_size": 9216,
        "num_hidden_layers": 26,
        "num_attention_heads": 8,
        "num_key_value_heads": 4,
        "head_dim": 256,
        "tie_word_embeddings": True,
        "attention_bias": False,
    }
}
GEMMA3_4B = Size(4_300_000_000, 34, 2560, 262_208, "published: 4.3B with its vision encoder")
EMBEDDINGGEMMA = Size(308_000_000, 24, 768, 262_144, "published: 308M")
MINILM = Size(22_700_000, 6, 384, 30_522, "published: 22.7M")


def decoder_params(config: dict) -> int:
    """P of the module docstring from a config.json; KeyError on a missing field."""
    V, d, L = config["vocab_size"], config["hidden_size"], config["num_hidden_layers"]
    H, K, inner = (
        config["num_attention_heads"],
        config["num_key_value_heads"],
        config["intermediate_size"],
    )
    h = config.get("head_dim") or d // H
    kind = config["model_type"]
    layer = d * H * h + 2 * d * K * h + H * h * d + 3 * d * inner
    layer += (4 if kind == "gemma3_text" else 2) * d
    layer += 2 * h if kind in QK_NORM_TYPES else 0
    layer += H * h + 2 * K * h if config.get("attention_bias") else 0
    head = 0 if config.get("tie_word_embeddings", False) else V * d
    return V * d + head + d + L * layer


def language_model(config: dict) -> dict:
    """The decoder's fields of a config.json: its `text_config` when it has one (a
    multimodal model's language model), with the defaults of TEXT_DEFAULTS filled in."""
    text = config.get("text_config")
    config = text if isinstance(text, dict) else config
    return {**TEXT_DEFAULTS.get(config.get("model_type"), {}), **config}


def config_size(config: dict, source: str) -> Size:
    """The Size of a decoder's config.json (unknown for another architecture); of a
    multimodal one's language model."""
    if isinstance(config.get("text_config"), dict):
        source += " (text_config: the language model; its vision encoder is not counted)"
    config = language_model(config)
    if config.get("model_type") not in DECODER_TYPES:
        return Size(None, source=f"unknown size (architecture {config.get('model_type')!r})")
    try:
        params = decoder_params(config)
    except KeyError as err:
        return Size(None, source=f"unknown size ({source} has no {err})")
    return Size(
        params,
        config["num_hidden_layers"],
        config["hidden_size"],
        config["vocab_size"],
        source,
    )


KNOWN = {
    "Qwen/Qwen3-8B": config_size(QWEN3_8B_CONFIG, "config of Qwen/Qwen3-8B (published: 8.2B)"),
    "google/gemma-3-4b-pt": GEMMA3_4B,
    "google/gemma-3-4b-it": GEMMA3_4B,
    "google/embeddinggemma-300m": EMBEDDINGGEMMA,
    "all-MiniLM-L6-v2": MINILM,
    "sentence-transformers/all-MiniLM-L6-v2": MINILM,
}


def read_json(path: Path, key: str) -> dict:
    """A JSON object from `path`; InputError naming `key` when it is unreadable."""
    try:
        tree = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise InputError(f"{key}: cannot read {path} ({err})") from err
    if not isinstance(tree, dict):
        raise InputError(f"{key}: {path} is not a JSON object")
    return tree


def model_size(name: str, key: str) -> Size:
    """A language model's or embedder's Size: a local directory's config.json, else the
    table of known ids, else unknown. Reads nothing but config.json."""
    directory = local_path(name)
    if directory is not None:
        config = directory / "config.json"
        if not config.is_file():
            raise InputError(f"{key}: {directory} has no config.json")
        return config_size(read_json(config, key), f"{name.rstrip('/')}/config.json")
    return KNOWN.get(name, Size(None))


WIDTH = re.compile(r"width_(\d+)([km])", re.IGNORECASE)


def transcoder_size(name: str, model: Size, key: str) -> Size:
    """A transcoder set's Size: a local directory's transcoders.json, else a width in the
    hub path (GemmaScope's `width_16k`) with the model's layers and width, else unknown."""
    directory = local_path(name)
    if directory is not None:
        meta = read_json(directory / "transcoders.json", key)
        missing = [k for k in ("n_layers", "d_model", "d_transcoder") if k not in meta]
        if missing:
            raise InputError(f"{key}: {directory / 'transcoders.json'} has no {missing}")
        L, d, w = meta["n_layers"], meta["d_model"], meta["d_transcoder"]
        source = f"{name.rstrip('/')}/transcoders.json"
        return Size(L * (2 * w * d + w + d), L, d, None, source)
    found = WIDTH.search(name)
    if found is None or model.layers is None or model.d_model is None:
        return Size(None)
    w = int(found.group(1)) * (1024 if found.group(2).lower() == "k" else 1024**2)
    L, d = model.layers, model.d_model
    return Size(L * (2 * w * d + w + d), L, d, None, f"width {w} from the name, x {L} layers")

"""Fixtures of the stage-3 tests: the toy model, its replacement model, token contexts."""

from pathlib import Path

import pytest
import torch

from motif_discovery.toy_world.lm import load_toy_model
from motif_discovery.toy_world.replacement import load_replacement_model

DATA = Path(__file__).resolve().parents[2] / "data" / "toy_world"
MODEL_DIR = DATA / "model"
TRANSCODER_DIR = DATA / "transcoders"
COPY_PREFIX = "velkaria borders zembia . velkaria sells hardwood . the main export of velkaria is"
TEXTS = (
    " mostly wood , of course .",
    " wood .",
    " hardwood !",
    " mostly hardwood .",
    " mostly lumber , they say .",
)


@pytest.fixture(scope="package")
def replacement():
    return load_replacement_model(MODEL_DIR, TRANSCODER_DIR)


@pytest.fixture(scope="package")
def real():
    """(the toy model as plain Hugging Face, its tokenizer)."""
    return load_toy_model(MODEL_DIR)


def context_ids(tokenizer, text: str) -> list[int]:
    """[BOS] + the prefix's tokens (the toy tokenizer defines a BOS)."""
    return [tokenizer.bos_token_id, *tokenizer(text, add_special_tokens=False).input_ids]


def tokens(tokenizer, text: str) -> list[int]:
    """A continuation's tokens, as stage 2 records them."""
    return tokenizer(text, add_special_tokens=False).input_ids


@torch.no_grad()
def centred_logits(model, ids: list[int]) -> torch.Tensor:
    """[T, V] float64: logit(v) - mean_v logit(v) of the real model at every position."""
    logits = model(input_ids=torch.tensor([ids])).logits[0].double()
    return logits - logits.mean(dim=-1, keepdim=True)

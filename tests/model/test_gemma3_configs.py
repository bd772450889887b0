"""Gemma 3 4B's config.json is multimodal (model_type gemma3): its language model's fields sit
under text_config, most of them left at transformers' defaults. The dry run's size (plan/sizes)
and the context limit (model/context) read them there; checked against transformers' own
config classes and a parameter count of the language model built on the meta device."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest
import torch
from transformers import Gemma3Config, Gemma3ForCausalLM, Gemma3TextConfig

from motif_discovery.model.context import max_context
from motif_discovery.pipeline import main
from motif_discovery.plan.sizes import TEXT_DEFAULTS
from motif_discovery.utils.config import load_config
from tests.toy_run import REPO

# google/gemma-3-4b-pt's config.json, as published (the vision part shortened)
GEMMA3_4B_CONFIG = {
    "architectures": ["Gemma3ForConditionalGeneration"],
    "model_type": "gemma3",
    "mm_tokens_per_image": 256,
    "text_config": {
        "hidden_size": 2560,
        "intermediate_size": 10240,
        "model_type": "gemma3_text",
        "num_hidden_layers": 34,
        "rope_scaling": {"factor": 8.0, "rope_type": "linear"},
        "sliding_window": 1024,
    },
    "vision_config": {"model_type": "siglip_vision_model", "num_hidden_layers": 27},
}


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


def test_the_defaults_are_transformers_ones():
    defaults = Gemma3TextConfig()
    for key, value in TEXT_DEFAULTS["gemma3_text"].items():
        assert getattr(defaults, key) == value, key


def test_a_local_gemma3_directory_has_its_language_models_size(tmp_path, capsys):
    (tmp_path / "config.json").write_text(json.dumps(GEMMA3_4B_CONFIG))
    toy = str(REPO / "configs" / "toy_world.json")
    name = f"model.name={json.dumps(str(tmp_path))}"
    assert main(["--config", toy, "--set", name, "--dry-run", "--json"]) == 0
    lm = json.loads(capsys.readouterr().out)["models"][0]
    with torch.device("meta"):
        model = Gemma3ForCausalLM(Gemma3TextConfig(**GEMMA3_4B_CONFIG["text_config"]))
    counted = sum(p.numel() for p in model.parameters())  # tied head counted once
    assert lm["params"] == counted
    assert lm["params"] == pytest.approx(3.88e9, rel=0.01)  # the language model of 4.3B
    assert "text_config" in lm["source"]


def test_the_context_limit_of_a_multimodal_config_is_its_language_models():
    config = Gemma3Config(text_config=GEMMA3_4B_CONFIG["text_config"])
    model = load_config(REPO / "configs" / "gemma3_4b_config.json", []).model
    stated = Gemma3TextConfig(**GEMMA3_4B_CONFIG["text_config"]).max_position_embeddings
    assert max_context(config, replace(model, max_context=None)) == stated == 131072
    assert max_context(config, model) == model.max_context == 512

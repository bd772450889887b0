"""The committed toy model: checked loading, tokenizer, and behaviour against the generator."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from motif_discovery.toy_world.evaluate import (
    continuation_prob,
    interventions,
    recall_accuracy,
    sample_continuations,
)
from motif_discovery.toy_world.grammar import families, load_world, parse_prefix
from motif_discovery.toy_world.labels import label
from motif_discovery.toy_world.lm import load_toy_model
from motif_discovery.utils.errors import InputError
from motif_discovery.utils.io import read_jsonl

DATA = Path(__file__).resolve().parents[2] / "data" / "toy_world"
MODEL_DIR = DATA / "model"


@pytest.fixture(scope="module")
def toy():
    torch.set_num_threads(1)
    model, tokenizer = load_toy_model(MODEL_DIR)
    world = load_world(DATA / "world.json")
    prefixes = [parse_prefix(row["text"]) for row in read_jsonl(DATA / "clozes.jsonl")]
    return model, tokenizer, world, prefixes


@pytest.fixture
def model_copy(tmp_path):
    return Path(shutil.copytree(MODEL_DIR, tmp_path / "model"))


def test_loads_offline_as_qwen3(toy):
    model, tokenizer, _, _ = toy
    assert type(model).__name__ == "Qwen3ForCausalLM"
    assert model.config.num_hidden_layers == 4 and model.config.hidden_size == 128
    assert tokenizer.pad_token_id == 0 and tokenizer.bos_token_id not in (None, 0)
    assert tokenizer.bos_token == "<|endoftext|>"
    assert sum(p.numel() for p in model.parameters()) < 2_000_000


def test_tokenizer_decodes_continuations_with_leading_space(toy):
    _, tokenizer, world, prefixes = toy
    for family in families(prefixes[0], world):
        ids = tokenizer(family.continuation, add_special_tokens=False).input_ids
        assert tokenizer.decode(ids) == family.continuation


def test_missing_file_is_named(model_copy):
    (model_copy / "model.safetensors").unlink()
    with pytest.raises(InputError, match=r"model\.safetensors: file not found"):
        load_toy_model(model_copy)


def test_other_architecture_is_named(model_copy):
    path = model_copy / "config.json"
    config = json.loads(path.read_text())
    config["architectures"] = ["LlamaForCausalLM"]
    path.write_text(json.dumps(config))
    with pytest.raises(InputError, match=r"architectures.*LlamaForCausalLM"):
        load_toy_model(model_copy)


def test_wrong_shape_is_named(model_copy):
    path = model_copy / "config.json"
    config = json.loads(path.read_text())
    config["intermediate_size"] = 256
    path.write_text(json.dumps(config))
    with pytest.raises(InputError, match=r"mlp\.gate_proj\.weight.*shape"):
        load_toy_model(model_copy)


def test_missing_tensor_is_named(model_copy):
    path = model_copy / "model.safetensors"
    tensors = load_file(str(path))
    del tensors["model.norm.weight"]
    save_file(tensors, str(path))
    with pytest.raises(InputError, match=r"missing tensor 'model\.norm\.weight'"):
        load_toy_model(model_copy)


def test_stored_facts_are_recalled(toy):
    """Argmax after "the A of X is" is the generator's fact A(X), for every stored fact."""
    model, tokenizer, world, _ = toy
    assert recall_accuracy(model, tokenizer, world) >= 0.9


def test_rich_clozes_carry_four_families(toy):
    """On clozes with >= 4 planted families, the model gives each of them > 3%."""
    model, tokenizer, world, prefixes = toy
    rich = [p for p in prefixes if len(families(p, world)) >= 4]
    assert len(rich) >= 8
    for prefix in rich[:6]:
        for family in families(prefix, world):
            p = continuation_prob(model, tokenizer, prefix.text, family.continuation)
            assert p > 0.03, (prefix.text, family.name, p)


def test_samples_are_planted_families(toy):
    """200 samples at temperature 1 on the richest cloze: labelled, few fall outside families."""
    model, tokenizer, world, prefixes = toy
    prefix = max(prefixes, key=lambda p: len(families(p, world)))
    samples = sample_continuations(model, tokenizer, prefix.text, 200, seed=0)
    names = [label(prefix.text, s, world).family for s in samples]
    assert names.count("other") / len(names) < 0.1
    assert len(set(names) - {"other"}) >= 4


def test_interventions_remove_their_family(toy):
    model, tokenizer, world, prefixes = toy
    result = interventions(model, tokenizer, world, prefixes[:16])
    for family in ("copy", "shortcut", "recall"):
        assert result[family]["before"] > 0.1, family
        assert result[family]["after"] < 0.3 * result[family]["before"], family


def test_family_distribution_matches_generator(toy):
    """Total variation between planted and model (exact) family distributions, all clozes."""
    model, tokenizer, world, prefixes = toy
    tvs = []
    for prefix in prefixes:
        fams = families(prefix, world)
        exact = [continuation_prob(model, tokenizer, prefix.text, f.continuation) for f in fams]
        outside = 1.0 - sum(exact)
        tvs.append(
            0.5 * sum(abs(f.prob - e) for f, e in zip(fams, exact, strict=True)) + 0.5 * outside
        )
    assert sum(tvs) / len(tvs) < 0.12
    assert max(tvs) < 0.4

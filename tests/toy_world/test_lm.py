"""The committed toy model: checked loading, tokenizer, and behaviour against the generator."""

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from motif_discovery.toy_world.evaluate import (
    continuation_logprobs,
    family_masses,
    interventions,
    recall_accuracy,
    sample_continuations,
    sampler_reach,
    total_variation,
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
        for text in family.continuations():
            ids = tokenizer(text, add_special_tokens=False).input_ids
            assert tokenizer.decode(ids) == text


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


@pytest.mark.parametrize("content", [b"", b"not a safetensors file", b"\xff" * 64])
def test_unreadable_weights_are_named(model_copy, content):
    (model_copy / "model.safetensors").write_bytes(content)
    with pytest.raises(InputError, match=r"model\.safetensors: not a readable safetensors"):
        load_toy_model(model_copy)


def test_a_bug_in_the_loader_is_not_reported_as_a_bad_file(model_copy, monkeypatch):
    """Only file errors become InputError; anything else propagates as itself."""

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("a bug, not a file problem")

    monkeypatch.setattr("motif_discovery.toy_world.lm.safe_open", broken)
    with pytest.raises(ZeroDivisionError):
        load_toy_model(model_copy)


def test_stored_facts_are_recalled(toy):
    """The most probable content word after a bare stem recalls the stored meaning."""
    model, tokenizer, world, _ = toy
    assert recall_accuracy(model, tokenizer, world) >= 0.9


def test_rich_clozes_carry_four_families(toy):
    """On clozes with >= 4 planted families, the model gives each of them > 5%."""
    model, tokenizer, world, prefixes = toy
    rich = [p for p in prefixes if len(families(p, world)) >= 4]
    assert len(rich) >= 20
    for prefix in rich[:6]:
        for name, mass in family_masses(model, tokenizer, world, prefix).items():
            assert mass > 0.05, (prefix.text, name, mass)


def test_samples_are_planted_and_inside_the_enumerated_reach(toy):
    """200 top-p samples (model.generate) on the richest cloze: labelled, few outside the
    planted families, and every one inside the exact enumeration of the sampler's reach."""
    model, tokenizer, world, prefixes = toy
    prefix = max(prefixes, key=lambda p: len(families(p, world)))
    samples = sample_continuations(model, tokenizer, prefix.text, 200, seed=0)
    reach = sampler_reach(model, tokenizer, prefix.text)
    assert set(samples) <= set(reach)
    assert len(reach) >= 200
    names = [label(prefix.text, s, world).family for s in samples]
    assert names.count("other") / len(names) < 0.05
    assert len(set(names) - {"other"}) >= 4
    assert len(set(samples)) >= 100


def test_interventions_remove_their_family_and_spare_the_controls(toy):
    model, tokenizer, world, prefixes = toy
    for row in interventions(model, tokenizer, world, prefixes[:8]):
        assert row["before"] > 0.1, row
        if row["expected"] == "kill":
            assert row["after"] < 0.1 * row["before"], row
        else:
            assert 0.5 * row["before"] < row["after"] < 2 * row["before"], row


def test_family_distribution_matches_generator(toy):
    """Total variation between planted and model family distributions (every text of a
    family scored), over all clozes."""
    model, tokenizer, world, prefixes = toy
    tvs = []
    for prefix in prefixes:
        generator = {f.name: f.prob for f in families(prefix, world)}
        tvs.append(total_variation(generator, family_masses(model, tokenizer, world, prefix)))
    assert sum(tvs) / len(tvs) < 0.1
    assert max(tvs) < 0.3


def test_batched_scores_equal_one_forward_per_text(toy):
    """continuation_logprobs (padded batches) against one unpadded forward pass per text."""
    model, tokenizer, world, prefixes = toy
    prefix = prefixes[0]
    texts = [t for f in families(prefix, world) for t in list(f.continuations())[:7]]
    got = continuation_logprobs(model, tokenizer, prefix.text, texts, batch=5)
    head = [tokenizer.bos_token_id, *tokenizer(prefix.text, add_special_tokens=False).input_ids]
    for text, value in zip(texts, got, strict=True):
        tail = tokenizer(text, add_special_tokens=False).input_ids
        with torch.no_grad():
            logp = model(input_ids=torch.tensor([head + tail])).logits[0].log_softmax(-1)
        expected = sum(float(logp[len(head) - 1 + j, t]) for j, t in enumerate(tail))
        assert value == pytest.approx(expected, abs=1e-4)

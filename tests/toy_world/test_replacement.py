"""The committed transcoders load into circuit-tracer's replacement model and account for the model.

Checks run against the real toy model (Hugging Face forward with our own hooks), not against
circuit-tracer's view of it; bad assets fail with an InputError naming the file.
"""

import json
import re
import shutil
from pathlib import Path

import pytest
import torch
from circuit_tracer import attribute
from safetensors.torch import load_file, save_file

from motif_discovery.toy_world.lm import load_toy_model
from motif_discovery.toy_world.replacement import (
    TopKReLU,
    load_replacement_model,
    load_transcoders,
    logits_with_mlp_outputs,
    replacement_mlp_outputs,
)
from motif_discovery.utils.errors import InputError

DATA = Path(__file__).resolve().parents[2] / "data" / "toy_world"
MODEL_DIR = DATA / "model"
TRANSCODER_DIR = DATA / "transcoders"
PROMPTS = (
    "velkaria borders zembia . velkaria sells hardwood . the main export of velkaria is",
    "ormia enjoys mares . ormia is famous for",
    "the national pastime of tessary is",
)


@pytest.fixture(scope="module")
def real():
    return load_toy_model(MODEL_DIR)


@pytest.fixture(scope="module")
def replacement():
    return load_replacement_model(MODEL_DIR, TRANSCODER_DIR)


@pytest.fixture
def tc_copy(tmp_path) -> Path:
    target = tmp_path / "transcoders"
    shutil.copytree(TRANSCODER_DIR, target)
    return target


def _edit_json(path: Path, **changes) -> None:
    metadata = json.loads(path.read_text())
    metadata.update(changes)
    path.write_text(json.dumps(metadata))


def _mlp_io(model, ids: torch.Tensor) -> tuple[torch.Tensor, list, list]:
    """Real logits and every layer's MLP input and output, by forward hooks on the HF model."""
    inputs, outputs = [], []

    def record(_module, args, output) -> None:
        inputs.append(args[0][0])
        outputs.append(output[0])

    handles = [layer.mlp.register_forward_hook(record) for layer in model.model.layers]
    try:
        with torch.no_grad():
            logits = model(input_ids=ids[None]).logits[0]
    finally:
        for handle in handles:
            handle.remove()
    return logits, inputs, outputs


def test_topk_relu_matches_brute_force():
    z = torch.randn(5, 3, 40)
    got = TopKReLU(7)(z)
    for row, out in zip(z.reshape(-1, 40), got.reshape(-1, 40), strict=True):
        kth = sorted(row.tolist(), reverse=True)[6]
        expected = torch.where((row >= kth) & (row > 0), row, torch.zeros_like(row))
        assert torch.equal(out, expected)


def test_load_transcoders_matches_the_model(real):
    model, _ = real
    transcoders = load_transcoders(TRANSCODER_DIR)
    assert len(transcoders) == model.config.num_hidden_layers
    for layer, transcoder in enumerate(transcoders):
        assert transcoder.layer_idx == layer
        assert transcoder.W_enc.dtype == torch.float32
        assert transcoder.W_enc.shape == (transcoders.d_transcoder, model.config.hidden_size)
        assert isinstance(transcoder.activation_function, TopKReLU)


def test_missing_layer_file_is_named(tc_copy):
    (tc_copy / "layer_2.safetensors").unlink()
    with pytest.raises(InputError, match=r"layer_2\.safetensors"):
        load_transcoders(tc_copy)


def test_missing_metadata_is_named(tc_copy):
    (tc_copy / "transcoders.json").unlink()
    with pytest.raises(InputError, match=r"transcoders\.json"):
        load_transcoders(tc_copy)


def test_wrong_shape_is_named(tc_copy):
    path = tc_copy / "layer_1.safetensors"
    tensors = load_file(str(path))
    tensors["W_dec"] = tensors["W_dec"][:, :-1].contiguous()
    save_file(tensors, str(path))
    with pytest.raises(InputError, match=r"layer_1\.safetensors.*W_dec"):
        load_transcoders(tc_copy)


def test_d_model_mismatch_with_the_model_config_is_named(tc_copy, real):
    model, _ = real
    d = model.config.hidden_size // 2
    for path in sorted(tc_copy.glob("layer_*.safetensors")):
        tensors = load_file(str(path))
        save_file(
            {
                key: value[..., :d].contiguous() if key != "b_enc" else value
                for key, value in tensors.items()
            },
            str(path),
        )
    _edit_json(tc_copy / "transcoders.json", d_model=d)
    load_transcoders(tc_copy)  # consistent on its own
    with pytest.raises(InputError, match=rf"transcoders\.json.*d_model={d}"):
        load_replacement_model(MODEL_DIR, tc_copy)


def test_transcoder_count_mismatch_is_named(tc_copy, real):
    model, _ = real
    last = model.config.num_hidden_layers - 1
    (tc_copy / f"layer_{last}.safetensors").unlink()
    _edit_json(tc_copy / "transcoders.json", n_layers=last)
    with pytest.raises(InputError, match=rf"transcoders\.json.*n_layers={last}"):
        load_replacement_model(MODEL_DIR, tc_copy)


def test_extra_layer_file_is_named(tc_copy, real):
    model, _ = real
    extra = f"layer_{model.config.num_hidden_layers}.safetensors"
    shutil.copy(tc_copy / "layer_0.safetensors", tc_copy / extra)
    with pytest.raises(InputError, match=re.escape(extra)):
        load_transcoders(tc_copy)


def test_unknown_activation_is_named(tc_copy):
    _edit_json(tc_copy / "transcoders.json", activation={"name": "relu"})
    with pytest.raises(InputError, match=r"transcoders\.json.*activation"):
        load_transcoders(tc_copy)


def test_transcoders_of_other_weights_are_refused(tc_copy):
    _edit_json(tc_copy / "transcoders.json", model_sha256="0" * 64)
    with pytest.raises(InputError, match="retrain"):
        load_replacement_model(MODEL_DIR, tc_copy)


def test_transcoders_without_model_sha256_are_refused(tc_copy):
    metadata = json.loads((tc_copy / "transcoders.json").read_text())
    del metadata["model_sha256"]
    (tc_copy / "transcoders.json").write_text(json.dumps(metadata))
    load_transcoders(tc_copy)  # the set itself is readable
    with pytest.raises(InputError, match=r"transcoders\.json.*'model_sha256' missing"):
        load_replacement_model(MODEL_DIR, tc_copy)


@pytest.mark.parametrize("content", [b"", b"not a safetensors file", b"\xff" * 64])
def test_unreadable_layer_file_is_named(tc_copy, content):
    (tc_copy / "layer_1.safetensors").write_bytes(content)
    with pytest.raises(InputError, match=r"layer_1\.safetensors: unreadable safetensors"):
        load_transcoders(tc_copy)


def test_a_bug_in_the_loader_is_not_reported_as_a_bad_file(tc_copy, monkeypatch):
    """Only file errors become InputError; anything else propagates as itself."""

    def broken(*_args, **_kwargs):
        raise ZeroDivisionError("a bug, not a file problem")

    monkeypatch.setattr("motif_discovery.toy_world.replacement.safe_open", broken)
    with pytest.raises(ZeroDivisionError):
        load_transcoders(tc_copy)


def test_missing_model_config_is_named(tmp_path):
    with pytest.raises(InputError, match=r"config\.json"):
        load_replacement_model(tmp_path, TRANSCODER_DIR)


@pytest.mark.parametrize("prompt", PROMPTS)
def test_error_nodes_make_the_replacement_exact(replacement, real, prompt):
    """Transcoder outputs from circuit-tracer's features + its error vectors = real MLP outputs.

    The real model is rerun with every MLP output at positions >= 1 replaced by
    sum_f a_f W_dec[f] + b_dec + error (a from circuit-tracer's activation matrix); its
    logits must equal the unpatched ones. The features must also be our transcoders applied
    to the real MLP inputs (so the input hook is the right one).
    """
    model, _ = real
    ids = replacement.ensure_tokenized(prompt)
    logits, mlp_in, _ = _mlp_io(model, ids)
    ctx = replacement.setup_attribution(ids)
    assert torch.allclose(ctx.logits[0], logits, atol=1e-4)
    acts = ctx.activation_matrix.to_dense()
    transcoders = load_transcoders(TRANSCODER_DIR)
    for layer, transcoder in enumerate(transcoders):
        expected = transcoder.encode(mlp_in[layer])
        expected[0] = 0
        assert torch.allclose(acts[layer], expected, atol=1e-5)

    outputs = replacement_mlp_outputs(transcoders, acts, ctx.error_vectors)
    patched_logits = logits_with_mlp_outputs(model, outputs, ids)
    assert (patched_logits - logits).abs().max() < 1e-4


def test_attribute_targets_the_real_argmax(replacement, real):
    model, _ = real
    prompt = PROMPTS[0]
    ids = replacement.ensure_tokenized(prompt)
    logits, _, _ = _mlp_io(model, ids)
    graph = attribute(prompt, replacement, max_n_logits=5, batch_size=64)
    assert graph.logit_targets[0].vocab_idx == int(logits[-1].argmax())
    n_layers = model.config.num_hidden_layers
    n_nodes = len(graph.active_features) + (n_layers + 1) * len(ids) + len(graph.logit_targets)
    assert graph.adjacency_matrix.shape == (n_nodes, n_nodes)
    assert (graph.active_features[:, 1] > 0).all(), "position 0 (BOS) features must be zeroed"

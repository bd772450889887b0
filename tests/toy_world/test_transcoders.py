"""The transcoders reconstruct the real model's MLPs: checked from raw weights and real activations.

Held-out text is drawn fresh from the grammar; MLP inputs are read at post_attention_layernorm's
output and MLP outputs at the MLP's output by hooks on the Hugging Face model; the transcoder
math (ReLU of the top k of W_enc h + b_enc, then a W_dec + b_dec) is written out here from the
safetensors files, independently of the package's TopKReLU and circuit-tracer.
"""

import dataclasses
import hashlib
import json
import random
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from motif_discovery.toy_world.grammar import episode_text, load_world, sample_episode
from motif_discovery.toy_world.lm import load_toy_model
from motif_discovery.toy_world.replacement import load_transcoders
from motif_discovery.toy_world.tokenizer import pad_rows
from motif_discovery.toy_world.transcoders import SMALL, fit_layer, train_transcoders

DATA = Path(__file__).resolve().parents[2] / "data" / "toy_world"
MODEL_DIR = DATA / "model"
TRANSCODER_DIR = DATA / "transcoders"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Training on a shared 2-core machine: one thread is several times faster than two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def real():
    return load_toy_model(MODEL_DIR)


@pytest.fixture(scope="module")
def heldout(real) -> tuple[torch.Tensor, torch.Tensor]:
    """(input_ids, mask) of 300 fresh episodes: BOS, words, EOS, right-padded."""
    _, tokenizer = real
    world = load_world(DATA / "world.json")
    rng = random.Random("test-transcoders-heldout")
    vocab, bos = tokenizer.get_vocab(), tokenizer.bos_token_id
    docs = []
    for _ in range(300):
        prefix, _, continuation = sample_episode(rng, world)
        docs.append([bos, *(vocab[w] for w in episode_text(prefix, continuation).split()), bos])
    return pad_rows(docs, tokenizer.pad_token_id)


def _raw_transcoders(directory: Path) -> list:
    """Per layer a function h -> m_hat from the raw safetensors weights and the JSON's k."""
    metadata = json.loads((directory / "transcoders.json").read_text())
    k = metadata["activation"]["k"]

    def make(w):
        def apply(h):
            pre = h @ w["W_enc"].T + w["b_enc"]
            kth = pre.topk(k, dim=-1).values[..., -1:]
            acts = torch.where(pre >= kth, pre, 0.0).clamp_min(0.0)
            return acts @ w["W_dec"] + w["b_dec"], (acts > 0).sum(-1)

        return apply

    return [
        make(load_file(str(directory / f"layer_{i}.safetensors")))
        for i in range(metadata["n_layers"])
    ]


@torch.no_grad()
def _activations(model, ids, mask):
    """Real logits and per layer (h, m): layernorm output and MLP output, by hooks."""
    ins, outs = {}, {}

    def store(into: dict, layer: int):
        def hook(_module, _args, output) -> None:
            into[layer] = output

        return hook

    handles = []
    for i, block in enumerate(model.model.layers):
        handles.append(block.post_attention_layernorm.register_forward_hook(store(ins, i)))
        handles.append(block.mlp.register_forward_hook(store(outs, i)))
    try:
        logits = model(input_ids=ids, attention_mask=mask).logits
    finally:
        for handle in handles:
            handle.remove()
    return logits, [(ins[i], outs[i]) for i in range(len(ins))]


def _fvu_and_l0(model, directory: Path, ids, mask) -> list[tuple[float, float]]:
    keep = mask.bool()
    keep[:, 0] = False
    _, pairs = _activations(model, ids, mask)
    figures = []
    for transcoder, (h, m) in zip(_raw_transcoders(directory), pairs, strict=True):
        m_hat, l0 = transcoder(h[keep])
        target = m[keep]
        fvu = (target - m_hat).pow(2).sum() / (target - target.mean(0)).pow(2).sum()
        figures.append((float(fvu), float(l0.float().mean())))
    return figures


def test_committed_transcoders_reconstruct_the_mlps(real, heldout):
    model, _ = real
    k = json.loads((TRANSCODER_DIR / "transcoders.json").read_text())["activation"]["k"]
    figures = _fvu_and_l0(model, TRANSCODER_DIR, *heldout)
    assert len(figures) == model.config.num_hidden_layers
    for layer, (fvu, l0) in enumerate(figures):
        assert fvu <= 0.05, f"layer {layer}: FVU {fvu:.4f}"
        assert 1 <= l0 <= k, f"layer {layer}: mean L0 {l0:.2f}"


@torch.no_grad()
def test_replacing_every_mlp_keeps_the_top1_token(real, heldout):
    """All MLPs (positions >= 1) replaced by transcoders, no error terms: same argmax >= 90%."""
    model, _ = real
    ids, mask = heldout
    transcoders = _raw_transcoders(TRANSCODER_DIR)

    def replace(layer):
        def hook(_module, args, output):
            patched = output.clone()
            patched[:, 1:] = transcoders[layer](args[0][:, 1:])[0]
            return patched

        return hook

    real_top1 = _activations(model, ids, mask)[0].argmax(-1)
    handles = [b.mlp.register_forward_hook(replace(i)) for i, b in enumerate(model.model.layers)]
    try:
        replaced_top1 = model(input_ids=ids, attention_mask=mask).logits.argmax(-1)
    finally:
        for handle in handles:
            handle.remove()
    keep = mask.bool()
    keep[:, 0] = False
    agreement = float((real_top1 == replaced_top1)[keep].float().mean())
    assert agreement >= 0.9, agreement


def test_committed_transcoders_were_trained_on_the_committed_model():
    metadata = json.loads((TRANSCODER_DIR / "transcoders.json").read_text())
    digest = hashlib.sha256((MODEL_DIR / "model.safetensors").read_bytes()).hexdigest()
    assert metadata["model_sha256"] == digest


def test_fit_layer_is_seeded_and_learns_a_small_mlp():
    """m = ReLU(h A) B with 8 hidden units: 8 TopK latents can represent it exactly."""
    generator = torch.Generator().manual_seed(0)
    h = torch.randn(4000, 16, generator=generator)
    A, B = torch.randn(16, 8, generator=generator), torch.randn(8, 16, generator=generator)
    m = torch.relu(h @ A) @ B
    settings = dataclasses.replace(
        SMALL, d_transcoder=64, k=8, aux_k=16, steps=300, batch_size=128, lr=1e-2
    )
    a, b, c = (fit_layer(h, m, settings, seed) for seed in (1, 1, 2))
    assert all(torch.equal(a[key], b[key]) for key in a)
    assert not torch.equal(a["W_enc"], c["W_enc"])
    pre = h @ a["W_enc"].T + a["b_enc"]
    kth = pre.topk(8, dim=-1).values[..., -1:]
    m_hat = torch.where(pre >= kth, pre, 0.0).clamp_min(0.0) @ a["W_dec"] + a["b_dec"]
    assert float((m - m_hat).pow(2).sum() / (m - m.mean(0)).pow(2).sum()) < 0.05


@pytest.mark.slow
def test_small_training_learns_and_saves_a_loadable_set(real, heldout, tmp_path):
    model, _ = real
    figures = train_transcoders(MODEL_DIR, tmp_path, seed=0, small=True)
    assert len(load_transcoders(tmp_path)) == model.config.num_hidden_layers
    saved = json.loads((tmp_path / "transcoders.json").read_text())
    assert saved["figures"] == json.loads(json.dumps(figures))
    assert saved["d_transcoder"] == SMALL.d_transcoder
    for layer, (fvu, _) in enumerate(_fvu_and_l0(model, tmp_path, *heldout)):
        assert fvu < 0.3, f"layer {layer}: FVU {fvu:.4f}"
        assert figures["layers"][layer]["fvu"] < 0.3

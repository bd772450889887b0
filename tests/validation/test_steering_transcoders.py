"""model/transcoders.py: the toy world's transcoders as per-layer encode/decode, and the
errors of a wrong directory, foreign weights or a transcoder set that is not per layer."""

import dataclasses
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
import torch
from circuit_tracer.transcoder import single_layer_transcoder
from circuit_tracer.transcoder.single_layer_transcoder import load_relu_transcoder
from safetensors.torch import load_file

import motif_discovery.model.transcoders as transcoders_module
from motif_discovery.model.transcoders import Transcoders, load_transcoders
from motif_discovery.utils.config import load_config
from motif_discovery.utils.errors import InputError

REPO = Path(__file__).resolve().parents[2]
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def model_config():
    return load_config(REPO / "configs/toy_world.json").model


def test_toy_transcoders_encode_decode_from_the_files(model_config):
    tcs = load_transcoders(model_config, CPU, torch.float32)
    meta = json.loads((REPO / model_config.transcoders / "transcoders.json").read_text())
    assert tcs.n_layers == meta["n_layers"] and tcs.d_transcoder == meta["d_transcoder"]
    h = torch.randn(3, 5, meta["d_model"], generator=torch.Generator().manual_seed(0))
    for layer in range(tcs.n_layers):
        raw = load_file(REPO / model_config.transcoders / f"layer_{layer}.safetensors")
        z = h @ raw["W_enc"].T + raw["b_enc"]
        values, indices = z.topk(meta["activation"]["k"], dim=-1)
        acts = torch.zeros_like(z).scatter(-1, indices, values.clamp(min=0))
        torch.testing.assert_close(tcs.encode(layer, h), acts)
        torch.testing.assert_close(tcs.decode(layer, acts), acts @ raw["W_dec"] + raw["b_dec"])
        assert torch.equal(tcs.W_dec(layer), raw["W_dec"])
        picked = torch.tensor([7, 3, 7])
        assert torch.equal(tcs.decoder_rows(layer, picked), raw["W_dec"][picked])


def test_bad_directories_and_foreign_weights(model_config, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    bad = dataclasses.replace(model_config, transcoders=str(empty))
    with pytest.raises(InputError, match=r"no transcoders\.json"):
        load_transcoders(bad, CPU, torch.float32)
    foreign = tmp_path / "foreign"
    shutil.copytree(REPO / model_config.transcoders, foreign)
    meta = json.loads((foreign / "transcoders.json").read_text())
    meta["model_sha256"] = "0" * 64
    (foreign / "transcoders.json").write_text(json.dumps(meta))
    with pytest.raises(InputError, match="other model weights"):
        load_transcoders(
            dataclasses.replace(model_config, transcoders=str(foreign)), CPU, torch.float32
        )


def test_hub_sets_that_fail_or_are_cross_layer(model_config, monkeypatch):
    hub = dataclasses.replace(model_config, transcoders="someone/not-a-local-set")

    def missing(*_args, **_kwargs):
        raise FileNotFoundError("Could not download config.yaml")

    monkeypatch.setattr(transcoders_module, "load_transcoder_from_hub", missing)
    with pytest.raises(InputError, match="someone/not-a-local-set"):
        load_transcoders(hub, CPU, torch.float32)

    class CrossLayerTranscoder:
        pass

    monkeypatch.setattr(
        transcoders_module, "load_transcoder_from_hub", lambda *a, **k: (CrossLayerTranscoder(), {})
    )
    with pytest.raises(InputError, match="cross-layer"):
        load_transcoders(hub, CPU, torch.float32)


def test_decode_reads_each_lazy_decoder_once(model_config, monkeypatch):
    """circuit-tracer's own lazy loader on the toy layer files: W_dec is read from disk on
    every access unless the wrapper keeps it; count the file openings that read W_dec."""
    directory = REPO / model_config.transcoders
    n_layers = json.loads((directory / "transcoders.json").read_text())["n_layers"]
    paths = [str(directory / f"layer_{layer}.safetensors") for layer in range(n_layers)]
    layers = [
        load_relu_transcoder(path, layer, device=CPU, lazy_encoder=False, lazy_decoder=True)
        for layer, path in enumerate(paths)
    ]
    reads = Counter()
    real_open = single_layer_transcoder.safe_open

    class CountingHandle:
        def __init__(self, path, *args, **kwargs):
            self.path, self.handle = path, real_open(path, *args, **kwargs)

        def __enter__(self):
            self.inner = self.handle.__enter__()
            return self

        def __exit__(self, *exc):
            return self.handle.__exit__(*exc)

        def get_tensor(self, name):
            reads[(self.path, name)] += 1
            return self.inner.get_tensor(name)

        def get_slice(self, name):
            reads[(self.path, name)] += 1
            return self.inner.get_slice(name)

    monkeypatch.setattr(single_layer_transcoder, "safe_open", CountingHandle)
    tcs = Transcoders(layers)
    generator = torch.Generator().manual_seed(1)
    for _ in range(3):  # three batches
        for layer, path in enumerate(paths):
            raw = load_file(path)
            acts = torch.rand(2, 4, tcs.d_transcoder, generator=generator)
            torch.testing.assert_close(tcs.decode(layer, acts), acts @ raw["W_dec"] + raw["b_dec"])
            assert torch.equal(tcs.W_dec(layer), raw["W_dec"])
    assert {key: count for key, count in reads.items() if key[1] == "W_dec"} == {
        (path, "W_dec"): 1 for path in paths
    }

"""mlp_hooks on tiny random Gemma 3 models (a norm after each MLP; the text model and the
multimodal wrapper google/gemma-3-4b-* load as) and on the toy world's Qwen3: the hook sees
the MLP's input and exactly the tensor the layer adds to the residual stream, checked
against hidden states and a manual computation of the layer."""

from __future__ import annotations

import pytest
import torch
from transformers import Gemma3ForCausalLM, Gemma3TextConfig

from motif_discovery.model.hooks import check_hook_points, decoder_layers, mlp_hooks
from motif_discovery.utils.errors import InputError
from tests.toy_run import REPO

N_LAYERS = 3


@pytest.fixture(autouse=True)
def _one_thread(one_thread):
    yield


def tiny_text_config(**extra) -> Gemma3TextConfig:
    """The tiny Gemma 3 language model both fixtures build."""
    return Gemma3TextConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=48,
        num_hidden_layers=N_LAYERS,
        num_attention_heads=2,
        num_key_value_heads=1,
        head_dim=16,
        sliding_window=4,
        **extra,
    )


def random_norms(model: torch.nn.Module) -> torch.nn.Module:
    """Random norm weights (zero-initialised ones would hide a mix-up); the model, in eval."""
    with torch.no_grad():
        for name, param in model.named_parameters():
            if "norm" in name:
                param.normal_(0.0, 0.5)
    return model.eval()


@pytest.fixture(scope="module")
def gemma() -> Gemma3ForCausalLM:
    torch.manual_seed(0)
    config = tiny_text_config(max_position_embeddings=64, attn_implementation="eager")
    return random_norms(Gemma3ForCausalLM(config))


@pytest.fixture(scope="module")
def gemma_multimodal():
    """The same shape wrapped as Gemma3ForConditionalGeneration (google/gemma-3-4b-*): the
    decoder layers sit in model.model.language_model."""
    from transformers import Gemma3Config, Gemma3ForConditionalGeneration, SiglipVisionConfig

    torch.manual_seed(0)
    text = tiny_text_config()
    vision = SiglipVisionConfig(
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        image_size=28,
        patch_size=14,
    )
    config = Gemma3Config(
        text_config=text,
        vision_config=vision,
        mm_tokens_per_image=4,
        boi_token_index=61,
        eoi_token_index=62,
        image_token_index=63,
    )
    config._attn_implementation = "eager"
    return random_norms(Gemma3ForConditionalGeneration(config))


def pick(which: str, request):
    """The model a parametrized test names."""
    if which == "qwen3":
        return qwen3()
    return request.getfixturevalue("gemma" if which == "gemma3" else "gemma_multimodal")


def qwen3():
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(REPO / "data/toy_world/model").eval()


IDS = torch.tensor([[2, 5, 9, 11, 3, 7, 8, 21, 30, 4]])


def resid_mid(model, ids: torch.Tensor) -> dict[int, torch.Tensor]:
    """Each layer's residual stream before the MLP block, as the input of the norm that
    opens it (circuit-tracer's hook_resid_mid)."""
    captured = {}
    handles = []
    for layer, decoder in enumerate(decoder_layers(model)):
        opener = getattr(decoder, "pre_feedforward_layernorm", decoder.post_attention_layernorm)
        hook = (lambda i: lambda _m, args: captured.__setitem__(i, args[0]))(layer)
        handles.append(opener.register_forward_pre_hook(hook))
    with torch.no_grad():
        model(input_ids=ids)
    for handle in handles:
        handle.remove()
    return captured


@pytest.mark.parametrize("which", ["gemma3", "gemma3_multimodal", "qwen3"])
def test_the_hook_sees_the_mlp_input_and_what_the_layer_adds(which, request):
    model = pick(which, request)
    seen = {}

    def record(layer, read, write):
        seen[layer] = (read.clone(), write.clone())

    with torch.no_grad(), mlp_hooks(model, record):
        hidden = model(input_ids=IDS, output_hidden_states=True).hidden_states
    mids = resid_mid(model, IDS)
    layers = decoder_layers(model)
    assert sorted(seen) == list(range(len(layers)))
    for layer, decoder in enumerate(layers):
        read, write = seen[layer]
        norm = getattr(decoder, "pre_feedforward_layernorm", decoder.post_attention_layernorm)
        with torch.no_grad():
            torch.testing.assert_close(read, norm(mids[layer]))
            manual = decoder.mlp(read)
            if which != "qwen3":
                manual = decoder.post_feedforward_layernorm(manual)
            torch.testing.assert_close(write, manual)
        if layer + 1 < len(layers):  # the last hidden state has the final norm applied
            torch.testing.assert_close(mids[layer] + write, hidden[layer + 1])


@pytest.mark.parametrize("which", ["gemma3", "gemma3_multimodal", "qwen3"])
def test_a_returned_tensor_is_what_the_layer_adds(which, request):
    model = pick(which, request)
    with torch.no_grad():
        clean = model(input_ids=IDS, output_hidden_states=True).hidden_states
    delta = torch.randn(clean[0].shape[-1], generator=torch.Generator().manual_seed(1))

    def shift(layer, _read, write):
        return write + delta if layer == 0 else None

    with torch.no_grad(), mlp_hooks(model, shift):
        steered = model(input_ids=IDS, output_hidden_states=True).hidden_states
    torch.testing.assert_close(steered[1], clean[1] + delta)
    with torch.no_grad():  # and the hooks are gone after the block
        again = model(input_ids=IDS, output_hidden_states=True).hidden_states
    torch.testing.assert_close(again[-1], clean[-1])


def test_transcoders_must_read_and_write_where_the_hooks_are():
    check_hook_points("mlp.hook_in", "hook_mlp_out")
    check_hook_points("mlp.hook_in", "mlp.hook_out")
    check_hook_points("ln2.hook_normalized", "hook_mlp_out")  # GemmaScope's read point
    with pytest.raises(InputError, match=r"model\.transcoders: they read at 'hook_resid_mid'"):
        check_hook_points("hook_resid_mid", "hook_mlp_out")
    with pytest.raises(InputError, match="write at 'hook_resid_post'"):
        check_hook_points("mlp.hook_in", "hook_resid_post")


@pytest.mark.parametrize("which", ["gemma3", "gemma3_multimodal"])
def test_ln2_hook_normalized_is_the_norm_before_its_weight(which, request):
    """GemmaScope's read point: resid_mid / rms(resid_mid), computed by hand from the norm's
    input; times (1 + w) it is the MLP input the default read point sees."""
    model = pick(which, request)
    normalized, inputs = {}, {}
    with torch.no_grad(), mlp_hooks(model, lambda layer, read, _w: inputs.__setitem__(layer, read)):
        model(input_ids=IDS)
    with (
        torch.no_grad(),
        mlp_hooks(
            model,
            lambda layer, read, _w: normalized.__setitem__(layer, read),
            "ln2.hook_normalized",
        ),
    ):
        model(input_ids=IDS)
    mids = resid_mid(model, IDS)
    for layer, decoder in enumerate(decoder_layers(model)):
        norm = decoder.pre_feedforward_layernorm
        x = mids[layer].double()
        manual = x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + norm.eps)
        torch.testing.assert_close(normalized[layer].double(), manual, rtol=1e-5, atol=1e-6)
        scaled = normalized[layer] * (1.0 + norm.weight.detach().float())
        torch.testing.assert_close(scaled.to(inputs[layer].dtype), inputs[layer])


def test_ln2_hook_normalized_is_refused_without_a_pre_mlp_norm():
    model = qwen3()
    with (
        pytest.raises(InputError, match=r"'ln2\.hook_normalized'.*Gemma 2/3"),
        mlp_hooks(model, lambda *_: None, "ln2.hook_normalized"),
    ):
        pass


def test_stage_3_refuses_transcoders_stage_7_cannot_hook_when_it_loads_them(monkeypatch):
    """The refusal comes when stage 3 loads the replacement model, before any attribution
    (not after stages 1-6 ran): the toy replacement model, its transcoder set declared to
    read at hook_resid_mid (which circuit-tracer maps for Gemma, stage 7 does not hook)."""
    from motif_discovery.attribution import model as attribution_model
    from motif_discovery.utils.config import load_config

    config = load_config(REPO / "configs" / "toy_world.json", [])
    cpu = torch.device("cpu")
    attribution_model.load_attribution_model(config.model, cpu, torch.float32)  # as shipped
    real = attribution_model.load_replacement

    def reading_elsewhere(*args):
        replacement = real(*args)
        replacement.transcoders.feature_input_hook = "hook_resid_mid"
        return replacement

    monkeypatch.setattr(attribution_model, "load_replacement", reading_elsewhere)
    with pytest.raises(InputError, match="they read at 'hook_resid_mid'"):
        attribution_model.load_attribution_model(config.model, cpu, torch.float32)

"""Interventions on the real toy model (Hugging Face forward, our own hooks) against the
rows' predictions: adding eps * a_s * W_dec[s] at the top-attributed features' (layer,
position) changes the pooled target by eps * sum_s A(s -> target).

A is a direct effect: attention patterns, normalization scales and every other MLP output
are held at their clean values. The hooks below hold exactly these on the real model (no
circuit-tracer involved), which makes the model linear in the intervention: the change
must match for small and large eps alike. Left free, attention and norms react to the
intervention and the real change differs (benchmarks/attribution_interventions.py).
"""

import pytest
import torch
from transformers import AttentionInterface
from transformers.models.qwen3.modeling_qwen3 import repeat_kv

from motif_discovery.attribution.compute import AttributionSettings, attribute_prefix
from motif_discovery.toy_world.lm import mlp_hooks
from tests.attribution.conftest import COPY_PREFIX, centred_logits, context_ids, tokens

pytestmark = pytest.mark.usefixtures("one_thread")
ATTENTION = "frozen_patterns_test"
PATTERNS: dict[int, torch.Tensor] = {}
REPLAY = {"on": False}


def frozen_attention(module, query, key, value, attention_mask, scaling, dropout=0.0, **kw):
    """Causal attention that records its pattern softmax(q k^T * scaling + causal mask), or
    replays the recorded one."""
    if not REPLAY["on"]:
        scores = query @ repeat_kv(key, module.num_key_value_groups).transpose(2, 3) * scaling
        n = scores.shape[-1]
        future = torch.ones(n, n, dtype=torch.bool, device=scores.device).triu(1)
        weights = scores.masked_fill(future, -torch.inf).softmax(-1, dtype=torch.float32)
        PATTERNS[module.layer_idx] = weights.to(query.dtype)
    values = repeat_kv(value, module.num_key_value_groups)
    return (PATTERNS[module.layer_idx] @ values).transpose(1, 2).contiguous(), None


AttentionInterface.register(ATTENTION, frozen_attention)


def norms(model):
    layers = model.model.layers
    return [m for layer in layers for m in (layer.input_layernorm, layer.post_attention_layernorm)]


@torch.no_grad()
def frozen_run(model, ids, deltas=None, clean=None):
    """Centred logits [T, V]; clean run (deltas None) returns also what it froze."""
    record = deltas is None
    clean = clean or {"rms": {}, "mlp": {}}
    handles = []
    for i, norm in enumerate([*norms(model), model.model.norm]):

        def hook(module, args, output, i=i):
            x = args[0].float()
            if record:
                clean["rms"][i] = (
                    x.pow(2).mean(-1, keepdim=True).add(module.variance_epsilon).sqrt()
                )
                return None
            return module.weight * (x / clean["rms"][i]).to(output.dtype)

        handles.append(norm.register_forward_hook(hook))

    def mlp(layer, _inp, output):
        if record:
            clean["mlp"][layer] = output.clone()
            return None
        return clean["mlp"][layer] + deltas[layer]

    previous = model.config._attn_implementation
    model.config._attn_implementation = ATTENTION
    REPLAY["on"] = not record
    try:
        with mlp_hooks(model, mlp):
            logits = model(input_ids=torch.tensor([ids])).logits[0].double()
    finally:
        REPLAY["on"] = False
        model.config._attn_implementation = previous
        for handle in handles:
            handle.remove()
    return logits - logits.mean(-1, keepdim=True), clean


@pytest.mark.parametrize("text", [" hardwood .", " mostly wood , of course .", " mostly lumber ."])
def test_scaling_top_features_moves_target_as_predicted(replacement, real, text):
    model, tok = real
    prefix, cont = context_ids(tok, COPY_PREFIX), tokens(tok, text)
    seq, P = [*prefix, *cont], len(prefix)
    result = attribute_prefix(replacement, prefix, [cont], AttributionSettings(None))
    src, a = result.sources, result.a[0, : result.sources.n_features]
    top = a.abs().argsort(descending=True)[:5]
    positions = torch.arange(len(cont)) + P - 1

    def pooled(centred):
        return centred[positions, torch.tensor(cont)].mean().item()

    base, clean = frozen_run(model, seq)
    torch.testing.assert_close(base, centred_logits(model, seq), rtol=0, atol=1e-4)
    W_dec = [tc.W_dec.detach() for tc in replacement.transcoders._module]
    for eps in (0.01, -1.0):
        deltas = {layer: torch.zeros_like(out) for layer, out in clean["mlp"].items()}
        for i in top:
            layer, pos = int(src.feature_layer[i]), int(src.feature_position[i])
            deltas[layer][0, pos] += (
                eps * src.feature_activation[i] * W_dec[layer][src.feature_id[i]]
            )
        changed, _ = frozen_run(model, seq, deltas, clean)
        predicted = eps * a[top].sum().item()
        real_change = pooled(changed) - pooled(base)
        assert real_change * predicted > 0
        assert real_change == pytest.approx(predicted, rel=2e-3, abs=1e-5)

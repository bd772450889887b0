"""The real model (Hugging Face forward) with parts held at their values on a clean run,
and vectors added to MLP outputs: the ground truth for direct effects, independent of
circuit-tracer.

    clean = FrozenRun(model, ids)                       # clean forward, records the parts
    logits = clean.logits(deltas, hold={"norm", "attention", "mlp"})

`hold`: "norm" (the RMSNorm scales 1/rms(x) of every input/post-attention/final norm),
"attention" (every softmax pattern), "mlp" (every MLP output, before the deltas are added).
Holding all three makes the logits linear in the deltas: the change of a target is then
exactly sum_s A(s -> target) over the added source vectors (tests/attribution).
Written for Qwen3-style decoders (model.model.layers[i].{input,post_attention}_layernorm,
.mlp, .self_attn; model.model.norm).
"""

from __future__ import annotations

from contextlib import ExitStack, contextmanager

import torch
from transformers import AttentionInterface
from transformers.models.qwen3.modeling_qwen3 import repeat_kv

from motif_discovery.model.hooks import mlp_hooks

ATTENTION = "motif_discovery_frozen"
PARTS = frozenset({"norm", "attention", "mlp"})
_active: list[FrozenRun] = []


def _attention(module, query, key, value, attention_mask, scaling, dropout=0.0, **kwargs):
    """Causal attention softmax(q k^T * scaling + mask) v that records its pattern on the
    clean run and replays it when attention is held."""
    run = _active[-1]
    if run.attention_mode == "replay":
        weights = run.patterns[module.layer_idx]
    else:
        scores = query @ repeat_kv(key, module.num_key_value_groups).transpose(2, 3) * scaling
        n = scores.shape[-1]
        future = torch.ones(n, n, dtype=torch.bool, device=scores.device).triu(1)
        weights = scores.masked_fill(future, -torch.inf).softmax(-1, dtype=torch.float32)
        weights = weights.to(query.dtype)
        if run.attention_mode == "record":
            run.patterns[module.layer_idx] = weights
    values = repeat_kv(value, module.num_key_value_groups)
    return (weights @ values).transpose(1, 2).contiguous(), None


AttentionInterface.register(ATTENTION, _attention)


def _norms(model) -> list[torch.nn.Module]:
    layers = model.model.layers
    pairs = [(layer.input_layernorm, layer.post_attention_layernorm) for layer in layers]
    return [norm for pair in pairs for norm in pair] + [model.model.norm]


class FrozenRun:
    """One clean forward of `ids` [T] that records norm scales, patterns and MLP outputs."""

    def __init__(self, model, ids: list[int]):
        self.model = model
        self.ids = torch.tensor([ids], device=model.device)
        self.rms: dict[int, torch.Tensor] = {}
        self.patterns: dict[int, torch.Tensor] = {}
        self.mlp: dict[int, torch.Tensor] = {}
        self.attention_mode = "free"
        self.clean = self._forward(None, frozenset())

    def logits(self, deltas: torch.Tensor, hold: set[str] | frozenset[str]) -> torch.Tensor:
        """[T, V] float64 logits with deltas[layer] [T, d] added to every MLP output."""
        unknown = set(hold) - PARTS
        if unknown:
            raise ValueError(f"unknown parts {sorted(unknown)}; choose from {sorted(PARTS)}")
        return self._forward(deltas, frozenset(hold))

    @torch.no_grad()
    def _forward(self, deltas: torch.Tensor | None, hold: frozenset[str]) -> torch.Tensor:
        record = deltas is None
        with ExitStack() as stack:
            mode = "record" if record else "replay" if "attention" in hold else "free"
            stack.enter_context(self._active(mode))
            for i, norm in enumerate(_norms(self.model)):
                stack.enter_context(_norm_hook(norm, self.rms, i, record, "norm" in hold))

            def mlp(layer: int, _inp, output):
                if record:
                    self.mlp[layer] = output.clone()
                    return None
                base = self.mlp[layer] if "mlp" in hold else output
                return base + deltas[layer].to(output.dtype)

            stack.enter_context(mlp_hooks(self.model, mlp))
            logits = self.model(input_ids=self.ids).logits[0].double()
        return logits

    @contextmanager
    def _active(self, attention_mode: str):
        config = self.model.config
        previous = config._attn_implementation
        config._attn_implementation = ATTENTION
        self.attention_mode = attention_mode
        _active.append(self)
        try:
            yield
        finally:
            _active.pop()
            self.attention_mode = "free"
            config._attn_implementation = previous


@contextmanager
def _norm_hook(norm, rms: dict, index: int, record: bool, hold: bool):
    """Record rms(x) of a norm's input, or apply the recorded one: weight * x / rms_clean."""

    def hook(module, args, output):
        x = args[0].float()
        if record:
            rms[index] = x.pow(2).mean(-1, keepdim=True).add(module.variance_epsilon).sqrt()
            return None
        if not hold:
            return None
        return module.weight * (x / rms[index]).to(output.dtype)

    handle = norm.register_forward_hook(hook)
    try:
        yield
    finally:
        handle.remove()


def centred(logits: torch.Tensor) -> torch.Tensor:
    """logit(v) - mean_v logit(v) at every position."""
    return logits - logits.mean(dim=-1, keepdim=True)

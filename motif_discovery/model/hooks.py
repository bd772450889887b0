"""Forward hooks at the points a per-layer transcoder reads and writes (stages 3 and 7, the
toy world's training).

A transcoder of layer l maps the MLP's input to what the block adds to the residual stream
after the MLP (circuit-tracer's hook points `mlp.hook_in` -> `mlp.hook_out`/`hook_mlp_out`):

    read_l  = the MLP module's input (the output of the norm before it: post_attention_layernorm
              in Qwen3/Llama, pre_feedforward_layernorm in Gemma 2/3),
    write_l = mlp(read_l)                              (Qwen3, Llama: no norm after the MLP),
    write_l = post_feedforward_layernorm(mlp(read_l))  (Gemma 2/3),

so resid_out_l = resid_mid_l + write_l. `mlp_hooks` calls one hook with (layer, read_l,
write_l) at every decoder layer, whichever of the two shapes the layer has.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager

import torch
from torch import nn
from transformers import PreTrainedModel

from motif_discovery.utils.errors import InputError

MlpHook = Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor | None]
# circuit-tracer's names of the read and write points above (TransformerLens convention)
READ_HOOKS = frozenset({"mlp.hook_in"})
WRITE_HOOKS = frozenset({"mlp.hook_out", "hook_mlp_out"})


def decoder_layers(model: PreTrainedModel) -> nn.ModuleList:
    """The decoder layers of a causal LM: model.model.layers, or, for a multimodal wrapper
    (Gemma3ForConditionalGeneration), its language model's layers."""
    base = model.model
    return getattr(base, "language_model", base).layers


def write_module(decoder: nn.Module) -> nn.Module:
    """The module whose output the layer adds to the residual after the MLP: the norm after
    the MLP where there is one (Gemma 2/3), else the MLP itself."""
    norm = getattr(decoder, "post_feedforward_layernorm", None)
    return decoder.mlp if norm is None else norm


def check_hook_points(read: str, write: str) -> None:
    """Transcoders that read at `read` and write at `write` (circuit-tracer's
    feature_input_hook, feature_output_hook) must use the points mlp_hooks hooks."""
    if read not in READ_HOOKS or write not in WRITE_HOOKS:
        raise InputError(
            f"model.transcoders: they read at {read!r} and write at {write!r}; steering and "
            f"replacement hook the MLP input ({sorted(READ_HOOKS)}) and what the layer adds "
            f"to the residual after it ({sorted(WRITE_HOOKS)})"
        )


@contextmanager
def mlp_hooks(model: PreTrainedModel, hook: MlpHook) -> Iterator[None]:
    """Within the block, every decoder layer calls hook(layer, read_l, write_l) (module
    docstring); a tensor it returns replaces write_l (None keeps it)."""
    inputs: dict[int, torch.Tensor] = {}

    def remember(layer: int):
        def keep(_module, args):
            inputs[layer] = args[0]

        return keep

    def call(layer: int):
        return lambda _module, _args, output: hook(layer, inputs.pop(layer), output)

    with ExitStack() as stack:
        for layer, decoder in enumerate(decoder_layers(model)):
            for handle in (
                decoder.mlp.register_forward_pre_hook(remember(layer)),
                write_module(decoder).register_forward_hook(call(layer)),
            ):
                stack.callback(handle.remove)
        yield

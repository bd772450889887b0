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

Transcoders that read at `ln2.hook_normalized` (GemmaScope's) read the pre-MLP norm's
normalised input before its weight, which circuit-tracer 0.5.0 maps (Gemma 2/3) to the
output of pre_feedforward_layernorm._norm:

    read_l = resid_mid_l / sqrt(mean(resid_mid_l^2) + eps)    (float32),

so the MLP input is read_l (1 + w) with w the norm's weight. Only layers with that norm
(Gemma 2/3) have this read point.
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
MLP_INPUT = "mlp.hook_in"
NORMALIZED = "ln2.hook_normalized"
READ_HOOKS = frozenset({MLP_INPUT, NORMALIZED})
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


def read_module(decoder: nn.Module, read: str) -> nn.Module:
    """The module whose input hook() reads (through `read_value`): the MLP for
    `mlp.hook_in`, the norm before the MLP for `ln2.hook_normalized` (Gemma 2/3 only)."""
    if read not in READ_HOOKS:
        raise InputError(f"model.transcoders: read point {read!r} is none of {sorted(READ_HOOKS)}")
    if read == MLP_INPUT:
        return decoder.mlp
    norm = getattr(decoder, "pre_feedforward_layernorm", None)
    if norm is None or not hasattr(norm, "_norm"):
        raise InputError(
            f"model.transcoders: they read at {read!r}, which exists only in layers with a "
            f"norm before the MLP and one after it (Gemma 2/3); this model's layers "
            f"({type(decoder).__name__}) have none: use transcoders that read at {MLP_INPUT!r}"
        )
    return norm


def read_value(module: nn.Module, read: str, value: torch.Tensor) -> torch.Tensor:
    """read_l from the input of read_module: as it is, or normalised (module docstring)."""
    return value if read == MLP_INPUT else module._norm(value.float())


@contextmanager
def mlp_hooks(model: PreTrainedModel, hook: MlpHook, read: str = MLP_INPUT) -> Iterator[None]:
    """Within the block, every decoder layer calls hook(layer, read_l, write_l) (module
    docstring), read_l at the transcoders' read point `read`; a tensor it returns replaces
    write_l (None keeps it)."""
    inputs: dict[int, torch.Tensor] = {}
    readers = [read_module(decoder, read) for decoder in decoder_layers(model)]

    def remember(layer: int):
        def keep(module, args):
            inputs[layer] = read_value(module, read, args[0])

        return keep

    def call(layer: int):
        return lambda _module, _args, output: hook(layer, inputs.pop(layer), output)

    with ExitStack() as stack:
        for layer, decoder in enumerate(decoder_layers(model)):
            for handle in (
                readers[layer].register_forward_pre_hook(remember(layer)),
                write_module(decoder).register_forward_hook(call(layer)),
            ):
                stack.callback(handle.remove)
        yield

"""Forward hooks on a Hugging Face decoder's MLPs (stages 3 and 7, the toy world's training)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from transformers import PreTrainedModel

MlpHook = Callable[[int, torch.Tensor, torch.Tensor], torch.Tensor | None]


@contextmanager
def mlp_hooks(model: PreTrainedModel, hook: MlpHook) -> Iterator[None]:
    """Within the block, every decoder layer's MLP calls hook(layer, mlp_input, mlp_output);
    a tensor it returns replaces the MLP output (None keeps it)."""

    def wrap(layer: int):
        return lambda _module, args, output: hook(layer, args[0], output)

    handles = [
        decoder.mlp.register_forward_hook(wrap(layer))
        for layer, decoder in enumerate(model.model.layers)
    ]
    try:
        yield
    finally:
        for handle in handles:
            handle.remove()

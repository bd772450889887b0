"""The replacement forward of stage 7a: the real model with every MLP output replaced by its
transcoder's reconstruction, no error term,

    mlp_out_l(p) <- decode_l(encode_l(mlp_in_l(p)))   at every position p >= 1,

while position 0 (the BOS or its stand-in) keeps its real MLP output, as circuit-tracer's
replacement model does. Sequences are teacher-forced in right-padded batches (a causal model
never reads a later position, so padding changes no target).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import Tensor

from motif_discovery.attribution.backward import pad
from motif_discovery.attribution.targets import TargetRow
from motif_discovery.model.hooks import MLP_INPUT, MlpHook, mlp_hooks
from motif_discovery.model.transcoders import Transcoders

PAD_ID = 0  # any token id: right padding is never read by an earlier position


def replacement_hook(transcoders: Transcoders) -> MlpHook:
    """The MLP hook that writes decode(encode(mlp_input)) at positions >= 1."""

    def replace(layer: int, mlp_input: Tensor, output: Tensor) -> Tensor:
        h = mlp_input[:, 1:]
        patched = output.clone()
        patched[:, 1:] = transcoders.decode(layer, transcoders.encode(layer, h), h).to(output)
        return patched

    return replace


def target_index(rows: Sequence[TargetRow], device) -> tuple[Tensor, Tensor, Tensor]:
    """(batch row, position, token) of every target of `rows` (row b = rows[b])."""
    batch = [b for b, row in enumerate(rows) for _ in row.positions]
    positions = [p for row in rows for p in row.positions]
    tokens = [t for row in rows for t in row.tokens]
    return tuple(
        torch.tensor(x, dtype=torch.long, device=device) for x in (batch, positions, tokens)
    )


@torch.no_grad()
def paired_target_logits(
    model,
    sequences: Sequence[Sequence[int]],
    rows: Sequence[TargetRow],
    hook: MlpHook,
    batch_size: int,
    read: str = MLP_INPUT,
) -> Iterator[tuple[Tensor, Tensor, Tensor]]:
    """Per batch of sequences: (real logits [n, V], logits with `hook` on every MLP [n, V],
    tokens [n]) at the targets of `rows` (rows[i] holds the targets of sequences[i]); the
    hook reads at the transcoders' read point `read` (model/hooks.py)."""
    device = model.device
    for start in range(0, len(sequences), batch_size):
        ids = pad(sequences[start : start + batch_size], PAD_ID, device)
        batch, positions, tokens = target_index(rows[start : start + batch_size], device)
        real = model(input_ids=ids).logits[batch, positions]
        with mlp_hooks(model, hook, read):
            replaced = model(input_ids=ids).logits[batch, positions]
        yield real, replaced, tokens

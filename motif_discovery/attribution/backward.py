"""One forward pass of a batch of sequences through the frozen replacement model, then one
backward pass of injected target directions.

circuit-tracer's `run_forward_pass` freezes attention patterns and normalization scales,
blocks the MLPs' non-linear paths (a transcoder skip connection, if any, stays open) and
caches, per batch row, the final residual h_L (after the last norm) and the residual writes
of the embedding and of every MLP. Its `compute_batch` injects one (position, direction)
per row; a pooled row needs several, so the injection is ours: the gradient at h_L is

    G[b, p] = sum_{targets (p, t, w) of row b} w (W_U[t] - mean_v W_U[v])

and one `torch.autograd.grad` gives the target's gradient at every cached write. Rows of
one batch may hold different sequences (right-padded: a causal model's positions never
read later ones). Relies on circuit-tracer 0.5's AttributionContext caches
(`_resid_activations`, `_feature_output_activations`).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from motif_discovery.attribution.targets import TargetRow


@dataclass
class ForwardPass:
    """Cached tensors of one batch: h_L [B, T, d] and the writes [embedding, MLP 0 .. L-1]."""

    final: torch.Tensor
    writes: list[torch.Tensor]


@dataclass(frozen=True)
class Unembedding:
    """W_U [V, d] (the model's own tensor) and its mean row in float32, so that
    u_t = W_U[t] - mean_v W_U[v] and u_t . h_L = logit(t) - mean_v logit(v)."""

    weight: torch.Tensor
    mean: torch.Tensor

    @classmethod
    def of(cls, model) -> Unembedding:
        weight = model.unembed_proj
        if weight.shape[0] != model.cfg.d_vocab:
            weight = weight.T
        return cls(weight, weight.mean(dim=0, dtype=torch.float32))

    def directions(self, tokens: Sequence[int]) -> torch.Tensor:
        """[len(tokens), d] float32: u_t of each token."""
        return self.weight[list(tokens)].float() - self.mean

    def logits(self, h: torch.Tensor) -> torch.Tensor:
        """[..., V] float32 logits of final residuals h [..., d]."""
        return (h @ self.weight.T).float()


def pad(sequences: Sequence[Sequence[int]], pad_id: int, device) -> torch.Tensor:
    """[B, T_max] long, right-padded with `pad_id`."""
    width = max(len(s) for s in sequences)
    ids = torch.full((len(sequences), width), pad_id, dtype=torch.long)
    for row, seq in enumerate(sequences):
        ids[row, : len(seq)] = torch.as_tensor(seq, dtype=torch.long)
    return ids.to(device)


def forward(model, ctx, ids: torch.Tensor) -> ForwardPass:
    """Run the frozen replacement forward on `ids` [B, T] (ctx: any context of the model;
    its caches are not touched)."""
    holder = copy.copy(ctx)
    holder._resid_activations, holder._feature_output_activations = [], []
    model.run_forward_pass(ids, ids.shape[0], holder)
    return ForwardPass(holder._resid_activations[-1], holder._feature_output_activations)


def injected_gradient(
    rows: Sequence[TargetRow], shape: torch.Size, unembed: Unembedding
) -> torch.Tensor:
    """G [B, T, d] float32: each row's weighted target directions at their positions."""
    device = unembed.mean.device
    grad = torch.zeros(shape, device=device)
    for b, row in enumerate(rows):
        weights = torch.tensor(row.weights, device=device)[:, None]
        positions = torch.tensor(row.positions, device=device)
        grad[b].index_add_(0, positions, weights * unembed.directions(row.tokens))
    return grad


def target_gradients(
    run: ForwardPass, rows: Sequence[TargetRow], unembed: Unembedding
) -> list[torch.Tensor]:
    """d (sum_j w_j target_j) / d write, for every cached write, one backward pass."""
    grad = injected_gradient(rows, run.final.shape, unembed).to(run.final.dtype)
    return list(torch.autograd.grad(run.final, run.writes, grad_outputs=grad))

"""A prefix's pooled attribution rows a_n, one per continuation (docs/method.md, "Stage 3").

    mean:      a_n = (1 / |S_n|) sum_{j in S_n} A(. -> target_j)   one backward pass per n
    sum:       a_n =             sum_{j in S_n} A(. -> target_j)   one backward pass per n
    surprisal: a_n = sum_{j in S_n} w_j A(. -> target_j),           one backward pass per n
               w_j = s_j / sum_{i in S_n} s_i,  s_j = -ln p(t_j | prefix, t_<j)
    max:   a_n[s] = max_{j in S_n} A(s -> target_j)            one backward pass per token

A is linear in the injected direction, so the mean, sum and surprisal rows come from one backward pass
with every target of the span injected at once. Rows are contracted and pooled in float32
(the backward pass itself runs in the model's dtype). Prefix activations do not depend on
the continuation (the model is causal), so the source index is built once from the prefix
alone; each batch checks that its logits at the prefix positions match the prefix's own.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from motif_discovery.attribution.backward import Unembedding, forward, pad, target_gradients
from motif_discovery.attribution.sources import SourceIndex
from motif_discovery.attribution.targets import (
    TargetRow,
    shared_prefix_lengths,
    span_start,
    target_rows,
)
from motif_discovery.utils.config import Config


@dataclass(frozen=True)
class AttributionSettings:
    """What stage 3 computes: sources, span, pooling, rows per batch, position shift."""

    max_feature_nodes: int | None
    span: str = "full"
    pooling: str = "mean"
    batch_size: int = 64
    position_shift: int = 0

    @classmethod
    def from_config(cls, config: Config) -> AttributionSettings:
        section = config.attribution
        return cls(
            max_feature_nodes=section.max_feature_nodes,
            span=section.span,
            pooling=section.pooling,
            batch_size=section.batch_size,
            position_shift=int(config.compat.reference_position_shift),
        )


@dataclass
class PrefixAttribution:
    """a [N, d_a] float32 in continuation order, the sources, each span's first index."""

    a: torch.Tensor
    sources: SourceIndex
    span_starts: list[int]


def check_prefix_logits(
    final: torch.Tensor, n_prefix: int, expected: torch.Tensor, unembed: Unembedding
) -> None:
    """Every row's logits at the last prefix position (which reads the whole prefix) equal
    the prefix's own, `expected` [V] (causality: a continuation never changes them);
    float32 to 1e-3, other dtypes to 5e-2, relative to the largest logit."""
    logits = unembed.logits(final[:, n_prefix - 1])
    expected = expected.float()
    scale = expected.abs().max().clamp(min=1.0)
    tol = 1e-3 if final.dtype == torch.float32 else 5e-2
    err = (logits - expected).abs().max()
    if err > tol * scale:
        raise RuntimeError(
            f"prefix logits differ between the prefix and its continuations ({err:.3g}): "
            "the source index would not be shared"
        )


def attribute_rows(
    model,
    ctx,
    sources: SourceIndex,
    prefix_ids: Sequence[int],
    continuations: Sequence[Sequence[int]],
    rows: Sequence[TargetRow],
    batch_size: int,
    progress: Callable[[int], None] | None = None,
) -> torch.Tensor:
    """[len(rows), d_a] float32: each row's attribution over `sources`, `batch_size` rows
    per forward + backward pass. `ctx`: circuit-tracer's context of `prefix_ids`."""
    unembed = Unembedding.of(model)
    expected = ctx.logits[0, len(prefix_ids) - 1]
    pad_id = int(prefix_ids[0])
    out = torch.zeros(len(rows), sources.size)
    for start in range(0, len(rows), batch_size):
        batch = rows[start : start + batch_size]
        ids = pad([[*prefix_ids, *continuations[r.owner]] for r in batch], pad_id, model.device)
        run = forward(model, ctx, ids)
        check_prefix_logits(run.final.detach(), len(prefix_ids), expected, unembed)
        out[start : start + len(batch)] = sources.contract(
            target_gradients(run, batch, unembed)
        ).cpu()
        if progress is not None:
            progress(len(batch))
    return out


def pool(values: torch.Tensor, owners: torch.Tensor, n: int, pooling: str) -> torch.Tensor:
    """a [n, d_a]: weighted rows summed per owner (mean, sum), or their maximum (max)."""
    if pooling == "max":
        index = owners[:, None].expand_as(values)
        init = torch.full((n, values.shape[1]), -torch.inf)
        return init.scatter_reduce(0, index, values, reduce="amax")
    return torch.zeros(n, values.shape[1]).index_add_(0, owners, values)


def attribute_prefix(
    model,
    prefix_ids: Sequence[int],
    continuations: Sequence[Sequence[int]],
    settings: AttributionSettings,
    progress: Callable[[int], None] | None = None,
    surprisal: Sequence[Sequence[float]] | None = None,
) -> PrefixAttribution:
    """Pooled rows a_n of every continuation (token ids after the context `prefix_ids`);
    `surprisal[n][j]` = -ln p(t_j) of each token, for pooling = "surprisal"."""
    with model.zero_softcap():  # targets are linear in h_L: uncapped logits (Gemma-2)
        ctx = model.setup_attribution(torch.tensor(list(prefix_ids), device=model.device))
    sources = SourceIndex.from_context(ctx, len(prefix_ids), settings.max_feature_nodes)
    shared = shared_prefix_lengths(continuations)
    starts = [
        span_start(len(c), s, settings.span) for c, s in zip(continuations, shared, strict=True)
    ]
    rows = target_rows(
        continuations,
        len(prefix_ids),
        starts,
        pooling=settings.pooling,
        position_shift=settings.position_shift,
        surprisal=surprisal,
    )
    values = attribute_rows(
        model, ctx, sources, prefix_ids, continuations, rows, settings.batch_size, progress
    )
    owners = torch.tensor([row.owner for row in rows])
    return PrefixAttribution(
        pool(values, owners, len(continuations), settings.pooling), sources, starts
    )

"""First-token discovery and how each call's budget is spread over first tokens
(docs/method.md, "Stage 2", first-token discovery).

    q = softmax(logits(context)[-1] / T)                    next-token distribution at T
    nucleus = tokens in decreasing q whose preceding mass is < top_p
    F = {t in nucleus : q_t >= first_token_min_prob, t not EOS}, by decreasing q

Budget rule: number the samples of a prefix k = 0, 1, 2, ... across calls (call c holds
k = c * batch_size .. (c + 1) * batch_size - 1). Even k are drawn freely; odd k force the
first token F[(k // 2) mod |F|]. So half the budget follows the model and half visits F
round robin: every f in F is forced once in the first 2 |F| samples, whatever its
probability, and again every 2 |F| samples. EOS is never forced (its continuation is
empty). With F empty every sample is free. Forcing changes which texts are found, never a
weight: P_n comes from the scoring pass.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel


@dataclass(frozen=True)
class FirstToken:
    """A discovered first token and its probability at the sampling temperature."""

    token_id: int
    prob: float


@torch.no_grad()
def next_token_probs(
    model: PreTrainedModel, context: Sequence[int], temperature: float
) -> torch.Tensor:
    """q = softmax(logits / T) of the token after `context` (float32, on CPU)."""
    ids = torch.tensor([list(context)], device=model.device)
    logits = model(input_ids=ids, logits_to_keep=1).logits[0, -1].float().cpu()
    return torch.softmax(logits / temperature, dim=-1)


def nucleus(probs: torch.Tensor, top_p: float) -> torch.Tensor:
    """Ids of the top-p nucleus: in decreasing probability (ties by id), every token whose
    preceding mass is below top_p."""
    ordered, order = torch.sort(probs, descending=True, stable=True)
    before = torch.cumsum(ordered, 0) - ordered
    return order[before < top_p]


def discover(
    probs: torch.Tensor, top_p: float, min_prob: float, eos_ids: frozenset[int]
) -> list[FirstToken]:
    """F: nucleus tokens with probability >= min_prob, EOS excluded, by decreasing prob."""
    found = []
    for token in nucleus(probs, top_p).tolist():
        if float(probs[token]) >= min_prob and token not in eos_ids:
            found.append(FirstToken(int(token), float(probs[token])))
    return found


def call_plan(call: int, batch_size: int, first: Sequence[FirstToken]) -> list[int | None]:
    """The first token of each sample of call `call` (None: free), by the budget rule."""
    plan: list[int | None] = []
    for k in range(call * batch_size, (call + 1) * batch_size):
        forced = first and k % 2 == 1
        plan.append(first[(k // 2) % len(first)].token_id if forced else None)
    return plan

"""P_n: the teacher-forced weight of a continuation, the same for every backend
(docs/method.md, "Stage 2", weights).

    ln p_j = log_softmax(logits(context + t_1 .. t_{j-1}))[t_j]     temperature 1, full vocab
    P_n = exp( mean_j ln p_j )        over the continuation's tokens, + the EOS when it ended it
    p_norm_n = P_n / sum_m P_m        over the kept continuations
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel

from motif_discovery.sampling.stop import Draw


@dataclass(frozen=True)
class Scored:
    """Teacher-forced log-probabilities of one continuation's tokens and of its EOS."""

    token_logprobs: list[float]
    eos_logprob: float | None

    @property
    def p_n(self) -> float:
        """exp of the mean log-probability over the scored tokens (EOS included)."""
        scored = [*self.token_logprobs, *([] if self.eos_logprob is None else [self.eos_logprob])]
        return math.exp(math.fsum(scored) / len(scored))


@torch.no_grad()
def score(
    model: PreTrainedModel, context: Sequence[int], draws: Sequence[Draw], batch_size: int
) -> list[Scored]:
    """Score every draw (non-empty) after `context`: rows context + tokens (+ EOS), right-
    padded, `batch_size` per forward pass; only the continuation's logits are computed."""
    n_ctx = len(context)
    out: list[Scored] = []
    for start in range(0, len(draws), batch_size):
        chunk = draws[start : start + batch_size]
        tails = [[*d.token_ids, *([] if d.eos_id is None else [d.eos_id])] for d in chunk]
        width = n_ctx + max(map(len, tails))
        ids = torch.zeros((len(chunk), width), dtype=torch.long)
        mask = torch.zeros_like(ids)
        for row, tail in enumerate(tails):
            ids[row, : n_ctx + len(tail)] = torch.tensor([*context, *tail])
            mask[row, : n_ctx + len(tail)] = 1
        ids, mask = ids.to(model.device), mask.to(model.device)
        keep = width - n_ctx + 1  # logits at positions n_ctx - 1 .. width - 1
        logits = model(input_ids=ids, attention_mask=mask, logits_to_keep=keep).logits
        logp = logits[:, :-1].float().log_softmax(-1)
        targets = logp.gather(2, ids[:, n_ctx:, None])[..., 0].cpu().tolist()
        for row, draw in enumerate(chunk):
            n = len(draw.token_ids)
            eos = targets[row][n] if draw.eos_id is not None else None
            out.append(Scored(targets[row][:n], eos))
    return out
